//! The flow table: every IP packet of a capture goes through `FlowTable::on_packet`.
//!
//! TCP flows are keyed by their 5-tuple in both directions; client and server are decided by
//! who sent the SYN (or, for flows whose start is missing, by the RDP/RD Gateway ports). A flow
//! is analysed as RDP when a port is 3389 or when the client's first bytes are a TPKT-wrapped
//! X.224 Connection Request (RDP moved to another port or tunnelled). Everything else is
//! dismissed after its first payload and costs one hash lookup per packet. UDP is kept only on
//! port 3389 (RDP-UDP). Memory is bounded by live flows, never by packets.

pub mod icmp;
pub mod reassembly;
pub mod tcp;
pub mod udp;

use std::net::{IpAddr, SocketAddr};

use etherparse::TransportSlice;
use rustc_hash::FxHashMap;

use self::icmp::IcmpError;
use self::reassembly::Reassembler;
use self::tcp::{At, Seg, TcpDir};
use self::udp::UdpFlow;
use crate::error::WarningSink;
use crate::input::link::{self, IpPacket, Skip};
use crate::input::pcap::Packet;
use crate::limits::Limits;
use crate::rdp::analyzer::{Dir, RdpAnalyzer};
use crate::rdp::x224::looks_like_connection_request;
use crate::time::Ts;

/// The RDP listener port (MS-RDPBCGR 1.3.1.1; also used by RDP-UDP, MS-RDPEUDP 2.1).
pub const RDP_PORT: u16 = 3389;
/// Ports that identify the server side of a flow whose SYN was not captured.
const SERVER_PORTS: [u16; 3] = [3389, 443, 3391];
/// Client payload segments examined for an X.224 Connection Request on a port that is not 3389
/// (a tunnel such as SOCKS5 speaks first, then carries RDP).
const MAX_CONTENT_PROBES: u8 = 4;
/// Two identical segments closer than this are one packet captured twice, not a retransmission.
const DUPLICATE_WINDOW_NS: i64 = 1_000_000;
/// Recent segments per direction that a new one is compared with to find capture duplicates
/// (a copy need not follow its original directly).
const DUPLICATE_LOOKBACK: usize = 4;
/// ICMP errors kept per flow.
const MAX_ICMP_PER_FLOW: usize = 16;
/// Idle times after which flows leave the table (seconds).
const IDLE_CLOSED: i64 = 30;
const IDLE_OPEN: i64 = 600;
const IDLE_IGNORED: i64 = 120;

/// Why a TCP flow is analysed as RDP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RdpBy {
    /// The client's first bytes are an X.224 Connection Request.
    Content,
    /// One side uses port 3389 (the start may be missing).
    Port,
}

/// The first bytes of a flow direction's last payload segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tail {
    pub at: At,
    pub len: u32,
    pub head: [u8; TAIL_BYTES],
}

/// Bytes kept of the last payload segment: a TPKT + X.224 Data + MCS PDU header.
pub const TAIL_BYTES: usize = 16;

impl Tail {
    fn of(at: At, payload: &[u8]) -> Tail {
        let mut head = [0u8; TAIL_BYTES];
        let n = payload.len().min(TAIL_BYTES);
        head[..n].copy_from_slice(&payload[..n]);
        Tail { at, len: payload.len().min(u32::MAX as usize) as u32, head }
    }

    /// The bytes kept.
    pub fn bytes(&self) -> &[u8] {
        &self.head[..(self.len as usize).min(TAIL_BYTES)]
    }
}

/// A packet of the flow that the capturing host dropped inside its own stack (pktmon).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dropped {
    pub at: At,
    /// Sent by the client.
    pub to_server: bool,
    pub syn: bool,
    /// The component that dropped it and pktmon's reason code.
    pub component: std::sync::Arc<str>,
    pub reason: u32,
    /// Arriving at the capturing host (leaving it otherwise).
    pub inbound: bool,
}

/// Host drops kept per flow (all are counted).
const MAX_DROPS_PER_FLOW: usize = 8;

