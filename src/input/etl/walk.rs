//! The ETW container: the records inside a trace's buffers, and the log file's clock.
//!
//! Takes the buffers in file order from `buffers` (read and decompressed ahead on a second
//! thread) and calls back once per record, on the calling thread, with its header decoded and
//! its user data borrowed. It does not interpret any provider's events (that is `pktmon` /
//! `ndis`) and does not reorder: records come in file order, each CPU's buffer in its own time
//! order. Damage becomes a `Warning` with the file offset; a buffer that cannot be read is
//! skipped and the walk goes on with the next one.
//!
//! References (facts only): WMI_BUFFER_HEADER, 0x48 bytes — BufferSize u32 @0, SavedOffset
//! @4, CurrentOffset @8, TimeStamp i64 @0x10, SequenceNumber @0x18, ClientContext
//! (ProcessorNumber u8 @0x28, Alignment u8, LoggerId u16), State @0x2C, Offset ("FilledBytes")
//! @0x30, BufferFlag u16 @0x34 (0x40 compressed), BufferType u16 @0x36 (Geoff Chappell,
//! "WMI_BUFFER_HEADER"; phnt ntwmi.h). Records are 8-byte aligned; 0xFFFFFFFF ends a buffer's
//! data. A record's marker: top byte 0xC0 → byte 2 is TRACE_HEADER_TYPE_*; top byte 0x90 → a
//! WPP message header (Size u16 @0). SYSTEM/COMPACT/PERFINFO headers carry Size u16 @4 and the
//! HookId u16 @6; EVENT_HEADER, EVENT_TRACE_HEADER ("full") and EVENT_INSTANCE_GUID_HEADER carry
//! Size u16 @0 (evntcons.h, evntrace.h; Chappell "traceheaders"). The first record of a file is a
//! SYSTEM header with HookId 0 whose payload is TRACE_LOGFILE_HEADER (evntrace.h).

use std::fmt;
use std::io::Read;

use super::buffers::{Stop, read_ahead};
use crate::error::{Error, Result, WarningSink};
use crate::time::Ts;

/// The WMI_BUFFER_HEADER size.
pub const BUFFER_HEADER: usize = 0x48;
/// Largest buffer we accept, on disk or decompressed (ETW's own maximum buffer size is 16 MiB;
/// pktmon's logfile header announces exactly that).
pub const MAX_BUFFER: u32 = 64 << 20;

/// A GUID as stored in ETW records: Data1..Data3 little-endian, Data4 as bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// From the canonical text form's fields.
    pub const fn new(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> Guid {
        let a = d1.to_le_bytes();
        let b = d2.to_le_bytes();
        let c = d3.to_le_bytes();
        Guid([a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4], d4[5], d4[6], d4[7]])
    }

    fn at(b: &[u8], off: usize) -> Guid {
        let mut g = [0u8; 16];
        if let Some(s) = b.get(off..off + 16) {
            g.copy_from_slice(s);
        }
        Guid(g)
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = &self.0;
        write!(
            f,
            "{{{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}}}",
            u32::from_le_bytes([g[0], g[1], g[2], g[3]]),
            u16::from_le_bytes([g[4], g[5]]),
            u16::from_le_bytes([g[6], g[7]]),
            g[8],
            g[9],
            g[10],
            g[11],
            g[12],
            g[13],
            g[14],
            g[15]
        )
    }
}

/// The "EventTrace" class of the kernel logger, under which tracerpt counts the logfile header
/// and the other HookId group-0 records.
pub const EVENT_TRACE: Guid = Guid::new(0x68fdd900, 0x4a3e, 0x11d1, [0x84, 0xf4, 0x00, 0x00, 0xf8, 0x04, 0x64, 0xe3]);
/// SystemTraceControlGuid: the provider of every other SYSTEM/PERFINFO record.
pub const SYSTEM_TRACE: Guid = Guid::new(0x9e814aad, 0x3204, 0x11d2, [0x9a, 0x82, 0x00, 0x60, 0x08, 0xa8, 0x69, 0x39]);

