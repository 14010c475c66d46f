//! `.evtx` ingestion: every record of every chunk of one exported Windows event log, counted in
//! `LogStats`, and the catalogued ones (`wanted`) as `WinEvent`s with their fields.
//!
//! Takes a seekable byte stream (a file, a cursor over a decompressed buffer) and its display
//! name. Reads the 4096-byte file header, then the 64 KiB chunks at their fixed offsets
//! (4096 + n·65536) in batches of `BATCH_CHUNKS`, so memory stays bounded whatever the file size;
//! within a batch every worker of the current rayon pool reads (positional reads on a file) and
//! parses its own chunks, and the batch is merged in chunk order, so the output is in file order
//! (chunk, then record) and the same at any number of workers. A log that wrapped around is therefore not
//! reordered by record id (evtx_dump starts at the oldest chunk instead).
//!
//! Per chunk, our own walk follows the record headers and `record.rs` types each record from its
//! template's substitution values (the fast path). A chunk where that walk meets anything
//! irregular (a damaged record header, a record our reader cannot type) is redone with the evtx
//! crate's record iterator, which resynchronises past damaged records exactly as evtx_dump does;
//! records that our reader still cannot type are rendered by the crate as JSON (`json.rs`).
//! Damage is never fatal: bad header CRCs, dirty flags, bad chunk checksums (the chunk is read
//! anyway), unreadable records (skipped, the rest of the chunk is read) and a truncated last
//! chunk (its complete records are kept) become warnings naming the chunk, the record id when
//! known, and the file offset. Only a stream that is not EVTX at all, or an I/O error, is an
//! `Error`. Does not carve deleted records from slack space, and does not use the crate's own
//! threading.
//!
//! References: rdp-facts §7 (file header, chunk header, record layout); [MS-EVEN6] §2.2.12
//! (BinXML); evtx crate 0.15.1 (`EvtxChunkData`, `EvtxChunk::iter`, `into_json_value`).

mod fields;
mod json;
mod keep;
mod record;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::{Arc, Mutex};

use evtx::err::EvtxError;
use evtx::{EvtxChunkData, EvtxFileHeader, HeaderFlags, ParserSettings};
use rayon::prelude::*;
use serde::Serialize;

use super::{LogStats, WinEvent};
use crate::error::{Error, Result, WarningSink};
use crate::input::read_full;
pub use keep::Keep;
use keep::Kept;
use record::{Acc, RecordAt, Typer};

/// The catalogue's question: keep the fields of this (provider, event id)?
pub type Wanted<'a> = dyn Fn(&str, u16) -> bool + Sync + 'a;

/// How the records of one log were read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EvtxCounters {
    /// Records typed from their substitution values (our reader).
    pub typed: u64,
    /// Records typed from the crate's JSON rendering because our reader could not.
    pub rendered: u64,
    /// Records lost: unreadable by both (each has a warning).
    pub failed: u64,
    /// Chunks read with the crate's record iterator instead of our own walk.
    pub crate_chunks: u64,
}

impl EvtxCounters {
    fn add(&mut self, o: EvtxCounters) {
        self.typed += o.typed;
        self.rendered += o.rendered;
        self.failed += o.failed;
        self.crate_chunks += o.crate_chunks;
    }
}

const FILE_HEADER_SIZE: u64 = 4096;
const CHUNK_SIZE: usize = 65_536;
const CHUNK_HEADER_SIZE: usize = 512;
const RECORD_HEADER_SIZE: usize = 24;
/// Chunks read and parsed together: 64 × 64 KiB = 4 MiB of input in memory at a time.
pub const BATCH_CHUNKS: usize = 64;
/// Largest record-header FILETIME the crate accepts (its time type ends 9999-12-30T22:00:00Z);
/// past it the crate reports the record as damaged, and so do we.
const MAX_RECORD_FILETIME: u64 = (253_402_207_200 + 11_644_473_600 + 1) * 10_000_000 - 1;

/// Reads every record of every chunk of one .evtx stream. `wanted(provider, event_id)` says which
/// events keep their fields (the catalogue); all events are counted in the returned `LogStats`.
pub fn read_evtx<R: Read + Seek + Send>(
    input: R,
    name: &str,
    wanted: &(dyn Fn(&str, u16) -> bool + Sync),
    sink: &mut WarningSink,
) -> Result<(LogStats, Vec<WinEvent>)> {
    read_evtx_counted(input, name, wanted, sink).map(|(stats, events, _)| (stats, events))
}

