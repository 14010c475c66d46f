//! Connection records: one per RDP attempt, with the phase ladder the report shows.
//!
//! Built from finished flows (`flow::Finished`); no parsing happens here, only judgement over
//! facts: which phase was reached, which failed, who closed the connection and how. Records
//! are what the JSON contract calls `connections` (see DESIGN.md). Ids ("C1", "C2", ...)
//! follow the order of each connection's first packet, so they are stable across runs.
//! `phases` judges the ladder, `handshake` the X.224 and TLS steps, `teardown` the ending.

use std::net::SocketAddr;
use std::sync::Arc;

use serde::Serializer;

mod handshake;
mod phases;
mod teardown;

use handshake::{negotiation, tls_phase};
pub use phases::{Phase, Phases};
use phases::{failed_phase, negotiation_phase, nla_phase, session_phase, tcp_phase, udp_for};
pub use teardown::{Ending, Teardown};
use teardown::{teardown, teardown_evidence};

use crate::evidence::{Evidence, Frames, Kind};
use crate::flow::icmp::IcmpKind;
use crate::flow::tcp::{At, TcpDir};
use crate::flow::udp::UdpFlow;
use crate::flow::{Finished, RdpBy, TcpFlow};
use crate::rdp::analyzer::{RdpSummary, Security};
use crate::rdp::codes::{Protocols, TlsAlert, tls_version_name};
use crate::rdp::x224::NegOutcome;
use crate::time::Ts;
use crate::vocab::{CloseKind, Endpoint, Side, Stage, Transport};

/// Serialises a time as RFC 3339 UTC: microseconds, or nanoseconds when the value has them.
pub fn ser_ts<S: Serializer>(ts: &Ts, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&fmt_ts(*ts))
}

pub fn fmt_ts(ts: Ts) -> String {
    ts.rfc3339(if ts.0 % 1000 == 0 { 6 } else { 9 })
}

/// Negotiation facts in readable form (raw values kept alongside names).
#[derive(Clone, Debug, Default)]
pub struct Negotiation {
    pub cookie: Option<String>,
    pub routing_token: Option<String>,
    pub requested_protocols: Option<u32>,
    pub requested: Option<String>,
    pub selected_protocol: Option<u32>,
    pub selected: Option<String>,
    pub failure_code: Option<u32>,
    pub failure: Option<String>,
    pub security: Security,
    /// The server's reply when it was not X.224 (another service on the port).
    pub not_rdp: Option<crate::rdp::other::Reply>,
}

/// One RDP connection attempt: the record `report::json` writes as the contract's
/// `connections[]` (DESIGN.md), with the verdict and the joined events beside it.
#[derive(Clone, Debug)]
pub struct Connection {
    pub id: String,
    pub client: Endpoint,
    pub server: Endpoint,
    pub transport: Transport,
    pub start: Ts,
    pub end: Ts,
    /// The input file this connection was seen in.
    pub input: String,
    pub phases: Phases,
    /// The first phase that failed, if any.
    pub failed_phase: Option<Stage>,
    /// One factual sentence on what happened (not a diagnosis).
    pub outcome: String,
    pub teardown: Teardown,
    /// Why this flow counts as RDP: `content` (X.224 request seen) or `port`.
    pub rdp_by: Option<RdpBy>,
    pub mid_stream: bool,
    pub negotiation: Negotiation,
    pub tcp: Option<TcpFacts>,
    pub tls: Option<TlsFacts>,
    pub udp: Option<UdpFlow>,
    /// Packet evidence, in time order (events join later, in `correlate`'s value). The JSON
    /// report writes it merged with the joined events (`report::json`).
    pub evidence: Vec<Evidence>,
    pub notes: Vec<String>,
    /// How the packet numbers in `tcp`, `tls` and `udp` map to files (the evidence's origins
    /// are already mapped).
    pub frames: Arc<Frames>,
    /// What each capture point saw, when two captures saw this connection (`twopoint`); empty
    /// otherwise.
    pub views: Vec<crate::twopoint::View>,
    /// Where on the path the two views place a fault (`twopoint`).
    pub path: Option<crate::twopoint::PathFacts>,
    /// The id of the same session's other leg through a NAT or load balancer, in the same
    /// capture (`twopoint::legs`).
    pub other_leg: Option<String>,
    sort_key: (Ts, u64),
}

