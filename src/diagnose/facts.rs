//! Facts about one connection that the rules read: booleans and small values computed from the
//! connection record (packets) and the events joined to it. Nothing here parses bytes or reads
//! an evidence sentence; the rules in `rules.rs` are stated over these facts.
//!
//! The phase-consistency facts (DESIGN.md "Phase consistency") live here too: where the
//! connection ended, whether the client closed it in order, whether its losses recovered.

use crate::connection::{Connection, Ending, Phase};
use crate::correlate::Joined;
use crate::events::catalog::{Kind, TypedEvent};
use crate::evidence::Kind as EvKind;
use crate::rdp::analyzer::Security;
use crate::vocab::{CloseKind, Side, Stage, Transport};

/// Seconds within which a client that closes right after the server's TLS handshake is a tool,
/// not a person reading a certificate warning.
const TOOL_REACTION_S: f64 = 1.0;

/// Facts about one connection.
#[derive(Debug, Default)]
pub struct Facts<'a> {
    pub udp: bool,
    pub tcp_refused: bool,
    pub tcp_unanswered: bool,
    pub icmp_admin: bool,
    /// A host's filter or policy dropped the client's SYN inside that host's own stack (pktmon
    /// saw it): which host.
    pub syn_firewall_drop: Option<Side>,
    pub icmp_mtu: Option<u32>,
    pub neg_failure: Option<u32>,
    /// ClientHello sent, no ServerHello, and the server closed the connection.
    pub reset_after_client_hello: bool,
    pub server_alert: Option<u8>,
    pub client_alert: Option<u8>,
    pub cert_expired: bool,
    /// The connection ended during or before TLS: a certificate can explain it. A connection
    /// that went on to NLA or a session accepted its certificate.
    pub ended_in_tls: bool,
    /// With NLA, the client closed right after the server's pubKeyAuth and before delegating
    /// credentials: where mstsc checks the server's identity (MS-CSSP 3.1.5 steps 3–5).
    pub client_rejected_identity: bool,
    /// The server sent an encrypted TLS alert after the client's third CredSSP message, and
    /// the connection closed: CredSSP refused the credentials.
    pub nla_rejected: bool,
    pub nla_failed: bool,
    pub session_failed: bool,
    pub session_ok: bool,
    /// The server (or something claiming to be it) closed the connection, and not in order (a
    /// logoff's Disconnect Provider Ultimatum or a close_notify is an orderly end).
    pub closed_by_server: bool,
    /// The connection ended in order: a FIN with nothing outstanding, a Disconnect Provider
    /// Ultimatum, a close_notify (a logoff, a disconnect, the user closing the window).
    pub ended_in_order: bool,
    /// The largest segment was retransmitted and never acknowledged.
    pub big_segment_lost: bool,
    pub retransmissions: u32,
    /// Data retransmitted and still unacknowledged when the connection ended: the path did not
    /// recover. Retransmissions that were all acknowledged are an observation, not a cause.
    pub loss_unrecovered: bool,
    pub rst_ttl_mismatch: bool,
    pub udp_failed: bool,
    pub udp_answered: bool,
    pub failed_phase: Option<Stage>,
    pub has_packets: bool,
    /// Why this connection is a probe (scanner, health check, tool), when it is one.
    pub probe: Option<String>,
    /// What answered instead of RDP, when the port is not RDP.
    pub not_rdp: Option<String>,
    /// A joined event shows the client reached the server's logon (an accept, an
    /// authentication or a session event, not only a firewall drop).
    pub reached_server: bool,
    /// A joined event shows a logon was tried (authentication or session events).
    pub logon_seen: bool,
    /// The joined events, without Remote Desktop Services stops that happened inside a planned
    /// shutdown or restart of their host (User32 1074, EventLog 6006, Kernel-General 13).
    pub events: Vec<&'a TypedEvent>,
    /// Service stops left out of `events` because the host was shutting down.
    pub planned_stops: usize,
    /// Where two capture points place a fault on the path (`twopoint`), when two saw it.
    pub path: Option<crate::twopoint::PathFacts>,
}

impl Facts<'_> {
    /// The first joined event of this provider with one of these ids.
    pub fn event(&self, provider: &str, ids: &[u16]) -> Option<&TypedEvent> {
        self.events.iter().copied().find(|e| e.provider.as_str() == provider && ids.contains(&e.event_id))
    }
}