/// `read_evtx` on a file.
pub fn read_evtx_path(
    path: &Path,
    wanted: &(dyn Fn(&str, u16) -> bool + Sync),
    sink: &mut WarningSink,
) -> Result<(LogStats, Vec<WinEvent>)> {
    let file = File::open(path).map_err(|source| Error::Io { path: path.into(), source })?;
    read_evtx(file, &path.display().to_string(), wanted, sink)
}

/// `read_evtx`, also saying how the records were read (fast path, JSON fallback, lost).
pub fn read_evtx_counted<R: Read + Seek + Send>(
    input: R,
    name: &str,
    wanted: &(dyn Fn(&str, u16) -> bool + Sync),
    sink: &mut WarningSink,
) -> Result<(LogStats, Vec<WinEvent>, EvtxCounters)> {
    read_evtx_kept(input, name, wanted, &Keep::all(), sink)
}

/// `read_evtx_counted` that keeps in memory only the wanted events `keep` allows: within its
/// time window, at most `keep.per_event` of each provider/event id (the latest in file order),
/// and what was read before `keep.deadline`. Batches of chunks are read newest first so that
/// events beyond the cap are never built (`keep.rs`); the events come back in file order.
/// Counts still cover every record read. A generic stream is read under a lock, one chunk at a
/// time; `read_evtx_file_kept` and `read_evtx_bytes_kept` let the workers read at once.
pub fn read_evtx_kept<R: Read + Seek + Send>(
    input: R,
    name: &str,
    wanted: &(dyn Fn(&str, u16) -> bool + Sync),
    keep: &Keep,
    sink: &mut WarningSink,
) -> Result<(LogStats, Vec<WinEvent>, EvtxCounters)> {
    read_kept(&Locked(Mutex::new(input)), name, wanted, keep, sink)
}

/// `read_evtx_kept` on a file: every worker reads its own chunks (positional reads), so reading
/// scales with the workers instead of one thread reading for all of them.
pub fn read_evtx_file_kept(
    file: &File,
    name: &str,
    wanted: &(dyn Fn(&str, u16) -> bool + Sync),
    keep: &Keep,
    sink: &mut WarningSink,
) -> Result<(LogStats, Vec<WinEvent>, EvtxCounters)> {
    read_kept(file, name, wanted, keep, sink)
}

/// `read_evtx_kept` on a log in memory (e.g. unpacked from gzip).
pub fn read_evtx_bytes_kept(
    bytes: &[u8],
    name: &str,
    wanted: &(dyn Fn(&str, u16) -> bool + Sync),
    keep: &Keep,
    sink: &mut WarningSink,
) -> Result<(LogStats, Vec<WinEvent>, EvtxCounters)> {
    read_kept(bytes, name, wanted, keep, sink)
}

/// Where the chunks come from: reads at an offset, which several workers may do at once.
trait Source: Sync {
    fn len(&self) -> std::io::Result<u64>;
    /// Reads at `offset` until `buf` is full or the source ends; returns the bytes read.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize>;
}