#[derive(Clone, Debug, Default)]
pub struct TcpFacts {
    pub client_to_server: TcpDir,
    pub server_to_client: TcpDir,
    pub icmp: Vec<crate::flow::icmp::IcmpError>,
    pub payload_gaps: u32,
    /// Packets the capturing host dropped in its own stack (pktmon), the first few, and how
    /// many in all.
    pub drops: Vec<crate::flow::Dropped>,
    pub drops_total: u32,
}

#[derive(Clone, Debug)]
pub struct TlsFacts {
    pub version: Option<String>,
    pub cipher_suite: Option<String>,
    pub sni: Option<String>,
    pub client: crate::rdp::tls::TlsSummary,
    pub server: crate::rdp::tls::TlsSummary,
    pub alerts: Vec<crate::rdp::analyzer::SentAlert>,
    /// The server certificate had expired (or was not yet valid) at the connection's start.
    pub certificate_expired: bool,
    /// The server's first encrypted record (its Finished under TLS ≤ 1.2): the handshake is
    /// done on the server's side.
    pub handshake_done: Option<At>,
}

/// `build` for one pcap or pcapng file named `input`.
pub fn build_file(input: &str, flows: Vec<Finished>) -> Vec<Connection> {
    build(input, &Arc::new(Frames::single(input, crate::evidence::Unit::Frame)), flows)
}

/// Turns finished flows into numbered connection records, sorted by first packet. `frames` maps
/// the flows' packet numbers to the files they came from.
pub fn build(input: &str, frames: &Arc<Frames>, flows: Vec<Finished>) -> Vec<Connection> {
    let mut tcp: Vec<&TcpFlow> = Vec::new();
    let mut udp: Vec<&UdpFlow> = Vec::new();
    for f in &flows {
        match f {
            Finished::Tcp(t) => tcp.push(t),
            Finished::Udp(u) => udp.push(u),
        }
    }
    let mut out: Vec<Connection> = tcp.iter().map(|f| from_tcp(input, f, &udp)).collect();
    out.extend(udp.iter().map(|u| from_udp(input, u)));
    out.sort_by_key(|c| c.sort_key);
    for (i, c) in out.iter_mut().enumerate() {
        c.id = format!("C{}", i + 1);
        frames.resolve(&mut c.evidence);
        c.frames = frames.clone();
    }
    out
}

fn addr(a: &SocketAddr) -> Endpoint {
    Endpoint::Addr(*a)
}

