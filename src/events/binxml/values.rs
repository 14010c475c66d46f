//! Substitution values of BinXML template instances: typed reads and text rendering.
//!
//! Takes a value's type byte and its bytes (the descriptor-sized window `ValueRef` points at).
//! Produces numbers, FILETIMEs and strings, and the text form that `evtx_dump -o jsonl` prints
//! for the same value, so that fields read here match the crate's rendering: decimal integers,
//! `0x`-prefixed lower-case hex for HexInt32/HexInt64/SizeT, `{lower-case}` GUIDs, FILETIME and
//! SYSTEMTIME as `YYYY-MM-DDTHH:MM:SS.fffffffZ`, SIDs as `S-1-5-...`, `true`/`false`.
//! Binary values are upper-case hex, as evtx_dump prints them (`evtx` lower-cases the `Binary`
//! field, as `WinEvent.fields` documents). `render_items` splits array values into their items
//! (evtx_dump repeats the element once per item); `render_value` joins them with `,`.
//! Does not decode BinXml-typed values (nested fragments): see `binxml`.
//!
//! References: [MS-EVEN6] §2.2.12 (value types in the substitution descriptors), §2.2.12.3
//! (output forms), §3.1.4.7.5 (array types); [MS-DTYP] §2.3.4 (GUID), §2.4.2 (SID).

/// Value type bytes of substitution descriptors ([MS-EVEN6] §2.2.12, type system table).
pub mod vtype {
    pub const NULL: u8 = 0x00;
    pub const STRING: u8 = 0x01;
    pub const ANSI: u8 = 0x02;
    pub const I8: u8 = 0x03;
    pub const U8: u8 = 0x04;
    pub const I16: u8 = 0x05;
    pub const U16: u8 = 0x06;
    pub const I32: u8 = 0x07;
    pub const U32: u8 = 0x08;
    pub const I64: u8 = 0x09;
    pub const U64: u8 = 0x0A;
    pub const F32: u8 = 0x0B;
    pub const F64: u8 = 0x0C;
    pub const BOOL: u8 = 0x0D;
    pub const BINARY: u8 = 0x0E;
    pub const GUID: u8 = 0x0F;
    pub const SIZE_T: u8 = 0x10;
    pub const FILETIME: u8 = 0x11;
    pub const SYSTEMTIME: u8 = 0x12;
    pub const SID: u8 = 0x13;
    pub const HEX32: u8 = 0x14;
    pub const HEX64: u8 = 0x15;
    /// A nested BinXML fragment (§3.1.4.7.4).
    pub const BINXML: u8 = 0x21;
    /// Set on array types (§3.1.4.7.5): items of type `t & 0x7F`.
    pub const ARRAY: u8 = 0x80;
}

use std::fmt::Write as _;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::Offset;

fn le<const N: usize>(bytes: &[u8]) -> Option<[u8; N]> {
    bytes.try_into().ok()
}

/// UTF-16LE text up to the first NUL unit (an odd last byte is ignored), lossy.
pub fn utf16_text(bytes: &[u8]) -> String {
    let mut out = String::new();
    push_utf16(bytes, &mut out);
    out
}

/// Appends what `utf16_text` returns, without the intermediate string; ASCII takes a fast path.
fn push_utf16(bytes: &[u8], out: &mut String) {
    let units = || bytes.chunks_exact(2).map(|u| u16::from_le_bytes([u[0], u[1]])).take_while(|&u| u != 0);
    out.reserve(bytes.len() / 2);
    if units().all(|u| u < 0x80) {
        out.extend(units().map(|u| char::from(u as u8)));
    } else {
        out.extend(char::decode_utf16(units()).map(|c| c.unwrap_or('\u{fffd}')));
    }
}

/// Windows-1252 text (the crate's default ANSI code page), NUL bytes dropped.
fn ansi_text(bytes: &[u8]) -> String {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}', '\u{90}', '‘',
        '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
    ];
    bytes
        .iter()
        .filter(|&&b| b != 0)
        .map(|&b| match b {
            0x80..=0x9F => HIGH.get(usize::from(b - 0x80)).copied().unwrap_or('\u{fffd}'),
            _ => char::from(b),
        })
        .collect()
}