impl Source for File {
    fn len(&self) -> std::io::Result<u64> {
        self.metadata().map(|m| m.len())
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        let mut got = 0;
        while let Some(rest) = buf.get_mut(got..).filter(|r| !r.is_empty()) {
            #[cfg(unix)]
            let n = std::os::unix::fs::FileExt::read_at(self, rest, offset + got as u64);
            #[cfg(windows)]
            let n = std::os::windows::fs::FileExt::seek_read(self, rest, offset + got as u64);
            match n {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(got)
    }
}

impl Source for [u8] {
    fn len(&self) -> std::io::Result<u64> {
        Ok(<[u8]>::len(self) as u64)
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        let from = self.get(usize::try_from(offset).unwrap_or(usize::MAX)..).unwrap_or_default();
        let n = from.len().min(buf.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..n), from.get(..n)) {
            to.copy_from_slice(from);
        }
        Ok(n)
    }
}

/// A stream read by one worker at a time.
struct Locked<R>(Mutex<R>);

impl<R: Read + Seek + Send> Source for Locked<R> {
    fn len(&self) -> std::io::Result<u64> {
        let mut input = self.0.lock().map_err(|_| std::io::Error::other("a chunk reader panicked"))?;
        input.seek(SeekFrom::End(0))
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        let mut input = self.0.lock().map_err(|_| std::io::Error::other("a chunk reader panicked"))?;
        input.seek(SeekFrom::Start(offset))?;
        read_full(&mut *input, buf)
    }
}

fn read_kept(
    input: &(impl Source + ?Sized),
    name: &str,
    wanted: &(dyn Fn(&str, u16) -> bool + Sync),
    keep: &Keep,
    sink: &mut WarningSink,
) -> Result<(LogStats, Vec<WinEvent>, EvtxCounters)> {
    let io = |source| Error::Io { path: name.into(), source };
    let len = input.len().map_err(io)?;
    let mut head = vec![0u8; len.min(FILE_HEADER_SIZE) as usize];
    let got = input.read_at(&mut head, 0).map_err(io)?;
    head.truncate(got);
    let header = EvtxFileHeader::from_bytes(&head)
        .map_err(|e| Error::UnknownFormat { path: name.into(), message: format!("not an EVTX file: {e}") })?;
    check_header(&header, len, sink);

    // A partial last chunk is read too (zero-filled): `read_chunk` reports it.
    let body = len.saturating_sub(FILE_HEADER_SIZE);
    let total = body.div_ceil(CHUNK_SIZE as u64);
    let batches = total.div_ceil(BATCH_CHUNKS as u64);
    let mut ranges = (0..batches).rev().map(|b| b * BATCH_CHUNKS as u64..total.min((b + 1) * BATCH_CHUNKS as u64));

    let settings = Arc::new(ParserSettings::new());
    let shared_name: Arc<str> = Arc::from(name);
    let (mut stats, mut counters) = (LogStats::default(), EvtxCounters::default());
    let mut kept = Kept::default();
    // Warnings per batch, newest first, handed to the sink in file order at the end.
    let mut warnings: Vec<(Vec<(u64, String)>, u64)> = Vec::new();
    // Chunk buffers for reuse: at most one batch of them exists at a time.
    let spare: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::with_capacity(BATCH_CHUNKS));
    let mut next = ranges.next();
    while let Some(batch) = next.take() {
        next = ranges.next();
        let wanted_now = |provider: &str, id: u16| wanted(provider, id) && !kept.is_full(provider, id);
        // Each worker reads the chunk it parses (while it is hot in its cache), so neither the
        // reads nor the parse wait on one thread. The batch is the unit the cap is settled in,
        // a fixed number of chunks whatever the number of workers: same output at any count.
        let done = batch
            .into_par_iter()
            .map(|number| {
                let mut buf = spare.lock().ok().and_then(|mut s| s.pop()).unwrap_or_default();
                buf.resize(CHUNK_SIZE, 0);
                let got = input.read_at(&mut buf, FILE_HEADER_SIZE + number * CHUNK_SIZE as u64)?;
                if let Some(rest) = buf.get_mut(got..) {
                    rest.fill(0);
                }
                let (acc, buf) = read_chunk(number, buf, got, &shared_name, &wanted_now, keep, &settings);
                if let (Some(buf), Ok(mut s)) = (buf, spare.lock()) {
                    s.push(buf);
                }
                Ok(acc)
            })
            .collect::<std::io::Result<Vec<Acc>>>()
            .map_err(io)?;
        let mut events = Vec::new();
        let mut notes = (Vec::new(), 0);
        for acc in done {
            notes.0.extend(acc.warnings);
            notes.1 += acc.dropped;
            stats.merge(acc.stats);
            events.extend(acc.events);
            counters.add(acc.counters);
        }
        notes.0.truncate(crate::error::MAX_WARNINGS);
        warnings.push(notes);
        kept.add(events, keep.per_event);
        // Past the deadline, reading stops once some records were read (the newest chunks of a
        // preallocated log are often still empty).
        if let Some(following) = &next
            && stats.records > 0
            && keep.deadline.expired()
        {
            let rest = format!("chunks 0 to {} (the oldest)", following.end - 1);
            warnings.push((vec![(FILE_HEADER_SIZE, keep.deadline.message(&rest))], 0));
            break;
        }
    }
    for (list, dropped) in warnings.into_iter().rev() {
        for (offset, message) in list {
            sink.push(offset, None, message);
        }
        sink.dropped += dropped;
    }
    let events = kept.finish();
    crate::events::warn_trimmed(&events, &stats, keep.per_event, sink);
    Ok((stats, events, counters))
}