fn from_tcp(input: &str, f: &TcpFlow, udp: &[&UdpFlow]) -> Connection {
    let r = &f.rdp.summary;
    let mut ev = Vec::new();
    let mut notes = Vec::new();
    let tcp = tcp_phase(f, &mut ev);
    let teardown = teardown(f);
    let neg = negotiation(r, &mut ev);
    let negotiation_phase = negotiation_phase(f, r);
    let (tls_phase, tls_facts) = tls_phase(f, r, &mut ev);
    let nla = nla_phase(f, r, tls_phase);
    let session = session_phase(f, r, tls_phase, nla);
    let udp_phase = udp_for(f, udp);
    if f.c2s.retransmissions + f.s2c.retransmissions > 0 {
        let (c, s) = (f.c2s.retransmissions, f.s2c.retransmissions);
        notes.push(format!("retransmissions: {c} from the client, {s} from the server"));
    }
    for (who, d) in [(Side::Client, &f.c2s), (Side::Server, &f.s2c)] {
        if d.max_segment > 0 && !d.max_segment_acked && d.retransmissions > 0 {
            notes.push(format!(
                "the {who}'s largest segment ({} bytes) was retransmitted and never acknowledged",
                d.max_segment
            ));
        }
        if d.zero_windows > 0 {
            notes.push(format!("the {who} advertised a zero window {} time(s)", d.zero_windows));
        }
    }
    for (who, d) in [(Side::Client, &f.c2s), (Side::Server, &f.s2c)] {
        if let (Some(first), true) = (d.retx_times.first(), d.retx_times.len() >= 2) {
            let gaps: Vec<String> = TcpDir::gaps(&d.retx_times).iter().map(|g| format!("{g:.1}")).collect();
            let acked = if d.max_segment_acked { "" } else { ", never acknowledged" };
            let text = format!(
                "the {who} retransmitted a segment {} times (gaps {} s{acked})",
                d.retx_times.len(),
                gaps.join(", ")
            );
            let kind = Kind::Retransmitted { times: d.retx_times.len(), acked: d.max_segment_acked };
            push(&mut ev, *first, who, kind, text);
        }
    }
    for e in &f.icmp {
        let mtu = e.mtu.map(|m| format!(", MTU {m}")).unwrap_or_default();
        let text = format!("ICMP {} from {} (type {}, code {}{mtu})", e.kind, e.from, e.icmp_type, e.code);
        push(&mut ev, e.at, Side::Path, icmp_kind(e), text);
    }
    for d in &f.drops {
        let (kind, text) = host_drop(d);
        push(&mut ev, d.at, drop_side(d), kind, text);
    }
    if f.drops_total as usize > f.drops.len() {
        notes.push(format!(
            "the capturing host dropped {} of this connection's packets in its own stack",
            f.drops_total
        ));
    }
    if f.capture_duplicates > 0 {
        notes.push(format!(
            "{} packet(s) appear twice in the capture (same header within 1 ms); counted once",
            f.capture_duplicates
        ));
    }
    if f.payload_gaps > 0 {
        notes.push(format!("{} gap(s) in the captured payload (packets missing from the capture)", f.payload_gaps));
    }
    if r.security == Security::StandardRdp {
        notes.push("Standard RDP Security (no TLS): weak RC4 encryption, and the server is not authenticated".into());
    }
    if r.fast_path_seen {
        notes.push("capture joined an established session (fast-path PDUs)".into());
    }
    notes.extend(r.oddities.iter().cloned());
    if let Some(t) = teardown_evidence(f, &teardown) {
        ev.push(t);
    }
    ev.sort_by_key(|e| e.time);
    let phases = Phases { tcp, negotiation: negotiation_phase, tls: tls_phase, nla, session, udp: udp_phase };
    let failed_phase = failed_phase(&phases);
    let outcome = outcome(f, &phases, &teardown, r);
    Connection {
        id: String::new(),
        client: addr(&f.client),
        server: addr(&f.server),
        transport: Transport::Tcp,
        start: f.first.ts,
        end: f.last.ts,
        input: input.to_string(),
        phases,
        failed_phase,
        outcome,
        teardown,
        rdp_by: f.rdp_by,
        mid_stream: f.mid_stream,
        negotiation: neg,
        tcp: Some(TcpFacts {
            client_to_server: f.c2s.clone(),
            server_to_client: f.s2c.clone(),
            icmp: f.icmp.clone(),
            payload_gaps: f.payload_gaps,
            drops: f.drops.clone(),
            drops_total: f.drops_total,
        }),
        tls: tls_facts,
        udp: None,
        evidence: ev,
        notes,
        frames: Arc::default(),
        views: Vec::new(),
        path: None,
        other_leg: None,
        sort_key: (f.first.ts, f.first.frame),
    }
}

fn push(ev: &mut Vec<Evidence>, at: At, side: Side, kind: Kind, text: String) {
    ev.push(Evidence::packet(at.ts, at.frame, side, kind, text));
}

