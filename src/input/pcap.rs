//! Streaming capture reader: legacy pcap (both byte orders, µs/ns) and pcapng (several sections
//! and interfaces, each with its own link type, `if_tsresol` and `if_tsoffset`).
//!
//! Reads a `Read` through one bounded buffer and hands each packet to a callback; memory does
//! not grow with file size. Block framing is checked here (lengths bounded before any
//! allocation); the block bodies are decoded with pcap-parser's parsers. Damage becomes a
//! `Warning` with the byte offset, and the reader re-synchronises on the next plausible record
//! so that every good packet after the damage is still delivered.
//!
//! References: pcap-savefile(5) (libpcap), draft-ietf-opsawg-pcapng §4 (block structure),
//! §4.2 (IDB options `if_tsresol` code 9, `if_tsoffset` code 14), §4.3 (EPB), §4.4 (SPB).

use std::io::{ErrorKind, Read};

use pcap_parser::pcapng::Block;
use pcap_parser::{parse_block_be, parse_block_le};

use crate::error::{Error, Result, WarningSink};
use crate::time::Ts;

/// Largest packet record we accept (bytes captured). Larger lengths are treated as corruption.
/// 256 KiB is libpcap's MAXIMUM_SNAPLEN; TSO/GRO captures stay below 64 KiB + headers.
pub const MAX_CAPLEN: u32 = 262_144;
/// Largest pcapng block we accept; anything larger is treated as a corrupt length.
pub const MAX_BLOCK: u32 = 16 << 20;
/// How far the reader scans for the next plausible record after damage before giving up.
const MAX_RESYNC: u64 = 64 << 20;

/// One captured packet, borrowed from the reader's buffer for the duration of the callback.
pub struct Packet<'a> {
    /// 1-based frame number, as Wireshark numbers frames.
    pub frame: u64,
    pub ts: Ts,
    /// LINKTYPE_* value of the interface this packet was captured on.
    pub linktype: u32,
    pub data: &'a [u8],
    /// Length on the wire; larger than `data.len()` when the snaplen cut the packet.
    pub orig_len: u32,
    /// Byte offset of the record in the (decompressed) file.
    pub offset: u64,
    /// Where the capturing host itself dropped this packet, for captures that log it (pktmon
    /// event 170). `None` for every pcap/pcapng packet.
    pub dropped: Option<HostDrop<'a>>,
}

/// A packet the capturing host dropped inside its own network stack (pktmon event 170).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostDrop<'a> {
    /// The component that dropped it, e.g. "tcpip.sys (component 101)".
    pub component: &'a str,
    /// pktmon's drop reason code (`input::etl::pktmon::drop_reason`).
    pub reason: u32,
    /// The packet was arriving at the capturing host; it was leaving it otherwise.
    pub inbound: bool,
}

/// What a capture contained, besides its packets.
#[derive(Clone, Debug, Default)]
pub struct CaptureStats {
    pub format: &'static str,
    pub packets: u64,
    pub bytes: u64,
    pub first: Option<Ts>,
    pub last: Option<Ts>,
    /// Packets cut short by the snaplen (caplen < orig_len).
    pub truncated_by_snaplen: u64,
    /// Timestamp precision in fractional digits (6 for µs, 9 for ns).
    pub precision: u8,
    /// A longer description of the format for the inventory (e.g. an `.etl`'s providers, the
    /// component its packets were taken from, its drops); `format` when `None`.
    pub detail: Option<String>,
    /// The capture point: each distinct interface (link type, snaplen, name), in file order, at
    /// most `MAX_LINKS`. An `.etl` has no interfaces: its one entry names the logger session and
    /// the host's boot (`input::etl`), which the pieces of one multi-file trace share.
    pub links: Vec<Link>,
    /// The last frame number the reader gave: its packet count for pcap and pcapng, its event
    /// count for `.etl` (whose frame numbers are event numbers). The next piece of a stream
    /// numbers on from here.
    pub numbered: u64,
}

