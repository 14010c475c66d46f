//! The buffers of an `.etl` stream, in file order, read ahead on a thread of their own.
//!
//! ETW writes a trace as a sequence of buffers, each a WMI_BUFFER_HEADER (layout in `walk`)
//! and its records, maybe MS-XCA compressed. `Buffers` frames one buffer at a time and appends
//! its record bytes (decompressed, cut at the header's `Offset`) to a `Batch`; `read_ahead`
//! runs it on a second thread, so that the file's reads (the kernel's copy of every byte) and
//! the decompression overlap the record walk and the packet analysis on the calling thread.
//! Buffers travel in batches of about `BATCH_BYTES`, so that the two threads meet a few times
//! per megabyte rather than once per buffer. It does not look inside a buffer's records (that
//! is `walk`).
//!
//! Memory: `BATCHES` batches circulate between the threads and are reused; each holds
//! `BATCH_BYTES` plus at most one buffer of up to `MAX_BUFFER` bytes, and grows with the bytes
//! the file really has, never with the size a header claims.

use std::io::Read;
use std::ops::Range;
use std::sync::mpsc::sync_channel;

use super::lz77;
use super::walk::{BUFFER_HEADER, MAX_BUFFER, u16_at, u32_at};
use crate::input::read_full;

/// ETW_BUFFER_FLAG_COMPRESSED (dissect.etl `c_etl.py`; observed 0x60 on pktmon data buffers).
const FLAG_COMPRESSED: u16 = 0x40;
/// A batch is handed over once it holds this many record bytes.
const BATCH_BYTES: usize = 1 << 20;
/// Batches in flight between the reader thread and the walker (being filled, queued, walked).
const BATCHES: usize = 3;

/// One buffer of a batch.
pub struct Buffer {
    /// File offset of the buffer's header.
    pub pos: u64,
    /// CPU whose buffer this is (ClientContext.ProcessorNumber).
    pub processor: u8,
    pub compressed: bool,
    /// Where its records lie in the batch's bytes.
    range: Range<usize>,
    /// Damage found while framing it: (file offset, message), for the walker to report in order.
    pub notes: Vec<(u64, String)>,
}

/// What the reader found next.
pub enum Stop {
    /// The stream ended at this offset; a note when it ended inside a buffer header.
    End(u64, Option<(u64, String)>),
    /// A buffer header with an impossible BufferSize: nothing after it can be framed.
    BadSize {
        pos: u64,
        size: u32,
    },
    Io(std::io::Error),
}

/// Consecutive buffers, their records side by side in one allocation; the last batch of a
/// stream says how it stopped.
#[derive(Default)]
pub struct Batch {
    /// Record bytes; longer than `fill` when it was longer for an earlier batch (memory already
    /// initialised, reused without zeroing it again).
    bytes: Vec<u8>,
    fill: usize,
    pub buffers: Vec<Buffer>,
    pub stop: Option<Stop>,
}

impl Batch {
    /// The record bytes of `b`, one of this batch's buffers.
    pub fn records(&self, b: &Buffer) -> &[u8] {
        self.bytes.get(b.range.clone()).unwrap_or_default()
    }

    fn clear(&mut self) {
        self.fill = 0;
        self.buffers.clear();
        self.stop = None;
    }
}

/// Frames the buffers of a stream one at a time.
pub struct Buffers<R> {
    src: R,
    pos: u64,
    /// Compressed bytes of the current buffer, and their decompressed form (both reused).
    raw: Vec<u8>,
    plain: Vec<u8>,
    done: bool,
}

impl<R: Read> Buffers<R> {
    pub fn new(src: R) -> Self {
        Buffers { src, pos: 0, raw: Vec::new(), plain: Vec::new(), done: false }
    }

    /// Appends buffers to `batch` until it holds `BATCH_BYTES` or the stream stops.
    pub fn fill(&mut self, batch: &mut Batch) {
        while !self.done && batch.fill < BATCH_BYTES {
            if let Some(stop) = self.next(batch) {
                self.done = true;
                batch.stop = Some(stop);
            }
        }
    }

