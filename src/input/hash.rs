//! The SHA-256 of an input file (the inventory's `sha256`, which analysts attach to cases),
//! computed so that it does not set the wall time.
//!
//! A sequential reader (a capture, an XML export, a gzipped log unpacked in memory) is read
//! once: `Teed` reads the file in large blocks, serves the parser from each block, and hands the
//! block to a hasher thread once the parser has moved past it (no copy, no second read of the
//! file). An `.evtx` log is read by chunk, newest batch first (`events::evtx`), so its hash cannot
//! ride on the parser's reads: `hash_file` reads it front to back on the hasher thread while the
//! workers parse it. Either way the hash runs on its own thread, beside the `-j` workers, from
//! the moment the input is opened; only a single SHA-256 stream is inherently sequential, so a
//! file whose parse is faster than SHA-256 is bound by the hash (about 1.7 GB/s per core with
//! SHA-NI) unless `--no-hash` is given.
//!
//! The `sha2` crate (0.10) picks its SHA-NI backend at run time on x86-64 (`cpufeatures`
//! detects the `sha` CPUID bit), with no feature flag: on a CPU without SHA-NI it falls back to
//! its portable code (several times slower). Safe code only: no memory map (the crate forbids
//! `unsafe`); large reads cost one copy, which the hash thread absorbs.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use sha2::{Digest, Sha256};

use super::read_full;

/// Bytes per read: large enough that syscalls do not count, small enough that the blocks in
/// flight (`QUEUE` + 2 per input) stay a few MiB.
const BLOCK: usize = 1 << 20;
/// Blocks waiting for the hasher before the reader waits for it.
const QUEUE: usize = 4;

/// Lowercase hex of a digest.
fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `parse` on a reader over `file` while a hasher thread computes the file's SHA-256 from
/// the same reads. Whatever `parse` leaves unread (it stopped early: a deadline, damage) is read
/// for the hash when its reader is dropped, so the digest always covers the whole file.
pub fn teed<T>(file: File, parse: impl FnOnce(Teed) -> T) -> (T, io::Result<String>) {
    let (full_tx, full_rx) = sync_channel::<io::Result<Vec<u8>>>(QUEUE);
    let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(QUEUE + 2);
    std::thread::scope(|s| {
        let hasher = s.spawn(move || hash_blocks(full_rx, empty_tx));
        let left = file.metadata().map_or(BLOCK as u64, |m| m.len());
        let out = parse(Teed { file, block: Vec::new(), pos: 0, full: Some(full_tx), empty: empty_rx, left });
        let digest = hasher.join().unwrap_or_else(|_| Err(io::Error::other("the hasher thread panicked")));
        (out, digest)
    })
}

/// The hasher's loop: hashes blocks in order, returns them for reuse.
fn hash_blocks(full: Receiver<io::Result<Vec<u8>>>, empty: SyncSender<Vec<u8>>) -> io::Result<String> {
    let mut hasher = Sha256::new();
    for block in full {
        let block = block?;
        hasher.update(&block);
        // The reader may be gone (it finished); the block is then dropped.
        let _ = empty.try_send(block);
    }
    Ok(hex(&hasher.finalize()))
}

/// Runs `parse` while a hasher thread reads `path` front to back for its SHA-256 (an input that
/// the parser does not read sequentially).
pub fn beside<T>(path: &Path, parse: impl FnOnce() -> T) -> (T, io::Result<String>) {
    std::thread::scope(|s| {
        let hasher = s.spawn(|| hash_file(path));
        let out = parse();
        let digest = hasher.join().unwrap_or_else(|_| Err(io::Error::other("the hasher thread panicked")));
        (out, digest)
    })
}

/// SHA-256 of a file, read in large blocks.
pub fn hash_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; block_len(file.metadata().map_or(BLOCK as u64, |m| m.len()))];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    Ok(hex(&hasher.finalize()))
}