/// The host that dropped a packet: the capturing host, which received it (inbound) or sent it.
fn drop_side(d: &crate::flow::Dropped) -> Side {
    if d.to_server == d.inbound { Side::Server } else { Side::Client }
}

/// A host drop as evidence: its kind (pktmon's reason and whether a filter dropped it) and the
/// sentence.
fn host_drop(d: &crate::flow::Dropped) -> (Kind, String) {
    use crate::input::etl::pktmon::{DropClass, drop_reason};
    let (reason, class) = drop_reason(d.reason);
    let what = match (d.syn, d.to_server) {
        (true, true) => "the client's SYN",
        (true, false) => "the server's SYN+ACK",
        (false, true) => "a packet from the client",
        (false, false) => "a packet from the server",
    };
    let kind = Kind::HostDrop { reason: d.reason, firewall: class == DropClass::Firewall, syn: d.syn };
    (kind, format!("the {}'s own network stack dropped {what} at {}: {reason}", drop_side(d), d.component))
}

fn icmp_kind(e: &crate::flow::icmp::IcmpError) -> Kind {
    Kind::Icmp { admin: e.kind == IcmpKind::AdminProhibited, mtu: e.mtu }
}

fn outcome(f: &TcpFlow, p: &Phases, t: &Teardown, r: &RdpSummary) -> String {
    let close = match (t.how, t.by) {
        (CloseKind::Rst | CloseKind::Fin, Some(by)) => {
            format!("{by} closed it with {} after {:.3} s", t.how.as_str().to_uppercase(), t.after_s.unwrap_or(0.0))
        }
        (CloseKind::Open, _) => "still open when the capture ended".into(),
        _ => String::new(),
    };
    match p.tcp {
        Phase::Refused => return format!("server refused the TCP connection (RST to SYN) on port {}", f.server.port()),
        Phase::Unanswered => {
            return format!("SYN unanswered after {} attempt(s) over {:.1} s", f.c2s.syns.len(), span(&f.c2s.syns));
        }
        Phase::Unreachable => return "an ICMP error answered the SYN".into(),
        _ => {}
    };
    let fatal = r.alerts.iter().find(|a| !a.alert.encrypted && a.alert.level == 2);
    let alert_text;
    let reached = if let Some(a) = fatal {
        alert_text = format!(
            "fatal TLS alert {} ({}) from the {}",
            TlsAlert(a.alert.description),
            a.alert.description,
            a.sender
        );
        alert_text.as_str()
    } else if p.session == Phase::Ok {
        "session established"
    } else if p.nla == Phase::Ok {
        "NLA completed, session setup not finished"
    } else if p.nla == Phase::Abandoned {
        "client ended the connection during NLA (it may have reconnected)"
    } else if p.tls == Phase::Ok {
        "TLS handshake completed"
    } else if r.client_hello.is_some() && r.server_hello.is_none() {
        "TLS ClientHello sent, no ServerHello"
    } else if r.server_hello.is_some() {
        "TLS handshake started"
    } else if r.confirm.is_some() {
        match r.security {
            Security::Refused => "server refused the security negotiation (RDP_NEG_FAILURE)",
            _ => "X.224 negotiation completed",
        }
    } else if r.request.is_some() {
        "X.224 Connection Request sent, no Connection Confirm"
    } else if p.tcp == Phase::Ok && f.c2s.payload_bytes == 0 && f.s2c.payload_bytes == 0 && f.is_closed() {
        "TCP connected and closed without any data (a port probe or load-balancer health check)"
    } else if p.tcp == Phase::Ok {
        "TCP connected, no RDP data"
    } else {
        "mid-stream"
    };
    if close.is_empty() { reached.to_string() } else { format!("{reached}; {close}") }
}

fn span(at: &[At]) -> f64 {
    match (at.first(), at.last()) {
        (Some(a), Some(b)) => b.ts.since(a.ts),
        _ => 0.0,
    }
}

