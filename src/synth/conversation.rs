//! Scripted packet exchanges: TCP connections, UDP datagrams and ICMP errors as captured frames.
//!
//! A `TcpConversation` is driven by calls such as `handshake()`, `client_send(..)`,
//! `server_send_lost(..)` or `rst_injected(..)`; it keeps both sequence numbers, both IPv4
//! identification counters and a clock, and produces `Frame`s (time + link-layer bytes) with
//! correct lengths and checksums (etherparse's `PacketBuilder` computes them). `UdpExchange`
//! does the same for datagrams, `icmp_frag_needed` / `icmpv6_packet_too_big` build the errors
//! a router sends, and `merge` interleaves several streams as they would appear on one wire.
//!
//! Timing model: a segment's time is when it is sent; a reply leaves one one-way trip (half the
//! RTT) plus a 50 µs turnaround after the segment that caused it; back-to-back segments are
//! 12 µs apart (about 1500 bytes at 1 Gbit/s). Each operation starts 50 µs after the previous
//! one ended, or exactly at `now()` after `wait(..)`. There is no congestion control, no
//! receive window limit, no TCP timestamps and no Ethernet padding of short frames; segments
//! that were lost leave a hole that later calls do not repair.
//!
//! References: RFC 9293 (TCP header, handshake, FIN/RST), RFC 6298 (RTO doubling), RFC 1122
//! §4.2.3.2 (delayed ACK), RFC 792 and RFC 1191 (ICMP fragmentation needed), RFC 4443 §3.2
//! (Packet Too Big), IEEE 802.1Q/802.1ad, tcpdump.org LINKTYPE_LINUX_SLL/SLL2/NULL.

use std::io;
use std::net::IpAddr;

use etherparse::icmpv4::DestUnreachableHeader;
use etherparse::{
    Icmpv4Type, Icmpv6Type, IpHeaders, Ipv4Header, Ipv6Header, LinuxSllPacketType, PacketBuilder, TcpHeader,
    TcpOptionElement, VlanId,
};

use super::XorShift;
use crate::time::Ts;

/// How frames are encapsulated below IP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    Ethernet,
    /// Ethernet with one 802.1Q tag (VLAN id, 12 bits).
    Vlan(u16),
    /// Ethernet with an 802.1ad outer tag and an 802.1Q inner tag.
    QinQ(u16, u16),
    /// Linux cooked capture v1 (16-byte header).
    LinuxSll,
    /// Linux cooked capture v2 (20-byte header).
    LinuxSll2,
    /// BSD loopback: 4-byte address family in host (little-endian) order.
    Null,
    /// Bare IPv4/IPv6.
    Raw,
}

impl Link {
    /// The LINKTYPE_* value for a capture of such frames.
    pub fn linktype(&self) -> u32 {
        match self {
            Link::Ethernet | Link::Vlan(_) | Link::QinQ(..) => 1,
            Link::LinuxSll => 113,
            Link::LinuxSll2 => 276,
            Link::Null => 0,
            Link::Raw => 101,
        }
    }

    /// Bytes in front of the IP header.
    pub fn header_len(&self) -> usize {
        match self {
            Link::Ethernet => 14,
            Link::Vlan(_) => 18,
            Link::QinQ(..) => 22,
            Link::LinuxSll => 16,
            Link::LinuxSll2 => 20,
            Link::Null => 4,
            Link::Raw => 0,
        }
    }

    /// The IP packet inside a frame of this link (empty if the frame is shorter than the header).
    pub fn ip_part<'a>(&self, frame: &'a [u8]) -> &'a [u8] {
        frame.get(self.header_len()..).unwrap_or(&[])
    }
}

/// One endpoint: address, MAC (used on Ethernet and in SLL headers) and the TTL / hop limit its
/// packets carry when captured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Host {
    pub ip: IpAddr,
    pub mac: [u8; 6],
    pub ttl: u8,
}

impl Host {
    /// A host whose MAC is derived from its address (locally administered, 02:…).
    pub fn new(ip: impl Into<IpAddr>, ttl: u8) -> Host {
        let ip = ip.into();
        let tail = match ip {
            IpAddr::V4(a) => [0, a.octets()[0], a.octets()[1], a.octets()[2], a.octets()[3]],
            IpAddr::V6(a) => {
                let o = a.octets();
                [o[11], o[12], o[13], o[14], o[15]]
            }
        };
        Host { ip, mac: [0x02, tail[0], tail[1], tail[2], tail[3], tail[4]], ttl }
    }
}

/// One captured frame: when, and the bytes from the link-layer header on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub ts: Ts,
    pub data: Vec<u8>,
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.into())
}

enum L4 {
    Tcp(TcpHeader),
    Udp(u16, u16),
    Icmpv4(Icmpv4Type),
    Icmpv6(Icmpv6Type),
}

/// Link-layer addressing of one frame; `outgoing` marks frames sent by the capturing host
/// (the client), which SLL headers record as such.
struct Wire {
    link: Link,
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    outgoing: bool,
}