/// The parser's reader (`teed`): serves reads from the current block; a block the parser has
/// finished goes to the hasher.
pub struct Teed {
    file: File,
    block: Vec<u8>,
    /// How much of `block` the parser has read.
    pos: usize,
    /// `None` once the file ended (or failed) and the hasher was told.
    full: Option<SyncSender<io::Result<Vec<u8>>>>,
    empty: Receiver<Vec<u8>>,
    /// Bytes the file had left to read when opened (a hint: a growing file is still read to
    /// its end), so that a small file does not zero a whole block.
    left: u64,
}

/// The size of the next read: a block, or what is left plus one byte to see the end.
fn block_len(left: u64) -> usize {
    usize::try_from(left).map_or(BLOCK, |l| l.saturating_add(1).min(BLOCK))
}

impl Teed {
    /// Hands the finished block to the hasher and reads the next; an empty block is the end.
    fn refill(&mut self) -> io::Result<()> {
        let Some(full) = &self.full else {
            self.block.clear();
            self.pos = 0;
            return Ok(());
        };
        let len = block_len(self.left);
        let mut next = self.empty.try_recv().unwrap_or_else(|_| Vec::with_capacity(len));
        next.resize(len, 0);
        let got = read_full(&mut self.file, &mut next);
        if let Ok(n) = got {
            self.left = self.left.saturating_sub(n as u64);
        }
        let done = std::mem::replace(&mut self.block, next);
        self.pos = 0;
        if !done.is_empty() {
            // A hasher that stopped (it failed) has its error already: nothing more to send.
            let _ = full.send(Ok(done));
        }
        match got {
            Ok(n) => {
                self.block.truncate(n);
                if n == 0 {
                    self.full = None;
                }
                Ok(())
            }
            Err(e) => {
                self.block.clear();
                let _ = full.send(Err(io::Error::new(e.kind(), e.to_string())));
                self.full = None;
                Err(e)
            }
        }
    }
}

impl Read for Teed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.block.len() {
            self.refill()?;
        }
        let rest = self.block.get(self.pos..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..n), rest.get(..n)) {
            to.copy_from_slice(from);
        }
        self.pos += n;
        Ok(n)
    }
}

impl Drop for Teed {
    /// The parser is done with the file, maybe before its end: the rest is read for the hash.
    fn drop(&mut self) {
        self.pos = self.block.len();
        while self.full.is_some() {
            if self.refill().is_err() {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_of(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(bytes).expect("write");
        f
    }

    fn reference(bytes: &[u8]) -> String {
        hex(&Sha256::digest(bytes))
    }

    #[test]
    fn teed_reader_sees_the_file_and_hashes_it_whole() {
        // Three blocks and a bit, so that blocks are recycled and the last one is partial.
        let bytes: Vec<u8> = (0..3 * BLOCK + 12_345).map(|i| (i % 251) as u8).collect();
        let f = file_of(&bytes);
        let (read, digest) = teed(File::open(f.path()).expect("open"), |mut r| {
            let mut out = Vec::new();
            r.read_to_end(&mut out).map(|_| out)
        });
        assert_eq!(read.expect("read"), bytes);
        assert_eq!(digest.expect("digest"), reference(&bytes));
        assert_eq!(hash_file(f.path()).expect("hash"), reference(&bytes));
    }

    #[test]
    fn a_parser_that_stops_early_still_gets_the_whole_files_hash() {
        let bytes: Vec<u8> = (0..2 * BLOCK + 7).map(|i| (i % 13) as u8).collect();
        let f = file_of(&bytes);
        let (first, digest) = teed(File::open(f.path()).expect("open"), |mut r| {
            let mut head = [0u8; 10];
            r.read_exact(&mut head).map(|_| head)
        });
        assert_eq!(first.expect("read").as_slice(), bytes.get(..10).expect("head"));
        assert_eq!(digest.expect("digest"), reference(&bytes));
    }

    #[test]
    fn empty_file() {
        let f = file_of(b"");
        let (n, digest) = teed(File::open(f.path()).expect("open"), |mut r| r.read(&mut [0u8; 4]));
        assert_eq!(n.expect("read"), 0);
        assert_eq!(digest.expect("digest"), reference(b""));
        let (_, d) = beside(f.path(), || ());
        assert_eq!(d.expect("digest"), reference(b""));
    }
}
