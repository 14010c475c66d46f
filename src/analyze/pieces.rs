//! Pieces of one capture read as one stream: a ring-buffer or rotated capture (`dumpcap -b`,
//! `tcpdump -C`, `editcap -c`) spreads one session over consecutive files, and a flow that
//! crosses a file boundary must stay one connection.
//!
//! How: the first, parallel pass reads every capture on its own as before and keeps, per file,
//! a small `Piece`: its capture point (the interfaces' link types, snaplens and names), its first
//! and last times, the fingerprints of its first and last few packets, and the addresses of its
//! connections. `group` then finds files that continue each other: the same capture point, the
//! next file starting at or after the group's last packet, within `SEAM_NS` of it or within
//! `MAX_GAP_NS` and sharing an address with the group (or one side without any). Only such
//! groups are read again, sequentially and in time order, through one `FlowTable`
//! (`read_chain`); their first-pass connections are replaced. A file that continues nothing keeps
//! its first-pass result untouched (byte-identical output), so the double read costs only pieces.
//! (Stitching the first pass's flow states at each boundary would save that read, but every
//! per-flow analyzer would need a merge; reading again reuses the one pipeline there is.) Memory stays bounded by live flows and a few kilobytes per
//! file, never by the number of files: a chain holds one file open at a time.
//!
//! The stream numbers packets consecutively over its pieces (the piece's first packet follows
//! the previous piece's last), and `Frames::pieces` maps each number back to its file and frame.
//!
//! A file whose time range overlaps its group's at the same capture point (the same file given
//! twice, or pieces written with an overlap) is recognised by its first packet: the same time and
//! bytes as a packet already read (the group's first packets, or the last `TAIL` of the piece it
//! overlaps). It joins the chain, but its packets up to the time already read are dropped, with
//! a warning naming both files. Files that overlap without that shared packet were taken at
//! another capture point at the same time (a two-point capture): they are not chained here and
//! stay separate inputs. An `.etl` trace's capture point is its logger on one boot of one host
//! (`input::etl`), and its pieces number on by events. Where this module's job ends: it never
//! matches one connection seen at two capture points.

use std::collections::{BTreeSet, VecDeque};
use std::hash::Hasher;
use std::net::IpAddr;
use std::sync::Arc;

use super::{PerInput, Timed};
use crate::connection::{self, Connection};
use crate::error::{Result, Warning, WarningSink};
use crate::evidence::{Frames, Part, Unit};
use crate::flow::FlowTable;
use crate::input::pcap::{CaptureStats, Link, Packet};
use crate::input::{self, Input};
use crate::limits::Limits;
use crate::time::Ts;

/// Packets whose fingerprints are kept at the end of each file.
const TAIL: usize = 1024;
/// Bytes of a packet that its fingerprint hashes (with its time, length and link type).
const PRINT_BYTES: usize = 128;
/// The longest silence between two pieces that still continue each other: the flow table's
/// idle limit for an open flow (`flow::IDLE_OPEN`), beyond which no flow would carry across.
const MAX_GAP_NS: i64 = 600 * 1_000_000_000;
/// A piece that starts this soon after its group's last packet continues it even without a
/// shared address (pieces cut by packet count can hold only a conversation the group has not
/// seen yet): rotation leaves no silence of its own, and two capture points' files this close
/// in time with the same interfaces would only ever join flows with the same addresses and ports.
const SEAM_NS: i64 = 10 * 1_000_000_000;
/// Addresses kept per file (and per group) to tell whether two files share one.
const MAX_HOSTS: usize = 4096;

/// A packet's fingerprint: its time, and a hash of its link type, length and first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Print {
    ts: Ts,
    hash: u64,
}

impl Print {
    fn of(pkt: &Packet) -> Print {
        let mut h = rustc_hash::FxHasher::default();
        h.write_u32(pkt.linktype);
        h.write_u32(pkt.orig_len);
        h.write(pkt.data.get(..PRINT_BYTES).unwrap_or(pkt.data));
        Print { ts: pkt.ts, hash: h.finish() }
    }
}

/// The first packet and the last `TAIL` packets of a file, as fingerprints.
#[derive(Clone, Debug, Default)]
pub(super) struct Edges {
    first: Option<Print>,
    tail: VecDeque<Print>,
}

