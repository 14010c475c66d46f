//! Windows ETW traces (`.etl`) read as packet captures: `pktmon start --capture` and
//! `netsh trace start capture=yes`, on any OS, without converting them first.
//!
//! `buffers` reads the container's buffers ahead on a second thread (MS-XCA decompression in
//! `lz77`), `walk` frames their records and dates them by the log file's clock; `pktmon` and
//! `ndis` decode the two packet providers' events; this module turns their events into
//! `Packet`s for the same callback `input::pcap::read_packets` feeds, and its job ends there.
//! Per-CPU buffers are merged into time order and a packet pktmon logged at several components
//! is delivered once, from the component closest to the wire. Packets are held back (`hold`)
//! until every processor's buffers have passed them (`watermark`), and at most `HOLD_BYTES` /
//! `HOLD_PACKETS` of them, when a processor lags or the trace cannot be merged that way.
//!
//! A packet's frame number is the ETW event number (1-based, file order) of the event it was
//! taken from, so that "event N" finds it again in `pktmon etl2txt` or `tracerpt` output.

mod buffers;
mod hold;
pub mod lz77;
pub mod ndis;
pub mod pktmon;
pub mod walk;
mod watermark;

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use std::io::Read;

use crate::error::{Error, Result, WarningSink};
use crate::input::link::{self, Skip};
use crate::input::pcap::{CaptureStats, HostDrop, Link, Packet};
use crate::time::Ts;
use walk::{Event, Guid, HeaderKind};

pub use walk::looks_like_etl;

/// Packet bytes held back for reordering and de-duplication before the oldest are delivered.
const HOLD_BYTES: usize = 32 << 20;
/// Packets held back at most (bounds the per-packet overhead too).
const HOLD_PACKETS: usize = 200_000;
/// Appearances of one pktmon packet further apart than this are two packets that share an id.
const SAME_PACKET_NS: i64 = 2_000_000_000;
/// Newer pktmon builds (seen on 26200) give every appearance its own PktGroupId and an
/// AppearanceCount of 0; appearances are then matched by their network-layer bytes, within
/// this window (a retransmission repeats the bytes, but not within 10 ms of the original at
/// another component of the same host).
const SAME_CONTENT_NS: i64 = 10_000_000;
/// Network-layer bytes hashed to match appearances by content.
const CONTENT_BYTES: usize = 64;
/// Capacity of the delivered payload buffers kept for reuse (keeping more, up to the hold's
/// own size, measured slower: the reused buffers scatter over the heap).
const SPARE_BYTES: usize = 256 << 10;
/// A packet's appearances at the components of one host lie within this of each other (real
/// traces: at most 0.22 ms in nsvpn_PktMon's etl2txt ground truth; the content match above
/// already assumes 10 ms): a packet held this long before the watermark has no appearance to
/// come.
const APPEARANCE_SPREAD_NS: i64 = 100_000_000;
/// Packets held between looks at the per-CPU watermark (at least; a quarter of the hold when
/// that is more, so that sorting the hold's release list stays a small cost per packet).
const MARK_EVERY: usize = 1024;
/// Component names remembered (pktmon event 20).
const MAX_COMPONENTS: usize = 4096;