fn vlan_id(id: u16) -> VlanId {
    // Masked to 12 bits, so `try_new` cannot fail; the default is never used.
    VlanId::try_new(id & 0x0fff).unwrap_or_default()
}

fn ip_headers(src: IpAddr, dst: IpAddr, ttl: u8, ip_id: u16, df: bool) -> io::Result<IpHeaders> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => Ok(IpHeaders::Ipv4(
            Ipv4Header {
                identification: ip_id,
                dont_fragment: df,
                time_to_live: ttl,
                source: s.octets(),
                destination: d.octets(),
                ..Default::default()
            },
            Default::default(),
        )),
        (IpAddr::V6(s), IpAddr::V6(d)) => Ok(IpHeaders::Ipv6(
            Ipv6Header { hop_limit: ttl, source: s.octets(), destination: d.octets(), ..Default::default() },
            Default::default(),
        )),
        _ => Err(invalid(format!("{src} and {dst} are of different IP versions"))),
    }
}

/// Builds one frame: link header, IP header, transport header, payload.
fn build(wire: &Wire, ip: IpHeaders, l4: L4, payload: &[u8]) -> io::Result<Vec<u8>> {
    let v6 = matches!(ip, IpHeaders::Ipv6(..));
    let mut out = Vec::with_capacity(wire.link.header_len() + 80 + payload.len());
    let (src, dst) = (wire.src_mac, wire.dst_mac);
    let step = match wire.link {
        Link::Ethernet => PacketBuilder::ethernet2(src, dst).ip(ip),
        Link::Vlan(id) => PacketBuilder::ethernet2(src, dst).single_vlan(vlan_id(id)).ip(ip),
        Link::QinQ(outer, inner) => {
            PacketBuilder::ethernet2(src, dst).double_vlan(vlan_id(outer), vlan_id(inner)).ip(ip)
        }
        Link::LinuxSll => {
            let kind = if wire.outgoing { LinuxSllPacketType::OUTGOING } else { LinuxSllPacketType::HOST };
            let mut addr = [0u8; 8];
            addr[..6].copy_from_slice(&src);
            PacketBuilder::linux_sll(kind, 6, addr).ip(ip)
        }
        Link::LinuxSll2 => {
            // protocol, reserved, interface index, ARPHRD_ETHER, packet type, address length, address
            out.extend_from_slice(&(if v6 { 0x86DDu16 } else { 0x0800 }).to_be_bytes());
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&1u32.to_be_bytes());
            out.extend_from_slice(&1u16.to_be_bytes());
            out.push(if wire.outgoing { 4 } else { 0 });
            out.push(6);
            out.extend_from_slice(&src);
            out.extend_from_slice(&[0, 0]);
            PacketBuilder::ip(ip)
        }
        Link::Null => {
            out.extend_from_slice(&(if v6 { 24u32 } else { 2 }).to_le_bytes());
            PacketBuilder::ip(ip)
        }
        Link::Raw => PacketBuilder::ip(ip),
    };
    let written = match l4 {
        L4::Tcp(h) => step.tcp_header(h).write(&mut out, payload),
        L4::Udp(sport, dport) => step.udp(sport, dport).write(&mut out, payload),
        L4::Icmpv4(t) => step.icmpv4(t).write(&mut out, payload),
        L4::Icmpv6(t) => step.icmpv6(t).write(&mut out, payload),
    };
    written.map_err(|e| invalid(format!("cannot build the packet: {e}")))?;
    Ok(out)
}

/// IPv4-mapped IPv6 form of a v4 address (used when the two hosts disagree on the version).
fn as_v6(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(a) => IpAddr::V6(a.to_ipv6_mapped()),
        v6 => v6,
    }
}

fn same_family(a: &mut Host, b: &mut Host) {
    if a.ip.is_ipv4() != b.ip.is_ipv4() {
        a.ip = as_v6(a.ip);
        b.ip = as_v6(b.ip);
    }
}

fn after(t: Ts, nanos: i64) -> Ts {
    Ts(t.0.saturating_add(nanos))
}

/// Stack turnaround between receiving a segment and sending the reply.
const TURNAROUND: i64 = 50_000;
/// Spacing of back-to-back segments.
const SEG_GAP: i64 = 12_000;
const SYN_WINDOW: u16 = 64_240;
/// Window after the handshake: 1026 << 8 ≈ 256 KiB.
const WINDOW: u16 = 1_026;
const WSCALE: u8 = 8;
const SYN_RTO: i64 = 1_000_000_000;
const DATA_RTO: i64 = 300_000_000;
/// Largest MSS accepted: a segment plus 20-byte IP and TCP headers stays below 65535 bytes.
const MAX_MSS: u16 = 65_000;
const CLIENT: usize = 0;
const SERVER: usize = 1;

struct Side {
    host: Host,
    port: u16,
    /// Next sequence number this side sends.
    seq: u32,
    /// Next sequence number this side expects (what it acknowledges).
    ack: u32,
    ip_id: u16,
}