impl Edges {
    pub(super) fn see(&mut self, pkt: &Packet) {
        let p = Print::of(pkt);
        self.first.get_or_insert(p);
        if self.tail.len() == TAIL {
            self.tail.pop_front();
        }
        self.tail.push_back(p);
    }
}

/// What the grouping knows of one capture file after the first pass.
#[derive(Debug)]
pub(super) struct Piece {
    links: Vec<Link>,
    first: Ts,
    last: Ts,
    edges: Edges,
    hosts: BTreeSet<IpAddr>,
}

impl Piece {
    /// `None` for a file that cannot continue another: no packets, or no interface list.
    pub(super) fn new(stats: &CaptureStats, edges: Edges, conns: &[Connection]) -> Option<Piece> {
        let (first, last) = (stats.first?, stats.last?);
        if stats.links.is_empty() || edges.first.is_none() {
            return None;
        }
        let ips = conns.iter().flat_map(|c| [c.client.ip(), c.server.ip()]).flatten();
        let hosts = ips.take(MAX_HOSTS).collect();
        Some(Piece { links: stats.links.clone(), first, last, edges, hosts })
    }
}

/// One file of a chain: its index among the captures and, when it overlaps what the chain read
/// before it, the piece it overlaps with that piece's last fingerprints.
#[derive(Debug)]
pub(super) struct Member {
    index: usize,
    overlaps: Option<(usize, Vec<Print>)>,
}

/// A group of two or more files read as one stream, in stream order.
#[derive(Debug)]
pub(super) struct Chain {
    members: Vec<Member>,
}

/// A group being built: the pieces joined so far and what the next must match.
struct Open<'a> {
    members: Vec<Member>,
    links: &'a [Link],
    last: Ts,
    /// The piece whose end is the group's end (the one the next piece may overlap).
    ends: usize,
    firsts: Vec<Print>,
    hosts: BTreeSet<IpAddr>,
}

/// Groups the captures (`None`: cannot be chained) into chains of files that continue each
/// other. Files that continue nothing are left out: they keep their own result.
pub(super) fn group(pieces: &[Option<&Piece>]) -> Vec<Chain> {
    let mut order: Vec<(usize, &Piece)> = pieces.iter().enumerate().filter_map(|(i, p)| Some((i, (*p)?))).collect();
    order.sort_by_key(|(i, p)| (p.first, p.last, *i));
    let mut open: Vec<Open> = Vec::new();
    for (i, p) in order {
        // The best group: one that already holds this file's first packet, then the nearest end.
        let best = open.iter().enumerate().filter_map(|(g, o)| fit(o, p, pieces).map(|f| (f, g))).min().map(|(_, g)| g);
        let Some(o) = best.and_then(|g| open.get_mut(g)) else {
            let members = vec![Member { index: i, overlaps: None }];
            let firsts = p.edges.first.into_iter().collect();
            open.push(Open { members, links: &p.links, last: p.last, ends: i, firsts, hosts: p.hosts.clone() });
            continue;
        };
        let same = fit(o, p, pieces).is_some_and(|f| !f.other_packets);
        let tail = pieces.get(o.ends).copied().flatten().map(|e| e.edges.tail.iter().copied().collect());
        let overlaps = if same { tail.map(|t| (o.ends, t)) } else { None };
        o.members.push(Member { index: i, overlaps });
        o.firsts.extend(p.edges.first);
        if p.last >= o.last {
            (o.last, o.ends) = (p.last, i);
        }
        let room = MAX_HOSTS.saturating_sub(o.hosts.len());
        o.hosts.extend(p.hosts.iter().copied().take(room));
    }
    open.into_iter().filter(|o| o.members.len() > 1).map(|o| Chain { members: o.members }).collect()
}

/// How well a piece continues a group; the smallest wins (`Ord` compares the fields in order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Fit {
    /// `false` when the piece's first packet was already read in the group: an overlap at the
    /// same capture point (sorts first).
    other_packets: bool,
    /// `false` when the piece shares an address with the group (or either has none).
    no_shared_address: bool,
    /// The silence before the piece, in nanoseconds.
    gap: i64,
}