fn check_header(header: &EvtxFileHeader, len: u64, sink: &mut WarningSink) {
    if len < FILE_HEADER_SIZE {
        sink.push(len, None, "file is shorter than its 4096-byte header: no chunks");
    }
    if !header.validate_checksum() {
        let (stored, computed) = (header.checksum, header.computed_checksum);
        let message = format!(
            "file header CRC32 mismatch (stored {stored:#010x}, computed {computed:#010x}): its fields are not \
             trusted; chunks are read at their fixed offsets"
        );
        sink.push(124, None, message);
    }
    // A file cut exactly at a chunk boundary has no partial chunk to report: the header's chunk
    // count (when its CRC vouches for it) is the only sign that chunks are missing. A dirty
    // header may lag behind the chunks written, never run ahead of the file.
    let slots = len.saturating_sub(FILE_HEADER_SIZE).div_ceil(CHUNK_SIZE as u64);
    if header.validate_checksum() && u64::from(header.chunk_count) > slots {
        let count = header.chunk_count;
        sink.push(
            len,
            None,
            format!(
                "file header lists {count} chunk(s) but the file holds only {slots}: the file was cut short; \
                 the records of the missing chunks are lost"
            ),
        );
    }
    if header.flags.contains(HeaderFlags::DIRTY) {
        sink.push(
            120,
            None,
            "file header is marked dirty: the log was not closed cleanly (copied from a running system?); \
             the last chunks may be partly written",
        );
    }
}

/// An error with its sources, `: `-separated.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Reads chunk `number` (`got` of its bytes are from the file, the rest zero-filled). Returns its
/// results and the buffer for reuse.
fn read_chunk(
    number: u64,
    buf: Vec<u8>,
    got: usize,
    name: &Arc<str>,
    wanted: &(dyn Fn(&str, u16) -> bool + Sync),
    keep: &Keep,
    settings: &Arc<ParserSettings>,
) -> (Acc, Option<Vec<u8>>) {
    let base = FILE_HEADER_SIZE + number * CHUNK_SIZE as u64;
    let mut acc = Acc::default();
    if buf.get(..8) != Some(b"ElfChnk\0".as_slice()) {
        // All-zero chunks are unused space in a preallocated log (or zero padding at its end).
        if buf.iter().any(|&b| b != 0) {
            acc.warn(
                base,
                if got < CHUNK_SIZE {
                    format!("the last {got} bytes of the file are not a chunk (no ElfChnk signature): ignored")
                } else {
                    format!("chunk {number}: no chunk signature (ElfChnk): skipped, its records are lost")
                },
            );
        }
        return (acc, Some(buf));
    }
    if got < CHUNK_HEADER_SIZE {
        let message = format!("file is truncated inside the header of chunk {number} ({got} of 512 bytes): ignored");
        acc.warn(base + got as u64, message);
        return (acc, Some(buf));
    }
    if got < CHUNK_SIZE {
        let message = format!(
            "file is truncated: chunk {number} is cut after {got} of 65536 bytes; its complete records are read"
        );
        acc.warn(base + got as u64, message);
    }
    let mut data = match EvtxChunkData::new(buf, false) {
        Ok(mut data) => {
            // So that the crate's own messages name the chunk and the file offset.
            data.number = Some(number);
            data
        }
        Err(e) => {
            acc.warn(base, format!("chunk {number}: {}: skipped, its records are lost", chain(&e)));
            return (acc, None);
        }
    };
    if !data.validate_header_checksum() {
        let stored = data.header.header_chunk_checksum;
        acc.warn(base + 124, format!("chunk {number}: header CRC32 mismatch (stored {stored:#010x}): read anyway"));
    }
    if got == CHUNK_SIZE && !data.validate_data_checksum() {
        acc.warn(
            base + 52,
            format!(
                "chunk {number}: records CRC32 mismatch: the chunk is damaged or was being written; its records \
                 are read anyway and unreadable ones reported"
            ),
        );
    }
    let mut typer = Typer::new(number, base, name.clone(), wanted, keep.window);
    let mut records = Acc::default();
    if !walk_own(&data, got, &mut typer, &mut records) {
        records = Acc::default();
        records.counters.crate_chunks = 1;
        walk_crate(&mut data, got, &mut typer, &mut records, settings);
    }
    acc.stats = records.tally.into_stats();
    acc.stats.chunks = 1;
    acc.events = records.events;
    for (offset, message) in records.warnings {
        acc.warn(offset, message);
    }
    acc.dropped += records.dropped;
    acc.counters = records.counters;
    // A walk that ends early (the rest of the chunk zeroed or overwritten) loses records that
    // have no error of their own: the header's first and last record ids bound how many there
    // are. Only for a damaged chunk (records CRC mismatch: ids may have gaps in a sound one), when
    // the chunk is complete, its header CRC holds and it is not empty.
    let (first, last) = (data.header.first_event_record_id, data.header.last_event_record_id);
    let listed = last.checked_sub(first).map(|n| n + 1).filter(|n| *n as usize <= CHUNK_SIZE / 28);
    let found = acc.stats.records + acc.counters.failed;
    if let Some(listed) = listed.filter(|n| *n > found)
        && got == CHUNK_SIZE
        && data.header.free_space_offset as usize > CHUNK_HEADER_SIZE
        && data.validate_header_checksum()
        && !data.validate_data_checksum()
    {
        acc.warn(
            base,
            format!(
                "chunk {number}: only {found} record(s) found where its header lists ids {first}..={last}: up to {} \
                 records are lost",
                listed - found
            ),
        );
    }
    (acc, Some(data.data))
}