    /// Appends the next buffer to `batch`, or says why there is none.
    fn next(&mut self, batch: &mut Batch) -> Option<Stop> {
        let mut head = [0u8; BUFFER_HEADER];
        let n = match read_full(&mut self.src, &mut head) {
            Ok(n) => n,
            Err(e) => return Some(Stop::Io(e)),
        };
        if n < BUFFER_HEADER {
            let note = (n > 0).then(|| {
                (self.pos, format!("trace ends inside a buffer header ({n} stray bytes): file was cut mid-write"))
            });
            return Some(Stop::End(self.pos + n as u64, note));
        }
        let size = u32_at(&head, 0).unwrap_or(0);
        let filled = u32_at(&head, 0x30).unwrap_or(0);
        let flag = u16_at(&head, 0x34).unwrap_or(0);
        let processor = head[0x28];
        if size < BUFFER_HEADER as u32 || size > MAX_BUFFER {
            return Some(Stop::BadSize { pos: self.pos, size });
        }
        let body = size as usize - BUFFER_HEADER;
        let compressed = flag & FLAG_COMPRESSED != 0;
        let start = batch.fill;
        let got = if compressed {
            read_into(&mut self.src, &mut self.raw, 0, body)
        } else {
            read_into(&mut self.src, &mut batch.bytes, start, body)
        };
        let got = match got {
            Ok(n) => n,
            Err(e) => return Some(Stop::Io(e)),
        };
        let mut b = Buffer { pos: self.pos, processor, compressed, range: start..start, notes: Vec::new() };
        self.pos += (BUFFER_HEADER + got) as u64;
        if got < body {
            b.notes.push((b.pos, format!("last buffer is truncated: needs {size} bytes, file ends after {} (trace cut mid-write?); its complete records are read", BUFFER_HEADER + got)));
        }
        let len = if compressed {
            let want = (filled as usize).saturating_sub(BUFFER_HEADER).min(MAX_BUFFER as usize);
            let raw = self.raw.get(..got).unwrap_or_default();
            let plain = &mut self.plain;
            match lz77::decompress(raw, want, plain) {
                Err(e) => b.notes.push((
                    b.pos,
                    format!("compressed buffer is damaged ({e}); its first {} decompressed bytes are read", plain.len()),
                )),
                Ok(()) if plain.len() != want => b.notes.push((
                    b.pos,
                    format!(
                        "compressed buffer decompresses to {} bytes, its header announces {want}; the records in them are read",
                        plain.len()
                    ),
                )),
                Ok(()) => {}
            }
            batch.bytes.truncate(start);
            batch.bytes.extend_from_slice(plain);
            plain.len()
        } else if filled != 0 {
            (filled as usize).saturating_sub(BUFFER_HEADER).min(got)
        } else {
            // A buffer written before ETW filled its `Offset` (0) is read to its end.
            got
        };
        b.range = start..start + len;
        batch.fill = start + len;
        batch.buffers.push(b);
        None
    }
}

/// Reads `want` bytes (fewer only at the end of the stream) into `v` from `at` on, and returns
/// how many. `v`'s length is memory already initialised, so only bytes beyond it are zeroed
/// before a read (the stream is a chain of wrappers that cannot read into uninitialised
/// memory); it grows with the bytes that arrive, doubling, never straight to the size a header
/// claims.
fn read_into(src: &mut impl Read, v: &mut Vec<u8>, at: usize, want: usize) -> std::io::Result<usize> {
    let mut got = 0;
    while got < want {
        let upto = want.min(v.len().saturating_sub(at).max(got.saturating_mul(2)).max(1 << 16));
        if v.len() < at + upto {
            v.resize(at + upto, 0);
        }
        let Some(room) = v.get_mut(at + got..at + upto) else { break };
        let n = read_full(src, room)?;
        got += n;
        if got < upto {
            break;
        }
    }
    Ok(got)
}