/// One TCP connection with everything the capture tells about it.
#[derive(Debug)]
pub struct TcpFlow {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub first: At,
    pub last: At,
    /// The capture starts after this connection's SYN.
    pub mid_stream: bool,
    pub rdp_by: Option<RdpBy>,
    pub c2s: TcpDir,
    pub s2c: TcpDir,
    pub icmp: Vec<IcmpError>,
    /// Bytes that were never captured inside the analysed payload (capture loss).
    pub payload_gaps: u32,
    /// Packets captured twice, ignored after the first copy: the same IP ID, TCP checksum,
    /// sequence and acknowledgement numbers, flags, window and length within 1 ms. A
    /// retransmission carries a new IP ID (or, on IPv6, comes much later), so it is never one.
    pub capture_duplicates: u64,
    pub rdp: RdpAnalyzer,
    /// The last payload segment of each direction (client→server, server→client): its time and
    /// first bytes, enough to read a closing PDU (a T.125 Disconnect Provider Ultimatum) after
    /// the analyzer stopped reading.
    pub tail: [Option<Tail>; 2],
    /// Packets the capturing host dropped (the first `MAX_DROPS_PER_FLOW`), and how many.
    pub drops: Vec<Dropped>,
    pub drops_total: u32,
    recent: [[Option<(SegSig, Ts)>; DUPLICATE_LOOKBACK]; 2],
    recent_next: [usize; 2],
    /// Time of the most recent SYN, and the initial round-trip time (that SYN to the first
    /// ACK), the window within which a segment filling a gap counts as reordered.
    last_syn: Option<Ts>,
    initial_rtt_ns: Option<i64>,
    probes: u8,
    reasm: Option<Box<[Reassembler; 2]>>,
}

impl TcpFlow {
    /// `budget`: stream bytes handed to the RDP analyzer per direction at most.
    fn new(client: SocketAddr, server: SocketAddr, at: At, mid_stream: bool, budget: usize) -> Self {
        let rdp_by = (server.port() == RDP_PORT || client.port() == RDP_PORT).then_some(RdpBy::Port);
        TcpFlow {
            client,
            server,
            first: at,
            last: at,
            mid_stream,
            rdp_by,
            c2s: TcpDir::default(),
            s2c: TcpDir::default(),
            icmp: Vec::new(),
            payload_gaps: 0,
            capture_duplicates: 0,
            rdp: RdpAnalyzer::new(),
            drops: Vec::new(),
            drops_total: 0,
            recent: [[None; DUPLICATE_LOOKBACK]; 2],
            recent_next: [0, 0],
            last_syn: None,
            initial_rtt_ns: None,
            probes: 0,
            reasm: Some(Box::new([Reassembler::new(budget), Reassembler::new(budget)])),
            tail: [None, None],
        }
    }

    /// A frame sent in direction `idx` that repeats one of the last few within
    /// `DUPLICATE_WINDOW_NS` is a capture duplicate; otherwise it is remembered.
    fn is_capture_duplicate(&mut self, idx: usize, sig: SegSig, ts: Ts) -> bool {
        let (Some(recent), Some(next)) = (self.recent.get_mut(idx), self.recent_next.get_mut(idx)) else {
            return false;
        };
        // Saturating, like every time difference here: damaged timestamps sit at the ends of the range.
        let close = |t: Ts| (0..=DUPLICATE_WINDOW_NS).contains(&ts.0.saturating_sub(t.0));
        if recent.iter().flatten().any(|(s, t)| *s == sig && close(*t)) {
            return true;
        }
        if let Some(slot) = recent.get_mut(*next % DUPLICATE_LOOKBACK) {
            *slot = Some((sig, ts));
        }
        *next = (*next + 1) % DUPLICATE_LOOKBACK;
        false
    }

    /// The out-of-order window: the initial RTT when the handshake was seen (tshark's rule),
    /// learnt from the most recent SYN and the first ACK after it.
    fn reorder_window(&mut self, seg: &Seg) -> i64 {
        if seg.syn && !seg.ack_flag {
            self.last_syn = Some(seg.at.ts);
        } else if seg.ack_flag && !seg.syn && self.initial_rtt_ns.is_none() {
            if let Some(syn) = self.last_syn {
                self.initial_rtt_ns = Some(seg.at.ts.0.saturating_sub(syn.0));
            }
        }
        self.initial_rtt_ns.filter(|&n| n > 0).unwrap_or(tcp::DEFAULT_REORDER_NS)
    }