/// Which TRACE_HEADER_TYPE a record has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderKind {
    /// SYSTEM32/64 (1, 2), COMPACT32/64 (3, 4): kernel events keyed by HookId.
    System,
    /// PERFINFO32/64 (0x10, 0x11).
    PerfInfo,
    /// EVENT_HEADER32/64 (0x12, 0x13): manifest and TraceLogging providers.
    Event,
    /// FULL_HEADER32/64 (0x0A, 0x14): classic EVENT_TRACE_HEADER events (MOF providers).
    Classic,
    /// INSTANCE32/64 (0x0B, 0x15): EVENT_INSTANCE_GUID_HEADER.
    Instance,
    /// A WPP message (marker flags 0x90).
    Message,
    /// Any other header type (skipped by its size).
    Other(u8),
}

/// One record, its header decoded, its user data borrowed from the buffer.
pub struct Event<'a> {
    /// 1-based number of the record in file order (the logfile header is event 1).
    pub index: u64,
    /// File offset of the record (of its buffer when the buffer is compressed).
    pub offset: u64,
    /// CPU whose buffer held it.
    pub processor: u8,
    pub kind: HeaderKind,
    /// Raw clock value from the header (QPC ticks, FILETIME or CPU cycles).
    pub raw_time: i64,
    /// UTC time from the log file's clock.
    pub ts: Ts,
    pub provider: Guid,
    /// EVENT_DESCRIPTOR.Id (manifest events), HookId (system records), 0 otherwise.
    pub id: u16,
    pub version: u8,
    pub opcode: u8,
    /// EVENT_DESCRIPTOR.Keyword (manifest events), 0 otherwise.
    pub keyword: u64,
    /// The user data after the header (and after extended data items).
    pub data: &'a [u8],
    /// Processors whose buffers the trace interleaves (TRACE_LOGFILE_HEADER
    /// NumberOfProcessors); 0 when the logger does not buffer per processor
    /// (EVENT_TRACE_NO_PER_PROCESSOR_BUFFERING), so `processor` says nothing about order.
    pub cpus: u32,
}

/// TRACE_LOGFILE_HEADER fields we use (evntrace.h; offsets for 64-bit pointers, 8 less after
/// the two pointers for 32-bit).
#[derive(Clone, Debug, Default)]
pub struct LogHeader {
    pub buffer_size: u32,
    /// ProviderVersion: the Windows build that wrote the trace.
    pub build: u32,
    pub cpus: u32,
    pub log_file_mode: u32,
    pub buffers_written: u32,
    pub events_lost: u32,
    pub buffers_lost: u32,
    pub perf_freq: u64,
    pub cpu_mhz: u32,
    /// BootTime, FILETIME: when the host that wrote the trace booted.
    pub boot_time: i64,
    /// StartTime, FILETIME.
    pub start_time: i64,
    /// ReservedFlags: 1 QPC, 2 system time (FILETIME), 3 CPU cycles.
    pub clock: u32,
    /// The header record's own raw time: the clock's origin at `start_time`.
    pub start_raw: i64,
    pub logger_name: String,
}

/// EVENT_TRACE_NO_PER_PROCESSOR_BUFFERING (evntrace.h): one set of buffers for every CPU.
const NO_PER_PROCESSOR_BUFFERING: u32 = 0x1000_0000;

/// FILETIME of the Unix epoch.
const FILETIME_UNIX: i64 = 116_444_736_000_000_000;

impl LogHeader {
    fn parse(payload: &[u8], is64: bool, raw: i64) -> Option<LogHeader> {
        let p = if is64 { 0 } else { 8 };
        let size = if is64 { 0x118 } else { 0x110 };
        if payload.len() < size {
            return None;
        }
        let h = LogHeader {
            buffer_size: u32_at(payload, 0)?,
            build: u32_at(payload, 8)?,
            cpus: u32_at(payload, 0x0C)?,
            log_file_mode: u32_at(payload, 0x20)?,
            buffers_written: u32_at(payload, 0x24)?,
            events_lost: u32_at(payload, 0x30)?,
            cpu_mhz: u32_at(payload, 0x34)?,
            perf_freq: u64_at(payload, 0x100 - p)?,
            boot_time: u64_at(payload, 0xF8 - p)? as i64,
            start_time: u64_at(payload, 0x108 - p)? as i64,
            clock: u32_at(payload, 0x110 - p)?,
            buffers_lost: u32_at(payload, 0x114 - p)?,
            start_raw: raw,
            logger_name: utf16z(payload.get(size..).unwrap_or_default()),
        };
        Some(h)
    }

