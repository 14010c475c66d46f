//! Views of a connection record's nested values: `phases`, `teardown`, `negotiation`, `tcp`
//! (both directions and the ICMP errors) and `udp` (RDP-UDP). TLS is in `tls`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use serde::Serialize;

use crate::connection::{Negotiation, Phases, TcpFacts, Teardown, fmt_ts};
use crate::evidence::Frames;
use crate::flow::RdpBy;
use crate::flow::icmp::IcmpError;
use crate::flow::tcp::{At, Reset, TcpDir};
use crate::flow::udp::UdpFlow;
use crate::rdp::analyzer::Security;
use crate::rdp::codes::hex16;
use crate::rdp::other::Reply;
use crate::rdp::udp::RdpUdpSyn;
use crate::vocab::{CloseKind, Side};

/// The contract's name for why a flow counts as RDP.
pub fn rdp_by_name(by: RdpBy) -> &'static str {
    match by {
        RdpBy::Content => "content",
        RdpBy::Port => "port",
    }
}

fn security_name(s: Security) -> &'static str {
    match s {
        Security::Unknown => "unknown",
        Security::Tls => "tls",
        Security::StandardRdp => "standard-rdp",
        Security::Refused => "refused",
    }
}

/// A side, or `""` when nobody.
fn side_name(side: Option<Side>) -> &'static str {
    side.map_or("", Side::as_str)
}

/// A frame reference: `{"frame", "ts"}`; the frame is its file's own number, and `file` names
/// that file when the connection was read from the pieces of a capture (`Frames::place`).
#[derive(Serialize)]
pub struct AtOut {
    frame: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<Arc<str>>,
    ts: String,
}

impl AtOut {
    pub fn new(at: At, frames: &Frames) -> Self {
        let (frame, file) = frames.place(at.frame);
        AtOut { frame, file, ts: fmt_ts(at.ts) }
    }
}

fn ats(list: &[At], frames: &Frames) -> Vec<AtOut> {
    list.iter().map(|&at| AtOut::new(at, frames)).collect()
}

#[derive(Serialize)]
pub struct PhasesOut {
    tcp: &'static str,
    negotiation: &'static str,
    tls: &'static str,
    nla: &'static str,
    session: &'static str,
    udp: &'static str,
}

impl From<&Phases> for PhasesOut {
    fn from(p: &Phases) -> Self {
        PhasesOut {
            tcp: p.tcp.name(),
            negotiation: p.negotiation.name(),
            tls: p.tls.name(),
            nla: p.nla.name(),
            session: p.session.name(),
            udp: p.udp.name(),
        }
    }
}

#[derive(Serialize)]
pub struct TeardownOut {
    how: CloseKind,
    /// Who sent the first FIN or RST, `""` when nobody did.
    by: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<AtOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    after_s: Option<f64>,
    rst_ttl_mismatch: bool,
    ending: &'static str,
    ending_by: &'static str,
}

impl TeardownOut {
    pub fn new(t: &Teardown, frames: &Frames) -> Self {
        TeardownOut {
            how: t.how,
            by: side_name(t.by),
            at: t.at.map(|at| AtOut::new(at, frames)),
            after_s: t.after_s,
            rst_ttl_mismatch: t.rst_ttl_mismatch,
            ending: t.ending.as_str(),
            ending_by: side_name(t.ending_by),
        }
    }
}

#[derive(Serialize)]
pub struct NegotiationOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    cookie: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    routing_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requested_protocols: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requested: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    selected_protocol: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    selected: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_code: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<&'a str>,
    security: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_rdp: Option<ReplyOut<'a>>,
}

impl<'a> From<&'a Negotiation> for NegotiationOut<'a> {
    fn from(n: &'a Negotiation) -> Self {
        NegotiationOut {
            cookie: n.cookie.as_deref(),
            routing_token: n.routing_token.as_deref(),
            requested_protocols: n.requested_protocols,
            requested: n.requested.as_deref(),
            selected_protocol: n.selected_protocol,
            selected: n.selected.as_deref(),
            failure_code: n.failure_code,
            failure: n.failure.as_deref(),
            security: security_name(n.security),
            not_rdp: n.not_rdp.as_ref().map(ReplyOut::from),
        }
    }
}

/// A server reply that was not X.224 (`negotiation.not_rdp`).
#[derive(Serialize)]
struct ReplyOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<&'static str>,
    first_bytes: &'a str,
    len: usize,
}