/// An unsigned integer value (any integer width, HexInt, SizeT; signed ones when not negative).
pub fn value_uint(vt: u8, bytes: &[u8]) -> Option<u64> {
    match vt {
        vtype::U8 => le::<1>(bytes).map(|b| u64::from(b[0])),
        vtype::U16 => le(bytes).map(|b| u64::from(u16::from_le_bytes(b))),
        vtype::U32 | vtype::HEX32 => le(bytes).map(|b| u64::from(u32::from_le_bytes(b))),
        vtype::U64 | vtype::HEX64 => le(bytes).map(u64::from_le_bytes),
        vtype::SIZE_T => match bytes.len() {
            4 => le(bytes).map(|b| u64::from(u32::from_le_bytes(b))),
            _ => le(bytes).map(u64::from_le_bytes),
        },
        vtype::I8 => le::<1>(bytes).and_then(|b| u64::try_from(b[0] as i8).ok()),
        vtype::I16 => le(bytes).and_then(|b| u64::try_from(i16::from_le_bytes(b)).ok()),
        vtype::I32 => le(bytes).and_then(|b| u64::try_from(i32::from_le_bytes(b)).ok()),
        vtype::I64 => le(bytes).and_then(|b| u64::try_from(i64::from_le_bytes(b)).ok()),
        _ => None,
    }
}

/// A FILETIME value (or a valid SYSTEMTIME converted to one).
pub fn value_filetime(vt: u8, bytes: &[u8]) -> Option<u64> {
    match vt {
        vtype::FILETIME => le(bytes).map(u64::from_le_bytes),
        vtype::SYSTEMTIME => systemtime_filetime(&systemtime_fields(bytes)?),
        _ => None,
    }
}

/// A string value (UTF-16 or ANSI).
pub fn value_string(vt: u8, bytes: &[u8]) -> Option<String> {
    match vt {
        vtype::STRING => Some(utf16_text(bytes)),
        vtype::ANSI => Some(ansi_text(bytes)),
        _ => None,
    }
}

/// A GUID as Windows prints it: `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}`, lower case, the first
/// three groups little-endian.
pub fn guid_text(b: &[u8; 16]) -> String {
    format!(
        "{{{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}}}",
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_le_bytes([b[4], b[5]]),
        u16::from_le_bytes([b[6], b[7]]),
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    )
}

/// 100 ns ticks per second, and seconds from 1601-01-01 (the FILETIME epoch) to 1970-01-01.
const TICKS_PER_SEC: u64 = 10_000_000;
const FILETIME_EPOCH_SECS: i64 = 11_644_473_600;
/// Seconds in 10,000 Gregorian years (25 cycles of 146,097 days): moving a time by this much
/// changes its year by 10,000 and nothing else, which brings FILETIMEs past jiff's year 9999
/// into its range.
const TEN_K_YEARS_SECS: i64 = 25 * 146_097 * 86_400;

/// FILETIME as `YYYY-MM-DDTHH:MM:SS.fffffffZ` (seven digits, 100 ns), like evtx_dump; years
/// keep their last four digits and values past `i64::MAX` print as all zeros, as it does.
pub fn filetime_text(ft: u64) -> String {
    if ft > i64::MAX as u64 {
        return "0000-00-00T00:00:00.0000000Z".to_string();
    }
    let mut secs = (ft / TICKS_PER_SEC) as i64 - FILETIME_EPOCH_SECS;
    while secs > Timestamp::MAX.as_second() {
        secs -= TEN_K_YEARS_SECS;
    }
    let Ok(t) = Timestamp::new(secs, 0) else { return "0000-00-00T00:00:00.0000000Z".to_string() };
    let dt = Offset::UTC.to_datetime(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        dt.year().rem_euclid(10_000),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        ft % TICKS_PER_SEC
    )
}

