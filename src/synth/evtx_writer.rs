//! `.evtx` writer: Windows event logs for our own sample scenarios and tests, produced entirely by
//! our code.
//!
//! Takes a list of `EventSpec`s (System fields plus an EventData, unnamed Data/Binary or UserData
//! payload) and writes a complete log to any `Write`: the 4096-byte file header, then 64 KiB
//! chunks (512-byte header, records from offset 512, a new chunk when the next record does not
//! fit), every header with its CRC32 and the chunk's records CRC32, record ids and numbers,
//! last-record and free-space offsets. Records are laid out as Windows lays them out (see
//! `binxml_writer`): a System template instance with fixed value slots, `Computer` as literal
//! text of the definition, and the payload as a nested fragment with a template of its own;
//! definitions and names are written inline once per chunk and referenced afterwards. Record
//! sizes are padded to a multiple of 8 as in real logs. The output is deterministic: the same
//! events give the same bytes (no clock, no randomness).
//!
//! Errors (`InvalidInput`) instead of a wrong file: record ids that do not increase, a malformed
//! SID, a value, name or payload too large for its BinXML field, a record larger than a chunk.
//! It does not write a dirty or full log, wrapped-around chunks, array values, EvtXml values or
//! classic-event System templates (EventSourceName); it reads nothing and does not validate
//! event contents against any provider manifest.
//!
//! References: [MS-EVEN6] §2.2 (BinXml, see `binxml_writer`); rdp-facts §7 (file header §7.1,
//! chunk header §7.2, record §7.3, CRC rules, the round-trip check of §7.6).

use std::io::{self, Write};

use super::binxml_writer::{ChunkTables, filetime, write_record_binxml};
use crate::time::Ts;

/// A substitution value of a payload field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// UTF-16 string (stored with a trailing NUL, as Windows does).
    Str(String),
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    /// HexInt32: rendered `0xc000006d` (how 4625 stores Status and SubStatus).
    HexU32(u32),
    /// HexInt64: rendered `0x3e7` (4624/4625 logon ids).
    HexU64(u64),
    /// A GUID in on-disk byte order (first three groups little-endian); see `parse_guid`.
    Guid([u8; 16]),
    /// FILETIME, kept to 100 ns.
    FileTime(Ts),
    /// A SID in text form, e.g. "S-1-5-18".
    Sid(String),
    /// A 32-bit boolean.
    Bool(bool),
    Binary(Vec<u8>),
}

/// The part of an event below `<System>`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Payload {
    /// No EventData or UserData at all.
    #[default]
    None,
    /// `<EventData><Data Name="X">..</Data>..[<Binary>..</Binary>]</EventData>` (manifest
    /// providers, and SCM 7036 with its Binary service key).
    EventData { data: Vec<(String, Value)>, binary: Option<Vec<u8>> },
    /// `<EventData><Data>..</Data>..[<Binary>..</Binary>]</EventData>` without names (classic
    /// message-table events such as TermDD 50/56).
    Unnamed { data: Vec<String>, binary: Option<Vec<u8>> },
    /// `<UserData><{wrapper} xmlns="{ns}"><Field>..</Field>..</{wrapper}></UserData>`, e.g. the
    /// wrapper "EventXML" with ns "Event_NS" of RCM 1149 and LSM 21..25; an empty `ns` writes
    /// no xmlns attribute.
    UserData { wrapper: String, ns: String, fields: Vec<(String, Value)> },
}

impl Payload {
    /// Named EventData without Binary.
    pub fn named(fields: &[(&str, Value)]) -> Payload {
        Payload::EventData { data: fields.iter().map(|(n, v)| (n.to_string(), v.clone())).collect(), binary: None }
    }
}

/// One event to write: the System fields and the payload.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventSpec {
    /// `Provider@Name`, e.g. "Microsoft-Windows-Security-Auditing".
    pub provider: String,
    /// `Provider@Guid` in on-disk byte order (`parse_guid`); `None` for classic providers.
    pub provider_guid: Option<[u8; 16]>,
    pub event_id: u16,
    /// `EventID@Qualifiers` of classic providers (16384 info, 49152 error, ...).
    pub qualifiers: Option<u16>,
    pub version: u8,
    /// 0 LogAlways (Security), 1 critical, 2 error, 3 warning, 4 information.
    pub level: u8,
    pub task: u16,
    pub opcode: u8,
    pub keywords: u64,
    /// `TimeCreated@SystemTime`, also the record header's time (truncated to 100 ns).
    pub ts: Ts,
    /// `EventRecordID`; 0 = the previous record's id + 1 (the first record gets 1). Ids must
    /// increase through the log.
    pub record_id: u64,
    pub process_id: u32,
    pub thread_id: u32,
    /// `Channel`, e.g. "Security" or "Microsoft-Windows-.../Operational".
    pub channel: String,
    /// `Computer`, written as literal text of the System template (one definition per name).
    pub computer: String,
    /// `Correlation@ActivityID` in on-disk byte order.
    pub activity_id: Option<[u8; 16]>,
    /// `Security@UserID`, e.g. "S-1-5-18".
    pub user_sid: Option<String>,
    pub payload: Payload,
}

