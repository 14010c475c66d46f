//! Connection records: one per RDP attempt, with the phase ladder the report shows.
//!
//! Built from finished flows (`flow::Finished`); no parsing happens here, only judgement over
//! facts: which phase was reached, which failed, who closed the connection and how. Records
//! are what the JSON contract calls `connections` (see DESIGN.md). Ids ("C1", "C2", ...)
//! follow the order of each connection's first packet, so they are stable across runs.

use std::net::SocketAddr;

use serde::Serializer;

use crate::evidence::{Evidence, Kind};
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

/// Outcome of one phase of the connection sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Ok,
    Failed,
    /// The phase does not exist for this connection (e.g. TLS under Standard RDP Security).
    NotApplicable,
    /// The capture does not show this phase (started later, or ended before it).
    NotObserved,
    /// TCP: the server answered the SYN with RST.
    Refused,
    /// TCP: no answer to the SYN.
    Unanswered,
    /// TCP: an ICMP error answered the SYN.
    Unreachable,
    /// The connection closed before this phase started.
    NotReached,
    /// Under way when the capture ended.
    Incomplete,
    /// The client closed the connection before the phase completed (mstsc does this on purpose
    /// when it only checks the server's identity, then reconnects).
    Abandoned,
}

impl Phase {
    pub fn is_failure(self) -> bool {
        matches!(self, Phase::Failed | Phase::Refused | Phase::Unanswered | Phase::Unreachable)
    }

    pub fn name(self) -> &'static str {
        match self {
            Phase::Ok => "ok",
            Phase::Failed => "failed",
            Phase::NotApplicable => "not-applicable",
            Phase::NotObserved => "not-observed",
            Phase::Refused => "refused",
            Phase::Unanswered => "unanswered",
            Phase::Unreachable => "unreachable",
            Phase::NotReached => "not-reached",
            Phase::Incomplete => "incomplete",
            Phase::Abandoned => "abandoned",
        }
    }
}

/// The phase ladder (DESIGN.md JSON contract `phases`).
#[derive(Clone, Debug)]
pub struct Phases {
    pub tcp: Phase,
    pub negotiation: Phase,
    pub tls: Phase,
    pub nla: Phase,
    pub session: Phase,
    pub udp: Phase,
}

impl Phases {
    /// The phases in wire order.
    pub fn ladder(&self) -> [(Stage, Phase); 6] {
        [
            (Stage::Tcp, self.tcp),
            (Stage::Negotiation, self.negotiation),
            (Stage::Tls, self.tls),
            (Stage::Nla, self.nla),
            (Stage::Session, self.session),
            (Stage::Udp, self.udp),
        ]
    }
}

/// How the connection ended.
#[derive(Clone, Debug)]
pub struct Teardown {
    pub how: CloseKind,
    /// Who sent the first FIN or RST (written `""` when nobody did).
    pub by: Option<Side>,
    pub at: Option<At>,
    /// Seconds from the connection's first packet.
    pub after_s: Option<f64>,
    /// The RST's TTL differs from that side's other packets: likely sent by a device on the path.
    pub rst_ttl_mismatch: bool,
    /// How the connection ended, read from the last packets (`Ending`).
    pub ending: Ending,
    /// Who did what `ending` names (the sender of the ultimatum or alert, the side that gave
    /// up or aborted), written `""` when nobody.
    pub ending_by: Option<Side>,
}

/// How a TCP connection ended, as a fact read from its last packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Never established (refused, unanswered) or not TCP.
    NotEstablished,
    /// Still open when the capture ended.
    CaptureEnded,
    /// A FIN with nothing outstanding; the peer's FIN, or Windows' ACK + RST, answered it.
    Orderly,
    /// A T.125 Disconnect Provider Ultimatum (a logoff or disconnect), then the close.
    DisconnectUltimatum,
    /// A TLS close_notify alert, then the close.
    CloseNotify,
    /// An encrypted TLS alert record (level and code hidden), then the close.
    EncryptedAlert,
    /// A RST from a side that had sent its own data.
    Abort,
    /// A close after retransmissions with data still unacknowledged: the peer or the path gave up.
    GaveUp,
    /// A connection that never sent an X.224 request, closed after sitting idle.
    IdleTimeout,
}