/// A packet chosen so far for one key, with what ranks it.
struct Held {
    ts: Ts,
    event: u64,
    offset: u64,
    linktype: u32,
    orig_len: u32,
    data: Vec<u8>,
    /// pktmon: (readable as IP, closeness to the wire in time, then in appearance order);
    /// higher wins.
    rank: (u8, i64, i32),
    component: Option<u16>,
    /// pktmon: where the packet was dropped (event 170): component, reason, inbound.
    dropped: Option<(u16, u32, bool)>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Key {
    /// pktmon: (PktGroupId, PktNumber).
    Pktmon(u64, u16),
    /// pktmon without appearance numbers: (outbound, hash of the network-layer bytes).
    Content(bool, u64),
    /// A frame with no duplicates to merge (NDIS), by event number.
    Single(u64),
}

/// Which held packets to deliver.
enum Release {
    /// Those of the `n` oldest release entries (the hold is full, or the trace ended).
    Oldest(usize),
    /// Those older than this time (`watermark`).
    Before(Ts),
}

/// Turns a trace's events into packets.
#[derive(Default)]
struct Extractor {
    held: hold::Hold,
    held_bytes: usize,
    /// How far every processor's buffers have got (`watermark`), and packets held since the
    /// hold last looked at it.
    mark: watermark::Watermark,
    since_mark: usize,
    /// The key, time and rank of the appearance held last (while it is still held).
    last_held: Option<(Key, Ts, (u8, i64, i32))>,
    /// Payload buffers of delivered packets, reused for the next ones.
    spare: Vec<Vec<u8>>,
    /// Capacity of `spare`, in bytes.
    spare_bytes: usize,
    joiner: ndis::Joiner,
    components: FxHashMap<u16, String>,
    /// Events per provider (for the inventory and the no-packets error).
    providers: FxHashMap<Guid, u64>,
    pktmon_events: u64,
    pktmon_drops: u64,
    ndis_events: u64,
    /// Delivered packets per pktmon component (`None`: NDIS-PacketCapture).
    taken_at: FxHashMap<Option<u16>, u64>,
    /// Drops per (component id, reason code).
    drops: BTreeMap<(u16, u32), u64>,
    unframed: u64,
    malformed: u64,
    stats: CaptureStats,
}

impl Extractor {
    fn on_event(&mut self, ev: &Event, warn: &mut WarningSink, out: &mut impl FnMut(&Packet, &mut WarningSink)) {
        *self.providers.entry(ev.provider).or_default() += 1;
        if !matches!(ev.kind, HeaderKind::Message | HeaderKind::Other(_)) {
            self.mark.see(ev.cpus, ev.processor, ev.ts);
        }
        if ev.kind != HeaderKind::Event {
            return;
        }
        if ev.provider == pktmon::PKTMON {
            match ev.id {
                pktmon::EVENT_COMPONENT => {
                    if let Some((id, name)) = pktmon::component(ev.data)
                        && self.components.len() < MAX_COMPONENTS
                    {
                        self.components.insert(id, name);
                    }
                }
                pktmon::EVENT_PACKET | pktmon::EVENT_DROP => self.pktmon(ev, warn, out),
                _ => {}
            }
        } else if ev.provider == ndis::NDIS && ev.id == ndis::EVENT_FRAGMENT {
            self.ndis_events += 1;
            if let Some(f) = self.joiner.fragment(ev.processor, ev.index, ev.keyword, ev.data) {
                let held = Held {
                    ts: ev.ts,
                    event: f.event,
                    offset: ev.offset,
                    linktype: f.linktype,
                    orig_len: f.data.len() as u32,
                    data: f.data,
                    rank: (0, 0, 0),
                    component: None,
                    dropped: None,
                };
                self.hold(Key::Single(ev.index), held, warn, out);
            }
        }
    }