/// One interface a capture was taken on, as its file header or IDB describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub linktype: u32,
    pub snaplen: u32,
    /// pcapng `if_name`, else `if_description` (cut to `MAX_LINK_NAME` bytes).
    pub name: Option<String>,
}

/// Interfaces kept per capture in `CaptureStats::links`.
const MAX_LINKS: usize = 64;
/// Bytes kept of an interface's name.
const MAX_LINK_NAME: usize = 256;

impl CaptureStats {
    /// Notes an interface unless it is known already or the list is full.
    fn note_link(&mut self, link: Link) {
        if self.links.len() < MAX_LINKS && !self.links.contains(&link) {
            self.links.push(link);
        }
    }
}

struct Iface {
    linktype: u32,
    units_per_sec: u64,
    offset_secs: i64,
}

/// A bounded refillable window over the input stream.
struct Window<R> {
    src: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// File offset of `buf[start]`.
    pos: u64,
    eof: bool,
    /// A read error ends the stream like its end would (a truncated or corrupt gzip stream
    /// fails only at the damage): the packets before it are still delivered, and the caller
    /// turns the error into a warning.
    error: Option<std::io::Error>,
}

impl<R: Read> Window<R> {
    fn new(src: R) -> Self {
        Window { src, buf: vec![0; 1 << 20], start: 0, end: 0, pos: 0, eof: false, error: None }
    }

    fn avail(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Makes at least `n` bytes available unless the stream ends first. `n` is bounded by the
    /// callers (≤ MAX_BLOCK), so the buffer never grows past that.
    fn fill(&mut self, n: usize) -> std::io::Result<bool> {
        while self.end - self.start < n && !self.eof {
            if self.start > 0 && (self.buf.len() - self.start < n || self.end == self.buf.len()) {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.buf.len() < n {
                self.buf.resize(n.next_power_of_two(), 0);
            }
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    self.eof = true;
                    self.error = Some(e);
                }
            }
        }
        Ok(self.end - self.start >= n)
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.start);
        self.start += n;
        self.pos += n as u64;
    }
}

/// Reads every packet of a pcap or pcapng stream and calls `on_packet` for each, in file order.
pub fn read_packets<R: Read>(
    src: R,
    input: &str,
    warn: &mut WarningSink,
    mut on_packet: impl FnMut(&Packet, &mut WarningSink),
) -> Result<CaptureStats> {
    let mut w = Window::new(src);
    let io = |e: std::io::Error| Error::input(input, format!("read error: {e}"));
    w.fill(24).map_err(io)?;
    let mut stats = CaptureStats::default();
    let head = w.avail();
    if head.len() < 4 {
        return Err(match w.error.take() {
            Some(e) => io(e),
            None => Error::input(input, "file ends inside the capture header"),
        });
    }
    if head[..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
        stats.format = "pcapng";
        read_pcapng(&mut w, warn, &mut stats, &mut on_packet).map_err(io)?;
    } else {
        read_legacy(&mut w, input, warn, &mut stats, &mut on_packet)?;
    }
    if let Some(e) = w.error.take() {
        let at = w.pos + w.avail().len() as u64;
        warn.push(
            at,
            None,
            format!(
                "read error after {at} bytes: {e} (a truncated or corrupt gzip stream?); the packets before it are analysed"
            ),
        );
    }
    if stats.truncated_by_snaplen > 0 {
        warn.push(
            0,
            None,
            format!(
                "{} packet(s) were cut short by the capture's snaplen; payload beyond the cut is not analysed",
                stats.truncated_by_snaplen
            ),
        );
    }
    Ok(stats)
}

struct Legacy {
    big_endian: bool,
    units_per_sec: u64,
    linktype: u32,
    snaplen: u32,
}