impl Ending {
    pub fn as_str(self) -> &'static str {
        match self {
            Ending::NotEstablished => "not-established",
            Ending::CaptureEnded => "capture-ended",
            Ending::Orderly => "orderly",
            Ending::DisconnectUltimatum => "disconnect-ultimatum",
            Ending::CloseNotify => "close-notify",
            Ending::EncryptedAlert => "encrypted-alert",
            Ending::Abort => "abort",
            Ending::GaveUp => "gave-up",
            Ending::IdleTimeout => "idle-timeout",
        }
    }
}

/// Seconds of silence before a close that make it an idle timeout.
const IDLE_S: f64 = 30.0;

impl Teardown {
    /// Not closed: never established, or still open.
    fn none(how: CloseKind) -> Teardown {
        let ending = if how == CloseKind::Open { Ending::CaptureEnded } else { Ending::NotEstablished };
        Teardown { how, by: None, at: None, after_s: None, rst_ttl_mismatch: false, ending, ending_by: None }
    }

    /// Closed (FIN or RST) by `side`.
    pub fn closed_by(&self, side: Side) -> bool {
        self.how.is_close() && self.by == Some(side)
    }
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
    sort_key: (Ts, u64),
}

#[derive(Clone, Debug)]
pub struct TcpFacts {
    pub client_to_server: TcpDir,
    pub server_to_client: TcpDir,
    pub icmp: Vec<crate::flow::icmp::IcmpError>,
    pub payload_gaps: u32,
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

/// Turns finished flows into numbered connection records, sorted by first packet.
pub fn build(input: &str, flows: Vec<Finished>) -> Vec<Connection> {
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
        }),
        tls: tls_facts,
        udp: None,
        evidence: ev,
        notes,
        sort_key: (f.first.ts, f.first.frame),
    }
}

fn push(ev: &mut Vec<Evidence>, at: At, side: Side, kind: Kind, text: String) {
    ev.push(Evidence::packet(at.ts, at.frame, side, kind, text));
}

fn icmp_kind(e: &crate::flow::icmp::IcmpError) -> Kind {
    Kind::Icmp { admin: e.kind == IcmpKind::AdminProhibited, mtu: e.mtu }
}

fn tcp_phase(f: &TcpFlow, ev: &mut Vec<Evidence>) -> Phase {
    if f.mid_stream && f.c2s.syns.is_empty() {
        if let Some(sa) = f.s2c.syns.first() {
            push(
                ev,
                *sa,
                Side::Server,
                Kind::SynAck,
                "SYN+ACK from the server (the client's SYN is not in the capture)".into(),
            );
            return Phase::Ok;
        }
        return Phase::NotObserved;
    }
    let Some(syn) = f.c2s.syns.first() else { return Phase::NotObserved };
    let n = f.c2s.syns.len();
    let retries = match n {
        1 => String::new(),
        2 => " (1 retransmission)".to_string(),
        _ => format!(" ({} retransmissions)", n - 1),
    };
    push(ev, *syn, Side::Client, Kind::Syn { sends: n }, format!("SYN from the client{retries}"));
    if let Some(sa) = f.s2c.syns.first() {
        push(
            ev,
            *sa,
            Side::Server,
            Kind::SynAck,
            format!("SYN+ACK from the server after {:.3} s", sa.ts.since(syn.ts)),
        );
        return Phase::Ok;
    }
    if let Some(rst) = &f.s2c.rst {
        push(
            ev,
            rst.at,
            Side::Server,
            Kind::SynRefused,
            format!(
                "RST from the server {:.3} s after the SYN: nothing listens on port {}",
                rst.at.ts.since(syn.ts),
                f.server.port()
            ),
        );
        return Phase::Refused;
    }
    if f.icmp.iter().any(|e| matches!(e.kind, IcmpKind::Unreachable | IcmpKind::AdminProhibited)) {
        return Phase::Unreachable;
    }
    let gaps: Vec<String> = TcpDir::gaps(&f.c2s.syns).iter().map(|g| format!("{g:.1}")).collect();
    if !gaps.is_empty() {
        push(
            ev,
            *f.c2s.syns.last().unwrap_or(syn),
            Side::Client,
            Kind::SynUnanswered { sends: n },
            format!("SYN sent {n} times without an answer (gaps {} s)", gaps.join(", ")),
        );
    }
    Phase::Unanswered
}