    /// Closed by RST, or by FIN from both sides.
    pub fn is_closed(&self) -> bool {
        self.c2s.rst.is_some() || self.s2c.rst.is_some() || (self.c2s.fin.is_some() && self.s2c.fin.is_some())
    }

    /// Called once when the flow leaves the table: hand over any held payload.
    fn finish(&mut self, warn: &mut WarningSink) {
        if let Some(mut r) = self.reasm.take() {
            let at = self.last;
            for (i, dir) in [Dir::ToServer, Dir::ToClient].into_iter().enumerate() {
                let rdp = &mut self.rdp;
                let mut msgs = Vec::new();
                r[i].flush(&mut |b| rdp.feed(dir, b, at, &mut msgs));
                self.payload_gaps += r[i].gaps;
                for m in msgs {
                    warn.push(0, Some(at.frame), m);
                }
            }
        }
    }
}

/// A flow that has left the table.
#[derive(Debug)]
pub enum Finished {
    Tcp(Box<TcpFlow>),
    Udp(Box<UdpFlow>),
}

/// Counters for the input inventory.
#[derive(Clone, Debug, Default)]
pub struct FlowStats {
    pub ip_packets: u64,
    pub non_ip: u64,
    pub malformed: u64,
    pub ip_fragments: u64,
    pub tcp_flows: u64,
    pub rdp_tcp_flows: u64,
    pub rdp_udp_flows: u64,
    pub icmp_errors: u64,
    pub icmp_errors_unmatched: u64,
    pub untracked_flows: u64,
    pub unsupported_link_packets: u64,
}

/// The header fields that make two captured segments the same packet: a retransmission has
/// a new IP ID, and its TCP checksum usually differs too (other ACK, window or timestamps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SegSig {
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    len: u32,
    ip_id: Option<u16>,
    checksum: u16,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    lo: (IpAddr, u16),
    hi: (IpAddr, u16),
    proto: u8,
}

impl Key {
    fn new(proto: u8, a: (IpAddr, u16), b: (IpAddr, u16)) -> Key {
        if a <= b { Key { lo: a, hi: b, proto } } else { Key { lo: b, hi: a, proto } }
    }
}

enum Slot {
    Tcp(Box<TcpFlow>),
    Udp(Box<UdpFlow>),
    /// A TCP flow found not to be RDP: remembered so that it is not re-examined.
    Ignored {
        last: Ts,
    },
}

pub struct FlowTable {
    map: FxHashMap<Key, Slot>,
    pub finished: Vec<Finished>,
    pub stats: FlowStats,
    last_sweep: Ts,
    warned_full: bool,
    warned_links: Vec<u32>,
    /// Payload bytes per direction and live flows at most (`Limits`).
    budget: usize,
    max_flows: usize,
}

impl Default for FlowTable {
    fn default() -> Self {
        Self::new()
    }
}

impl FlowTable {
    pub fn new() -> Self {
        Self::with_limits(&Limits::default())
    }

    /// A table that tracks at most `limits.max_flows` live flows (later new flows are counted,
    /// with a warning) and hands at most `limits.flow_payload` bytes per direction to the RDP
    /// parsers.
    pub fn with_limits(limits: &Limits) -> Self {
        FlowTable {
            map: FxHashMap::default(),
            finished: Vec::new(),
            stats: FlowStats::default(),
            last_sweep: Ts(i64::MIN),
            warned_full: false,
            warned_links: Vec::new(),
            budget: limits.flow_payload,
            max_flows: limits.max_flows,
        }
    }

    /// Live flows in the table (for memory checks).
    pub fn live(&self) -> usize {
        self.map.len()
    }