/// A connection known only from Windows events (no capture of it): every packet phase is
/// `not-observed`; its evidence comes from the events joined to it.
pub fn from_events(client: Endpoint, server: Endpoint, start: Ts, end: Ts, input: String) -> Connection {
    let n = Phase::NotObserved;
    Connection {
        id: String::new(),
        client,
        server,
        transport: Transport::Tcp,
        start,
        end,
        input,
        phases: Phases { tcp: n, negotiation: n, tls: n, nla: n, session: n, udp: n },
        failed_phase: None,
        outcome: "seen in the event logs only (no capture of this connection)".into(),
        teardown: Teardown::none(CloseKind::None),
        rdp_by: None,
        mid_stream: false,
        negotiation: Negotiation::default(),
        tcp: None,
        tls: None,
        udp: None,
        evidence: Vec::new(),
        notes: Vec::new(),
        frames: Arc::default(),
        views: Vec::new(),
        path: None,
        other_leg: None,
        sort_key: (start, 0),
    }
}

fn from_udp(input: &str, u: &UdpFlow) -> Connection {
    let mut ev = Vec::new();
    if let Some(first) = u.syns.first() {
        let s = u.syn.as_ref();
        let detail = s
            .map(|s| format!(" ({}, MTU up {} / down {})", s.flag_names(), s.upstream_mtu, s.downstream_mtu))
            .unwrap_or_default();
        push(
            &mut ev,
            *first,
            Side::Client,
            Kind::RdpUdpSyn,
            format!("RDP-UDP SYN from the client{detail}, sent {} time(s)", u.syn_count),
        );
    }
    if let Some((at, s)) = &u.syn_ack {
        push(
            &mut ev,
            *at,
            Side::Server,
            Kind::RdpUdpSynAck,
            format!(
                "RDP-UDP SYN+ACK from the server ({}, MTU up {} / down {})",
                s.flag_names(),
                s.upstream_mtu,
                s.downstream_mtu
            ),
        );
    }
    for e in &u.icmp {
        let text = format!("ICMP {} from {} (type {}, code {})", e.kind, e.from, e.icmp_type, e.code);
        push(&mut ev, e.at, Side::Path, icmp_kind(e), text);
    }
    let answered = u.syn_ack.is_some() || u.s2c_datagrams > 0;
    let udp = if u.syn_count == 0 && answered {
        Phase::NotObserved
    } else if answered {
        Phase::Ok
    } else {
        Phase::Failed
    };
    let outcome = if udp == Phase::Failed {
        format!(
            "RDP-UDP SYN sent {} time(s) over {:.1} s, never answered: the session stays on TCP",
            u.syn_count,
            span(&u.syns)
        )
    } else if u.syn_ack.is_some() {
        format!(
            "RDP-UDP handshake answered; {} datagrams client→server, {} server→client",
            u.c2s_datagrams, u.s2c_datagrams
        )
    } else {
        format!("RDP-UDP traffic without a captured handshake; {} / {} datagrams", u.c2s_datagrams, u.s2c_datagrams)
    };
    let na = Phase::NotApplicable;
    let phases = Phases { tcp: na, negotiation: na, tls: na, nla: na, session: na, udp };
    Connection {
        id: String::new(),
        client: addr(&u.client),
        server: addr(&u.server),
        transport: Transport::Udp,
        start: u.first.ts,
        end: u.last.ts,
        input: input.to_string(),
        failed_phase: failed_phase(&phases),
        phases,
        outcome,
        teardown: Teardown::none(CloseKind::None),
        rdp_by: None,
        mid_stream: u.syn_count == 0,
        negotiation: Negotiation::default(),
        tcp: None,
        tls: None,
        udp: Some(u.clone()),
        evidence: ev,
        notes: Vec::new(),
        frames: Arc::default(),
        views: Vec::new(),
        path: None,
        other_leg: None,
        sort_key: (u.first.ts, u.first.frame),
    }
}