fn teardown(f: &TcpFlow) -> Teardown {
    // The earliest FIN or RST decides who closed the connection; a RST answering a FIN is the
    // peer's reaction, not the cause.
    // At equal times a FIN comes before a RST.
    let mut events: Vec<(At, CloseKind, Side)> = Vec::new();
    for (d, who) in [(&f.c2s, Side::Client), (&f.s2c, Side::Server)] {
        if let Some(r) = d.rst {
            events.push((r.at, CloseKind::Rst, who));
        }
        if let Some(at) = d.fin {
            events.push((at, CloseKind::Fin, who));
        }
    }
    let Some(&(at, how, by)) = events.iter().min_by_key(|(at, how, _)| (*at, *how == CloseKind::Rst)) else {
        let established = !f.s2c.syns.is_empty() || f.mid_stream;
        return Teardown::none(if established { CloseKind::Open } else { CloseKind::None });
    };
    let dir = if by == Side::Client { &f.c2s } else { &f.s2c };
    let rst_ttl_mismatch =
        how == CloseKind::Rst && dir.rst.is_some_and(|r| dir.ttl_first.is_some_and(|t| t.abs_diff(r.ttl) > 1));
    let (ending, ending_by) = ending(f, how, by, at);
    let after_s = Some(at.ts.since(f.first.ts));
    Teardown { how, by: Some(by), at: Some(at), after_s, rst_ttl_mismatch, ending, ending_by }
}

/// How a closed connection ended: what the last packets before the first FIN or RST say.
fn ending(f: &TcpFlow, how: CloseKind, by: Side, at: At) -> (Ending, Option<Side>) {
    let sides = [(Side::Client, &f.c2s, 0usize), (Side::Server, &f.s2c, 1usize)];
    // A Disconnect Provider Ultimatum as a side's last payload (Standard RDP Security).
    for (side, _, i) in sides {
        if f.tail[i].is_some_and(|t| t.at <= at && crate::rdp::mcs::disconnect_ultimatum(t.bytes()).is_some()) {
            return (Ending::DisconnectUltimatum, Some(side));
        }
    }
    let r = &f.rdp.summary;
    if let Some(a) = r.alerts.iter().rev().find(|a| a.at <= at) {
        if !a.alert.encrypted && a.alert.level == 1 && a.alert.description == 0 {
            return (Ending::CloseNotify, Some(a.sender));
        }
        if a.alert.encrypted {
            return (Ending::EncryptedAlert, Some(a.sender));
        }
    }
    // Data retransmitted and never acknowledged: whoever sent it was not heard any more.
    if let Some((side, _, _)) = sides.iter().find(|(_, d, _)| d.unacked_at_end && d.retransmissions > 0) {
        return (Ending::GaveUp, Some(*side));
    }
    let silent = f.tail.iter().flatten().map(|t| t.at.ts).max().unwrap_or(f.first.ts);
    if r.request.is_none() && !f.mid_stream && at.ts.since(silent) >= IDLE_S {
        return (Ending::IdleTimeout, Some(by));
    }
    match how {
        CloseKind::Fin => (Ending::Orderly, Some(by)),
        _ => (Ending::Abort, Some(by)),
    }
}

fn teardown_evidence(f: &TcpFlow, t: &Teardown) -> Option<Evidence> {
    let (at, by) = (t.at?, t.by?);
    let what = if t.how == CloseKind::Rst { "RST" } else { "FIN" };
    let mut text = format!("{what} from the {by} {:.3} s after the first packet", at.ts.since(f.first.ts));
    if t.rst_ttl_mismatch {
        let d = if by == Side::Client { &f.c2s } else { &f.s2c };
        if let (Some(first), Some(r)) = (d.ttl_first, d.rst) {
            text.push_str(&format!(
                " (TTL {} while the {by}'s other packets had TTL {first}: sent by a device on the path?)",
                r.ttl
            ));
        }
    }
    // A RST to the SYN is already described by the TCP phase.
    if t.how == CloseKind::Rst && f.s2c.syns.is_empty() && !f.mid_stream {
        return None;
    }
    // A RST that does not fit its sender was most likely sent by a device on the path.
    let side = if t.rst_ttl_mismatch { Side::Path } else { by };
    let kind = Kind::Close { how: t.how, ttl_mismatch: t.rst_ttl_mismatch };
    Some(Evidence::packet(at.ts, at.frame, side, kind, text))
}