/// Whether `p` continues group `o`, and how well: the same capture point (interfaces), and
/// either its first packet already read in the group, or a start at or after the group's end
/// within `MAX_GAP_NS`, sharing an address with it or following within `SEAM_NS`.
fn fit(o: &Open, p: &Piece, pieces: &[Option<&Piece>]) -> Option<Fit> {
    if o.links != p.links.as_slice() {
        return None;
    }
    let first = p.edges.first?;
    let tail = pieces.get(o.ends).copied().flatten().map(|e| &e.edges.tail);
    if o.firsts.contains(&first) || tail.is_some_and(|t| t.contains(&first)) {
        return Some(Fit { other_packets: false, no_shared_address: false, gap: 0 });
    }
    let gap = p.first.0.saturating_sub(o.last.0);
    let shares = o.hosts.is_empty() || p.hosts.is_empty() || p.hosts.iter().any(|h| o.hosts.contains(h));
    let fits = (0..=MAX_GAP_NS).contains(&gap) && (shares || gap <= SEAM_NS);
    fits.then_some(Fit { other_packets: true, no_shared_address: !shares, gap })
}

/// What reading a chain yields: its connections, and per member its warnings and how many
/// there were (those beyond a sink's limit are counted, not listed).
pub(super) struct ChainOut {
    conns: Vec<Connection>,
    warnings: Vec<(Vec<Warning>, u64)>,
}

/// Reads a chain's files in order as one stream through one flow table. `captures` are the
/// inputs `Member::index` refers to.
pub(super) fn read_chain(chain: &Chain, captures: &[&Input], limits: &Limits) -> Result<ChainOut> {
    let mut table = FlowTable::with_limits(limits);
    let members: Vec<(&Member, &Input)> =
        chain.members.iter().filter_map(|m| Some((m, *captures.get(m.index)?))).collect();
    let names: Vec<String> = members.iter().map(|(_, i)| i.display()).collect();
    let first_name = names.first().cloned().unwrap_or_default();
    let mut flow_sink = WarningSink::new(first_name.clone());
    let mut sinks = Vec::new();
    let mut parts = Vec::new();
    let (mut before, mut seen) = (0u64, None::<Ts>);
    for (&(m, input), name) in members.iter().zip(&names) {
        // Each piece has the time one input has (`--input-time`).
        let deadline = limits.deadline();
        let mut sink = WarningSink::new(name.clone());
        let reader = Timed::new(input::open(input)?, deadline);
        let stopped = reader.stopped.clone();
        // An overlapping piece: what is not later than the stream so far was read already.
        let mark = m.overlaps.as_ref().zip(seen).map(|((o, tail), upto)| (*o, tail, upto));
        let (mut dropped, mut latest) = (0u64, seen);
        let stats = input::read_capture(reader, name, &mut sink, |pkt, _| {
            if let Some((_, tail, upto)) = mark
                && (pkt.ts < upto || (pkt.ts == upto && tail.contains(&Print::of(pkt))))
            {
                dropped += 1;
                return;
            }
            latest = latest.max(Some(pkt.ts));
            table.on_packet(&Packet { frame: before.saturating_add(pkt.frame), ..*pkt }, &mut flow_sink);
        })?;
        if let Some(at) = stopped.get() {
            sink.push(at, None, deadline.message(&format!("the capture after byte {at}")));
        }
        if let Some((o, _, upto)) = mark.filter(|_| dropped > 0) {
            let other = names.get(members.iter().position(|(m, _)| m.index == o).unwrap_or(0)).cloned();
            sink.push(0, None, overlap_message(name, &other.unwrap_or_default(), dropped, stats.packets, upto));
        }
        seen = latest;
        let unit = Unit::of(&stats);
        parts.push(Part { before, file: base_name(name).into(), unit });
        before = before.saturating_add(stats.numbered);
        sinks.push(sink);
    }
    let (finished, _) = table.finish(&mut flow_sink);
    let frames = Arc::new(Frames::pieces(parts));
    let conns = connection::build(&first_name, &frames, finished);
    Ok(ChainOut { conns, warnings: per_piece(&frames, &names, sinks, flow_sink) })
}

