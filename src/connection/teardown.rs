//! How a TCP connection ended: who closed it, with FIN or RST, whether a RST's TTL fits its
//! sender, and what the last packets say (`Ending`: an orderly close, a Disconnect Provider
//! Ultimatum, a close_notify or an encrypted alert, an abort, a side that gave up after
//! retransmitting, an idle timeout, or the capture ending first).

use super::*;

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
    pub(super) fn none(how: CloseKind) -> Teardown {
        let ending = if how == CloseKind::Open { Ending::CaptureEnded } else { Ending::NotEstablished };
        Teardown { how, by: None, at: None, after_s: None, rst_ttl_mismatch: false, ending, ending_by: None }
    }

    /// Closed (FIN or RST) by `side`.
    pub fn closed_by(&self, side: Side) -> bool {
        self.how.is_close() && self.by == Some(side)
    }
}

pub(super) fn teardown(f: &TcpFlow) -> Teardown {
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
pub(super) fn ending(f: &TcpFlow, how: CloseKind, by: Side, at: At) -> (Ending, Option<Side>) {
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

pub(super) fn teardown_evidence(f: &TcpFlow, t: &Teardown) -> Option<Evidence> {
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