impl Legacy {
    fn u32_at(&self, b: &[u8], off: usize) -> u32 {
        let a = [b[off], b[off + 1], b[off + 2], b[off + 3]];
        if self.big_endian { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) }
    }

    /// A 16-byte record header that could be real: sane lengths and sub-second fraction; when
    /// re-synchronising, also a time within a day of the last good record. A header with no
    /// length at all (captured and original length 0) is zero-filled damage, not a packet: read
    /// as one, a run of zeros became empty packets dated 1970, whose time then made the
    /// resynchronisation after them reject every real record.
    fn plausible(&self, h: &[u8], last_sec: Option<u32>) -> bool {
        let (sec, frac, cap, orig) = (self.u32_at(h, 0), self.u32_at(h, 4), self.u32_at(h, 8), self.u32_at(h, 12));
        let near = last_sec.is_none_or(|l| sec.abs_diff(l) <= 86_400);
        near && (frac as u64) < self.units_per_sec && cap <= MAX_CAPLEN && orig <= 0x10_0000 && (cap, orig) != (0, 0)
    }
}

fn read_legacy<R: Read>(
    w: &mut Window<R>,
    input: &str,
    warn: &mut WarningSink,
    stats: &mut CaptureStats,
    on_packet: &mut impl FnMut(&Packet, &mut WarningSink),
) -> Result<()> {
    let io = |e: std::io::Error| Error::input(input, format!("read error: {e}"));
    let h = w.avail();
    if h.len() < 24 {
        return Err(Error::input(input, "file ends inside the 24-byte pcap header"));
    }
    let (big_endian, nanos) = match [h[0], h[1], h[2], h[3]] {
        [0xa1, 0xb2, 0xc3, 0xd4] => (true, false),
        [0xd4, 0xc3, 0xb2, 0xa1] => (false, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => (true, true),
        [0x4d, 0x3c, 0xb2, 0xa1] => (false, true),
        _ => return Err(Error::input(input, "not a pcap file (bad magic)")),
    };
    let mut fmt =
        Legacy { big_endian, units_per_sec: if nanos { 1_000_000_000 } else { 1_000_000 }, linktype: 0, snaplen: 0 };
    fmt.snaplen = fmt.u32_at(h, 16);
    // The upper 16 bits of the link-type field carry FCS information (pcap-savefile(5)).
    fmt.linktype = fmt.u32_at(h, 20) & 0x0fff_ffff;
    stats.format = if nanos { "pcap (nanosecond)" } else { "pcap" };
    stats.precision = if nanos { 9 } else { 6 };
    stats.note_link(Link { linktype: fmt.linktype, snaplen: fmt.snaplen, name: None });
    w.consume(24);
    let mut last_sec: Option<u32> = None;
    loop {
        if !w.fill(16).map_err(io)? {
            if !w.avail().is_empty() {
                warn.push(
                    w.pos,
                    None,
                    format!(
                        "capture ends inside a record header ({} stray bytes): file was cut mid-write",
                        w.avail().len()
                    ),
                );
            }
            return Ok(());
        }
        let h = w.avail();
        if !fmt.plausible(h, None) {
            let (cap, orig) = (fmt.u32_at(h, 8), fmt.u32_at(h, 12));
            let at = w.pos;
            let skipped = resync_legacy(w, &fmt, last_sec).map_err(io)?;
            warn.push(
                at,
                Some(stats.packets + 1),
                format!(
                    "corrupt record header (captured length {cap}, original length {orig}); skipped {skipped} bytes to the next plausible record"
                ),
            );
            continue;
        }
        let (sec, frac, cap, orig) = (fmt.u32_at(h, 0), fmt.u32_at(h, 4), fmt.u32_at(h, 8), fmt.u32_at(h, 12));
        let need = 16 + cap as usize;
        if !w.fill(need).map_err(io)? {
            warn.push(
                w.pos,
                Some(stats.packets + 1),
                format!("last packet is truncated: record needs {cap} bytes, file ends after {} (capture killed mid-write?)", w.avail().len().saturating_sub(16)),
            );
            return Ok(());
        }
        stats.packets += 1;
        last_sec = Some(sec);
        let ts = Ts::from_parts(sec as i64, frac as u64, fmt.units_per_sec);
        note_packet(stats, ts, cap, orig);
        let rec = w.avail();
        let pkt = Packet {
            frame: stats.packets,
            ts,
            linktype: fmt.linktype,
            data: &rec[16..need],
            orig_len: orig,
            offset: w.pos,
            dropped: None,
        };
        on_packet(&pkt, warn);
        w.consume(need);
    }
}

/// An interface name option's text, cut to `MAX_LINK_NAME` bytes (lossy UTF-8, no NULs).
fn link_name(b: &[u8]) -> String {
    let b = b.get(..MAX_LINK_NAME).unwrap_or(b);
    String::from_utf8_lossy(b).trim_end_matches('\0').to_string()
}

fn note_packet(stats: &mut CaptureStats, ts: Ts, cap: u32, orig: u32) {
    stats.bytes += cap as u64;
    if stats.first.is_none_or(|f| ts < f) {
        stats.first = Some(ts);
    }
    if stats.last.is_none_or(|l| ts > l) {
        stats.last = Some(ts);
    }
    if cap < orig {
        stats.truncated_by_snaplen += 1;
    }
}

/// Skips forward one byte at a time until a record header is plausible and is followed either
/// by the end of the stream or by another plausible header. Returns the bytes skipped.
fn resync_legacy<R: Read>(w: &mut Window<R>, fmt: &Legacy, last_sec: Option<u32>) -> std::io::Result<u64> {
    let mut skipped = 0u64;
    loop {
        w.consume(1);
        skipped += 1;
        if skipped > MAX_RESYNC || !w.fill(16)? {
            // Nothing plausible found: drop the rest of the window so the caller ends cleanly.
            let rest = w.avail().len();
            w.consume(rest);
            return Ok(skipped + rest as u64);
        }
        let h = w.avail();
        // Where the framing is lost, be strict: a real record holds at least one byte and never
        // more than was on the wire.
        let (sec, cap, orig) = (fmt.u32_at(h, 0), fmt.u32_at(h, 8), fmt.u32_at(h, 12));
        if !fmt.plausible(h, last_sec) || cap == 0 || cap > orig {
            continue;
        }
        let next = 16 + cap as usize;
        if !w.fill(next + 16)? {
            // The stream ends after this record: accept it when it is complete. (One that runs
            // past the end is most likely a misaligned header in the damaged bytes.)
            if w.avail().len() >= next {
                return Ok(skipped);
            }
            continue;
        }
        // The next header must be plausible too and within a day of this one: two real records
        // in a row are, random bytes hardly ever. (This also anchors the time when the damage
        // comes before any good record.)
        if fmt.plausible(&w.avail()[next..], Some(sec)) {
            return Ok(skipped);
        }
    }
}

/// pcapng block types we check by hand before handing the body to pcap-parser.
const SHB: u32 = 0x0A0D_0D0A;
const EPB: u32 = 0x0000_0006;

fn read_pcapng<R: Read>(
    w: &mut Window<R>,
    warn: &mut WarningSink,
    stats: &mut CaptureStats,
    on_packet: &mut impl FnMut(&Packet, &mut WarningSink),
) -> std::io::Result<()> {
    let mut big_endian = false;
    let mut ifaces: Vec<Iface> = Vec::new();
    let mut section = 0u32;
    stats.precision = 6;
    let mut last_ts = Ts(0);
    loop {
        if !w.fill(12)? {
            if !w.avail().is_empty() {
                warn.push(
                    w.pos,
                    None,
                    format!(
                        "capture ends inside a block header ({} stray bytes): file was cut mid-write",
                        w.avail().len()
                    ),
                );
            }
            return Ok(());
        }
        let h = w.avail();
        let raw_type = [h[0], h[1], h[2], h[3]];
        if u32::from_le_bytes(raw_type) == SHB {
            // The byte-order magic at offset 8 decides this section's endianness.
            big_endian = match [h[8], h[9], h[10], h[11]] {
                [0x1a, 0x2b, 0x3c, 0x4d] => true,
                [0x4d, 0x3c, 0x2b, 0x1a] => false,
                _ => big_endian,
            };
        }
        let rd = |b: [u8; 4]| if big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) };
        let btype = rd(raw_type);
        let blen = rd([h[4], h[5], h[6], h[7]]);
        if blen < 12 || blen % 4 != 0 || blen > MAX_BLOCK {
            let at = w.pos;
            let skipped = resync_pcapng(w, big_endian)?;
            warn.push(at, None, format!("corrupt block length {blen} (block type 0x{btype:08x}); skipped {skipped} bytes to the next plausible block"));
            continue;
        }
        let blen = blen as usize;
        if !w.fill(blen)? {
            warn.push(
                w.pos,
                Some(stats.packets + 1),
                format!(
                    "last block is truncated: needs {blen} bytes, file ends after {} (capture killed mid-write?)",
                    w.avail().len()
                ),
            );
            return Ok(());
        }
        let block = &w.avail()[..blen];
        let trailer = rd([block[blen - 4], block[blen - 3], block[blen - 2], block[blen - 1]]);
        if trailer as usize != blen {
            let at = w.pos;
            let skipped = resync_pcapng(w, big_endian)?;
            warn.push(at, None, format!("block length {blen} does not match its trailing copy {trailer}; skipped {skipped} bytes to the next plausible block"));
            continue;
        }
        let parsed = if big_endian { parse_block_be(block) } else { parse_block_le(block) };
        match parsed {
            Ok((_, Block::SectionHeader(_))) => {
                ifaces.clear();
                section += 1;
            }
            Ok((_, Block::InterfaceDescription(idb))) => {
                // pcap-parser 0.17 rejects binary resolutions (0x80|n) and reads if_tsoffset as
                // little-endian in every section, so both options are decoded here.
                let (mut tsresol, mut offset_secs) = (6u8, 0i64);
                let (mut if_name, mut if_description) = (None, None);
                for opt in &idb.options {
                    match (opt.code.0, opt.as_bytes()) {
                        (2, Ok(b)) => if_name = Some(link_name(b)),
                        (3, Ok(b)) => if_description = Some(link_name(b)),
                        (9, Ok([r, ..])) => tsresol = *r,
                        (14, Ok(b)) if b.len() == 8 => {
                            let a = [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]];
                            offset_secs = if big_endian { i64::from_be_bytes(a) } else { i64::from_le_bytes(a) };
                        }
                        _ => {}
                    }
                }
                let units_per_sec = match units_per_second(tsresol) {
                    Some(u) => u,
                    None => {
                        let n = ifaces.len();
                        warn.push(
                            w.pos,
                            None,
                            format!("interface {n} has an invalid if_tsresol {tsresol:#04x}; assuming microseconds"),
                        );
                        1_000_000
                    }
                };
                stats.precision = stats.precision.max(digits_for(units_per_sec));
                let linktype = idb.linktype.0 as u32;
                stats.note_link(Link { linktype, snaplen: idb.snaplen, name: if_name.or(if_description) });
                ifaces.push(Iface { linktype, units_per_sec, offset_secs });
            }
            Ok((_, Block::EnhancedPacket(epb))) => {
                let Some(iface) = ifaces.get(epb.if_id as usize) else {
                    warn.push(
                        w.pos,
                        Some(stats.packets + 1),
                        format!(
                            "packet refers to interface {} but section {section} describes only {}",
                            epb.if_id,
                            ifaces.len()
                        ),
                    );
                    w.consume(blen);
                    continue;
                };
                let units = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
                let base = Ts::from_units(units, iface.units_per_sec);
                let ts = Ts(base.0.saturating_add(iface.offset_secs.saturating_mul(1_000_000_000)));
                let cap = (epb.caplen as usize).min(epb.data.len());
                stats.packets += 1;
                last_ts = ts;
                note_packet(stats, ts, cap as u32, epb.origlen);
                let pkt = Packet {
                    frame: stats.packets,
                    ts,
                    linktype: iface.linktype,
                    data: &epb.data[..cap],
                    orig_len: epb.origlen,
                    offset: w.pos,
                    dropped: None,
                };
                on_packet(&pkt, warn);
            }
            Ok((_, Block::SimplePacket(spb))) => {
                // SPBs carry no timestamp and always belong to interface 0.
                if let Some(iface) = ifaces.first() {
                    let cap = (spb.origlen as usize).min(spb.data.len());
                    stats.packets += 1;
                    note_packet(stats, last_ts, cap as u32, spb.origlen);
                    let pkt = Packet {
                        frame: stats.packets,
                        ts: last_ts,
                        linktype: iface.linktype,
                        data: &spb.data[..cap],
                        orig_len: spb.origlen,
                        offset: w.pos,
                        dropped: None,
                    };
                    on_packet(&pkt, warn);
                }
            }
            Ok(_) => {}
            Err(e) => {
                let frame = (btype == EPB).then_some(stats.packets + 1);
                warn.push(
                    w.pos,
                    frame,
                    format!("malformed block of type 0x{btype:08x} ({blen} bytes) skipped: {}", describe(&e)),
                );
            }
        }
        w.consume(blen);
    }
}

