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
use super::model::{ConnRow, EventIndex, ip_of};
use super::redact::{REDACTED_TOKEN, Redactor};
use crate::analyze::Analysis;
use crate::connection::{Connection, Phase, fmt_ts};
use crate::events::catalog::{CLIENT, LSASRV, TypedEvent};

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
    /// `packet` or `event`.
    pub source: &'static str,
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

/// The lane of a packet evidence line, from who sent what it describes.
fn packet_lane(text: &str) -> Lane {
    const NETWORK: [&str; 3] = ["ICMP", "device on the path", "sent by a device"];
    const CLIENT_SENT: [&str; 6] = [
        "from the client",
        "X.224 Connection Request",
        "TLS ClientHello",
        "SYN sent",
        "client retransmitted",
        "SYN from",
    ];
    const SERVER_SENT: [&str; 6] = [
        "from the server",
        "X.224 Connection Confirm",
        "TLS ServerHello",
        "server certificate",
        "server retransmitted",
        "SYN+ACK",
    ];
    if NETWORK.iter().any(|k| text.contains(k)) {
        Lane::Network
    } else if SERVER_SENT.iter().any(|k| text.contains(k)) {
        Lane::Server
    } else if CLIENT_SENT.iter().any(|k| text.contains(k)) {
        Lane::Client
    } else {
        Lane::Network
    }
}

/// Packet evidence that marks each cause, most telling first (matched against evidence text).
fn cause_markers(cause: &str) -> &'static [&'static str] {
    match cause {
        "service-down" => &["RST from the server", "SYN from the client"],
        "firewall-block" => &["ICMP", "without an answer", "SYN from the client"],
        "security-negotiation" => &["RDP_NEG_FAILURE", "X.224 Connection Request"],
        "certificate" => &[
            "RDP_NEG_FAILURE",
            "EXPIRED",
            "TLS alert",
            "TLS ClientHello",
            "RST from the server",
            "FIN from the server",
        ],
        "tls-mismatch" => &["TLS alert", "TLS ClientHello"],
        "nla-auth" | "server-denied" | "licensing" => {
            &["RST from the server", "FIN from the server", "first encrypted record from the client"]
        }
        "mtu-blackhole" => &["ICMP", "retransmitted a segment"],
        "middlebox-reset" => &["TTL"],
        "network-loss" => &["retransmitted a segment", "RST from", "FIN from"],
        "udp-blocked" => &["RDP-UDP SYN from the client"],
        "none" => &["first encrypted record from the server", "SYN+ACK"],
        _ => &["RST from", "FIN from", "TLS alert", "RDP_NEG_FAILURE", "without an answer"],
    }
}

/// The `Provider id` an event evidence text starts with ("Schannel 36870 on HOST: …").
fn event_key(text: &str) -> &str {
    text.split(" on ").next().unwrap_or(text)
}