/// One TCP connection, built call by call. Both hosts must be of the same IP version; if they
/// are not, the IPv4 one is written as its IPv4-mapped IPv6 address.
pub struct TcpConversation {
    link: Link,
    side: [Side; 2],
    isn: [u32; 2],
    now: Ts,
    /// Pause before the next operation's first packet.
    gap: i64,
    rtt: i64,
    mss: u16,
    rng: XorShift,
    frames: Vec<Frame>,
}

impl TcpConversation {
    /// `rtt` is in nanoseconds (negative counts as 0); `mss` is clamped to 1..=65000. The
    /// client's ISN is `isn_seed`; the server's ISN and both IP-ID counters are derived from it.
    #[allow(clippy::too_many_arguments)] // the agreed constructor: every value matters to tests
    pub fn new(
        link: Link,
        mut client: Host,
        client_port: u16,
        mut server: Host,
        server_port: u16,
        start: Ts,
        rtt: i64,
        mss: u16,
        isn_seed: u32,
    ) -> Self {
        same_family(&mut client, &mut server);
        let mut rng = XorShift::new(((isn_seed as u64) << 32) | 0x5EED_0001);
        let isn = [isn_seed, rng.next_u64() as u32];
        let (cid, sid) = (rng.next_u64() as u16, rng.next_u64() as u16);
        TcpConversation {
            link,
            side: [
                Side { host: client, port: client_port, seq: isn[CLIENT], ack: isn[SERVER], ip_id: cid },
                Side { host: server, port: server_port, seq: isn[SERVER], ack: isn[CLIENT], ip_id: sid },
            ],
            isn,
            now: start,
            gap: 0,
            rtt: rtt.max(0),
            mss: mss.clamp(1, MAX_MSS),
            rng,
            frames: Vec::new(),
        }
    }

    /// Initial sequence numbers (client, server).
    pub fn isns(&self) -> (u32, u32) {
        (self.isn[CLIENT], self.isn[SERVER])
    }

    pub fn now(&self) -> Ts {
        self.now
    }

    /// Lets `nanos` pass; the next packet is sent exactly at the new `now()`.
    pub fn wait(&mut self, nanos: i64) -> &mut Self {
        self.now = after(self.now, nanos.max(0));
        self.gap = 0;
        self
    }

    /// The frame generated most recently (e.g. to quote it in an ICMP error).
    pub fn last_sent(&self) -> Option<&Frame> {
        self.frames.last()
    }

    /// All frames in time order (ties in the order they were generated).
    pub fn frames(mut self) -> Vec<Frame> {
        self.frames.sort_by_key(|f| f.ts);
        self.frames
    }

    fn begin(&self) -> Ts {
        after(self.now, self.gap)
    }

    fn done(&mut self) -> &mut Self {
        self.gap = TURNAROUND;
        self
    }

    fn reply_time(&self, t: Ts) -> Ts {
        after(t, self.rtt / 2 + TURNAROUND)
    }

    /// A header from `from` carrying its current sequence and acknowledgement numbers.
    fn header(&self, from: usize) -> TcpHeader {
        let (me, peer) = (&self.side[from], &self.side[1 - from]);
        let mut h = TcpHeader::new(me.port, peer.port, me.seq, WINDOW);
        h.ack = true;
        h.acknowledgment_number = me.ack;
        h
    }

    /// The client's SYN with the options a Windows client sends (MSS, window scale, SACK).
    fn syn_header(&self) -> TcpHeader {
        let mut h = TcpHeader::new(self.side[CLIENT].port, self.side[SERVER].port, self.isn[CLIENT], SYN_WINDOW);
        h.syn = true;
        h
    }

    fn syn_options(&self) -> [TcpOptionElement; 6] {
        use TcpOptionElement::*;
        [MaximumSegmentSize(self.mss), Noop, WindowScale(WSCALE), Noop, Noop, SelectiveAcknowledgementPermitted]
    }

    /// Sends a segment from `from` with its own TTL and next IP-ID.
    fn emit(&mut self, from: usize, ts: Ts, h: TcpHeader, options: &[TcpOptionElement], payload: &[u8]) {
        let (ttl, id) = (self.side[from].host.ttl, self.side[from].ip_id);
        self.side[from].ip_id = id.wrapping_add(1);
        self.emit_as(from, ts, h, options, payload, ttl, id);
    }