/// A record header: size, id, FILETIME, when the magic, size and time are sound.
fn record_header(chunk: &[u8], offset: usize) -> Option<(usize, u64, u64)> {
    let h: &[u8; RECORD_HEADER_SIZE] = chunk.get(offset..offset.checked_add(RECORD_HEADER_SIZE)?)?.try_into().ok()?;
    let [m0, m1, m2, m3, s0, s1, s2, s3, rest @ ..] = h;
    let (id, time) = rest.split_at(8);
    let size = u32::from_le_bytes([*s0, *s1, *s2, *s3]) as usize;
    let filetime = u64::from_le_bytes(time.try_into().ok()?);
    let sound = [*m0, *m1, *m2, *m3] == [0x2a, 0x2a, 0, 0] && size >= RECORD_HEADER_SIZE + 4;
    (sound && filetime <= MAX_RECORD_FILETIME)
        .then(|| (size, u64::from_le_bytes(id.try_into().unwrap_or([0; 8])), filetime))
}

/// Our walk over the chunk's records (from the header to the free space or the last record id).
/// `false` when it met something irregular: the caller then redoes the chunk with the crate.
fn walk_own(data: &EvtxChunkData, got: usize, typer: &mut Typer<'_>, acc: &mut Acc) -> bool {
    let chunk = data.data.as_slice();
    let live_end = (data.header.free_space_offset as usize).min(chunk.len());
    let mut offset = CHUNK_HEADER_SIZE;
    let truncated = got < CHUNK_SIZE;
    while offset < live_end {
        if truncated && offset + RECORD_HEADER_SIZE > got {
            cut_off(typer, acc, offset, None);
            return true;
        }
        let Some((size, id, filetime)) = record_header(chunk, offset) else { return false };
        let end = offset.saturating_add(size);
        if truncated && end > got {
            cut_off(typer, acc, offset, Some(id));
            return true;
        }
        if end > chunk.len() {
            return false;
        }
        // Every record ends with a copy of its size: one whose copy differs is damaged (its end
        // zeroed or overwritten) and is left to the crate's walk, which reports it.
        if chunk.get(end - 4..end) != Some(&(size as u32).to_le_bytes()[..]) {
            return false;
        }
        let r = RecordAt { offset, bin_start: offset + RECORD_HEADER_SIZE, bin_end: end - 4, id, filetime };
        if typer.record(chunk, &r, acc).is_err() {
            return false;
        }
        if id == data.header.last_event_record_id {
            break;
        }
        offset = end;
    }
    true
}