fn describe<E: std::fmt::Debug>(e: &nom::Err<E>) -> String {
    match e {
        nom::Err::Incomplete(_) => "block body shorter than its fields".into(),
        nom::Err::Error(inner) | nom::Err::Failure(inner) => {
            let s = format!("{inner:?}");
            // pcap-parser's error Debug includes the remaining input bytes; keep just the kind.
            s.rsplit(", ").next().unwrap_or("parse error").trim_end_matches(')').to_string()
        }
    }
}

/// `if_tsresol` (pcapng §4.2, option 9): the high bit selects a power of two, otherwise a
/// power of ten, of units per second. `None` when the unit does not fit in 64 bits.
fn units_per_second(tsresol: u8) -> Option<u64> {
    let exp = (tsresol & 0x7f) as u32;
    if tsresol & 0x80 != 0 { 1u64.checked_shl(exp).filter(|_| exp < 64) } else { 10u64.checked_pow(exp) }
}

/// Fractional digits needed to show a clock with this many units per second.
fn digits_for(units_per_sec: u64) -> u8 {
    let mut d = 0u8;
    let mut u = 1u64;
    while u < units_per_sec && d < 9 {
        u = u.saturating_mul(10);
        d += 1;
    }
    d
}

/// Scans 4-byte-aligned positions for a block whose type is known and whose leading and
/// trailing lengths agree. Returns the bytes skipped.
fn resync_pcapng<R: Read>(w: &mut Window<R>, big_endian: bool) -> std::io::Result<u64> {
    let rd = |b: &[u8], o: usize| {
        let a = [b[o], b[o + 1], b[o + 2], b[o + 3]];
        if big_endian { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) }
    };
    let mut skipped = 0u64;
    loop {
        w.consume(4);
        skipped += 4;
        if skipped > MAX_RESYNC || !w.fill(12)? {
            let rest = w.avail().len();
            w.consume(rest);
            return Ok(skipped + rest as u64);
        }
        let h = w.avail();
        let (btype, blen) = (rd(h, 0), rd(h, 4));
        let known = matches!(btype, 1..=6 | 0xBAD | 0x40000BAD | SHB);
        if !known || blen < 12 || blen % 4 != 0 || blen > MAX_BLOCK {
            continue;
        }
        if !w.fill(blen as usize)? {
            return Ok(skipped);
        }
        if rd(w.avail(), blen as usize - 4) == blen {
            return Ok(skipped);
        }
    }
}