    #[allow(clippy::too_many_arguments)] // private; mirrors the header fields it sets
    fn emit_as(
        &mut self,
        from: usize,
        ts: Ts,
        mut h: TcpHeader,
        options: &[TcpOptionElement],
        payload: &[u8],
        ttl: u8,
        ip_id: u16,
    ) {
        let (me, peer) = (&self.side[from], &self.side[1 - from]);
        let wire = Wire { link: self.link, src_mac: me.host.mac, dst_mac: peer.host.mac, outgoing: from == CLIENT };
        let built = h
            .set_options(options)
            .map_err(|e| invalid(format!("{e}")))
            .and_then(|_| ip_headers(me.host.ip, peer.host.ip, ttl, ip_id, true))
            .and_then(|ip| build(&wire, ip, L4::Tcp(h), payload));
        // Cannot fail: the options used here take at most 12 of the 40 option bytes, `new` made
        // both addresses the same IP version, and payloads are at most one MSS (≤ 65000 bytes),
        // so every length field fits.
        let data = built.expect("TCP segment within header and length limits");
        self.frames.push(Frame { ts, data });
        self.now = self.now.max(ts);
    }

    /// SYN → SYN+ACK → ACK, both SYNs with MSS, window-scale and SACK-permitted options.
    pub fn handshake(&mut self) -> &mut Self {
        let t = self.begin();
        let opts = self.syn_options();
        self.emit(CLIENT, t, self.syn_header(), &opts, &[]);
        self.side[CLIENT].seq = self.isn[CLIENT].wrapping_add(1);
        self.side[SERVER].ack = self.side[CLIENT].seq;
        let t = self.reply_time(t);
        let mut h = self.header(SERVER);
        h.syn = true;
        h.sequence_number = self.isn[SERVER];
        h.window_size = SYN_WINDOW;
        self.emit(SERVER, t, h, &opts, &[]);
        self.side[SERVER].seq = self.isn[SERVER].wrapping_add(1);
        self.side[CLIENT].ack = self.side[SERVER].seq;
        let t = self.reply_time(t);
        self.emit(CLIENT, t, self.header(CLIENT), &[], &[]);
        self.done()
    }

    /// A SYN nobody answers, retransmitted `retries` times after 1 s, 2 s, 4 s… (same ISN).
    pub fn syn_unanswered(&mut self, retries: u32) -> &mut Self {
        let (mut t, mut rto) = (self.begin(), SYN_RTO);
        let opts = self.syn_options();
        for i in 0..=retries {
            if i > 0 {
                t = after(t, rto);
                rto = rto.saturating_mul(2);
            }
            self.emit(CLIENT, t, self.syn_header(), &opts, &[]);
        }
        self.side[CLIENT].seq = self.isn[CLIENT].wrapping_add(1);
        self.done()
    }

    /// A SYN answered by RST+ACK (nothing listening on the port).
    pub fn syn_refused(&mut self) -> &mut Self {
        let t = self.begin();
        let opts = self.syn_options();
        self.emit(CLIENT, t, self.syn_header(), &opts, &[]);
        let syn_end = self.isn[CLIENT].wrapping_add(1);
        self.side[CLIENT].seq = syn_end;
        let mut h = TcpHeader::new(self.side[SERVER].port, self.side[CLIENT].port, 0, 0);
        h.rst = true;
        h.ack = true;
        h.acknowledgment_number = syn_end;
        self.emit(SERVER, self.reply_time(t), h, &[], &[]);
        self.done()
    }

    pub fn client_send(&mut self, data: &[u8]) -> &mut Self {
        self.send(CLIENT, data)
    }

    pub fn server_send(&mut self, data: &[u8]) -> &mut Self {
        self.send(SERVER, data)
    }

    /// MSS-sized segments back to back, PSH on the last; the receiver acknowledges every
    /// second segment and the last one.
    fn send(&mut self, from: usize, data: &[u8]) -> &mut Self {
        let to = 1 - from;
        let n = data.len().div_ceil(self.mss as usize);
        let mut t = self.begin();
        for (i, chunk) in data.chunks(self.mss as usize).enumerate() {
            let mut h = self.header(from);
            h.psh = i + 1 == n;
            self.emit(from, t, h, &[], chunk);
            self.side[from].seq = self.side[from].seq.wrapping_add(chunk.len() as u32);
            if i % 2 == 1 || i + 1 == n {
                self.side[to].ack = self.side[from].seq;
                self.emit(to, self.reply_time(t), self.header(to), &[], &[]);
            }
            t = after(t, SEG_GAP);
        }
        self.done()
    }

    /// Frames generated so far (a mark for `sent_since`).
    pub fn sent(&self) -> usize {
        self.frames.len()
    }

    /// The frames generated since `mark` (from `sent`), in the order they were generated.
    pub fn sent_since(&self, mark: usize) -> Vec<Frame> {
        self.frames.get(mark..).unwrap_or_default().to_vec()
    }

    /// The server sends one segment (the first MSS of `data`) that never arrives: it is
    /// retransmitted `retransmissions` times, 300 ms, 600 ms, 1.2 s… apart, and never ACKed.
    pub fn server_send_lost(&mut self, data: &[u8], retransmissions: u32) -> &mut Self {
        self.send_lost(SERVER, data, retransmissions)
    }

    /// `server_send_lost` for the client.
    pub fn client_send_lost(&mut self, data: &[u8], retransmissions: u32) -> &mut Self {
        self.send_lost(CLIENT, data, retransmissions)
    }