    pub fn on_packet(&mut self, pkt: &Packet, warn: &mut WarningSink) {
        let ip = match link::decode(pkt.linktype, pkt.data) {
            Ok(ip) => ip,
            Err(Skip::NotIp) => {
                self.stats.non_ip += 1;
                return;
            }
            Err(Skip::UnsupportedLink(lt)) => {
                self.stats.unsupported_link_packets += 1;
                if !self.warned_links.contains(&lt) {
                    self.warned_links.push(lt);
                    warn.push(
                        pkt.offset,
                        Some(pkt.frame),
                        format!("link type {lt} is not supported; its packets are skipped"),
                    );
                }
                return;
            }
            Err(Skip::Malformed(m)) => {
                self.stats.malformed += 1;
                if (pkt.data.len() as u32) >= pkt.orig_len {
                    warn.push(pkt.offset, Some(pkt.frame), format!("malformed packet skipped: {m}"));
                }
                return;
            }
        };
        self.stats.ip_packets += 1;
        if ip.fragment {
            self.stats.ip_fragments += 1;
        }
        let at = At { frame: pkt.frame, ts: pkt.ts };
        if pkt.ts.0.saturating_sub(self.last_sweep.0) > 10_000_000_000 {
            self.sweep(pkt.ts, warn);
        }
        match &ip.transport {
            Some(TransportSlice::Tcp(t)) => self.on_tcp(&ip, t, at, pkt, warn),
            Some(TransportSlice::Udp(u)) => {
                let (sp, dp) = (u.source_port(), u.destination_port());
                if sp == RDP_PORT || dp == RDP_PORT {
                    self.on_udp((ip.src, sp), (ip.dst, dp), u.payload(), at);
                }
            }
            Some(TransportSlice::Icmpv4(m)) => {
                if let Some(e) = icmp::parse_v4(m.slice()) {
                    self.on_icmp(ip.src, e, at);
                }
            }
            Some(TransportSlice::Icmpv6(m)) => {
                if let Some(e) = icmp::parse_v6(m.slice()) {
                    self.on_icmp(ip.src, e, at);
                }
            }
            _ => {}
        }
    }

    fn on_tcp(&mut self, ip: &IpPacket, t: &etherparse::TcpSlice, at: At, pkt: &Packet, warn: &mut WarningSink) {
        let src = (ip.src, t.source_port());
        let dst = (ip.dst, t.destination_port());
        let key = Key::new(6, src, dst);
        let syn_only = t.syn() && !t.ack();
        // A new SYN on a finished 5-tuple starts a new connection (port reuse).
        if syn_only {
            let reuse = match self.map.get(&key) {
                Some(Slot::Tcp(f)) => f.is_closed() && f.c2s.isn() != Some(t.sequence_number()),
                Some(Slot::Ignored { .. }) => true,
                _ => false,
            };
            if reuse {
                self.evict(&key, warn);
            }
        }
        if !self.map.contains_key(&key) {
            if self.map.len() >= self.max_flows {
                self.sweep(at.ts, warn);
                if self.map.len() >= self.max_flows {
                    self.stats.untracked_flows += 1;
                    if !self.warned_full {
                        self.warned_full = true;
                        warn.push(
                            pkt.offset,
                            Some(pkt.frame),
                            format!(
                                "more than {} concurrent flows (--max-flows): later new flows are counted, not tracked",
                                self.max_flows
                            ),
                        );
                    }
                    return;
                }
            }
            let s = SocketAddr::from(src);
            let d = SocketAddr::from(dst);
            let (client, server, mid) = if syn_only {
                (s, d, false)
            } else if t.syn() {
                (d, s, true) // SYN+ACK: the sender is the server
            } else if SERVER_PORTS.contains(&d.port()) && !SERVER_PORTS.contains(&s.port()) {
                (s, d, true)
            } else if SERVER_PORTS.contains(&s.port()) {
                (d, s, true)
            } else if d.port() <= s.port() {
                (s, d, true)
            } else {
                (d, s, true)
            };
            self.stats.tcp_flows += 1;
            self.map.insert(key, Slot::Tcp(Box::new(TcpFlow::new(client, server, at, mid, self.budget))));
        }
        let Some(Slot::Tcp(flow)) = self.map.get_mut(&key) else {
            if let Some(Slot::Ignored { last }) = self.map.get_mut(&key) {
                *last = at.ts;
            }
            return;
        };
        let to_server = SocketAddr::from(src) == flow.client;
        let payload = t.payload();
        let seg = Seg {
            at,
            seq: t.sequence_number(),
            ack: t.acknowledgment_number(),
            syn: t.syn(),
            ack_flag: t.ack(),
            fin: t.fin(),
            rst: t.rst(),
            window: t.window_size(),
            options: t.options(),
            payload_len: payload.len() as u32,
            ttl: ip.ttl,
            ip_id: ip.ip_id,
            checksum: t.checksum(),
        };
        let idx = if to_server { 0 } else { 1 };
        if let Some(d) = pkt.dropped {
            flow.drops_total = flow.drops_total.saturating_add(1);
            if flow.drops.len() < MAX_DROPS_PER_FLOW {
                flow.drops.push(Dropped {
                    at,
                    to_server,
                    syn: seg.syn,
                    component: d.component.into(),
                    reason: d.reason,
                    inbound: d.inbound,
                });
            }
        }
        let sig = SegSig {
            seq: seg.seq,
            ack: seg.ack,
            flags: t.slice().get(13).copied().unwrap_or(0),
            window: seg.window,
            len: seg.payload_len,
            ip_id: seg.ip_id,
            checksum: seg.checksum,
        };
        if flow.is_capture_duplicate(idx, sig, at.ts) {
            flow.capture_duplicates += 1;
            return;
        }
        flow.last = at;
        let reorder_ns = flow.reorder_window(&seg);
        let (me, peer) = if to_server { (&mut flow.c2s, &mut flow.s2c) } else { (&mut flow.s2c, &mut flow.c2s) };
        me.on_send(&seg, peer, reorder_ns);
        if !payload.is_empty() {
            flow.tail[idx] = Some(Tail::of(at, payload));
        }
        // Off port 3389, the flow is RDP only if one of the client's first payloads is an X.224
        // Connection Request; anything else is dismissed and costs nothing more.
        if flow.rdp_by.is_none() {
            if to_server && !payload.is_empty() {
                if looks_like_connection_request(payload) {
                    flow.rdp_by = Some(RdpBy::Content);
                } else {
                    flow.probes += 1;
                    if flow.probes >= MAX_CONTENT_PROBES {
                        self.map.insert(key, Slot::Ignored { last: at.ts });
                        return;
                    }
                }
            }
            if flow.rdp_by.is_none() {
                return;
            }
        }
        if let Some(r) = flow.reasm.as_mut() {
            if seg.syn {
                r[idx].set_isn(seg.seq);
            }
            if !payload.is_empty() {
                let dir = if to_server { Dir::ToServer } else { Dir::ToClient };
                let rdp = &mut flow.rdp;
                let mut msgs = Vec::new();
                r[idx].push(seg.seq, payload, &mut |b| rdp.feed(dir, b, at, &mut msgs));
                for m in msgs {
                    warn.push(pkt.offset, Some(pkt.frame), m);
                }
            }
            if flow.rdp.is_done() || (r[0].is_done() && r[1].is_done()) {
                flow.payload_gaps += r[0].gaps + r[1].gaps;
                flow.reasm = None;
            }
        }
    }