impl<'a> From<&'a Reply> for ReplyOut<'a> {
    fn from(r: &'a Reply) -> Self {
        ReplyOut { protocol: r.protocol, first_bytes: &r.first_bytes, len: r.len }
    }
}

#[derive(Serialize)]
pub struct TcpOut {
    client_to_server: TcpDirOut,
    server_to_client: TcpDirOut,
    icmp: Vec<IcmpOut>,
    payload_gaps: u32,
    /// Packets the capturing host dropped in its own stack (pktmon); only when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    host_drops: Option<HostDropsOut>,
}

/// pktmon drops: how many, and the first few.
#[derive(Serialize)]
struct HostDropsOut {
    total: u32,
    first: Vec<DropOut>,
}

#[derive(Serialize)]
struct DropOut {
    #[serde(flatten)]
    at: AtOut,
    from: &'static str,
    syn: bool,
    component: String,
    reason_code: u32,
    reason: String,
    inbound: bool,
}

impl TcpOut {
    pub fn new(t: &TcpFacts, frames: &Frames) -> Self {
        let drop = |d: &crate::flow::Dropped| DropOut {
            at: AtOut::new(d.at, frames),
            from: if d.to_server { "client" } else { "server" },
            syn: d.syn,
            component: d.component.to_string(),
            reason_code: d.reason,
            reason: crate::input::etl::pktmon::drop_reason(d.reason).0,
            inbound: d.inbound,
        };
        TcpOut {
            client_to_server: TcpDirOut::new(&t.client_to_server, frames),
            server_to_client: TcpDirOut::new(&t.server_to_client, frames),
            icmp: t.icmp.iter().map(|e| IcmpOut::new(e, frames)).collect(),
            payload_gaps: t.payload_gaps,
            host_drops: (t.drops_total > 0)
                .then(|| HostDropsOut { total: t.drops_total, first: t.drops.iter().map(drop).collect() }),
        }
    }
}

/// One direction's counters; `flow::tcp::TcpDir` documents each.
#[derive(Serialize)]
struct TcpDirOut {
    packets: u64,
    payload_bytes: u64,
    syns: Vec<AtOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fin: Option<AtOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rst: Option<ResetOut>,
    rst_count: u32,
    retransmissions: u32,
    syn_fin_retransmissions: u32,
    fast_retransmissions: u32,
    spurious_retransmissions: u32,
    out_of_order: u32,
    lost_segments: u32,
    ack_lost_segments: u32,
    retx_times: Vec<AtOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_retx: Option<AtOut>,
    last_retx_recovered: bool,
    unacked_at_end: bool,
    dup_acks: u32,
    zero_windows: u32,
    zero_window_probes: u32,
    keep_alives: u32,
    window_full: u32,
    sack_blocks: u32,
    dsack_blocks: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    mss: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    window_scale: Option<u8>,
    max_segment: u32,
    max_segment_acked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl_first: Option<u8>,
    ttl_min: u8,
    ttl_max: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_ip_id: Option<u16>,
}

impl TcpDirOut {
    fn new(d: &TcpDir, frames: &Frames) -> Self {
        TcpDirOut {
            packets: d.packets,
            payload_bytes: d.payload_bytes,
            syns: ats(&d.syns, frames),
            fin: d.fin.map(|at| AtOut::new(at, frames)),
            rst: d.rst.map(|r| ResetOut::new(r, frames)),
            rst_count: d.rst_count,
            retransmissions: d.retransmissions,
            syn_fin_retransmissions: d.syn_fin_retransmissions,
            fast_retransmissions: d.fast_retransmissions,
            spurious_retransmissions: d.spurious_retransmissions,
            out_of_order: d.out_of_order,
            lost_segments: d.lost_segments,
            ack_lost_segments: d.ack_lost_segments,
            retx_times: ats(&d.retx_times, frames),
            last_retx: d.last_retx.map(|at| AtOut::new(at, frames)),
            last_retx_recovered: d.last_retx_recovered,
            unacked_at_end: d.unacked_at_end,
            dup_acks: d.dup_acks,
            zero_windows: d.zero_windows,
            zero_window_probes: d.zero_window_probes,
            keep_alives: d.keep_alives,
            window_full: d.window_full,
            sack_blocks: d.sack_blocks,
            dsack_blocks: d.dsack_blocks,
            mss: d.mss,
            window_scale: d.window_scale,
            max_segment: d.max_segment,
            max_segment_acked: d.max_segment_acked,
            ttl_first: d.ttl_first,
            ttl_min: d.ttl_min,
            ttl_max: d.ttl_max,
            last_ip_id: d.last_ip_id,
        }
    }
}