    fn pktmon(&mut self, ev: &Event, warn: &mut WarningSink, out: &mut impl FnMut(&Packet, &mut WarningSink)) {
        self.pktmon_events += 1;
        let Some(a) = pktmon::appearance(ev.data) else {
            self.malformed += 1;
            warn.push(
                ev.offset,
                Some(ev.index),
                "pktmon packet event shorter than its LoggedPayloadSize says: skipped",
            );
            return;
        };
        let dropped = (ev.id == pktmon::EVENT_DROP).then_some((a.component, a.drop_reason, !a.outbound()));
        if let Some((c, r, _)) = dropped {
            self.pktmon_drops += 1;
            *self.drops.entry((c, r)).or_default() += 1;
        }
        let Some(linktype) = a.linktype() else {
            self.unframed += 1;
            return;
        };
        let closeness = if a.outbound() {
            (ev.ts.0, i32::from(a.appearance))
        } else {
            (ev.ts.0.saturating_neg(), -i32::from(a.appearance))
        };
        let (key, window) = if a.appearance == 0 {
            (Key::Content(a.outbound(), content_hash(linktype, a.payload)), SAME_CONTENT_NS)
        } else {
            (Key::Pktmon(a.group, a.number), SAME_PACKET_NS)
        };
        // An appearance further from the wire than a held one that is already readable as IP
        // cannot win: skip decoding it (most appearances, for received packets). The packet
        // held last answers without a lookup: a packet's appearances mostly follow each other.
        let outranked = |ts: Ts, rank: (u8, i64, i32)| {
            ts.0.abs_diff(ev.ts.0) <= window as u64 && rank.0 == 2 && closeness <= (rank.1, rank.2)
        };
        if dropped.is_none() && self.last_held.is_some_and(|(k, ts, rank)| k == key && outranked(ts, rank)) {
            return;
        }
        let held = match self.held.get_mut(&key) {
            Some(h) if outranked(h.ts, h.rank) => {
                if dropped.is_some() {
                    h.dropped = dropped;
                }
                return;
            }
            Some(_) => true,
            None => false,
        };
        let readable = match link::decode(linktype, a.payload) {
            Ok(_) => 2,
            Err(Skip::NotIp) => 1,
            Err(_) => 0,
        };
        let candidate = Held {
            ts: ev.ts,
            event: ev.index,
            offset: ev.offset,
            linktype,
            orig_len: u32::from(a.original_size).max(a.payload.len() as u32),
            data: Vec::new(),
            rank: (readable, closeness.0, closeness.1),
            component: Some(a.component),
            dropped,
        };
        if !held {
            // A packet's first appearance (the common case): no second lookup.
            let data = self.buffer(a.payload);
            self.hold(key, Held { data, ..candidate }, warn, out);
            return;
        }
        match self.held.get_mut(&key) {
            Some(h) if h.ts.0.abs_diff(ev.ts.0) <= window as u64 => {
                if dropped.is_some() {
                    h.dropped = dropped;
                }
                if candidate.rank > h.rank {
                    self.held_bytes = self.held_bytes - h.data.len() + a.payload.len();
                    let mut data = std::mem::take(&mut h.data);
                    data.clear();
                    data.extend_from_slice(a.payload);
                    let keep_drop = h.dropped;
                    *h = Held { data, dropped: keep_drop, ..candidate };
                    self.last_held = Some((key, h.ts, h.rank));
                    self.held.requeue(&key);
                }
            }
            Some(_) => {
                // The id came back much later: the held packet is complete; it stays held (under
                // its own event number) so that packets still go out in time order.
                let old = self.held.get_mut(&key).map(|h| h.event);
                if let Some(event) = old {
                    self.held.rekey(&key, Key::Single(event));
                }
                let data = self.buffer(a.payload);
                self.hold(key, Held { data, ..candidate }, warn, out);
            }
            None => {
                let data = self.buffer(a.payload);
                self.hold(key, Held { data, ..candidate }, warn, out)
            }
        }
    }

    /// A copy of `payload` in a reused buffer.
    fn buffer(&mut self, payload: &[u8]) -> Vec<u8> {
        let mut b = match self.spare.pop() {
            Some(b) => {
                self.spare_bytes -= b.capacity();
                b
            }
            None => Vec::new(),
        };
        b.extend_from_slice(payload);
        b
    }

    fn component_name(&self, id: u16) -> String {
        match self.components.get(&id) {
            Some(n) if !n.is_empty() => format!("{n} (component {id})"),
            _ => format!("component {id}"),
        }
    }

    fn hold(&mut self, key: Key, h: Held, warn: &mut WarningSink, out: &mut impl FnMut(&Packet, &mut WarningSink)) {
        self.held_bytes += h.data.len();
        self.last_held = Some((key, h.ts, h.rank));
        self.held.insert(key, h);
        self.since_mark += 1;
        if self.held_bytes > HOLD_BYTES || self.held.len() > HOLD_PACKETS {
            self.release(Release::Oldest(self.held.entries() / 2), warn, out);
        } else if self.since_mark >= MARK_EVERY.max(self.held.len() / 4) {
            // Every processor is past the mark: nothing still to come is older. A packet held
            // just before it may still have an appearance to come.
            self.since_mark = 0;
            if let Some(mark) = self.mark.get() {
                self.release(Release::Before(Ts(mark.0.saturating_sub(APPEARANCE_SPREAD_NS))), warn, out);
            }
        }
    }

