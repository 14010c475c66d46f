//! One connection attempt as the report shows it: phase ladder with elapsed times and who closed
//! it, negotiation and TLS facts, decoded codes, and its merged packet + event timeline.
//!
//! Takes the `Analysis` and one `Connection`; produces a `Detail` of redacted, unescaped strings.
//! Timeline rows sit on three lanes (client, network, server) for the HTML swim-lane picture;
//! times are UTC at the capture's precision, and an event row also carries its own logged time
//! and the clock offset that was applied. The 1–3 rows that decide the verdict are marked `key`.
//! Does not diagnose: the lane, the phase times and the decisive rows are read from the
//! evidence the connection already has.

use super::codes::{Code, connection_codes};
use super::model::{ConnRow, EventIndex};
use super::redact::{REDACTED_TOKEN, Redactor};
use crate::analyze::{Analysis, Attempt};
use crate::connection::{Connection, Phase, fmt_ts};
use crate::diagnose::Verdict;
use crate::events::catalog::{CLIENT, LSASRV, TypedEvent};
use crate::evidence::{Evidence, Sig, Source};
use crate::vocab::{CloseKind, Side, Stage, Transport};

/// Which swim lane a timeline row belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    Client,
    Network,
    Server,
}

impl Lane {
    pub fn name(self) -> &'static str {
        match self {
            Lane::Client => "client",
            Lane::Network => "network",
            Lane::Server => "server",
        }
    }
}

/// One row of a connection's merged timeline.
#[derive(Clone, Debug)]
pub struct Row {
    /// The connection's id.
    pub conn: String,
    /// 1-based position in the connection's timeline.
    pub n: usize,
    /// UTC at the capture's precision (events: on the capture clock).
    pub time: String,
    /// Seconds since the connection's first packet.
    pub offset_s: f64,
    pub lane: Lane,
    pub source: Source,
    /// The sender's address, the logging host, or the device on the path.
    pub host: String,
    /// `frame 12` or `System.evtx#4711`.
    pub reference: String,
    /// The exact pointer in words: frame and file, or file, event id and record id.
    pub pointer: String,
    pub text: String,
    /// For events: the time the host logged, on its own clock.
    pub original: Option<String>,
    /// For events: the offset that was removed (host clock − capture clock) and its confidence.
    pub skew: Option<String>,
    /// Decides the verdict.
    pub key: bool,
}

/// Pass, fail or neither, for the ladder's marks and colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    Pass,
    Fail,
    Other,
}

/// One step of the phase ladder.
#[derive(Clone, Debug)]
pub struct Rung {
    /// A phase name, or `teardown`.
    pub phase: &'static str,
    pub state: String,
    pub mark: Mark,
    /// Seconds from the first packet to the moment the phase completed or failed.
    pub at: Option<f64>,
    pub detail: String,
}

