//! The phase ladder of one connection: each phase's outcome (`Phase`), judged from the flow's
//! facts and the RDP analyzer's milestones, with the evidence of the TCP handshake. Judgement
//! only: the bytes were parsed by `flow` and `rdp`.

use super::*;

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

pub(super) fn tcp_phase(f: &TcpFlow, ev: &mut Vec<Evidence>) -> Phase {
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

pub(super) fn negotiation_phase(f: &TcpFlow, r: &RdpSummary) -> Phase {
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

/// Encrypted records each side sent after its TLS handshake (the CredSSP/NLA exchange and
/// what follows). Under TLS ≤ 1.2 the first record after ChangeCipherSpec is Finished.
pub(super) fn app_records(r: &RdpSummary) -> (u32, u32) {
    let f = |t: &crate::rdp::tls::TlsSummary| t.encrypted_records.saturating_sub(t.change_cipher_spec as u32);
    (f(&r.tls_client), f(&r.tls_server))
}

pub(super) fn uses_nla(r: &RdpSummary) -> Option<bool> {
    let (_, cc) = r.confirm.as_ref()?;
    match &cc.neg {
        Some(NegOutcome::Selected { protocol, .. }) => {
            Some(protocol.contains(Protocols::HYBRID) || protocol.contains(Protocols::HYBRID_EX))
        }
        _ => Some(false),
    }
}

pub(super) fn nla_phase(f: &TcpFlow, r: &RdpSummary, tls: Phase) -> Phase {
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

pub(super) fn session_phase(f: &TcpFlow, r: &RdpSummary, tls: Phase, nla: Phase) -> Phase {
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

pub(super) fn udp_for(f: &TcpFlow, udp: &[&UdpFlow]) -> Phase {
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

pub(super) fn failed_phase(p: &Phases) -> Option<Stage> {
    p.ladder().into_iter().find(|(_, ph)| ph.is_failure()).map(|(n, _)| n)
}