/// A RST: its frame reference, then what the packet showed.
#[derive(Serialize)]
struct ResetOut {
    frame: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<Arc<str>>,
    ts: String,
    ttl: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_id: Option<u16>,
    with_ack: bool,
}

impl ResetOut {
    fn new(r: Reset, frames: &Frames) -> Self {
        let (frame, file) = frames.place(r.at.frame);
        ResetOut { frame, file, ts: fmt_ts(r.at.ts), ttl: r.ttl, ip_id: r.ip_id, with_ack: r.with_ack }
    }
}

/// An ICMP error matched to a flow: its frame reference, then the error.
#[derive(Serialize)]
pub struct IcmpOut {
    frame: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<Arc<str>>,
    ts: String,
    from: IpAddr,
    kind: &'static str,
    icmp_type: u8,
    code: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    mtu: Option<u32>,
}

impl IcmpOut {
    pub fn new(e: &IcmpError, frames: &Frames) -> Self {
        let (frame, file) = frames.place(e.at.frame);
        IcmpOut {
            frame,
            file,
            ts: fmt_ts(e.at.ts),
            from: e.from,
            kind: e.kind.as_str(),
            icmp_type: e.icmp_type,
            code: e.code,
            mtu: e.mtu,
        }
    }
}

#[derive(Serialize)]
pub struct UdpOut {
    client: SocketAddr,
    server: SocketAddr,
    first: AtOut,
    last: AtOut,
    c2s_datagrams: u64,
    s2c_datagrams: u64,
    c2s_bytes: u64,
    s2c_bytes: u64,
    syns: Vec<AtOut>,
    syn_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    syn: Option<SynOut>,
    /// Written as a pair: `[at, syn]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    syn_ack: Option<(AtOut, SynOut)>,
    icmp: Vec<IcmpOut>,
}

impl UdpOut {
    pub fn new(u: &UdpFlow, frames: &Frames) -> Self {
        UdpOut {
            client: u.client,
            server: u.server,
            first: AtOut::new(u.first, frames),
            last: AtOut::new(u.last, frames),
            c2s_datagrams: u.c2s_datagrams,
            s2c_datagrams: u.s2c_datagrams,
            c2s_bytes: u.c2s_bytes,
            s2c_bytes: u.s2c_bytes,
            syns: ats(&u.syns, frames),
            syn_count: u.syn_count,
            syn: u.syn.as_ref().map(SynOut::from),
            syn_ack: u.syn_ack.as_ref().map(|(at, s)| (AtOut::new(*at, frames), SynOut::from(s))),
            icmp: u.icmp.iter().map(|e| IcmpOut::new(e, frames)).collect(),
        }
    }
}

/// The handshake fields of an RDP-UDP SYN or SYN+ACK (`rdp::udp::RdpUdpSyn`).
#[derive(Serialize)]
struct SynOut {
    sn_source_ack: u32,
    receive_window: u16,
    flags: u16,
    initial_seq: u32,
    upstream_mtu: u16,
    downstream_mtu: u16,
    /// Hex, or `null`.
    correlation_id: Option<String>,
    version: Option<u16>,
    cookie_hash_present: bool,
}

impl From<&RdpUdpSyn> for SynOut {
    fn from(s: &RdpUdpSyn) -> Self {
        SynOut {
            sn_source_ack: s.sn_source_ack,
            receive_window: s.receive_window,
            flags: s.flags,
            initial_seq: s.initial_seq,
            upstream_mtu: s.upstream_mtu,
            downstream_mtu: s.downstream_mtu,
            correlation_id: s.correlation_id.as_ref().map(hex16),
            version: s.version,
            cookie_hash_present: s.cookie_hash_present,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syn_writes_correlation_id_as_hex() {
        let syn = RdpUdpSyn {
            sn_source_ack: u32::MAX,
            receive_window: 64,
            flags: 1,
            initial_seq: 7,
            upstream_mtu: 1232,
            downstream_mtu: 1232,
            correlation_id: Some([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]),
            version: Some(0x0101),
            cookie_hash_present: true,
        };
        let json = serde_json::to_value(SynOut::from(&syn)).unwrap();
        assert_eq!(json["correlation_id"], "0102030405060708090a0b0c0d0e0f10");
        assert_eq!(json["version"], 0x0101);
        let none = RdpUdpSyn { correlation_id: None, ..syn };
        assert_eq!(serde_json::to_value(SynOut::from(&none)).unwrap()["correlation_id"], serde_json::Value::Null);
    }
}