/// Each piece's warnings and their count: its reader's, then the flow table's that name one of
/// its packets, numbered as in the file (the flow table numbers the stream; a line counting the
/// warnings not kept, and those without a packet, go to the first piece).
fn per_piece(
    frames: &Frames,
    names: &[String],
    sinks: Vec<WarningSink>,
    flow_sink: WarningSink,
) -> Vec<(Vec<Warning>, u64)> {
    let mut warnings: Vec<(Vec<Warning>, u64)> = sinks.into_iter().map(WarningSink::into_listed).collect();
    let (flow, flow_total) = flow_sink.into_listed();
    let unlisted = flow_total.saturating_sub(flow.len() as u64);
    for mut w in flow {
        let k = w.frame.map_or(0, |n| frames.parts().partition_point(|p| p.before < n).saturating_sub(1));
        if let (Some(n), Some(p)) = (w.frame, frames.parts().get(k)) {
            w.frame = Some(n.saturating_sub(p.before));
        }
        if let (Some(name), Some((list, count))) = (names.get(k), warnings.get_mut(k)) {
            w.input = name.clone();
            list.push(w);
            *count += 1;
        }
    }
    if let Some((_, count)) = warnings.first_mut() {
        *count += unlisted;
    }
    warnings
}

/// The warning for a piece whose first packets were already read in the piece it overlaps.
fn overlap_message(name: &str, other: &str, dropped: u64, packets: u64, upto: Ts) -> String {
    if dropped == packets {
        format!("{name} holds the same packets as {other} (given twice?): its {packets} packets are counted once")
    } else {
        format!(
            "{name} overlaps {other} (the same capture point: its first packet is also in {other}); its {dropped} \
             packets up to {} were read there and are not counted twice",
            connection::fmt_ts(upto)
        )
    }
}

/// The file name part of a path (how evidence names a piece).
fn base_name(path: &str) -> &str {
    std::path::Path::new(path).file_name().and_then(|f| f.to_str()).unwrap_or(path)
}