    fn on_udp(&mut self, src: (IpAddr, u16), dst: (IpAddr, u16), payload: &[u8], at: At) {
        let key = Key::new(17, src, dst);
        let slot = self.map.entry(key).or_insert_with(|| {
            let (c, s) = udp::client_side(SocketAddr::from(src), SocketAddr::from(dst), payload);
            Slot::Udp(Box::new(UdpFlow::new(c, s, at)))
        });
        if let Slot::Udp(f) = slot {
            let to_server = SocketAddr::from(src) == f.client;
            f.on_datagram(to_server, payload, at);
        }
    }

    fn on_icmp(&mut self, from: IpAddr, e: (icmp::IcmpKind, u8, u8, Option<u32>, icmp::Quoted), at: At) {
        self.stats.icmp_errors += 1;
        let (kind, icmp_type, code, mtu, q) = e;
        let err = IcmpError { at, from, kind, icmp_type, code, mtu };
        let list = match self.map.get_mut(&Key::new(q.proto, q.src, q.dst)) {
            Some(Slot::Tcp(f)) => &mut f.icmp,
            Some(Slot::Udp(f)) => &mut f.icmp,
            _ => {
                self.stats.icmp_errors_unmatched += 1;
                return;
            }
        };
        if list.len() < MAX_ICMP_PER_FLOW {
            list.push(err);
        }
    }

    /// Moves idle flows out of the table.
    fn sweep(&mut self, now: Ts, warn: &mut WarningSink) {
        self.last_sweep = now;
        let idle = |last: Ts, limit: i64| now.0.saturating_sub(last.0) > limit * 1_000_000_000;
        let expired: Vec<Key> = self
            .map
            .iter()
            .filter(|(_, slot)| match slot {
                Slot::Tcp(f) => idle(f.last.ts, if f.is_closed() { IDLE_CLOSED } else { IDLE_OPEN }),
                Slot::Udp(f) => idle(f.last.ts, IDLE_OPEN),
                Slot::Ignored { last } => idle(*last, IDLE_IGNORED),
            })
            .map(|(k, _)| *k)
            .collect();
        for key in expired {
            self.evict(&key, warn);
        }
    }