fn negotiation(r: &RdpSummary, ev: &mut Vec<Evidence>) -> Negotiation {
    let mut n = Negotiation { security: r.security, ..Default::default() };
    if let Some((at, reply)) = &r.non_x224_reply {
        let what = reply.protocol.unwrap_or("bytes that are not X.224");
        let text = format!(
            "the server answered the Connection Request with {what} ({} bytes: {})",
            reply.len, reply.first_bytes
        );
        push(ev, *at, Side::Server, Kind::NotX224, text);
        n.not_rdp = Some(reply.clone());
    }
    if let Some((at, cr)) = &r.request {
        n.cookie = cr.cookie.clone();
        n.routing_token = cr.routing_token.clone();
        let mut text = String::from("X.224 Connection Request");
        if let Some(c) = &cr.cookie {
            text.push_str(&format!(", cookie mstshash={c}"));
        }
        match &cr.neg_req {
            Some(req) => {
                n.requested_protocols = Some(req.requested.0);
                n.requested = Some(req.requested.names());
                text.push_str(&format!(", requested {} (0x{:x})", req.requested.names(), req.requested.0));
            }
            None => text.push_str(", no RDP_NEG_REQ (legacy client: Standard RDP Security)"),
        }
        push(ev, *at, Side::Client, Kind::X224Request, text);
    }
    if let Some((at, cc)) = &r.confirm {
        let mut kind = Kind::X224Confirm;
        let text = match &cc.neg {
            Some(NegOutcome::Selected { protocol, .. }) => {
                n.selected_protocol = Some(protocol.0);
                n.selected = Some(protocol.names());
                format!("X.224 Connection Confirm: server selected {} (0x{:x})", protocol.names(), protocol.0)
            }
            Some(NegOutcome::Failure(code)) => {
                kind = Kind::NegFailure { code: code.0 };
                n.failure_code = Some(code.0);
                n.failure = Some(code.to_string());
                format!("X.224 Connection Confirm with RDP_NEG_FAILURE {code} (0x{:x}): {}", code.0, code.meaning())
            }
            None => "X.224 Connection Confirm without RDP_NEG_RSP: Standard RDP Security".into(),
        };
        push(ev, *at, Side::Server, kind, text);
    }
    n
}

fn negotiation_phase(f: &TcpFlow, r: &RdpSummary) -> Phase {
    match (&r.request, &r.confirm) {
        (_, Some((_, cc))) if matches!(cc.neg, Some(NegOutcome::Failure(_))) => Phase::Failed,
        (_, Some(_)) => Phase::Ok,
        (Some(_), None) if f.is_closed() => Phase::Failed,
        (Some(_), None) => Phase::Incomplete,
        (None, None) if f.mid_stream => Phase::NotObserved,
        (None, None) if f.s2c.syns.is_empty() => Phase::NotReached,
        (None, None) if f.is_closed() => Phase::NotReached,
        (None, None) => Phase::NotObserved,
    }
}