const FILE_HEADER_SIZE: usize = 4096;
const CHUNK_SIZE: usize = 65_536;
const CHUNK_HEADER_SIZE: usize = 512;

/// Writes `events` as one `.evtx` log, in order.
pub fn write_evtx(events: &[EventSpec], out: &mut impl Write) -> io::Result<()> {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut chunk = ChunkBuilder::new();
    let mut last_id = 0u64;
    for ev in events {
        let next = last_id.checked_add(1).ok_or_else(|| invalid("record ids run past u64::MAX".to_string()))?;
        let id = if ev.record_id == 0 { next } else { ev.record_id };
        if id <= last_id {
            return Err(invalid(format!("record id {id} does not follow {last_id}: ids must increase")));
        }
        if !chunk.push(ev, id)? {
            chunks.push(std::mem::replace(&mut chunk, ChunkBuilder::new()).finish());
            if !chunk.push(ev, id)? {
                return Err(invalid(format!("record id {id} is larger than a 64 KiB chunk")));
            }
        }
        last_id = id;
    }
    if chunk.first_id.is_some() {
        chunks.push(chunk.finish());
    }
    let count = u16::try_from(chunks.len()).map_err(|_| invalid(format!("{} chunks (max 65535)", chunks.len())))?;
    out.write_all(&file_header(count, last_id.saturating_add(1)))?;
    for c in &chunks {
        out.write_all(c)?;
    }
    Ok(())
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// The file header: signature, oldest/current chunk, next record id, sizes, version 3.1,
/// chunk count, flags 0, CRC32 of bytes 0..120; zero to 4096.
fn file_header(chunks: u16, next_id: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(FILE_HEADER_SIZE);
    h.extend(b"ElfFile\0");
    h.extend(0u64.to_le_bytes());
    h.extend(u64::from(chunks.saturating_sub(1)).to_le_bytes());
    h.extend(next_id.to_le_bytes());
    h.extend(128u32.to_le_bytes());
    h.extend(1u16.to_le_bytes());
    h.extend(3u16.to_le_bytes());
    h.extend((FILE_HEADER_SIZE as u16).to_le_bytes());
    h.extend(chunks.to_le_bytes());
    h.resize(124, 0);
    let crc = crc32(&h[..120]);
    h.extend(crc.to_le_bytes());
    h.resize(FILE_HEADER_SIZE, 0);
    h
}

/// A chunk being filled: its bytes so far (header space first), names and templates.
struct ChunkBuilder {
    buf: Vec<u8>,
    tables: ChunkTables,
    first_id: Option<u64>,
    last_id: u64,
    last_offset: usize,
}

impl ChunkBuilder {
    fn new() -> Self {
        let mut buf = Vec::with_capacity(CHUNK_SIZE);
        buf.resize(CHUNK_HEADER_SIZE, 0);
        ChunkBuilder { buf, tables: ChunkTables::default(), first_id: None, last_id: 0, last_offset: 0 }
    }

    /// Appends one record; `false` (and the chunk unchanged) when it does not fit.
    fn push(&mut self, ev: &EventSpec, id: u64) -> io::Result<bool> {
        let ft = filetime(ev.ts);
        let start = self.buf.len();
        let saved = (self.tables.string_buckets, self.tables.template_buckets);
        self.buf.extend([0x2A, 0x2A, 0, 0, 0, 0, 0, 0]);
        self.buf.extend(id.to_le_bytes());
        self.buf.extend(ft.to_le_bytes());
        let written = write_record_binxml(&mut self.buf, &mut self.tables, ev, id, ft);
        // Pad so that the size, trailing copy included, is a multiple of 8.
        while (self.buf.len() - start + 4) % 8 != 0 {
            self.buf.push(0);
        }
        let size = self.buf.len() - start + 4;
        if written.is_err() || start + size > CHUNK_SIZE {
            // Names and templates of this record now point past the chunk's end; the chunk is
            // finished (or the write fails) before they could be used, but the header tables
            // must not list them.
            self.buf.truncate(start);
            (self.tables.string_buckets, self.tables.template_buckets) = saved;
            written?;
            return Ok(false);
        }
        let size = (size as u32).to_le_bytes();
        self.buf.extend(size);
        self.buf[start + 4..start + 8].copy_from_slice(&size);
        self.first_id.get_or_insert(id);
        self.last_id = id;
        self.last_offset = start;
        Ok(true)
    }

    /// The 64 KiB chunk: header fields, hash tables, CRCs, zero free space.
    fn finish(mut self) -> Vec<u8> {
        let free = self.buf.len();
        let first = self.first_id.unwrap_or(0);
        let events_crc = crc32(&self.buf[CHUNK_HEADER_SIZE..free]);
        let mut h = Vec::with_capacity(CHUNK_HEADER_SIZE);
        h.extend(b"ElfChnk\0");
        for v in [first, self.last_id, first, self.last_id] {
            h.extend(v.to_le_bytes());
        }
        for v in [128, self.last_offset as u32, free as u32, events_crc] {
            h.extend(v.to_le_bytes());
        }
        h.resize(128, 0);
        h.extend(self.tables.string_buckets.iter().chain(&self.tables.template_buckets).flat_map(|o| o.to_le_bytes()));
        let crc = crc32_parts(&[&h[..120], &h[128..]]);
        h[124..128].copy_from_slice(&crc.to_le_bytes());
        self.buf[..CHUNK_HEADER_SIZE].copy_from_slice(&h);
        self.buf.resize(CHUNK_SIZE, 0);
        self.buf
    }
}

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum of EVTX headers and records.
pub fn crc32(data: &[u8]) -> u32 {
    crc32_parts(&[data])
}

/// CRC-32 of the concatenation of `parts`.
pub fn crc32_parts(parts: &[&[u8]]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    let mut crc = !0u32;
    for &b in parts.iter().flat_map(|p| p.iter()) {
        crc = TABLE[((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

/// `{555908d1-a6d7-4695-8e1e-26931d2012f4}` (braces optional, any case) → the 16 bytes EVTX
/// stores (first three groups little-endian). `None` when it is not a GUID.
pub fn parse_guid(text: &str) -> Option<[u8; 16]> {
    let t = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')).unwrap_or(text);
    let groups: Vec<&str> = t.split('-').collect();
    if groups.iter().map(|g| g.len()).collect::<Vec<_>>() != [8, 4, 4, 4, 12] {
        return None;
    }
    let hex: String = groups.concat();
    let mut b = [0u8; 16];
    for (i, byte) in b.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    b[..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_known_vector() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32_parts(&[b"1234", b"", b"56789"]), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn guids_parse_to_disk_order() {
        // Security-Auditing's GUID as the 4625 sample stores it (rdp-facts §4.1).
        let g = parse_guid("{54849625-5478-4994-a5ba-3e3b0328c30d}").unwrap();
        assert_eq!(g, [0x25, 0x96, 0x84, 0x54, 0x78, 0x54, 0x94, 0x49, 0xa5, 0xba, 0x3e, 0x3b, 0x03, 0x28, 0xc3, 0x0d]);
        assert_eq!(parse_guid("54849625-5478-4994-A5BA-3E3B0328C30D"), Some(g));
        assert_eq!(parse_guid("{54849625-5478-4994-a5ba-3e3b0328c30}"), None);
        assert_eq!(parse_guid("{5484962g-5478-4994-a5ba-3e3b0328c30d}"), None);
    }

    #[test]
    fn empty_log_and_bad_ids() {
        let mut out = Vec::new();
        write_evtx(&[], &mut out).unwrap();
        assert_eq!(out.len(), FILE_HEADER_SIZE);
        assert_eq!(crc32(&out[..120]).to_le_bytes(), out[124..128]);
        let ev = EventSpec { record_id: 5, ..Default::default() };
        let err = write_evtx(&[ev.clone(), ev], &mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn oversized_values_and_records_are_errors() {
        let with = |bytes: usize| EventSpec {
            payload: Payload::named(&[("Blob", Value::Binary(vec![0xAB; bytes]))]),
            ..Default::default()
        };
        let mut out = Vec::new();
        write_evtx(&[with(60_000), with(60_000)], &mut out).unwrap();
        assert_eq!(out.len(), FILE_HEADER_SIZE + 2 * CHUNK_SIZE);
        for bytes in [64_000, 70_000] {
            let err = write_evtx(&[with(bytes)], &mut Vec::new()).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        }
        let bad_sid = EventSpec { user_sid: Some("S-1-x".into()), ..Default::default() };
        assert!(write_evtx(&[bad_sid], &mut Vec::new()).is_err());
    }
}