    fn send_lost(&mut self, from: usize, data: &[u8], retransmissions: u32) -> &mut Self {
        let seg = &data[..data.len().min(self.mss as usize)];
        if seg.is_empty() {
            return self;
        }
        let mut h = self.header(from);
        h.psh = true;
        let (mut t, mut rto) = (self.begin(), DATA_RTO);
        for i in 0..=retransmissions {
            if i > 0 {
                t = after(t, rto);
                rto = rto.saturating_mul(2);
            }
            self.emit(from, t, h.clone(), &[], seg);
        }
        self.side[from].seq = self.side[from].seq.wrapping_add(seg.len() as u32);
        self.done()
    }

    /// `from` closes: FIN+ACK, the peer answers FIN+ACK, `from` sends the last ACK.
    fn close(&mut self, from: usize) -> &mut Self {
        let to = 1 - from;
        let mut t = self.begin();
        for side in [from, to] {
            let mut h = self.header(side);
            h.fin = true;
            self.emit(side, t, h, &[], &[]);
            self.side[side].seq = self.side[side].seq.wrapping_add(1);
            self.side[1 - side].ack = self.side[side].seq;
            t = self.reply_time(t);
        }
        self.emit(from, t, self.header(from), &[], &[]);
        self.done()
    }

    pub fn fin_from_client(&mut self) -> &mut Self {
        self.close(CLIENT)
    }

    pub fn fin_from_server(&mut self) -> &mut Self {
        self.close(SERVER)
    }

    fn reset(&mut self, from: usize) -> &mut Self {
        let mut h = self.header(from);
        h.rst = true;
        h.window_size = 0;
        self.emit(from, self.begin(), h, &[], &[]);
        self.done()
    }

    /// RST+ACK from the server (application abort).
    pub fn rst_from_server(&mut self) -> &mut Self {
        self.reset(SERVER)
    }

    /// RST+ACK from the client.
    pub fn rst_from_client(&mut self) -> &mut Self {
        self.reset(CLIENT)
    }

    /// A RST (no ACK flag) with the server's addresses and an in-window sequence number, but
    /// sent by a middlebox: TTL `ttl` and a random-looking IP-ID instead of the server's counter.
    pub fn rst_injected(&mut self, ttl: u8) -> &mut Self {
        let mut h = self.header(SERVER);
        h.rst = true;
        h.ack = false;
        h.acknowledgment_number = 0;
        h.window_size = 0;
        let ip_id = self.rng.next_u64() as u16;
        self.emit_as(SERVER, self.begin(), h, &[], &[], ttl, ip_id);
        self.done()
    }
}

/// UDP datagrams between two hosts (RDP-UDP, DNS-like background traffic).
pub struct UdpExchange {
    link: Link,
    hosts: [(Host, u16); 2],
    ip_id: [u16; 2],
    now: Ts,
    gap: i64,
    rtt: i64,
    last_from_client: Option<bool>,
    frames: Vec<Frame>,
}

impl UdpExchange {
    /// Hosts of different IP versions are handled as in `TcpConversation::new`.
    pub fn new(
        link: Link,
        mut client: Host,
        client_port: u16,
        mut server: Host,
        server_port: u16,
        start: Ts,
        rtt: i64,
    ) -> Self {
        same_family(&mut client, &mut server);
        let seed = client_port.rotate_left(5) ^ server_port;
        UdpExchange {
            link,
            hosts: [(client, client_port), (server, server_port)],
            ip_id: [seed, seed.rotate_left(8)],
            now: start,
            gap: 0,
            rtt: rtt.max(0),
            last_from_client: None,
            frames: Vec::new(),
        }
    }

    /// One datagram. A reply (direction change) leaves half an RTT plus 50 µs after the
    /// previous datagram; a follow-up in the same direction 50 µs after it. Fails only for
    /// payloads that do not fit one IP packet.
    pub fn send(&mut self, from_client: bool, payload: &[u8]) -> io::Result<&mut Self> {
        let t = match self.last_from_client {
            Some(prev) if prev != from_client && self.gap != 0 => after(self.now, self.rtt / 2 + self.gap),
            _ => after(self.now, self.gap),
        };
        let (from, to) = if from_client { (CLIENT, SERVER) } else { (SERVER, CLIENT) };
        let ((src, sport), (dst, dport)) = (self.hosts[from], self.hosts[to]);
        let ip = ip_headers(src.ip, dst.ip, src.ttl, self.ip_id[from], true)?;
        let wire = Wire { link: self.link, src_mac: src.mac, dst_mac: dst.mac, outgoing: from_client };
        let data = build(&wire, ip, L4::Udp(sport, dport), payload)?;
        self.ip_id[from] = self.ip_id[from].wrapping_add(1);
        self.frames.push(Frame { ts: t, data });
        self.now = t;
        self.gap = TURNAROUND;
        self.last_from_client = Some(from_client);
        Ok(self)
    }