    /// Converts a raw header time to UTC: `StartTime + (raw − start_raw) × scale`, the scale
    /// being 10⁷/PerfFreq (QPC), 1 (FILETIME) or 10/CpuMHz (cycles) 100-ns units per tick.
    pub fn to_ts(&self, raw: i64) -> Ts {
        let delta = i128::from(raw) - i128::from(self.start_raw);
        let ticks: i128 = match self.clock {
            // QPC at 10 MHz (every trace in the corpus): ticks are already 100 ns.
            1 if self.perf_freq == 10_000_000 => delta,
            1 if self.perf_freq > 0 => delta * 10_000_000 / i128::from(self.perf_freq),
            3 if self.cpu_mhz > 0 => delta * 10 / i128::from(self.cpu_mhz),
            2 => i128::from(raw) - i128::from(self.start_time),
            _ => delta,
        };
        let ft = i128::from(self.start_time) + ticks;
        let ns = (ft - i128::from(FILETIME_UNIX)) * 100;
        Ts(ns.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
    }
}

fn utf16z(b: &[u8]) -> String {
    let units: Vec<u16> =
        b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).take_while(|&u| u != 0).take(256).collect();
    String::from_utf16_lossy(&units)
}

pub fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    b.get(o..o + 2).map(|s| u16::from_le_bytes([s[0], s[1]]))
}

pub fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    b.get(o..o + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

pub fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    b.get(o..o + 8).map(|s| u64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]))
}

/// What the walk saw, besides the records.
#[derive(Clone, Debug, Default)]
pub struct WalkStats {
    pub log: LogHeader,
    pub buffers: u64,
    pub compressed: u64,
    pub events: u64,
    /// Records skipped because their header kind is not one we decode (still counted).
    pub other_records: u64,
    /// File offset where the walk ended.
    pub end: u64,
}

/// Checks the first buffer of a stream: a WMI buffer header followed by a SYSTEM record with
/// HookId 0 (the logfile header) big enough for TRACE_LOGFILE_HEADER. Used for detection.
pub fn looks_like_etl(head: &[u8]) -> bool {
    let (Some(size), Some(marker), Some(rec_size), Some(hook)) = (
        u32_at(head, 0),
        u32_at(head, BUFFER_HEADER),
        u16_at(head, BUFFER_HEADER + 4),
        u16_at(head, BUFFER_HEADER + 6),
    ) else {
        return false;
    };
    let htype = (marker >> 16) as u8;
    (marker >> 24) == 0xC0
        && matches!(htype, 1 | 2)
        && hook == 0
        && usize::from(rec_size) >= 0x20 + 0x110
        && (BUFFER_HEADER as u32 + u32::from(rec_size)..=MAX_BUFFER).contains(&size)
}