fn cut_off(typer: &Typer<'_>, acc: &mut Acc, offset: usize, id: Option<u64>) {
    let number = typer.number;
    let what = id.map(|id| format!("record id {id}")).unwrap_or_else(|| "the next record".to_string());
    acc.warn(
        typer.base + offset as u64,
        format!("chunk {number}: {what} at chunk offset {offset:#x} is cut off by the end of the file; it and later records of the chunk are lost"),
    );
}

/// The crate's walk over the chunk: resyncs past damaged records; records our reader cannot
/// type are rendered as JSON by the crate.
fn walk_crate(
    data: &mut EvtxChunkData,
    got: usize,
    typer: &mut Typer<'_>,
    acc: &mut Acc,
    settings: &Arc<ParserSettings>,
) {
    let (number, base) = (typer.number, typer.base);
    let mut chunk = match data.parse(Arc::clone(settings)) {
        Ok(chunk) => chunk,
        Err(e) => {
            acc.warn(base, format!("chunk {number}: {}: its records are lost", chain(&e)));
            return;
        }
    };
    let bytes: &[u8] = chunk.data;
    let ids = chunk.header.first_event_record_id..=chunk.header.last_event_record_id;
    let mut expected = CHUNK_HEADER_SIZE;
    let mut cut = false;
    for item in chunk.iter() {
        let rec = match item {
            Ok(rec) => rec,
            Err(e) => {
                let (offset, id) = match &e {
                    EvtxError::FailedToReadRecordAt { offset, .. } => {
                        let offset = *offset as usize;
                        let id =
                            bytes.get(offset + 8..offset + 16).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes);
                        (offset, id.filter(|id| ids.contains(id)))
                    }
                    EvtxError::FailedToParseRecord { record_id, .. } => (expected, Some(*record_id)),
                    _ => (expected, None),
                };
                if offset >= got {
                    if !std::mem::replace(&mut cut, true) {
                        cut_off(typer, acc, offset, id);
                    }
                    continue;
                }
                let what = id.map(|id| format!("record id {id} at")).unwrap_or_else(|| "record at".to_string());
                acc.warn(
                    base + offset as u64,
                    format!("chunk {number}, {what} chunk offset {offset:#x}: {}; skipped, reading on", chain(&e)),
                );
                acc.counters.failed += 1;
                continue;
            }
        };
        let bin_start = rec.binxml_offset as usize;
        let offset = bin_start.saturating_sub(RECORD_HEADER_SIZE);
        let bin_end = bin_start + rec.binxml_size as usize;
        expected = bin_end + 4;
        if expected > got {
            if !std::mem::replace(&mut cut, true) {
                cut_off(typer, acc, offset, Some(rec.event_record_id));
            }
            continue;
        }
        // A record whose trailing size copy differs from its size is damaged: what the crate made
        // of it would be partly invented.
        let size = expected - offset;
        let copy = bytes.get(bin_end..expected).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes);
        if copy != Some(size as u32) {
            let copy = copy.map_or_else(|| "missing".to_string(), |c| c.to_string());
            acc.warn(
                base + offset as u64,
                format!(
                    "chunk {number}, record id {} at chunk offset {offset:#x}: damaged (its trailing size copy {copy} \
                     differs from its size {size}); skipped",
                    rec.event_record_id
                ),
            );
            acc.counters.failed += 1;
            continue;
        }
        let filetime = bytes.get(offset + 16..offset + 24).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes);
        let r = RecordAt { offset, bin_start, bin_end, id: rec.event_record_id, filetime: filetime.unwrap_or(0) };
        let Err(ours) = typer.record(bytes, &r, acc) else { continue };
        let rendered = rec.into_json_value().map_err(|e| chain(&e));
        let failure = match rendered {
            Ok(json) => match typer.record_json(&json.data, &r, acc) {
                Ok(()) => continue,
                Err(e) => e.0,
            },
            Err(e) => e,
        };
        acc.warn(
            base + offset as u64,
            format!("chunk {number}, record id {} at chunk offset {offset:#x}: unreadable ({failure}; our reader: {}); skipped", r.id, ours.0),
        );
        acc.counters.failed += 1;
    }
}