/// Runs `Buffers` over `src` and calls `each` with every batch, in file order, on this thread;
/// `each` returns `false` to stop early. The first batch is read here: a trace that fits in it
/// (most, and every small test input) costs no thread. The rest is read ahead on a second
/// thread, which stops when `each` does. The last batch carries the `Stop`, unless `each`
/// stopped first.
pub fn read_ahead<R: Read + Send>(src: R, mut each: impl FnMut(&mut Batch) -> bool) {
    let mut buffers = Buffers::new(src);
    let mut first = Batch::default();
    buffers.fill(&mut first);
    if buffers.done {
        each(&mut first);
        return;
    }
    let (full_tx, full_rx) = sync_channel::<Batch>(BATCHES - 2);
    let (empty_tx, empty_rx) = sync_channel::<Batch>(BATCHES);
    std::thread::scope(|s| {
        s.spawn(move || {
            // The walker holds the first batch: two more are made, then they circulate.
            let mut made = 1;
            while !buffers.done {
                let mut batch = match empty_rx.try_recv() {
                    Ok(b) => b,
                    Err(_) if made < BATCHES => {
                        made += 1;
                        Batch::default()
                    }
                    Err(_) => match empty_rx.recv() {
                        Ok(b) => b,
                        Err(_) => break,
                    },
                };
                batch.clear();
                buffers.fill(&mut batch);
                if full_tx.send(batch).is_err() {
                    break;
                }
            }
        });
        let mut go_on = each(&mut first);
        let _ = empty_tx.try_send(first);
        if go_on {
            for mut batch in full_rx {
                go_on = each(&mut batch);
                // The reader may have finished: the batch is then dropped.
                let _ = empty_tx.try_send(batch);
                if !go_on {
                    break;
                }
            }
        } else {
            drop(full_rx);
        }
        // Dropping both ends (the loop's receiver, this sender) stops a reader still waiting
        // to hand over a batch or to get one back.
        drop(empty_tx);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An uncompressed buffer of `size` bytes whose header says `used` of them are filled; its
    /// record bytes are `tag` repeated.
    fn buffer(size: usize, used: usize, tag: u8) -> Vec<u8> {
        let mut b = vec![tag; size];
        b[..BUFFER_HEADER].fill(0);
        b[0..4].copy_from_slice(&(size as u32).to_le_bytes());
        b[0x30..0x34].copy_from_slice(&(used as u32).to_le_bytes());
        b[0x28] = tag % 4;
        b
    }

    // Oracle: the WMI_BUFFER_HEADER layout (BufferSize @0, ProcessorNumber @0x28, Offset
    // @0x30): every buffer comes out once, in file order, at its own offset, cut at its Offset,
    // across batch boundaries (40 × 64 KiB is about 2.5 batches).
    #[test]
    fn buffers_come_out_in_order_across_batches() {
        let mut file = Vec::new();
        for i in 0..40u8 {
            file.extend(buffer(64 << 10, (64 << 10) - usize::from(i), i));
        }
        let mut seen = Vec::new();
        let mut batches = 0;
        let mut end = None;
        read_ahead(&file[..], |batch| {
            batches += 1;
            for b in &batch.buffers {
                let r = batch.records(b);
                assert!(r.iter().all(|&x| x == r[0]));
                seen.push((b.pos, b.processor, r.len(), r[0]));
            }
            if let Some(Stop::End(pos, note)) = &batch.stop {
                end = Some((*pos, note.is_some()));
            }
            batch.stop.is_none()
        });
        let want: Vec<(u64, u8, usize, u8)> =
            (0..40u8).map(|i| (u64::from(i) << 16, i % 4, (64 << 10) - BUFFER_HEADER - usize::from(i), i)).collect();
        assert_eq!(seen, want);
        assert!(batches >= 3, "{batches}");
        assert_eq!(end, Some((40 << 16, false)));
    }

    // Oracle: the module's contract — a walker that stops after its first batch returns at
    // once (the reader thread, blocked handing over the next one, stops too).
    #[test]
    fn stopping_early_does_not_wait_for_the_reader() {
        let file: Vec<u8> = (0..200u8).flat_map(|i| buffer(64 << 10, 64 << 10, i)).collect();
        let mut calls = 0;
        read_ahead(&file[..], |_| {
            calls += 1;
            false
        });
        assert_eq!(calls, 1);
    }

    // Oracle: the module's contract — a header that claims 60 MiB in a stream of a few hundred
    // bytes costs what the stream holds, and is reported as a truncated last buffer.
    #[test]
    fn a_claimed_size_is_not_allocated_up_front() {
        let mut file = buffer(0x200, 0x200, 7);
        file[0..4].copy_from_slice(&(60u32 << 20).to_le_bytes());
        let mut got = None;
        read_ahead(&file[..], |batch| {
            let b = &batch.buffers[0];
            got = Some((batch.records(b).len(), batch.bytes.capacity() < 1 << 20, b.notes.len()));
            false
        });
        assert_eq!(got, Some((0x200 - BUFFER_HEADER, true, 1)));
    }
}