/// Parses an RFC 3339 time (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`, the form `filetime_text` writes,
/// through `time::parse_rfc3339`) back into a FILETIME; `None` for anything else or a time
/// before 1601.
pub fn parse_time_text(s: &str) -> Option<u64> {
    nanos_filetime(crate::time::parse_rfc3339(s)?)
}

/// Nanoseconds since the Unix epoch as a FILETIME; `None` before 1601.
fn nanos_filetime(unix_ns: i128) -> Option<u64> {
    u64::try_from((unix_ns + i128::from(FILETIME_EPOCH_SECS) * 1_000_000_000).div_euclid(100)).ok()
}

/// The eight u16 fields of a SYSTEMTIME: year, month, day of week, day, hour, minute, second,
/// milliseconds.
fn systemtime_fields(bytes: &[u8]) -> Option<[u16; 8]> {
    let b: [u8; 16] = le(bytes)?;
    let mut f = [0u16; 8];
    for (i, v) in f.iter_mut().enumerate() {
        *v = u16::from_le_bytes([b[2 * i], b[2 * i + 1]]);
    }
    Some(f)
}

/// A SYSTEMTIME's fields as a FILETIME when Windows takes them as a time: years 1601 to 30827,
/// a real date and time. Years past 9999 are moved back by 10,000-year cycles (same calendar)
/// for jiff and forward again after.
fn systemtime_filetime(f: &[u16; 8]) -> Option<u64> {
    if !(1601..=30827).contains(&f[0]) || f[7] >= 1000 {
        return None;
    }
    let ten_k = i64::from(f[0]) / 10_000;
    let year = i16::try_from(i64::from(f[0]) - ten_k * 10_000).ok()?;
    let small = |v: u16| i8::try_from(v).ok();
    let (month, day, hour, minute, second) = (small(f[1])?, small(f[3])?, small(f[4])?, small(f[5])?, small(f[6])?);
    let dt = DateTime::new(year, month, day, hour, minute, second, i32::from(f[7]) * 1_000_000).ok()?;
    nanos_filetime(crate::time::utc_nanos(dt) + i128::from(ten_k * TEN_K_YEARS_SECS) * 1_000_000_000)
}

/// Appends the text of one value to `out`. Errors on types with no text form (BinXml,
/// handles, EvtXml, unknown) and on sizes that do not fit the type.
pub fn render_value(vt: u8, bytes: &[u8], out: &mut String) -> Result<(), &'static str> {
    const BAD: &str = "value size does not fit its type";
    match vt {
        vtype::NULL => {}
        vtype::STRING => push_utf16(bytes, out),
        vtype::ANSI => out.push_str(&ansi_text(bytes)),
        vtype::I8 => write_num(out, le::<1>(bytes).map(|b| i64::from(b[0] as i8)).ok_or(BAD)?),
        vtype::I16 => write_num(out, le(bytes).map(|b| i64::from(i16::from_le_bytes(b))).ok_or(BAD)?),
        vtype::I32 => write_num(out, le(bytes).map(|b| i64::from(i32::from_le_bytes(b))).ok_or(BAD)?),
        vtype::I64 => write_num(out, le(bytes).map(i64::from_le_bytes).ok_or(BAD)?),
        vtype::U8 | vtype::U16 | vtype::U32 | vtype::U64 => write_num(out, value_uint(vt, bytes).ok_or(BAD)?),
        vtype::F32 => write_num(out, le(bytes).map(f32::from_le_bytes).ok_or(BAD)?),
        vtype::F64 => write_num(out, le(bytes).map(f64::from_le_bytes).ok_or(BAD)?),
        vtype::BOOL => match le(bytes).map(i32::from_le_bytes).ok_or(BAD)? {
            0 => out.push_str("false"),
            1 => out.push_str("true"),
            raw => write_num(out, raw),
        },
        vtype::BINARY => {
            for b in bytes {
                let _ = write!(out, "{b:02X}");
            }
        }
        vtype::GUID => out.push_str(&guid_text(&le(bytes).ok_or(BAD)?)),
        vtype::SIZE_T | vtype::HEX32 | vtype::HEX64 => {
            if vt == vtype::SIZE_T && !matches!(bytes.len(), 4 | 8) {
                return Err(BAD);
            }
            let _ = write!(out, "{:#x}", value_uint(vt, bytes).ok_or(BAD)?);
        }
        vtype::FILETIME => out.push_str(&filetime_text(value_filetime(vt, bytes).ok_or(BAD)?)),
        vtype::SYSTEMTIME => {
            le::<16>(bytes).ok_or(BAD)?;
            // An invalid SYSTEMTIME prints as 1601-01-01, as Windows does.
            out.push_str(&filetime_text(value_filetime(vt, bytes).unwrap_or(0)));
        }
        vtype::SID => render_sid(bytes, out)?,
        _ if vt & vtype::ARRAY != 0 => out.push_str(&render_items(vt, bytes)?.join(",")),
        _ => return Err("value type without a text form"),
    }
    Ok(())
}