    fn evict(&mut self, key: &Key, warn: &mut WarningSink) {
        match self.map.remove(key) {
            Some(Slot::Tcp(mut f)) if f.rdp_by.is_some() => {
                f.finish(warn);
                self.stats.rdp_tcp_flows += 1;
                self.finished.push(Finished::Tcp(f));
            }
            Some(Slot::Udp(f)) => {
                self.stats.rdp_udp_flows += 1;
                self.finished.push(Finished::Udp(f));
            }
            _ => {}
        }
    }

    /// Ends the capture: every flow still in the table is finished.
    pub fn finish(mut self, warn: &mut WarningSink) -> (Vec<Finished>, FlowStats) {
        let keys: Vec<Key> = self.map.keys().copied().collect();
        for key in keys {
            self.evict(&key, warn);
        }
        (self.finished, self.stats)
    }
}

#[cfg(all(test, feature = "samples"))]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::input::pcap::read_packets;
    use crate::synth::conversation::{Frame, Host, Link, TcpConversation};
    use crate::synth::writer::CaptureWriter;

    const T0: Ts = Ts(1_760_000_000_000_000_000);
    /// Delay of the second copy of a frame stored twice (two capture interfaces, a SPAN port).
    const COPY_DELAY_NS: i64 = 5_000;

    fn tcp_flow(frames: &[Frame]) -> Box<TcpFlow> {
        let mut w = CaptureWriter::pcap(Vec::new(), Link::Ethernet.linktype(), true, false, 65_535).expect("Vec");
        w.frames(0, frames).expect("Vec");
        let bytes = w.into_inner();
        let mut sink = WarningSink::new("t");
        let mut table = FlowTable::new();
        assert!(read_packets(&bytes[..], "t", &mut sink, |p, w| table.on_packet(p, w)).is_ok());
        let mut flows = table.finish(&mut sink).0.into_iter().filter_map(|f| match f {
            Finished::Tcp(f) => Some(f),
            Finished::Udp(_) => None,
        });
        flows.next().expect("one TCP flow")
    }

    /// A session whose server retransmits one segment twice (new IP IDs, RTO back-off).
    fn session() -> Vec<Frame> {
        let client = Host::new(Ipv4Addr::new(10, 1, 0, 5), 128);
        let server = Host::new(Ipv4Addr::new(192, 0, 2, 10), 116);
        let mut c = TcpConversation::new(Link::Ethernet, client, 50_123, server, 3389, T0, 20_000_000, 1460, 7);
        c.handshake().client_send(&[1; 3000]).server_send(&[2; 2000]).server_send_lost(&[3; 1460], 2);
        c.frames()
    }

    #[test]
    fn capture_duplicates_are_dropped_and_retransmissions_kept() {
        let once = tcp_flow(&session());
        assert_eq!((once.s2c.retransmissions, once.capture_duplicates), (2, 0));
        // Every frame stored twice: the copy has the same IP ID and checksum, 5 µs later. Half
        // the copies come right after their frame, half after the next frame (A B A' B').
        let mut twice = Vec::new();
        for pair in session().chunks(2) {
            twice.extend(pair.iter().cloned());
            twice.extend(pair.iter().map(|f| Frame { ts: Ts(f.ts.0 + COPY_DELAY_NS), data: f.data.clone() }));
        }
        twice.sort_by_key(|f| f.ts);
        let f = tcp_flow(&twice);
        assert_eq!(f.capture_duplicates as usize, session().len());
        for (a, b) in [(&once.c2s, &f.c2s), (&once.s2c, &f.s2c)] {
            assert_eq!(
                (a.packets, a.payload_bytes, a.retransmissions),
                (b.packets, b.payload_bytes, b.retransmissions)
            );
            assert_eq!((a.dup_acks, a.out_of_order, a.lost_segments), (b.dup_acks, b.out_of_order, b.lost_segments));
        }
        assert_eq!((f.s2c.retransmissions, f.s2c.dup_acks, f.c2s.dup_acks), (2, 0, 0));
    }
}