/// Walks every buffer and record of an `.etl` stream, in file order (the buffers read ahead on
/// a second thread: `buffers::read_ahead`).
pub fn walk<R: Read + Send>(
    src: R,
    input: &str,
    warn: &mut WarningSink,
    mut on_event: impl FnMut(&Event, &mut WarningSink),
) -> Result<WalkStats> {
    let mut stats = WalkStats::default();
    let mut log: Option<LogHeader> = None;
    let mut failed: Option<Error> = None;
    read_ahead(src, |batch| {
        for i in 0..batch.buffers.len() {
            let Some(b) = batch.buffers.get_mut(i) else { break };
            for (at, message) in std::mem::take(&mut b.notes) {
                warn.push(at, None, message);
            }
            let Some(b) = batch.buffers.get(i) else { break };
            stats.buffers += 1;
            stats.compressed += u64::from(b.compressed);
            let base = if b.compressed { b.pos } else { b.pos + BUFFER_HEADER as u64 };
            let records = batch.records(b);
            if let Err(e) = walk_records(
                records,
                base,
                !b.compressed,
                b.processor,
                &mut log,
                &mut stats,
                input,
                warn,
                &mut on_event,
            ) {
                failed = Some(e);
                return false;
            }
        }
        match batch.stop.as_mut() {
            None => true,
            Some(Stop::End(pos, note)) => {
                if let Some((at, message)) = note.take() {
                    warn.push(at, None, message);
                }
                stats.end = *pos;
                false
            }
            Some(Stop::BadSize { pos, size }) => {
                if log.is_none() {
                    failed =
                        Some(Error::input(input, format!("not an ETW trace: first buffer size {size} is implausible")));
                } else {
                    warn.push(*pos, None, format!("buffer header with an impossible size {size}: the rest of the trace ({pos} bytes read) cannot be framed and is not read"));
                }
                stats.end = *pos;
                false
            }
            Some(Stop::Io(e)) => {
                failed = Some(Error::input(input, format!("read error: {e}")));
                false
            }
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    match log {
        Some(l) => {
            stats.log = l;
            Ok(stats)
        }
        None => Err(Error::input(input, "not an ETW trace: no TRACE_LOGFILE_HEADER in the first buffer")),
    }
}

/// Walks the records of one buffer's data.
#[allow(clippy::too_many_arguments)]
fn walk_records(
    data: &[u8],
    base: u64,
    exact_offsets: bool,
    processor: u8,
    log: &mut Option<LogHeader>,
    stats: &mut WalkStats,
    input: &str,
    warn: &mut WarningSink,
    on_event: &mut impl FnMut(&Event, &mut WarningSink),
) -> Result<()> {
    let mut at = 0usize;
    while let Some(marker) = u32_at(data, at) {
        if marker == 0xFFFF_FFFF || marker == 0 {
            break;
        }
        let off = if exact_offsets { base + at as u64 } else { base };
        let flags = (marker >> 24) as u8;
        let htype = (marker >> 16) as u8;
        let kind = match (flags, htype) {
            (0xC0, 1..=4) => HeaderKind::System,
            (0xC0, 0x10 | 0x11) => HeaderKind::PerfInfo,
            (0xC0, 0x12 | 0x13) => HeaderKind::Event,
            (0xC0, 0x0A | 0x14) => HeaderKind::Classic,
            (0xC0, 0x0B | 0x15) => HeaderKind::Instance,
            (0xC0, t) => HeaderKind::Other(t),
            (f, _) if f & 0xF0 == 0x90 => HeaderKind::Message,
            _ => {
                warn.push(
                    off,
                    None,
                    format!(
                        "record with an unknown marker {marker:#010x}: the rest of this buffer ({} bytes) is skipped",
                        data.len() - at
                    ),
                );
                break;
            }
        };
        let size = match kind {
            HeaderKind::System | HeaderKind::PerfInfo => u16_at(data, at + 4).unwrap_or(0),
            _ => (marker & 0xFFFF) as u16,
        } as usize;
        let min = match (kind, htype) {
            (HeaderKind::System, 3 | 4) => 0x18,
            (HeaderKind::System, _) => 0x20,
            (HeaderKind::PerfInfo, _) => 0x10,
            (HeaderKind::Event, _) => 0x50,
            (HeaderKind::Classic, _) => 0x30,
            (HeaderKind::Instance, _) => 0x48,
            _ => 8,
        };
        let Some(rec) = data.get(at..at + size).filter(|_| size >= min) else {
            warn.push(off, None, format!("record of {size} bytes (type {htype:#04x}) does not fit its buffer (min {min}, {} left): the rest of this buffer is skipped", data.len() - at));
            break;
        };
        at += size.div_ceil(8) * 8;
        stats.events += 1;
        let index = stats.events;
        let mut ev = Event {
            index,
            offset: off,
            processor,
            kind,
            raw_time: 0,
            ts: Ts(0),
            provider: Guid::default(),
            id: 0,
            version: 0,
            opcode: 0,
            keyword: 0,
            data: &[],
            cpus: 0,
        };
        let time_at = |o: usize| u64_at(rec, o).unwrap_or(0) as i64;
        match kind {
            HeaderKind::System => {
                ev.id = u16_at(rec, 6).unwrap_or(0);
                ev.raw_time = time_at(0x10);
                ev.provider = if ev.id >> 8 == 0 { EVENT_TRACE } else { SYSTEM_TRACE };
                ev.version = rec[0];
                ev.data = &rec[min..];
                if log.is_none() && ev.id == 0 && index == 1 {
                    match LogHeader::parse(ev.data, htype == 2, ev.raw_time) {
                        Some(h) => *log = Some(h),
                        None => {
                            return Err(Error::input(
                                input,
                                "not an ETW trace: the logfile header record is too short",
                            ));
                        }
                    }
                }
            }
            HeaderKind::PerfInfo => {
                ev.id = u16_at(rec, 6).unwrap_or(0);
                ev.raw_time = time_at(8);
                ev.provider = SYSTEM_TRACE;
                ev.data = &rec[min..];
            }
            HeaderKind::Event => {
                ev.raw_time = time_at(0x10);
                ev.provider = Guid::at(rec, 0x18);
                ev.id = u16_at(rec, 0x28).unwrap_or(0);
                ev.version = rec[0x2A];
                ev.opcode = rec[0x2D];
                ev.keyword = u64_at(rec, 0x30).unwrap_or(0);
                let hflags = u16_at(rec, 4).unwrap_or(0);
                ev.data = &rec[min..];
                if hflags & 0x1 != 0 {
                    ev.data = skip_extended(ev.data);
                }
            }
            HeaderKind::Classic | HeaderKind::Instance => {
                ev.raw_time = time_at(0x10);
                ev.provider = Guid::at(rec, 0x18);
                ev.opcode = rec[4];
                ev.version = rec[6];
                ev.data = &rec[min..];
            }
            HeaderKind::Message | HeaderKind::Other(_) => {
                stats.other_records += 1;
                ev.data = &rec[min.min(rec.len())..];
            }
        }
        let Some(l) = log.as_ref() else {
            warn.push(off, None, "the trace does not start with its logfile header: not an ETW trace we can date");
            return Err(Error::input(input, "not an ETW trace: no TRACE_LOGFILE_HEADER at its start"));
        };
        if matches!(kind, HeaderKind::Message | HeaderKind::Other(_)) {
            ev.ts = Ts(0);
        } else {
            ev.ts = l.to_ts(ev.raw_time);
        }
        ev.cpus = if l.log_file_mode & NO_PER_PROCESSOR_BUFFERING == 0 { l.cpus } else { 0 };
        on_event(&ev, warn);
    }
    Ok(())
}

/// Skips the extended data items that precede an EVENT_HEADER record's user data. Each item:
/// Size u16 (whole item, 8-aligned), ExtType u16, Linkage u16 (bit 0: another item follows),
/// DataSize u16, then the data (dissect.etl `EventHeaderExtendedDataItem`).
fn skip_extended(mut data: &[u8]) -> &[u8] {
    for _ in 0..16 {
        let (Some(size), Some(linkage)) = (u16_at(data, 0), u16_at(data, 4)) else { return data };
        let size = usize::from(size);
        if size < 8 || size % 8 != 0 || size > data.len() {
            return data;
        }
        data = &data[size..];
        if linkage & 1 == 0 {
            break;
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    // Oracle: the PktMon provider GUID {4d4f80d9-c8bd-4d73-bb5b-19c90402c5ac} (NOTES.md), whose
    // on-disk bytes start d9 80 4f 4d (Data1 little-endian).
    #[test]
    fn guid_text() {
        let g = Guid::new(0x4d4f80d9, 0xc8bd, 0x4d73, [0xbb, 0x5b, 0x19, 0xc9, 0x04, 0x02, 0xc5, 0xac]);
        assert_eq!(g.0[..4], [0xd9, 0x80, 0x4f, 0x4d]);
        assert_eq!(g.to_string(), "{4d4f80d9-c8bd-4d73-bb5b-19c90402c5ac}");
    }

    // Oracle: nsvpn_PktMon_7119f51.txt — StartTime 132670374575408593 (FILETIME) prints as
    // 2021-06-01 21:40:57.5408593 at UTC+05:30, i.e. 16:10:57.5408593Z.
    #[test]
    fn qpc_clock() {
        let h = LogHeader {
            perf_freq: 10_000_000,
            clock: 1,
            start_time: 132670374575408593,
            start_raw: 1000,
            ..Default::default()
        };
        assert_eq!(h.to_ts(1000).rfc3339(7), "2021-06-01T16:10:57.5408593Z");
        assert_eq!(h.to_ts(1001).rfc3339(7), "2021-06-01T16:10:57.5408594Z");
    }

    /// A 64-bit trace of one buffer: the logfile header record, then `records`.
    fn trace(records: &[Vec<u8>]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut lh = vec![0u8; 0x20 + 0x118];
        lh[0..4].copy_from_slice(&0xC002_0002u32.to_le_bytes());
        let n = lh.len() as u16;
        lh[4..6].copy_from_slice(&n.to_le_bytes());
        lh[0x20 + 0x100..0x20 + 0x108].copy_from_slice(&10_000_000u64.to_le_bytes());
        lh[0x20 + 0x108..0x20 + 0x110].copy_from_slice(&(FILETIME_UNIX as u64).to_le_bytes());
        lh[0x20 + 0x110] = 1;
        for r in std::iter::once(&lh).chain(records) {
            body.extend_from_slice(r);
            body.resize(body.len().div_ceil(8) * 8, 0);
        }
        let mut out = vec![0u8; BUFFER_HEADER];
        let size = (BUFFER_HEADER + body.len() + 8) as u32;
        out[0..4].copy_from_slice(&size.to_le_bytes());
        out[0x30..0x34].copy_from_slice(&((BUFFER_HEADER + body.len()) as u32).to_le_bytes());
        out.extend_from_slice(&body);
        out.extend_from_slice(&[0xFF; 8]);
        out
    }

    fn record(marker: u32, size: usize, size_at_4: bool) -> Vec<u8> {
        let mut r = vec![0u8; size];
        r[0..4].copy_from_slice(&marker.to_le_bytes());
        if size_at_4 {
            r[4..6].copy_from_slice(&(size as u16).to_le_bytes());
        }
        r
    }

    // Oracle: the header layouts in the module doc (TRACE_HEADER_TYPE_* values, where each
    // kind keeps its size); every record is walked, each skipped by its own size.
    #[test]
    fn every_header_kind_is_skipped_by_its_size() {
        let mut ev = record(0xC013_0000 | 0x68, 0x68, false);
        ev[4] = 1; // EVENT_HEADER_FLAG_EXTENDED_INFO: one 16-byte item, then 8 bytes of user data
        ev[0x28] = 160;
        ev[0x50..0x52].copy_from_slice(&16u16.to_le_bytes());
        ev[0x60..0x68].copy_from_slice(b"userdata");
        let records = vec![
            record(0xC004_0002, 0x18 + 5, true),     // COMPACT64
            record(0xC011_0002, 0x10 + 3, true),     // PERFINFO64
            record(0xC014_0000 | 0x31, 0x31, false), // FULL_HEADER64
            record(0xC00A_0000 | 0x30, 0x30, false), // FULL_HEADER32
            record(0xC015_0000 | 0x48, 0x48, false), // INSTANCE64
            record(0x9000_0000 | 0x0C, 0x0C, false), // WPP message
            record(0xC01F_0000 | 0x10, 0x10, false), // an unknown type
            ev,
        ];
        let mut sink = WarningSink::new("t");
        let mut seen = Vec::new();
        let stats = walk(&trace(&records)[..], "t", &mut sink, |e, _| seen.push((e.kind, e.id, e.data.to_vec())))
            .map_err(|e| e.to_string());
        assert!(sink.list.is_empty(), "{:?}", sink.list);
        assert_eq!(stats.map(|s| (s.events, s.other_records)), Ok((9, 2)));
        let last = seen.last().cloned().unwrap_or((HeaderKind::Other(0), 0, Vec::new()));
        assert_eq!((last.0, last.1, last.2.as_slice()), (HeaderKind::Event, 160, &b"userdata"[..]));
        assert_eq!(seen.get(3).map(|s| s.0), Some(HeaderKind::Classic));
        assert_eq!(seen.get(6).map(|s| s.0), Some(HeaderKind::Message));
    }

    #[test]
    fn a_record_past_its_buffer_is_a_warning() {
        let mut bad = record(0xC013_0000 | 0x50, 0x50, false);
        bad[0..2].copy_from_slice(&0x4000u16.to_le_bytes());
        let mut sink = WarningSink::new("t");
        let r = walk(&trace(&[bad])[..], "t", &mut sink, |_, _| {});
        assert!(r.is_ok());
        assert_eq!(sink.list.len(), 1);
        assert!(sink.list[0].message.contains("does not fit"), "{:?}", sink.list);
    }

    #[test]
    fn garbage_is_an_error_or_a_warning() {
        let mut sink = WarningSink::new("t");
        assert!(walk(&b"GIF89a........"[..], "t", &mut sink, |_, _| {}).is_err());
        let mut buf = vec![0u8; 0x100];
        buf[0..4].copy_from_slice(&0x100u32.to_le_bytes());
        assert!(walk(&buf[..], "t", &mut sink, |_, _| {}).is_err());
        assert!(!looks_like_etl(&buf));
    }
}