fn write_num(out: &mut String, n: impl std::fmt::Display) {
    let _ = write!(out, "{n}");
}

/// `S-revision-authority-sub1-...`: revision, sub-authority count, 48-bit big-endian authority,
/// then little-endian u32 sub-authorities.
fn render_sid(bytes: &[u8], out: &mut String) -> Result<(), &'static str> {
    let (head, subs) = bytes.split_at_checked(8).ok_or("SID shorter than 8 bytes")?;
    let count = usize::from(head[1]);
    if subs.len() < count * 4 {
        return Err("SID shorter than its sub-authority count");
    }
    let authority = u64::from_be_bytes([0, 0, head[2], head[3], head[4], head[5], head[6], head[7]]);
    let _ = write!(out, "S-{}-{authority}", head[0]);
    for sub in subs.chunks_exact(4).take(count) {
        let _ = write!(out, "-{}", u32::from_le_bytes([sub[0], sub[1], sub[2], sub[3]]));
    }
    Ok(())
}

/// The items of an array value as texts: NUL-terminated strings for string types, SIDs one after
/// the other, fixed-size items otherwise.
pub fn render_items(vt: u8, bytes: &[u8]) -> Result<Vec<String>, &'static str> {
    let item = vt & !vtype::ARRAY;
    let mut items = Vec::new();
    match item {
        vtype::STRING => {
            let units: Vec<u16> = bytes.chunks_exact(2).map(|u| u16::from_le_bytes([u[0], u[1]])).collect();
            let units = units.strip_suffix(&[0]).unwrap_or(&units);
            if !units.is_empty() {
                for s in units.split(|&u| u == 0) {
                    items.push(char::decode_utf16(s.iter().copied()).map(|c| c.unwrap_or('\u{fffd}')).collect());
                }
            }
        }
        vtype::ANSI => {
            let raw = bytes.strip_suffix(&[0]).unwrap_or(bytes);
            if !raw.is_empty() {
                items.extend(raw.split(|&b| b == 0).map(ansi_text));
            }
        }
        vtype::SID => {
            let mut rest = bytes;
            while rest.len() >= 8 {
                let len = 8 + usize::from(rest[1]) * 4;
                let (sid, tail) = rest.split_at_checked(len).ok_or("SID array item runs past the value")?;
                let mut text = String::new();
                render_sid(sid, &mut text)?;
                items.push(text);
                rest = tail;
            }
        }
        _ => {
            let size = match item {
                vtype::I8 | vtype::U8 => 1,
                vtype::I16 | vtype::U16 => 2,
                vtype::I32 | vtype::U32 | vtype::F32 | vtype::BOOL | vtype::HEX32 => 4,
                vtype::I64 | vtype::U64 | vtype::F64 | vtype::FILETIME | vtype::HEX64 => 8,
                vtype::GUID | vtype::SYSTEMTIME => 16,
                _ => return Err("array of a type without a text form"),
            };
            if bytes.len() % size != 0 {
                return Err("array size is not a multiple of its item size");
            }
            for chunk in bytes.chunks_exact(size) {
                let mut text = String::new();
                render_value(item, chunk, &mut text)?;
                items.push(text);
            }
        }
    }
    Ok(items)
}