    /// Delivers every held packet, in time order.
    fn flush(&mut self, warn: &mut WarningSink, out: &mut impl FnMut(&Packet, &mut WarningSink)) {
        self.release(Release::Oldest(usize::MAX), warn, out);
    }

    /// Delivers held packets, in time order.
    fn release(&mut self, which: Release, warn: &mut WarningSink, out: &mut impl FnMut(&Packet, &mut WarningSink)) {
        let mut held = std::mem::take(&mut self.held);
        let mut each = |key, h: Held| {
            if self.last_held.is_some_and(|l| l.0 == key) {
                self.last_held = None;
            }
            self.held_bytes -= h.data.len();
            self.deliver(h, out, warn);
        };
        match which {
            Release::Oldest(n) => held.oldest(n, &mut each),
            Release::Before(cutoff) => held.before(cutoff, &mut each),
        }
        self.held = held;
    }

    fn deliver(&mut self, h: Held, out: &mut impl FnMut(&Packet, &mut WarningSink), warn: &mut WarningSink) {
        *self.taken_at.entry(h.component).or_default() += 1;
        let s = &mut self.stats;
        s.packets += 1;
        s.bytes += h.data.len() as u64;
        if s.first.is_none_or(|f| h.ts < f) {
            s.first = Some(h.ts);
        }
        if s.last.is_none_or(|l| h.ts > l) {
            s.last = Some(h.ts);
        }
        if (h.data.len() as u32) < h.orig_len {
            s.truncated_by_snaplen += 1;
        }
        let drop = h.dropped.map(|(c, r, inbound)| (self.component_name(c), r, inbound));
        let pkt = Packet {
            frame: h.event,
            ts: h.ts,
            linktype: h.linktype,
            data: &h.data,
            orig_len: h.orig_len,
            offset: h.offset,
            dropped: drop.as_ref().map(|(c, r, inbound)| HostDrop { component: c, reason: *r, inbound: *inbound }),
        };
        out(&pkt, warn);
        if self.spare_bytes + h.data.capacity() <= SPARE_BYTES {
            let mut data = h.data;
            data.clear();
            self.spare_bytes += data.capacity();
            self.spare.push(data);
        }
    }
}

/// A hash of a frame's network-layer bytes (its first `CONTENT_BYTES`), so that the same packet
/// seen as an 802.11 frame and as an Ethernet frame matches; frames without a known network
/// layer hash whole.
fn content_hash(linktype: u32, frame: &[u8]) -> u64 {
    use std::hash::Hasher;
    let (ether_type, at) = link::network_offset(linktype, frame).unwrap_or((0, 0));
    let l3 = frame.get(at..).unwrap_or_default();
    let mut h = rustc_hash::FxHasher::default();
    h.write_u16(ether_type);
    h.write(&l3[..l3.len().min(CONTENT_BYTES)]);
    h.finish()
}

/// Known provider names, for the inventory and the error for a trace without packets.
fn provider_name(g: &Guid) -> Option<&'static str> {
    const NAMES: &[(Guid, &str)] = &[
        (pktmon::PKTMON, "Microsoft-Windows-PktMon"),
        (ndis::NDIS, "Microsoft-Windows-NDIS-PacketCapture"),
        (walk::EVENT_TRACE, "EventTrace (log header)"),
        (walk::SYSTEM_TRACE, "NT Kernel Logger"),
        (
            Guid::new(0x2f07e2ee, 0x15db, 0x40f1, [0x90, 0xef, 0x9d, 0x7b, 0xa2, 0x82, 0x18, 0x8a]),
            "Microsoft-Windows-TCPIP",
        ),
        (
            Guid::new(0x1c95126e, 0x7eea, 0x49a9, [0xa3, 0xfe, 0xa3, 0x78, 0xb0, 0x3d, 0xdb, 0x4d]),
            "Microsoft-Windows-DNS-Client",
        ),
        (
            Guid::new(0x2a576b87, 0x09a7, 0x520e, [0xc2, 0x1a, 0x49, 0x42, 0xf0, 0x27, 0x1d, 0x67]),
            "Microsoft-Antimalware-Scan-Interface",
        ),
        (
            Guid::new(0xa0c1853b, 0x5c40, 0x4b15, [0x87, 0x66, 0x3c, 0xf1, 0xc5, 0x8f, 0x98, 0x5a]),
            "Microsoft-Windows-PowerShell",
        ),
    ];
    NAMES.iter().find(|(id, _)| id == g).map(|(_, n)| *n)
}