/// Encrypted records each side sent after its TLS handshake (the CredSSP/NLA exchange and what
/// follows). Under TLS ≤ 1.2 the first record after ChangeCipherSpec is Finished.
pub fn app_records(c: &Connection) -> (u32, u32) {
    c.tls.as_ref().map_or((0, 0), |t| {
        let f = |s: &crate::rdp::tls::TlsSummary| s.encrypted_records.saturating_sub(s.change_cipher_spec as u32);
        (f(&t.client), f(&t.server))
    })
}

/// Builds the facts of one connection from its record and the events joined to it.
pub fn facts<'a>(c: &Connection, joined: &[Joined], events: &'a [TypedEvent]) -> Facts<'a> {
    let p = &c.phases;
    let t = &c.teardown;
    let mut f = Facts {
        udp: c.transport == Transport::Udp,
        tcp_refused: p.tcp == Phase::Refused,
        tcp_unanswered: p.tcp == Phase::Unanswered,
        failed_phase: c.failed_phase,
        has_packets: c.evidence.iter().any(|e| e.origin.is_packet()),
        session_ok: p.session == Phase::Ok,
        closed_by_server: t.closed_by(Side::Server) && !ended_in_order(t),
        ended_in_order: ended_in_order(t),
        nla_failed: p.nla == Phase::Failed,
        udp_failed: p.udp == Phase::Failed,
        udp_answered: c.transport == Transport::Udp && p.udp == Phase::Ok,
        neg_failure: c.negotiation.failure_code,
        rst_ttl_mismatch: t.rst_ttl_mismatch,
        path: c.path.clone(),
        ..Default::default()
    };
    for e in joined.iter().filter_map(|j| events.get(j.event)) {
        if e.kind == Kind::Service && crate::noise::during_shutdown(e, events) {
            f.planned_stops += 1;
        } else {
            f.events.push(e);
        }
    }
    f.logon_seen = f
        .events
        .iter()
        .any(|e| matches!(e.kind, Kind::AuthSuccess | Kind::AuthFailure | Kind::Session | Kind::ServerDenied));
    f.reached_server = f.logon_seen || f.events.iter().any(|e| e.kind == Kind::Connection);
    if let Some(tcp) = &c.tcp {
        f.icmp_admin = tcp.icmp.iter().any(|e| e.kind == crate::flow::icmp::IcmpKind::AdminProhibited);
        f.icmp_mtu = tcp.icmp.iter().find_map(|e| e.mtu);
        f.syn_firewall_drop = c.evidence.iter().find_map(|e| match e.kind {
            EvKind::HostDrop { firewall: true, syn: true, .. } => Some(e.side),
            _ => None,
        });
        let (c2s, s2c) = (&tcp.client_to_server, &tcp.server_to_client);
        // Spurious retransmissions (data the peer already had) are no loss; SYN, SYN+ACK and FIN
        // sent again are.
        let data_lost = |d: &crate::flow::tcp::TcpDir| d.retransmissions.saturating_sub(d.spurious_retransmissions);
        let lost = |d: &crate::flow::tcp::TcpDir| data_lost(d) + d.syn_fin_retransmissions;
        f.retransmissions = lost(c2s) + lost(s2c);
        // The MTU signature: the full-size segment itself retransmitted with back-off.
        f.big_segment_lost =
            [c2s, s2c].iter().any(|d| d.max_segment >= 1000 && !d.max_segment_acked && data_lost(d) >= 2);
        // The path did not recover: data retransmitted and still unacknowledged when a side gave
        // up, aborted, or the capture ended. Losses that recovered are an observation.
        // Data merely in flight when a healthy capture stops is not stuck: a retransmitted range
        // must itself be unacknowledged, or the handshake itself had to be sent again.
        let stuck = [c2s, s2c]
            .iter()
            .any(|d| lost(d) > 0 && d.unacked_at_end && (!d.last_retx_recovered || d.syn_fin_retransmissions > 0));
        let ending = matches!(t.ending, Ending::GaveUp | Ending::Abort | Ending::CaptureEnded);
        f.loss_unrecovered = f.retransmissions >= 2 && stuck && ending && !f.ended_in_order;
    }
    if let Some(tls) = &c.tls {
        let fatal = |side: Side| {
            tls.alerts
                .iter()
                .find(|a| a.sender == side && !a.alert.encrypted && a.alert.level == 2)
                .map(|a| a.alert.description)
        };
        f.server_alert = fatal(Side::Server);
        f.client_alert = fatal(Side::Client);
        f.cert_expired = tls.certificate_expired;
        f.reset_after_client_hello =
            tls.client.client_hello.is_some() && tls.server.server_hello.is_none() && f.closed_by_server;
        let (cr, sr) = app_records(c);
        f.ended_in_tls = p.tls != Phase::Ok || (cr == 0 && t.how.is_close());
        let nla = matches!(p.nla, Phase::Ok | Phase::Failed | Phase::Abandoned | Phase::Incomplete);
        let server_encrypted_alert = tls.alerts.iter().any(|a| a.sender == Side::Server && a.alert.encrypted);
        f.client_rejected_identity =
            nla && cr == 2 && sr >= 2 && t.closed_by(Side::Client) && p.session != Phase::Ok && !server_encrypted_alert;
        // The client's NTLM AUTHENTICATE is its second CredSSP record (after NEGOTIATE): an
        // encrypted alert from the server after it, then the close, is CredSSP saying no.
        f.nla_rejected = server_encrypted_alert && cr >= 2 && t.how.is_close() && p.session != Phase::Ok;
    }
    f.session_failed = p.nla == Phase::Ok && p.session == Phase::Failed && t.by == Some(Side::Server);
    f.not_rdp = c.negotiation.not_rdp.as_ref().map(|r| match r.protocol {
        Some(name) => format!("the port answered the X.224 Connection Request with {name} ({} bytes)", r.len),
        None => format!("the port answered the X.224 Connection Request with {} bytes that are not X.224", r.len),
    });
    f.probe = if f.has_packets { probe(c) } else { log_probe(&f) };
    // A prober's own RST (raw SYN scanners set another TTL than their kernel's RST) is not a
    // device on the path: the probe explains the close.
    if f.probe.is_some() && t.by == Some(Side::Client) {
        f.rst_ttl_mismatch = false;
    }
    f
}