    pub fn wait(&mut self, nanos: i64) -> &mut Self {
        self.now = after(self.now, nanos.max(0));
        self.gap = 0;
        self
    }

    pub fn now(&self) -> Ts {
        self.now
    }

    pub fn frames(self) -> Vec<Frame> {
        self.frames
    }
}

/// ICMPv4 "fragmentation needed" (type 3 code 4) from `router` to `to`, quoting the IP header
/// and first 8 transport bytes of `quoted_ip_packet` (RFC 792, next-hop MTU per RFC 1191).
/// Fails if the hosts are not IPv4 or the quoted packet is not an IPv4 packet.
pub fn icmp_frag_needed(
    link: Link,
    router: &Host,
    to: &Host,
    mtu: u16,
    quoted_ip_packet: &[u8],
    ts: Ts,
) -> io::Result<Frame> {
    let q = quoted_ip_packet;
    if q.len() < 20 || q[0] >> 4 != 4 {
        return Err(invalid("the quoted packet is not IPv4"));
    }
    let keep = (((q[0] & 0x0f) as usize) * 4 + 8).min(q.len());
    let ip = ip_headers(router.ip, to.ip, router.ttl, 0, false)?;
    let wire = Wire { link, src_mac: router.mac, dst_mac: to.mac, outgoing: false };
    let kind = Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::FragmentationNeeded { next_hop_mtu: mtu });
    Ok(Frame { ts, data: build(&wire, ip, L4::Icmpv4(kind), &q[..keep])? })
}

/// ICMPv6 Packet Too Big (type 2) from `router` to `to`, quoting as much of the invoking packet
/// as fits in a 1280-byte IPv6 packet (RFC 4443 §3.2). Fails for non-IPv6 hosts or packets.
pub fn icmpv6_packet_too_big(
    link: Link,
    router: &Host,
    to: &Host,
    mtu: u32,
    quoted_ip_packet: &[u8],
    ts: Ts,
) -> io::Result<Frame> {
    let q = quoted_ip_packet;
    if q.len() < 40 || q[0] >> 4 != 6 {
        return Err(invalid("the quoted packet is not IPv6"));
    }
    let keep = q.len().min(1280 - 40 - 8);
    let ip = ip_headers(router.ip, to.ip, router.ttl, 0, false)?;
    let wire = Wire { link, src_mac: router.mac, dst_mac: to.mac, outgoing: false };
    Ok(Frame { ts, data: build(&wire, ip, L4::Icmpv6(Icmpv6Type::PacketTooBig { mtu }), &q[..keep])? })
}