/// Reads every packet of an `.etl` stream and calls `on_packet` for each, in time order.
/// A trace without either packet provider is an error that names the providers it holds.
pub fn read_packets<R: Read + Send>(
    src: R,
    input: &str,
    warn: &mut WarningSink,
    mut on_packet: impl FnMut(&Packet, &mut WarningSink),
) -> Result<CaptureStats> {
    let mut x = Extractor::default();
    let walked = walk::walk(src, input, warn, |ev, warn| x.on_event(ev, warn, &mut on_packet))?;
    x.flush(warn, &mut on_packet);
    let has_pktmon = x.providers.contains_key(&pktmon::PKTMON);
    let has_ndis = x.providers.contains_key(&ndis::NDIS);
    if !has_pktmon && !has_ndis {
        let mut held: Vec<(&Guid, &u64)> = x.providers.iter().collect();
        held.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let list: Vec<String> = held
            .iter()
            .take(12)
            .map(|(g, n)| match provider_name(g) {
                Some(name) => format!("{name} {g} ×{n}"),
                None => format!("{g} ×{n}"),
            })
            .collect();
        let more = if held.len() > 12 { format!(" and {} more", held.len() - 12) } else { String::new() };
        return Err(Error::input(
            input,
            format!(
                "ETW trace without packets: it holds no event of Microsoft-Windows-PktMon {} or \
                 Microsoft-Windows-NDIS-PacketCapture {}, only: {}{more}. Record packets with \
                 `pktmon start --capture` or `netsh trace start capture=yes`",
                pktmon::PKTMON,
                ndis::NDIS,
                list.join(", ")
            ),
        ));
    }
    if has_pktmon && x.pktmon_events == 0 && !has_ndis {
        warn.push(0, None, "pktmon trace without packet events (160/170): recorded without `--capture`, or no packet matched its filters");
    }
    if x.joiner.unfinished() > 0 || x.joiner.orphans > 0 {
        warn.push(
            walked.end,
            None,
            format!(
                "NDIS-PacketCapture: {} frame(s) without their last fragment and {} fragment(s) without their first were not analysed",
                x.joiner.unfinished(),
                x.joiner.orphans
            ),
        );
    }
    if x.joiner.malformed > 0 {
        warn.push(
            0,
            None,
            format!(
                "NDIS-PacketCapture: {} event(s) whose FragmentSize runs past the event were skipped",
                x.joiner.malformed
            ),
        );
    }
    let l = &walked.log;
    if l.events_lost > 0 || l.buffers_lost > 0 {
        warn.push(
            0,
            None,
            format!("the trace lost {} event(s) and {} buffer(s) while recording (ETW said so in its header): packets may be missing", l.events_lost, l.buffers_lost),
        );
    }
    let mut stats = std::mem::take(&mut x.stats);
    stats.format = "etl";
    stats.precision = 7;
    stats.numbered = walked.events;
    // The capture point of a trace: its logger on one boot of one host (the files of a
    // multi-file trace share it; two hosts' traces never do).
    stats.links = vec![Link {
        linktype: 0,
        snaplen: 0,
        name: Some(format!("ETW {} on the host booted at FILETIME {}", l.logger_name, l.boot_time)),
    }];
    let providers: Vec<&str> =
        [(has_pktmon, "pktmon"), (has_ndis, "NDIS-PacketCapture")].iter().filter(|p| p.0).map(|p| p.1).collect();
    let events = x.pktmon_events + x.ndis_events;
    let mut by_count: Vec<(String, u64)> = x
        .taken_at
        .iter()
        .map(|(c, n)| match c {
            Some(c) => (format!("pktmon at {}", x.component_name(*c)), *n),
            None => ("NDIS-PacketCapture".to_string(), *n),
        })
        .collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut taken: Vec<String> = by_count.iter().take(6).map(|(k, n)| format!("{k} ×{n}")).collect();
    if by_count.len() > 6 {
        taken.push(format!("{} more", by_count.len() - 6));
    }
    let mut detail = format!(
        "etl ({}, Windows build {}, {} buffers, {} compressed; {} packet events → {} packets",
        providers.join(" + "),
        l.build,
        walked.buffers,
        walked.compressed,
        events,
        stats.packets
    );
    if !taken.is_empty() {
        detail.push_str(&format!(", taken from {}", taken.join(", ")));
    }
    if x.pktmon_drops > 0 {
        let d: Vec<String> = x
            .drops
            .iter()
            .map(|((c, r), n)| format!("{n} dropped by {}: {}", x.component_name(*c), pktmon::drop_reason(*r).0))
            .collect();
        detail.push_str(&format!("; {}", d.join(", ")));
    }
    detail.push(')');
    stats.detail = Some(detail);
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One uncompressed buffer: a 64-bit logfile header (QPC at 10 MHz, StartTime the Unix
    /// epoch) and pktmon 160 events at the given raw times, each a 20-byte raw-IP payload.
    fn trace(times: &[i64]) -> Vec<u8> {
        let mut body = vec![0u8; 0x20 + 0x118];
        body[0..4].copy_from_slice(&0xC002_0002u32.to_le_bytes());
        body[4..6].copy_from_slice(&((0x20 + 0x118) as u16).to_le_bytes());
        body[0x120..0x128].copy_from_slice(&10_000_000u64.to_le_bytes());
        body[0x128..0x130].copy_from_slice(&116_444_736_000_000_000u64.to_le_bytes());
        body[0x130] = 1;
        for (i, &t) in times.iter().enumerate() {
            let mut r = vec![0u8; 0x50 + 34 + 20];
            let size = r.len() as u32;
            r[0..4].copy_from_slice(&(0xC013_0000 | size).to_le_bytes());
            r[0x10..0x18].copy_from_slice(&t.to_le_bytes());
            r[0x18..0x28].copy_from_slice(&pktmon::PKTMON.0);
            r[0x28..0x2A].copy_from_slice(&pktmon::EVENT_PACKET.to_le_bytes());
            let d = &mut r[0x50..];
            d[0..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
            d[8] = 1; // PktNumber
            d[10] = 1; // Appearance
            d[12] = 3; // Rx
            d[14] = 3; // raw IP
            d[32] = 20; // LoggedPayloadSize
            d[34] = 0x45;
            body.extend_from_slice(&r);
            body.resize(body.len().div_ceil(8) * 8, 0);
        }
        let mut out = vec![0u8; walk::BUFFER_HEADER];
        let size = (walk::BUFFER_HEADER + body.len()) as u32;
        out[0..4].copy_from_slice(&size.to_le_bytes());
        out[0x30..0x34].copy_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    // Oracle: fuzz target `etl`, crash bb60aad1 (an event time that clamps to the earliest
    // `Ts` overflowed when negated for the wire-closeness rank); packets come out in time order.
    #[test]
    fn extreme_times_do_not_overflow_and_come_out_sorted() {
        let mut sink = WarningSink::new("t");
        let mut seen = Vec::new();
        let r = read_packets(&trace(&[50, i64::MIN, i64::MAX, 10])[..], "t", &mut sink, |p, _| seen.push(p.ts.0));
        assert_eq!(r.map(|s| s.packets).map_err(|e| e.to_string()), Ok(4));
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        assert_eq!(seen.first(), Some(&i64::MIN));
    }
}