/// Marks the 1–3 rows that decide the verdict: events the verdict cites, then the packets that
/// carry the cause's signature.
fn mark_key(rows: &mut [Row], raw: &[(String, &'static str)], cause: &str, cited: &[String]) {
    let mut chosen: Vec<usize> = Vec::new();
    for (i, (text, source)) in raw.iter().enumerate() {
        if *source == "event" && chosen.len() < 2 && cited.iter().any(|c| c.starts_with(event_key(text))) {
            chosen.push(i);
        }
    }
    for marker in cause_markers(cause) {
        if chosen.len() >= 3 {
            break;
        }
        let hit =
            raw.iter().enumerate().find(|(i, (t, s))| *s == "packet" && t.contains(marker) && !chosen.contains(i));
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

/// The time (seconds from the start) of the first row whose text has one of `markers`, trying
/// the markers in order.
fn phase_time(raw: &[(String, &'static str)], rows: &[Row], markers: &[&str]) -> Option<f64> {
    markers
        .iter()
        .find_map(|m| raw.iter().position(|(t, s)| *s == "packet" && t.contains(m)))
        .and_then(|i| rows.get(i))
        .map(|r| r.offset_s)
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
pub fn row(c: &Connection, r: &Redactor) -> ConnRow {
    let v = c.verdict.as_ref();
    ConnRow {
        id: c.id.clone(),
        transport: c.transport,
        client: r.text(&c.client),
        server: r.text(&c.server),
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
pub fn detail(a: &Analysis, index: &EventIndex, c: &Connection, r: &Redactor) -> Detail {
    let digits = precision(a, &c.input);
    let v = c.verdict.as_ref();
    let mut rows = Vec::new();
    let mut raw: Vec<(String, &'static str)> = Vec::new();
    let mut joined: Vec<&TypedEvent> = Vec::new();
    for (i, e) in c.evidence.iter().enumerate() {
        let event = (e.source == "event").then(|| index.get(&e.reference)).flatten();
        let (lane, host) = match event {
            Some(ev) if ev.provider == CLIENT || ev.provider == LSASRV => (Lane::Client, ev.host.clone()),
            Some(ev) => (Lane::Server, ev.host.clone()),
            None if e.source == "event" => (Lane::Server, String::new()),
            None => match packet_lane(&e.text) {
                Lane::Client => (Lane::Client, ip_of(&c.client)),
                Lane::Server => (Lane::Server, ip_of(&c.server)),
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
            None if e.source == "event" => (e.reference.clone(), None, None),
            None => (format!("{} of {}", e.reference, super::model::file_name(&c.input)), None, None),
        };
        raw.push((e.text.clone(), e.source));
        rows.push(Row {
            conn: c.id.clone(),
            n: i + 1,
            time: e.time.rfc3339(digits),
            offset_s: e.time.since(c.start),
            lane,
            source: e.source,
            host: r.text(&host),
            reference: r.text(&e.reference),
            pointer: r.text(&pointer),
            text: r.text(&e.text),
            original,
            skew,
            key: false,
        });
    }
    if let Some(v) = v {
        mark_key(&mut rows, &raw, v.cause, &v.evidence_for);
    }
    let ladder = ladder(a, c, &raw, &rows);
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
    let codes = connection_codes(c, &joined)
        .into_iter()
        .map(|k| Code { what: r.text(&k.what), name: r.text(&k.name), meaning: r.text(&k.meaning), ..k })
        .collect();
    Detail {
        row: row(c, r),
        verdict_summary: v.map(|v| r.text(&v.summary)),
        client_code: v.map(|v| v.client_code.to_string()),
        ladder,
        facts,
        codes,
        timeline: rows,
        rows_omitted,
        notes: c.notes.iter().map(|n| r.text(n)).collect(),
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
    let mut keep: Vec<bool> = rows.iter().map(|r| r.source == "packet" || r.key).collect();
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

fn ladder(a: &Analysis, c: &Connection, raw: &[(String, &'static str)], rows: &[Row]) -> Vec<Rung> {
    let n = &c.negotiation;
    let tls = c.tls.as_ref();
    let mut out = Vec::new();
    for (phase, p) in c.phases.ladder() {
        if c.transport == "udp" && p == Phase::NotApplicable {
            continue;
        }
        let (at, detail) = match phase {
            "tcp" => {
                let at = phase_time(raw, rows, &["SYN+ACK", "RST from the server", "without an answer", "ICMP"]);
                let text = match p {
                    Phase::Ok => "SYN answered by SYN+ACK".to_string(),
                    Phase::Refused => "the server answered the SYN with RST".into(),
                    Phase::Unanswered => "the SYN was never answered".into(),
                    Phase::Unreachable => "an ICMP error answered the SYN".into(),
                    _ => String::new(),
                };
                (at, text)
            }
            "negotiation" => {
                let at = phase_time(raw, rows, &["X.224 Connection Confirm", "X.224 Connection Request"]);
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
            "tls" => {
                let markers: &[&str] = if p.is_failure() {
                    &["TLS alert", "RST from", "FIN from", "TLS ServerHello", "TLS ClientHello"]
                } else {
                    &["first encrypted record from the server", "TLS ServerHello", "TLS ClientHello"]
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
                (phase_time(raw, rows, markers), parts.join("; "))
            }
            "nla" => {
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
            "session" => {
                let text = match tls {
                    Some(t) if p == Phase::Ok || p == Phase::Failed => {
                        format!("the server sent {} bytes encrypted", t.server.encrypted_bytes)
                    }
                    _ => String::new(),
                };
                (None, text)
            }
            "udp" if c.transport == "udp" => (
                phase_time(raw, rows, &["RDP-UDP SYN+ACK", "RDP-UDP SYN from the client"]),
                c.udp
                    .as_ref()
                    .map(|u| format!("SYN sent {} time(s), {} datagram(s) back", u.syn_count, u.s2c_datagrams))
                    .unwrap_or_default(),
            ),
            _ => {
                // A TCP connection's UDP phase: the RDP-UDP attempt that belongs to it.
                let sibling = a.connections.iter().find(|u| {
                    u.transport == "udp"
                        && ip_of(&u.client) == ip_of(&c.client)
                        && u.server == c.server
                        && u.start >= c.start
                        && u.start <= c.end
                });
                (None, sibling.map(|u| format!("see {}", u.id)).unwrap_or_default())
            }
        };
        out.push(Rung { phase, state: p.name().to_string(), mark: mark(p), at, detail });
    }
    let t = &c.teardown;
    let (state, mark) = match t.how {
        "rst" | "fin" => {
            let bad = t.how == "rst" && (t.by == "server" || t.rst_ttl_mismatch);
            (format!("{} by the {}", t.how.to_uppercase(), t.by), if bad { Mark::Fail } else { Mark::Other })
        }
        "open" => ("still open at the end of the capture".to_string(), Mark::Other),
        _ if c.phases.tcp == Phase::NotObserved => ("not observed".to_string(), Mark::Other),
        _ => ("never established".to_string(), Mark::Other),
    };
    let detail = if t.rst_ttl_mismatch {
        "the RST's TTL does not match the sender's other packets: a device on the path sent it".to_string()
    } else {
        t.at.map(|at| format!("frame {}", at.frame)).unwrap_or_default()
    };
    if c.transport == "tcp" {
        out.push(Rung { phase: "teardown", state, mark, at: t.after_s, detail });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_follow_the_sender() {
        assert_eq!(packet_lane("SYN from the client"), Lane::Client);
        assert_eq!(packet_lane("SYN+ACK from the server after 0.001 s"), Lane::Server);
        assert_eq!(packet_lane("TLS ClientHello offering TLS 1.2"), Lane::Client);
        assert_eq!(packet_lane("server certificate CN=x"), Lane::Server);
        assert_eq!(packet_lane("ICMP frag-needed from 10.0.0.1"), Lane::Network);
        assert_eq!(
            packet_lane(
                "RST from the server 0.1 s after the first packet (TTL 250 while the server's other packets had TTL 128: sent by a device on the path?)"
            ),
            Lane::Network
        );
    }
}