/// Interleaves several time-ordered streams by timestamp; equal times keep the input order
/// (earlier stream first, then order within the stream).
pub fn merge(streams: Vec<Vec<Frame>>) -> Vec<Frame> {
    let mut all: Vec<Frame> = streams.into_iter().flatten().collect();
    all.sort_by_key(|f| f.ts); // stable
    all
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use etherparse::SlicedPacket;

    use super::*;
    use crate::error::WarningSink;
    use crate::flow::{Finished, FlowTable, TcpFlow};
    use crate::input::link::decode;
    use crate::input::pcap::read_packets;
    use crate::synth::writer::CaptureWriter;

    const T0: Ts = Ts(1_760_000_000_000_000_000);
    const RTT: i64 = 20_000_000;

    fn v4() -> (Host, Host) {
        (Host::new(Ipv4Addr::new(10, 1, 0, 5), 128), Host::new(Ipv4Addr::new(192, 0, 2, 10), 116))
    }

    fn v6() -> (Host, Host) {
        let c: Ipv6Addr = "2001:db8::5".parse().unwrap_or(Ipv6Addr::LOCALHOST);
        let s: Ipv6Addr = "2001:db8:1::10".parse().unwrap_or(Ipv6Addr::LOCALHOST);
        (Host::new(c, 64), Host::new(s, 57))
    }

    fn conv(link: Link, (c, s): (Host, Host)) -> TcpConversation {
        TcpConversation::new(link, c, 50_123, s, 3389, T0, RTT, 1460, 0x1234_5678)
    }

    /// Writes frames as a pcap and runs the flow table over it.
    fn flows(link: Link, frames: &[Frame]) -> Vec<Finished> {
        let mut w = CaptureWriter::pcap(Vec::new(), link.linktype(), true, false, 65_535).expect("Vec never fails");
        w.frames(0, frames).expect("Vec never fails");
        let bytes = w.into_inner();
        let mut sink = WarningSink::new("t");
        let mut t = FlowTable::new();
        let r = read_packets(&bytes[..], "t", &mut sink, |p, w| t.on_packet(p, w));
        assert!(r.is_ok());
        t.finish(&mut sink).0
    }

    fn one_tcp(finished: Vec<Finished>) -> Box<TcpFlow> {
        let mut tcp: Vec<Box<TcpFlow>> =
            finished.into_iter().filter_map(|f| if let Finished::Tcp(f) = f { Some(f) } else { None }).collect();
        assert_eq!(tcp.len(), 1);
        tcp.remove(0)
    }

    #[test]
    fn clean_transfer_through_the_flow_table() {
        let mut c = conv(Link::Ethernet, v4());
        c.handshake().client_send(&[0x42; 3000]).fin_from_client();
        let frames = c.frames();
        let has_payload = |f: &Frame| {
            decode(1, &f.data).is_ok_and(
                |p| matches!(p.transport, Some(etherparse::TransportSlice::Tcp(t)) if !t.payload().is_empty()),
            )
        };
        let data_segments = frames.iter().filter(|f| has_payload(f)).count();
        assert_eq!(data_segments, 3);
        let f = one_tcp(flows(Link::Ethernet, &frames));
        assert_eq!(f.server.port(), 3389);
        assert!(!f.mid_stream);
        // SYN, ACK, 3 data segments, FIN, last ACK / SYN+ACK, 2 ACKs, FIN
        assert_eq!((f.c2s.packets, f.c2s.payload_bytes, f.c2s.max_segment), (7, 3000, 1460));
        assert!(f.c2s.max_segment_acked);
        assert_eq!((f.c2s.retransmissions, f.s2c.retransmissions, f.c2s.dup_acks, f.s2c.dup_acks), (0, 0, 0, 0));
        assert_eq!(f.s2c.packets, 4);
        assert!(f.c2s.fin.is_some_and(|c| f.s2c.fin.is_some_and(|s| c.ts < s.ts)));
        assert!(f.c2s.rst.is_none() && f.s2c.rst.is_none());
        assert_eq!((f.c2s.mss, f.c2s.window_scale, f.c2s.syns.len(), f.s2c.syns.len()), (Some(1460), Some(8), 1, 1));
        assert_eq!((f.c2s.ttl_first, f.s2c.ttl_first), (Some(128), Some(116)));
        // SYN+ACK one half RTT plus turnaround after the SYN
        assert_eq!(f.s2c.syns[0].ts.0 - f.c2s.syns[0].ts.0, RTT / 2 + TURNAROUND);
    }

    #[test]
    fn failure_patterns_through_the_flow_table() {
        let mut c = conv(Link::Vlan(20), v4());
        c.syn_unanswered(3);
        let f = one_tcp(flows(Link::Vlan(20), &c.frames()));
        assert_eq!(crate::flow::tcp::TcpDir::gaps(&f.c2s.syns), vec![1.0, 2.0, 4.0]);
        assert_eq!(f.s2c.packets, 0);

        let mut c = conv(Link::Ethernet, v6());
        c.syn_refused();
        let f = one_tcp(flows(Link::Ethernet, &c.frames()));
        assert!(f.s2c.rst.is_some_and(|r| r.with_ack && r.ttl == 57));

        let (client, server) = v4();
        let mut c = conv(Link::Ethernet, (client, server));
        c.handshake().client_send(b"hello").server_send_lost(&[7; 4000], 4);
        let quoted = Link::Ethernet.ip_part(&c.last_sent().expect("frames were sent").data).to_vec();
        c.wait(2_000_000_000).rst_injected(50);
        let router = Host::new(Ipv4Addr::new(192, 0, 2, 1), 254);
        let icmp = icmp_frag_needed(Link::Ethernet, &router, &server, 1400, &quoted, T0).expect("IPv4 quote");
        let frames = merge(vec![c.frames(), vec![icmp]]);
        let f = one_tcp(flows(Link::Ethernet, &frames));
        assert_eq!((f.s2c.retransmissions, f.s2c.max_segment, f.s2c.max_segment_acked), (4, 1460, false));
        assert_eq!(crate::flow::tcp::TcpDir::gaps(&f.s2c.retx_times), vec![0.6, 1.2, 2.4]);
        let rst = f.s2c.rst.expect("injected RST");
        assert!(rst.ttl == 50 && !rst.with_ack && f.s2c.ttl_first == Some(116));
        assert_eq!((f.icmp.len(), f.icmp[0].kind.as_str(), f.icmp[0].mtu), (1, "frag-needed", Some(1400)));
    }

    /// Ones-complement sum (RFC 1071) in 16-bit big-endian words.
    fn sum(data: &[u8], mut acc: u32) -> u32 {
        for w in data.chunks(2) {
            acc += u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]) as u32;
        }
        acc
    }

    fn folds_to_ffff(mut s: u32) -> bool {
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        s == 0xffff
    }

    /// Checks IP lengths and the IPv4 header and transport checksums by hand.
    fn checksums_ok(ip: &[u8]) -> bool {
        let (l4, proto, pseudo) = if ip[0] >> 4 == 4 {
            let ihl = (ip[0] & 15) as usize * 4;
            let ok = u16::from_be_bytes([ip[2], ip[3]]) as usize == ip.len() && folds_to_ffff(sum(&ip[..ihl], 0));
            if !ok {
                return false;
            }
            (&ip[ihl..], ip[9], sum(&ip[12..20], 0))
        } else {
            if u16::from_be_bytes([ip[4], ip[5]]) as usize + 40 != ip.len() {
                return false;
            }
            (&ip[40..], ip[6], sum(&ip[8..40], 0))
        };
        let acc = if proto == 1 { 0 } else { pseudo + proto as u32 + l4.len() as u32 };
        folds_to_ffff(sum(l4, acc))
    }

    /// Every kind of frame the module makes, on `link`.
    fn everything(link: Link, hosts: (Host, Host)) -> Vec<Frame> {
        let (client, server) = hosts;
        let mut c = conv(link, hosts);
        c.handshake().client_send(&[1; 3000]).server_send(&[2; 5000]).server_send_lost(&[3; 1460], 2);
        let quoted = link.ip_part(&c.last_sent().expect("frames were sent").data).to_vec();
        c.rst_injected(33).fin_from_server().rst_from_client().rst_from_server();
        let mut refused = conv(link, hosts);
        refused.syn_refused();
        let mut u = UdpExchange::new(link, client, 50_000, server, 3389, T0, RTT);
        u.send(true, &[0xff; 1232]).and_then(|u| u.send(false, &[0; 40])).expect("small datagrams");
        let router_ip: IpAddr = if client.ip.is_ipv4() { [192, 0, 2, 1].into() } else { Ipv6Addr::LOCALHOST.into() };
        let router = Host::new(router_ip, 250);
        let icmp = if client.ip.is_ipv4() {
            icmp_frag_needed(link, &router, &server, 1400, &quoted, T0)
        } else {
            icmpv6_packet_too_big(link, &router, &server, 1280, &quoted, T0)
        };
        merge(vec![c.frames(), refused.frames(), u.frames(), vec![icmp.expect("quote matches version")]])
    }

    #[test]
    fn ethernet_frames_pass_strict_parsing_and_checksums() {
        for link in [Link::Ethernet, Link::Vlan(4095), Link::QinQ(100, 200)] {
            for hosts in [v4(), v6()] {
                for f in everything(link, hosts) {
                    let p = SlicedPacket::from_ethernet(&f.data);
                    assert!(p.as_ref().is_ok_and(|p| p.transport.is_some()), "{link:?}: {p:?}");
                    assert!(checksums_ok(link.ip_part(&f.data)), "{link:?} {:02x?}", f.data);
                }
            }
        }
    }

    fn decodes(link: Link) {
        for (client, server) in [v4(), v6()] {
            let frames = everything(link, (client, server));
            assert_eq!(frames.len(), 28);
            for f in &frames {
                let p = decode(link.linktype(), &f.data);
                let p = p.as_ref().map_err(|e| format!("{link:?}: {e:?}"));
                assert!(p.is_ok_and(|p| p.transport.is_some() && [p.src, p.dst].contains(&server.ip)), "{link:?}");
                assert!(checksums_ok(link.ip_part(&f.data)));
            }
            let first = decode(link.linktype(), &frames[0].data).map(|p| (p.src, p.dst, p.ttl));
            assert_eq!(first.ok(), Some((client.ip, server.ip, client.ttl)), "{link:?}");
            assert!(frames.windows(2).all(|w| w[0].ts <= w[1].ts));
        }
    }

    #[test]
    fn link_ethernet() {
        decodes(Link::Ethernet);
    }
    #[test]
    fn link_vlan() {
        decodes(Link::Vlan(7));
    }
    #[test]
    fn link_qinq() {
        decodes(Link::QinQ(10, 20));
    }
    #[test]
    fn link_sll() {
        decodes(Link::LinuxSll);
    }
    #[test]
    fn link_sll2() {
        decodes(Link::LinuxSll2);
    }
    #[test]
    fn link_null() {
        decodes(Link::Null);
    }
    #[test]
    fn link_raw() {
        decodes(Link::Raw);
    }

    #[test]
    fn deterministic_and_stable_merge() {
        assert_eq!(everything(Link::LinuxSll2, v6()), everything(Link::LinuxSll2, v6()));
        let a = vec![Frame { ts: Ts(1), data: vec![1] }, Frame { ts: Ts(3), data: vec![2] }];
        let b = vec![Frame { ts: Ts(1), data: vec![3] }, Frame { ts: Ts(2), data: vec![4] }];
        let order: Vec<u8> = merge(vec![a, b]).iter().map(|f| f.data[0]).collect();
        assert_eq!(order, vec![1, 3, 4, 2]);
        // Mixed IP versions fall back to IPv4-mapped IPv6 rather than failing.
        let (c4, _) = v4();
        let (_, s6) = v6();
        let mut c = TcpConversation::new(Link::Raw, c4, 1, s6, 2, T0, 0, 0, 9);
        c.handshake().client_send(b"x");
        let f = c.frames();
        let p = decode(101, &f[0].data).map(|p| p.src);
        assert_eq!(p.ok(), Some(IpAddr::V6(Ipv4Addr::new(10, 1, 0, 5).to_ipv6_mapped())));
    }
}