/// A logoff's Disconnect Provider Ultimatum, a close_notify, or the client's own FIN with
/// nothing outstanding. A server's bare FIN after an encrypted session is not known to be one:
/// a logoff, a time limit, an administrator and a fault all look alike.
fn ended_in_order(t: &crate::connection::Teardown) -> bool {
    match t.ending {
        Ending::DisconnectUltimatum | Ending::CloseNotify => true,
        Ending::Orderly => t.ending_by == Some(Side::Client),
        _ => false,
    }
}

/// Why a log-only connection is a probe: an accept, then an abort, and no logon at all (the
/// BlueKeep-style scanners' connections, RdpCoreTS 131 then 142/143).
fn log_probe(f: &Facts) -> Option<String> {
    let accepted = f.events.iter().any(|e| e.provider == crate::events::catalog::CORE && e.event_id == 131);
    let aborted = f.events.iter().any(|e| e.kind == Kind::NetworkError);
    (accepted && aborted && !f.logon_seen).then(|| {
        "the server accepted the connection and it was aborted before any logon was tried (a scanner or a port probe)"
            .to_string()
    })
}

/// Why a connection is a scanner, health check or tool that never tried to log on.
fn probe(c: &Connection) -> Option<String> {
    let tcp = c.tcp.as_ref()?;
    if c.mid_stream || c.phases.tcp != Phase::Ok {
        return None;
    }
    let t = &c.teardown;
    let (sent, got) = (tcp.client_to_server.payload_bytes, tcp.server_to_client.payload_bytes);
    if sent == 0 && t.how == CloseKind::Rst && t.by == Some(Side::Client) {
        return Some("SYN scan: the prober reset the connection right after the server's SYN+ACK".into());
    }
    if sent == 0 && got == 0 && t.how.is_close() {
        return Some("TCP connect and close without any data (a port probe or a load balancer's health check)".into());
    }
    let by_client = t.closed_by(Side::Client);
    let confirmed = matches!(c.phases.negotiation, Phase::Ok);
    if confirmed && by_client && c.phases.tls == Phase::NotReached && c.negotiation.security == Security::Tls {
        return Some("X.224 only: the client closed right after the Connection Confirm, without TLS".into());
    }
    let (cr, _) = app_records(c);
    if c.phases.tls == Phase::Ok && cr == 0 && by_client {
        let quick = c
            .tls
            .as_ref()
            .and_then(|tls| tls.handshake_done)
            .zip(t.at)
            .is_some_and(|(done, at)| at.ts.since(done.ts) < TOOL_REACTION_S);
        if quick {
            return Some(
                "TLS handshake, then the client closed at once without a CredSSP message (a certificate grabber or scanner)"
                    .into(),
            );
        }
    }
    None
}