fn tls_phase(f: &TcpFlow, r: &RdpSummary, ev: &mut Vec<Evidence>) -> (Phase, Option<TlsFacts>) {
    match r.security {
        Security::StandardRdp => return (Phase::NotApplicable, None),
        Security::Refused => return (Phase::NotReached, None),
        Security::Unknown if r.confirm.is_none() && r.client_hello.is_none() => {
            let p = if r.request.is_some() || !f.mid_stream { Phase::NotReached } else { Phase::NotObserved };
            return (p, None);
        }
        _ => {}
    }
    let (c, s) = (&r.tls_client, &r.tls_server);
    if let (Some(at), Some(ch)) = (r.client_hello, &c.client_hello) {
        let versions = if ch.supported_versions.is_empty() {
            tls_version_name(ch.legacy_version)
        } else {
            ch.supported_versions.iter().map(|v| tls_version_name(*v)).collect::<Vec<_>>().join(", ")
        };
        let sni = ch.sni.as_ref().map(|s| format!(", SNI {s}")).unwrap_or_default();
        push(
            ev,
            at,
            Side::Client,
            Kind::ClientHello,
            format!("TLS ClientHello offering {versions}, {} cipher suites{sni}", ch.cipher_suites.len()),
        );
    }
    let mut expired = false;
    if let (Some(at), Some(sh)) = (r.server_hello, &s.server_hello) {
        let suite = crate::rdp::tls::cipher_suite_name(sh.cipher_suite)
            .map(str::to_string)
            .unwrap_or_else(|| format!("0x{:04x}", sh.cipher_suite));
        push(
            ev,
            at,
            Side::Server,
            Kind::ServerHello,
            format!("TLS ServerHello: {}, {suite}", tls_version_name(sh.selected_version)),
        );
    }
    if let (Some(at), Some(cert)) = (r.certificate, s.certificates.first()) {
        let now = f.first.ts.0 / 1_000_000_000;
        expired = cert.error.is_none() && (now > cert.not_after || now < cert.not_before);
        let state = if expired { "EXPIRED or not yet valid" } else { "valid" };
        let signed = if cert.self_signed { "self-signed" } else { "CA-issued" };
        let bits = cert.key_bits.map(|b| format!(" {b}-bit")).unwrap_or_default();
        push(
            ev,
            at,
            Side::Server,
            Kind::Certificate { expired },
            format!(
                "server certificate {} ({signed},{bits} {}), valid {} to {}: {state} at connection time",
                cert.subject,
                cert.key_algorithm,
                Ts(cert.not_before.saturating_mul(1_000_000_000)).rfc3339(0),
                Ts(cert.not_after.saturating_mul(1_000_000_000)).rfc3339(0)
            ),
        );
    }
    for a in &r.alerts {
        let text = if a.alert.encrypted {
            format!("encrypted TLS alert from the {} (level and code hidden)", a.sender)
        } else {
            let level = if a.alert.level == 2 { "fatal" } else { "warning" };
            format!(
                "{level} TLS alert from the {}: {} ({})",
                a.sender,
                TlsAlert(a.alert.description),
                a.alert.description
            )
        };
        let kind =
            Kind::TlsAlert { level: a.alert.level, description: a.alert.description, encrypted: a.alert.encrypted };
        push(ev, a.at, a.sender, kind, text);
    }
    for (i, who) in [Side::Client, Side::Server].into_iter().enumerate() {
        if let Some(at) = r.first_encrypted[i] {
            push(ev, at, who, Kind::FirstEncrypted, format!("first encrypted record from the {who}"));
        }
    }
    let fatal_plain = r.alerts.iter().any(|a| !a.alert.encrypted && a.alert.level == 2);
    let both_encrypted = r.first_encrypted.iter().all(Option::is_some);
    let phase = if fatal_plain {
        Phase::Failed
    } else if s.server_hello.is_some() && both_encrypted {
        Phase::Ok
    } else if c.client_hello.is_none() && s.server_hello.is_none() {
        if f.mid_stream && both_encrypted {
            Phase::NotObserved
        } else if f.is_closed() {
            Phase::NotReached
        } else {
            Phase::Incomplete
        }
    } else if f.is_closed() {
        Phase::Failed
    } else {
        Phase::Incomplete
    };
    let version = s.server_hello.as_ref().map(|h| tls_version_name(h.selected_version));
    let cipher_suite = s.server_hello.as_ref().map(|h| {
        crate::rdp::tls::cipher_suite_name(h.cipher_suite)
            .map(str::to_string)
            .unwrap_or_else(|| format!("0x{:04x}", h.cipher_suite))
    });
    let sni = c.client_hello.as_ref().and_then(|h| h.sni.clone());
    let facts = TlsFacts {
        version,
        cipher_suite,
        sni,
        client: c.clone(),
        server: s.clone(),
        alerts: r.alerts.clone(),
        certificate_expired: expired,
        handshake_done: r.first_encrypted[1],
    };
    (phase, Some(facts))
}