/// Finds the chains among the first pass's captures and replaces their members' connections
/// and warnings with those of the chained read (its connections go to the chain's first file).
/// A chain that cannot be read again keeps its first-pass results, with a warning.
pub(super) fn chain_captures(captures: &[&Input], results: &mut [Result<PerInput>], limits: &Limits) {
    use rayon::prelude::*;
    let found: Vec<Option<&Piece>> = results.iter().map(|r| r.as_ref().ok().and_then(|p| p.piece.as_ref())).collect();
    let chains = group(&found);
    let read: Vec<(Chain, Result<ChainOut>)> = chains
        .into_par_iter()
        .map(|c| {
            let out = read_chain(&c, captures, limits);
            (c, out)
        })
        .collect();
    for (chain, out) in read {
        let first = chain.members.first().map_or(0, |m| m.index);
        match out {
            Ok(out) => {
                let (mut conns, mut before) = (Some(out.conns), None);
                for (m, (warnings, count)) in chain.members.iter().zip(out.warnings) {
                    if let Some(Ok(per)) = results.get_mut(m.index) {
                        per.conns = conns.take().unwrap_or_default();
                        per.summary.warnings = count;
                        per.summary.continues = before.replace(per.summary.path.clone());
                        per.warnings = warnings;
                    }
                }
            }
            Err(e) => {
                if let Some(Ok(per)) = results.get_mut(first) {
                    let message = format!("pieces of this capture not read as one stream: {e}");
                    per.warnings.push(Warning { input: per.summary.path.clone(), offset: 0, frame: None, message });
                    per.summary.warnings += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    /// A piece on one Ethernet interface (snaplen `snaplen`) from `first` to `last` seconds,
    /// whose first packet has fingerprint `print` (its last packet `print + 1`).
    fn piece(first: i64, last: i64, print: u64, hosts: &[&str], snaplen: u32) -> Piece {
        let at = |s: i64, hash: u64| Print { ts: Ts(s * S), hash };
        let edges = Edges { first: Some(at(first, print)), tail: [at(first, print), at(last, print + 1)].into() };
        Piece {
            links: vec![Link { linktype: 1, snaplen, name: None }],
            first: Ts(first * S),
            last: Ts(last * S),
            edges,
            hosts: hosts.iter().map(|h| h.parse().unwrap()).collect(),
        }
    }

    /// The chains as lists of (index, index overlapped).
    fn chains(pieces: &[Piece]) -> Vec<Vec<(usize, Option<usize>)>> {
        let refs: Vec<Option<&Piece>> = pieces.iter().map(Some).collect();
        let mut out: Vec<Vec<(usize, Option<usize>)>> = group(&refs)
            .into_iter()
            .map(|c| c.members.iter().map(|m| (m.index, m.overlaps.as_ref().map(|o| o.0))).collect())
            .collect();
        out.sort();
        out
    }

    // The expected groups follow from the pieces' times, interfaces and first packets as built.
    #[test]
    fn consecutive_pieces_chain_in_time_order() {
        let a = "10.0.0.1";
        let p = [piece(20, 30, 30, &[a], 65535), piece(0, 10, 10, &[a], 65535), piece(10, 20, 20, &[a], 65535)];
        assert_eq!(chains(&p), vec![vec![(1, None), (2, None), (0, None)]]);
    }

    #[test]
    fn another_interface_or_a_long_silence_is_not_a_continuation() {
        let a = "10.0.0.1";
        assert!(chains(&[piece(0, 10, 10, &[a], 65535), piece(10, 20, 20, &[a], 262144)]).is_empty());
        let gap = MAX_GAP_NS / S + 11;
        assert!(chains(&[piece(0, 10, 10, &[a], 65535), piece(10 + gap, 20 + gap, 20, &[a], 65535)]).is_empty());
    }

    #[test]
    fn without_a_shared_address_only_a_close_piece_continues() {
        let (a, b) = ("10.0.0.1", "10.0.0.2");
        assert_eq!(chains(&[piece(0, 10, 10, &[a], 1), piece(15, 20, 20, &[b], 1)]).len(), 1);
        assert!(chains(&[piece(0, 10, 10, &[a], 1), piece(30, 40, 20, &[b], 1)]).is_empty());
        assert_eq!(chains(&[piece(0, 10, 10, &[a], 1), piece(30, 40, 20, &[a, b], 1)]).len(), 1);
        // No connections on one side: nothing to disagree about.
        assert_eq!(chains(&[piece(0, 10, 10, &[a], 1), piece(30, 40, 20, &[], 1)]).len(), 1);
    }

    #[test]
    fn overlaps_chain_only_with_a_packet_in_common() {
        let a = "10.0.0.1";
        // Another capture point at the same time: different first packets.
        assert!(chains(&[piece(0, 10, 10, &[a], 1), piece(0, 10, 11, &[a], 1)]).is_empty());
        // The same file twice, and a piece starting on the last packet of the one before.
        assert_eq!(
            chains(&[piece(0, 10, 10, &[a], 1), piece(0, 10, 10, &[a], 1)]),
            vec![vec![(0, None), (1, Some(0))]]
        );
        let p = [piece(0, 10, 10, &[a], 1), piece(10, 20, 11, &[a], 1)];
        assert_eq!(chains(&p), vec![vec![(0, None), (1, Some(0))]]);
    }

    #[test]
    fn two_rotating_capture_points_make_two_chains() {
        let (a, b) = ("10.0.0.1", "10.0.0.2");
        let p = [
            piece(0, 100, 1, &[a], 1),
            piece(1, 101, 2, &[b], 1),
            piece(100, 200, 3, &[a], 1),
            piece(101, 201, 4, &[b], 1),
        ];
        assert_eq!(chains(&p), vec![vec![(0, None), (2, None)], vec![(1, None), (3, None)]]);
    }

    #[test]
    fn a_file_without_packets_or_interfaces_is_no_piece() {
        let stats = CaptureStats { first: Some(Ts(1)), last: Some(Ts(2)), ..Default::default() };
        let mut edges = Edges::default();
        assert!(Piece::new(&stats, edges.clone(), &[]).is_none(), "no interface list");
        let links = vec![Link { linktype: 1, snaplen: 0, name: None }];
        let stats = CaptureStats { links, ..stats };
        assert!(Piece::new(&stats, edges.clone(), &[]).is_none(), "no packet seen");
        let data = [0u8; 200];
        let pkt = Packet { frame: 1, ts: Ts(1), linktype: 1, data: &data, orig_len: 200, offset: 24, dropped: None };
        (0..TAIL + 5).for_each(|_| edges.see(&pkt));
        assert_eq!(edges.tail.len(), TAIL, "the tail stays bounded");
        assert!(Piece::new(&stats, edges, &[]).is_some());
    }
}