/// A connection in detail.
#[derive(Clone, Debug)]
pub struct Detail {
    pub row: ConnRow,
    pub verdict_summary: Option<String>,
    pub client_code: Option<String>,
    pub ladder: Vec<Rung>,
    /// (label, value) facts: user, routing token, TLS, certificate.
    pub facts: Vec<(&'static str, String)>,
    pub codes: Vec<Code>,
    pub timeline: Vec<Row>,
    /// Timeline rows left out (the JSON report has every one).
    pub rows_omitted: usize,
    pub notes: Vec<String>,
    /// Fractional digits of the capture's clock (6 µs, 9 ns, 7 for event logs).
    pub precision: u8,
    /// The UTC date of the connection, for timelines that print times of day.
    pub date: String,
}

/// Fractional digits of an input's times, read from how the inventory prints its first time.
fn precision(a: &Analysis, input: &str) -> u8 {
    a.inputs
        .iter()
        .find(|i| i.path == input)
        .and_then(|i| i.first.as_deref())
        .and_then(|t| t.split_once('.'))
        .map(|(_, frac)| frac.trim_end_matches('Z').len().min(9) as u8)
        .unwrap_or(6)
}

/// The lane of a piece of evidence: who sent it, or the path.
fn lane(side: Side) -> Lane {
    match side {
        Side::Client => Lane::Client,
        Side::Server => Lane::Server,
        Side::Path => Lane::Network,
    }
}

/// Marks the 1–3 rows that decide the verdict: events the verdict's rule reads, then the
/// packets that carry the rule's signatures, most telling first.
fn mark_key(rows: &mut [Row], ev: &[&Evidence], v: &Verdict) {
    let mut chosen: Vec<usize> = Vec::new();
    let rule = v.rule();
    if let Some((provider, id)) = &v.cited {
        for (i, e) in ev.iter().enumerate() {
            if chosen.len() < 2 && e.event() == Some((provider.as_str(), *id)) {
                chosen.push(i);
            }
        }
    }
    let decisive: &[(Sig, Option<Side>)] = rule.map_or(UNDETERMINED, |r| r.decisive);
    for (sig, side) in decisive {
        if chosen.len() >= 3 {
            break;
        }
        let hit =
            ev.iter().enumerate().find(|(i, e)| e.origin.is_packet() && sig.matches(e, *side) && !chosen.contains(i));
        if let Some((i, _)) = hit {
            chosen.push(i);
        }
    }
    for i in chosen {
        if let Some(r) = rows.get_mut(i) {
            r.key = true;
        }
    }
}

/// Packet signatures of a failure the rules could not name, most telling first.
const UNDETERMINED: &[(Sig, Option<Side>)] = &[
    (Sig::Close, None),
    (Sig::TlsAlert, None),
    (Sig::NegFailure, None),
    (Sig::NotX224, None),
    (Sig::SynUnanswered, None),
];

/// The time (seconds from the start) of the first packet row with one of `sigs`, tried in order.
fn phase_time(ev: &[&Evidence], rows: &[Row], sigs: &[(Sig, Option<Side>)]) -> Option<f64> {
    sigs.iter()
        .find_map(|(sig, side)| ev.iter().position(|e| e.origin.is_packet() && sig.matches(e, *side)))
        .and_then(|i| rows.get(i))
        .map(|r| r.offset_s)
}

/// How the connection ended, in words, when it says more than FIN or RST.
fn ending_words(t: &crate::connection::Teardown) -> Option<String> {
    use crate::connection::Ending;
    let by = t.ending_by.map(|s| s.as_str()).unwrap_or("a side");
    Some(match t.ending {
        Ending::DisconnectUltimatum => {
            format!("the {by} sent a T.125 Disconnect Provider Ultimatum (logoff or disconnect)")
        }
        Ending::CloseNotify => format!("the {by} sent a TLS close_notify"),
        Ending::EncryptedAlert => format!("the {by} sent an encrypted TLS alert, then the connection closed"),
        Ending::GaveUp => format!("the {by}'s data was retransmitted and never acknowledged"),
        Ending::IdleTimeout => "closed after sitting idle without an X.224 request".into(),
        Ending::Abort => format!("the {by} aborted the connection"),
        Ending::Orderly | Ending::CaptureEnded | Ending::NotEstablished => return None,
    })
}

fn mark(p: Phase) -> Mark {
    if p.is_failure() {
        Mark::Fail
    } else if p == Phase::Ok {
        Mark::Pass
    } else {
        Mark::Other
    }
}

/// The inventory line of a connection.
pub fn row(t: &Attempt, r: &Redactor) -> ConnRow {
    let (c, v) = (t.conn, t.verdict);
    ConnRow {
        id: c.id.clone(),
        transport: c.transport,
        client: r.text(&c.client.to_string()),
        server: r.text(&c.server.to_string()),
        start: fmt_ts(c.start),
        duration_s: c.end.since(c.start),
        user: c.negotiation.cookie.as_ref().map(|u| r.text(u)),
        failed_phase: c.failed_phase,
        captured: c.phases.ladder().iter().any(|(_, p)| *p != Phase::NotObserved),
        cause: v.map(|v| v.cause),
        confidence: v.map(|v| v.confidence),
        severity: v.map(|v| v.severity),
        outcome: r.text(&c.outcome),
    }
}

/// Builds the detail of one connection.
pub fn detail(a: &Analysis, index: &EventIndex, t: &Attempt, r: &Redactor) -> Detail {
    let (c, v) = (t.conn, t.verdict);
    let digits = precision(a, &c.input);
    let evidence = t.evidence();
    let mut rows = Vec::new();
    let mut joined: Vec<&TypedEvent> = Vec::new();
    for (i, e) in evidence.iter().enumerate() {
        let event = index.get(&e.origin);
        let (lane, host) = match event {
            Some(ev) if ev.provider == CLIENT || ev.provider == LSASRV => (Lane::Client, ev.host.clone()),
            Some(ev) => (Lane::Server, ev.host.clone()),
            None if !e.origin.is_packet() => (Lane::Server, String::new()),
            None => match lane(e.side) {
                Lane::Client => (Lane::Client, c.client.host()),
                Lane::Server => (Lane::Server, c.server.host()),
                Lane::Network => (Lane::Network, "path".to_string()),
            },
        };
        let (pointer, original, skew) = match event {
            Some(ev) => {
                joined.push(ev);
                let off = ev.ts.since(e.time);
                let conf = a.skews.iter().find(|s| s.source == ev.host).map(|s| s.confidence).unwrap_or("no");
                (
                    format!(
                        "{} record {}, {} event {}",
                        super::model::file_name(&ev.input),
                        ev.record_id,
                        crate::timeline::short_provider(&ev.provider),
                        ev.event_id
                    ),
                    Some(ev.ts.rfc3339(7)),
                    Some(format!("{off:+.3} s ({conf} confidence)")),
                )
            }
            None if e.origin.names_file() => (e.origin.reference(), None, None),
            None => (format!("{} of {}", e.origin.reference(), super::model::file_name(&c.input)), None, None),
        };
        rows.push(Row {
            conn: c.id.clone(),
            n: i + 1,
            time: e.time.rfc3339(digits),
            offset_s: e.time.since(c.start),
            lane,
            source: e.origin.source(),
            host: r.text(&host),
            reference: r.text(&e.origin.reference()),
            pointer: r.text(&pointer),
            text: r.text(&e.text),
            original,
            skew,
            key: false,
        });
    }
    if let Some(v) = v {
        mark_key(&mut rows, &evidence, v);
    }
    let ladder = ladder(a, c, &evidence, &rows);
    let rows_omitted = trim(&mut rows, c);
    let mut facts: Vec<(&'static str, String)> = Vec::new();
    if let Some(u) = &c.negotiation.cookie {
        facts.push(("user (mstshash cookie)", r.text(u)));
    }
    if let Some(t) = &c.negotiation.routing_token {
        facts.push(("routing token", if r.is_on() { REDACTED_TOKEN.to_string() } else { t.clone() }));
    }
    if let Some(t) = &c.tls {
        if let Some(sni) = &t.sni {
            facts.push(("TLS server name (SNI)", r.text(sni)));
        }
        for cert in t.server.certificates.iter().take(1) {
            let text = match &cert.error {
                Some(e) => format!("unreadable: {e}"),
                None => format!(
                    "{} issued by {}, {}, valid {} to {}{}",
                    cert.subject,
                    cert.issuer,
                    if cert.self_signed { "self-signed" } else { "CA-issued" },
                    crate::time::Ts(cert.not_before.saturating_mul(1_000_000_000)).rfc3339(0),
                    crate::time::Ts(cert.not_after.saturating_mul(1_000_000_000)).rfc3339(0),
                    if t.certificate_expired { ": EXPIRED or not yet valid at connection time" } else { "" }
                ),
            };
            facts.push(("server certificate", r.text(&text)));
        }
    }
    for v in &c.views {
        facts.push(("seen at a capture point", r.text(&view_line(v))));
    }
    if let Some(other) = &c.other_leg {
        let text = format!(
            "{other}: the same session through a NAT or load balancer (the same packets and bytes both ways, at the same times)"
        );
        facts.push(("other leg", r.text(&text)));
    }
    let codes = connection_codes(c, &joined)
        .into_iter()
        .map(|k| Code { what: r.text(&k.what), name: r.text(&k.name), meaning: r.text(&k.meaning), ..k })
        .collect();
    let mut notes: Vec<String> = c.notes.iter().map(|n| r.text(n)).collect();
    notes.extend(t.observations.iter().map(|o| r.text(&format!("observed: {}", o.text))));
    Detail {
        row: row(t, r),
        verdict_summary: v.map(|v| r.text(&v.summary)),
        client_code: v.map(|v| v.client_code.text.to_string()),
        ladder,
        facts,
        codes,
        timeline: rows,
        rows_omitted,
        notes,
        precision: digits,
        date: c.start.rfc3339(0).get(..10).unwrap_or("").to_string(),
    }
}

/// Timeline rows shown per connection.
pub const MAX_ROWS: usize = 150;

/// Keeps a long timeline readable: every packet row and decisive row, then the events nearest
/// to where the connection ended, up to `MAX_ROWS`; rows are renumbered. Returns how many
/// rows were left out.
fn trim(rows: &mut Vec<Row>, c: &Connection) -> usize {
    if rows.len() <= MAX_ROWS {
        return 0;
    }
    let focus = c.teardown.at.map(|at| at.ts).unwrap_or(c.end).since(c.start);
    let mut keep: Vec<bool> = rows.iter().map(|r| r.source == Source::Packet || r.key).collect();
    let mut others: Vec<(f64, usize)> =
        rows.iter().enumerate().filter(|(i, _)| !keep[*i]).map(|(i, r)| ((r.offset_s - focus).abs(), i)).collect();
    others.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut room = MAX_ROWS.saturating_sub(keep.iter().filter(|k| **k).count());
    for (_, i) in others {
        if room == 0 {
            break;
        }
        keep[i] = true;
        room -= 1;
    }
    let before = rows.len();
    let mut flags = keep.into_iter();
    rows.retain(|_| flags.next().unwrap_or(false));
    for (i, r) in rows.iter_mut().enumerate() {
        r.n = i + 1;
    }
    before - rows.len()
}

fn ladder(a: &Analysis, c: &Connection, ev: &[&Evidence], rows: &[Row]) -> Vec<Rung> {
    let n = &c.negotiation;
    let tls = c.tls.as_ref();
    let mut out = Vec::new();
    for (phase, p) in c.phases.ladder() {
        if c.transport == Transport::Udp && p == Phase::NotApplicable {
            continue;
        }
        let (at, detail) = match phase {
            Stage::Tcp => {
                let sigs =
                    [(Sig::SynAck, None), (Sig::SynRefused, None), (Sig::SynUnanswered, None), (Sig::Icmp, None)];
                let at = phase_time(ev, rows, &sigs);
                let text = match p {
                    Phase::Ok => "SYN answered by SYN+ACK".to_string(),
                    Phase::Refused => "the server answered the SYN with RST".into(),
                    Phase::Unanswered => "the SYN was never answered".into(),
                    Phase::Unreachable => "an ICMP error answered the SYN".into(),
                    _ => String::new(),
                };
                (at, text)
            }
            Stage::Negotiation => {
                let sigs =
                    [(Sig::X224Confirm, None), (Sig::NegFailure, None), (Sig::NotX224, None), (Sig::X224Request, None)];
                let at = phase_time(ev, rows, &sigs);
                let mut parts = Vec::new();
                if let (Some(s), Some(v)) = (&n.requested, n.requested_protocols) {
                    parts.push(format!("requested {s} (0x{v:X})"));
                }
                if let (Some(s), Some(v)) = (&n.selected, n.selected_protocol) {
                    parts.push(format!("selected {s} (0x{v:X})"));
                }
                if let (Some(f), Some(v)) = (&n.failure, n.failure_code) {
                    parts.push(format!("RDP_NEG_FAILURE {f} (0x{v:X} = {v})"));
                }
                (at, parts.join(", "))
            }
            Stage::Tls => {
                let markers: &[(Sig, Option<Side>)] = if p.is_failure() {
                    &[(Sig::TlsAlert, None), (Sig::Close, None), (Sig::ServerHello, None), (Sig::ClientHello, None)]
                } else {
                    &[(Sig::FirstEncrypted, Some(Side::Server)), (Sig::ServerHello, None), (Sig::ClientHello, None)]
                };
                let mut parts = Vec::new();
                if let Some(t) = tls {
                    if let Some(v) = &t.version {
                        parts.push(format!("{v}, {}", t.cipher_suite.as_deref().unwrap_or("unknown suite")));
                    } else if t.client.client_hello.is_some() {
                        parts.push("ClientHello sent, no ServerHello".into());
                    }
                    for al in t.alerts.iter().filter(|al| !al.alert.encrypted) {
                        let d = al.alert.description;
                        parts.push(format!(
                            "alert {} ({d} = 0x{d:X}) from the {}",
                            crate::rdp::codes::TlsAlert(d),
                            al.sender
                        ));
                    }
                }
                (phase_time(ev, rows, markers), parts.join("; "))
            }
            Stage::Nla => {
                let text = match tls {
                    Some(t) if matches!(p, Phase::Ok | Phase::Failed | Phase::Abandoned | Phase::Incomplete) => {
                        let app = |s: &crate::rdp::tls::TlsSummary| {
                            s.encrypted_records.saturating_sub(s.change_cipher_spec as u32)
                        };
                        format!(
                            "CredSSP: {} record(s) from the client, {} from the server",
                            app(&t.client),
                            app(&t.server)
                        )
                    }
                    _ => String::new(),
                };
                (None, text)
            }
            Stage::Session => {
                let text = match tls {
                    Some(t) if p == Phase::Ok || p == Phase::Failed => {
                        format!("the server sent {} bytes encrypted", t.server.encrypted_bytes)
                    }
                    _ => String::new(),
                };
                (None, text)
            }
            Stage::Udp if c.transport == Transport::Udp => (
                phase_time(ev, rows, &[(Sig::RdpUdpSynAck, None), (Sig::RdpUdpSyn, None)]),
                c.udp
                    .as_ref()
                    .map(|u| format!("SYN sent {} time(s), {} datagram(s) back", u.syn_count, u.s2c_datagrams))
                    .unwrap_or_default(),
            ),
            Stage::Udp => {
                // A TCP connection's UDP phase: the RDP-UDP attempt that belongs to it.
                let sibling = a.connections.iter().find(|u| {
                    u.transport == Transport::Udp
                        && u.client.host() == c.client.host()
                        && u.server == c.server
                        && u.start >= c.start
                        && u.start <= c.end
                });
                (None, sibling.map(|u| format!("see {}", u.id)).unwrap_or_default())
            }
        };
        out.push(Rung { phase: phase.as_str(), state: p.name().to_string(), mark: mark(p), at, detail });
    }
    let t = &c.teardown;
    let (state, mark) = match (t.how, t.by) {
        (CloseKind::Rst | CloseKind::Fin, Some(by)) => {
            let bad = t.how == CloseKind::Rst && (by == Side::Server || t.rst_ttl_mismatch);
            let how = t.how.as_str().to_uppercase();
            (format!("{how} by the {by}"), if bad { Mark::Fail } else { Mark::Other })
        }
        (CloseKind::Open, _) => ("still open at the end of the capture".to_string(), Mark::Other),
        _ if c.phases.tcp == Phase::NotObserved => ("not observed".to_string(), Mark::Other),
        _ => ("never established".to_string(), Mark::Other),
    };
    let detail = if t.rst_ttl_mismatch {
        "the RST's TTL does not match the sender's other packets: a device on the path sent it".to_string()
    } else {
        let frame = t.at.map(|at| c.frames.origin(at.frame).reference()).unwrap_or_default();
        match ending_words(t) {
            Some(w) if frame.is_empty() => w,
            Some(w) => format!("{w}; {frame}"),
            None => frame,
        }
    };
    if c.transport == Transport::Tcp {
        out.push(Rung { phase: "teardown", state, mark, at: t.after_s, detail });
    }
    out
}

/// One capture point's view in a line: "client's point client.pcap: 10.0.0.5:50001 → ...;
/// client→server 12 packets (5 retransmitted, 0 RST), server→client 9 (0, 1 RST); clock +2.500 s".
fn view_line(v: &crate::twopoint::View) -> String {
    let dir = |d: &crate::twopoint::DirView| {
        format!("{} packets ({} retransmitted, {} SYN, {} RST)", d.packets, d.retransmissions, d.syns, d.rsts)
    };
    let clock = match v.offset_ns {
        0 => String::new(),
        ns => format!("; its clock {:+.3} s from the client point's", ns as f64 / 1e9),
    };
    format!(
        "{}'s point {}: {} → {}; client→server {}, server→client {}{}{clock}",
        v.point.as_str(),
        v.input,
        v.client,
        v.server,
        dir(&v.client_to_server),
        dir(&v.server_to_client),
        if v.icmp > 0 { format!(", {} ICMP error(s)", v.icmp) } else { String::new() },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_follow_the_sender() {
        assert_eq!(lane(Side::Client), Lane::Client);
        assert_eq!(lane(Side::Server), Lane::Server);
        // ICMP errors and RSTs whose TTL does not fit their sender come from the path.
        assert_eq!(lane(Side::Path), Lane::Network);
    }
}