/// Encrypted records each side sent after its TLS handshake (the CredSSP/NLA exchange and
/// what follows). Under TLS ≤ 1.2 the first record after ChangeCipherSpec is Finished.
fn app_records(r: &RdpSummary) -> (u32, u32) {
    let f = |t: &crate::rdp::tls::TlsSummary| t.encrypted_records.saturating_sub(t.change_cipher_spec as u32);
    (f(&r.tls_client), f(&r.tls_server))
}

fn uses_nla(r: &RdpSummary) -> Option<bool> {
    let (_, cc) = r.confirm.as_ref()?;
    match &cc.neg {
        Some(NegOutcome::Selected { protocol, .. }) => {
            Some(protocol.contains(Protocols::HYBRID) || protocol.contains(Protocols::HYBRID_EX))
        }
        _ => Some(false),
    }
}

fn nla_phase(f: &TcpFlow, r: &RdpSummary, tls: Phase) -> Phase {
    match uses_nla(r) {
        Some(false) => return Phase::NotApplicable,
        None if r.security != Security::Tls => {
            return if tls == Phase::NotApplicable { Phase::NotApplicable } else { Phase::NotObserved };
        }
        _ => {}
    }
    if tls != Phase::Ok {
        return if tls == Phase::NotObserved { Phase::NotObserved } else { Phase::NotReached };
    }
    // CredSSP (MS-CSSP 3.1.5): client negoToken, server challenge, client authenticate +
    // pubKeyAuth, server pubKeyAuth, client credentials. The client sends its third record only
    // after accepting the server's, so three client and two server records mean NLA completed.
    // A close before that is a failure when the server closes, and abandonment when the client
    // does.
    let (c, s) = app_records(r);
    let closed_by_client = teardown(f).by == Some(Side::Client);
    if c >= 3 && s >= 2 {
        Phase::Ok
    } else if c == 0 && f.is_closed() {
        Phase::NotReached
    } else if f.is_closed() && closed_by_client {
        Phase::Abandoned
    } else if f.is_closed() {
        Phase::Failed
    } else {
        Phase::Incomplete
    }
}

fn session_phase(f: &TcpFlow, r: &RdpSummary, tls: Phase, nla: Phase) -> Phase {
    if r.fast_path_seen {
        return Phase::Ok;
    }
    if r.security == Security::StandardRdp {
        return if r.tpkt_pdus[1] >= 3 || f.s2c.payload_bytes > 4096 {
            Phase::Ok
        } else if f.is_closed() {
            Phase::Failed
        } else {
            Phase::Incomplete
        };
    }
    if tls != Phase::Ok || !matches!(nla, Phase::Ok | Phase::NotApplicable) {
        return if tls == Phase::NotObserved { Phase::NotObserved } else { Phase::NotReached };
    }
    // After NLA: MCS, licensing and capability exchange, then graphics. A server that keeps
    // sending well past the handshake has given the client a session.
    let (_, s) = app_records(r);
    let s_bytes = r.tls_server.encrypted_bytes;
    if s >= 8 || s_bytes >= 8192 {
        Phase::Ok
    } else if f.is_closed() {
        Phase::Failed
    } else {
        Phase::Incomplete
    }
}

fn udp_for(f: &TcpFlow, udp: &[&UdpFlow]) -> Phase {
    let mine: Vec<&&UdpFlow> = udp
        .iter()
        .filter(|u| {
            u.client.ip() == f.client.ip()
                && u.server == f.server
                && u.first.ts >= f.first.ts
                && u.first.ts <= f.last.ts
        })
        .collect();
    if mine.is_empty() {
        return Phase::NotObserved;
    }
    if mine.iter().any(|u| u.syn_ack.is_some() || u.s2c_datagrams > 0) { Phase::Ok } else { Phase::Failed }
}

fn failed_phase(p: &Phases) -> Option<Stage> {
    p.ladder().into_iter().find(|(_, ph)| ph.is_failure()).map(|(n, _)| n)
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
        sort_key: (u.first.ts, u.first.frame),
    }
}
