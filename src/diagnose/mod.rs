//! Diagnosis: from one connection's facts (packets, and the events joined to it) to a cause from
//! DESIGN.md's vocabulary, with a confidence, the client error code the pattern produces, the
//! evidence for and against, the fix and the observations; then the case-level verdict.
//!
//! `facts` computes the facts (code computes facts); `rules::RULES` states each cause over them,
//! one entry per cause; this module scores them. Packet evidence and event evidence each score
//! on their own; together they combine (1 − (1 − p)(1 − e)); strong evidence for another cause
//! in the same connection lowers the score and is shown. Phase consistency (DESIGN.md): a cause
//! explains a connection only where the connection ended; anomalies that did not end it become
//! `observations`. `case` picks the case's diagnosis. Nothing here reads a sentence.

mod case;
pub mod facts;
pub mod rules;

use serde::Serialize;

pub use case::{Diagnosis, case_level, case_with_noise, not_rdp};
pub use facts::{Facts, facts};
pub use rules::{RULES, Rule};

use crate::connection::Connection;
use crate::evidence::{Observation, Sig};
use crate::vocab::{Cause, Severity};

/// A cause considered for a connection, with its score and the evidence behind it.
#[derive(Clone, Debug, Serialize)]
pub struct Candidate {
    pub cause: Cause,
    pub confidence: f64,
    pub evidence: Vec<String>,
    /// The Windows event (provider, id) that supports it.
    #[serde(skip)]
    pub cited: Option<(String, u16)>,
}

/// The verdict on one connection (DESIGN.md JSON `connections[].verdict`).
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub cause: Cause,
    pub confidence: f64,
    /// `error`, `warning` (degraded, e.g. UDP fell back to TCP) or `info`.
    pub severity: Severity,
    pub summary: String,
    #[serde(serialize_with = "rules::ser_client_code")]
    pub client_code: &'static rules::ClientCode,
    /// The fix steps, each naming the evidence it answers.
    #[serde(serialize_with = "rules::ser_fix")]
    pub fix: &'static [rules::Fix],
    /// Evidence for the cause.
    #[serde(rename = "for")]
    pub evidence_for: Vec<String>,
    /// Evidence that points elsewhere.
    pub against: Vec<String>,
    /// The other causes considered, best first.
    pub competing: Vec<Candidate>,
    /// The first fix step when two capture points place the fault: where on the path to look.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub located: Option<String>,
    /// For `undetermined`: what to collect next, with the commands.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub collect: Vec<String>,
    /// The Windows event (provider, id) that supports the cause.
    #[serde(skip)]
    pub cited: Option<(String, u16)>,
}

impl Verdict {
    /// The rule behind the verdict (none for `undetermined`).
    pub fn rule(&self) -> Option<&'static Rule> {
        rules::rule(self.cause)
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Scores every rule on the facts and picks the cause.
pub fn diagnose(f: &Facts, have: &Inputs) -> Verdict {
    let mut cands: Vec<(usize, Candidate)> = Vec::new();
    for (i, r) in RULES.iter().enumerate() {
        let (p, e) = ((r.packets)(f), (r.events)(f));
        if p.is_none() && e.is_none() {
            continue;
        }
        let (ps, es) = (p.as_ref().map_or(0.0, |x| x.0), e.as_ref().map_or(0.0, |x| x.score));
        let confidence = 1.0 - (1.0 - ps) * (1.0 - es);
        let cited = e.as_ref().map(|x| x.event.clone());
        let evidence = p.map(|(_, why)| why).into_iter().chain(e.map(|x| x.why)).collect();
        cands.push((i, Candidate { cause: r.cause, confidence, evidence, cited }));
    }
    // Errors outrank warnings, warnings outrank info; then the score; then the order of RULES.
    cands.sort_by(|(ia, a), (ib, b)| {
        RULES[*ia].severity.cmp(&RULES[*ib].severity).then(b.confidence.total_cmp(&a.confidence)).then(ia.cmp(ib))
    });
    let Some((best_i, best)) = cands.first().cloned() else {
        return undetermined(f, have);
    };
    let rule = &RULES[best_i];
    let mut confidence = best.confidence;
    let mut against = Vec::new();
    for (i, other) in cands.iter().skip(1) {
        if RULES[*i].severity == Severity::Error && other.confidence >= 0.7 && rule.cause != Cause::None {
            confidence -= 0.15;
            against.push(format!("also fits {} ({:.2}): {}", other.cause, other.confidence, other.evidence.join("; ")));
        }
    }
    let background = rule.severity == Severity::Info;
    if !background && best.evidence.len() == 1 && f.has_packets && f.events.is_empty() {
        against.push("no Windows event confirms this: add the server's logs to raise confidence".into());
    }
    let summary = match rule.cause {
        Cause::None => "the connection worked".to_string(),
        cause => format!("{cause}: {}", best.evidence.first().cloned().unwrap_or_default()),
    };
    let located = rules::located_fix(rule.cause, f);
    Verdict {
        cause: rule.cause,
        confidence: round2(confidence.clamp(0.05, 0.99)),
        severity: rule.severity,
        summary,
        client_code: &rule.client_code,
        fix: rules::fix_steps(rule, located.is_some()),
        located,
        cited: best.cited,
        evidence_for: best.evidence,
        against,
        competing: cands
            .into_iter()
            .skip(1)
            .map(|(_, mut c)| {
                c.confidence = round2(c.confidence);
                c
            })
            .collect(),
        collect: Vec::new(),
    }
}

/// The anomalies of a connection that did not end it: a certificate the client accepted,
/// losses that recovered. They are observations, never its verdict.
pub fn observations(c: &Connection, f: &Facts) -> Vec<Observation> {
    let mut out = Vec::new();
    let at = |sig: Sig| c.evidence.iter().find(|e| sig.matches(e, None));
    if f.cert_expired && !f.ended_in_tls {
        let e = at(Sig::ExpiredCertificate);
        out.push(Observation {
            time: e.map_or(c.start, |e| e.time),
            origin: e.map(|e| e.origin.clone()),
            text: "the server's certificate was not valid on the connection date, but the connection went past TLS: \
                   the client accepted it"
                .into(),
        });
    }
    if f.planned_stops > 0 {
        out.push(Observation {
            time: c.start,
            origin: None,
            text: format!(
                "{} Remote Desktop Services stop(s) during a planned shutdown or restart of the host (User32 1074, \
                 EventLog 6006, Kernel-General 13): not service-down",
                f.planned_stops
            ),
        });
    }
    if f.retransmissions > 0 && !f.loss_unrecovered {
        let e = at(Sig::Retransmitted);
        out.push(Observation {
            time: e.map_or(c.start, |e| e.time),
            origin: e.map(|e| e.origin.clone()),
            text: format!(
                "{} segment(s) lost and sent again (spurious retransmissions not counted); every loss recovered and the \
                 connection went on",
                f.retransmissions
            ),
        });
    }
    out
}

/// What kinds of input the case has (for "what to collect next").
#[derive(Clone, Copy, Debug, Default)]
pub struct Inputs {
    pub capture: bool,
    pub server_logs: bool,
    pub client_logs: bool,
}

/// The commands that would collect what is missing.
pub fn collect_next(have: &Inputs) -> Vec<String> {
    let mut out = Vec::new();
    if !have.capture {
        out.push("a packet capture on the server while the client reproduces the failure: `pktmon start --capture --comp nics --pkt-size 0 -f rdp.etl`, reproduce, `pktmon stop` (or `netsh trace start capture=yes tracefile=rdp.etl`); rdplog reads the .etl as it is".into());
    }
    if !have.server_logs {
        out.push("the server's event logs: `wevtutil epl System System.evtx`, `wevtutil epl Security Security.evtx`, `wevtutil epl Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational RdpCoreTS.evtx`, `wevtutil epl Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational RCM.evtx`, `wevtutil epl Microsoft-Windows-TerminalServices-LocalSessionManager/Operational LSM.evtx`".into());
    }
    if !have.client_logs {
        out.push("the client's log: `wevtutil epl Microsoft-Windows-TerminalServices-RDPClient/Operational RDPClient.evtx` (its 1026 event has the disconnect code)".into());
    }
    if out.is_empty() {
        out.push("a capture taken on the other end of the path (client and server at the same time) to see which side drops the traffic".into());
    }
    out
}

fn undetermined(f: &Facts, have: &Inputs) -> Verdict {
    let summary = match (f.failed_phase, f.closed_by_server) {
        (Some(p), _) => format!("the {p} phase failed, but the evidence does not name a cause"),
        (None, true) => {
            "the server ended the connection; nothing in the evidence says whether that was a logoff or a failure"
                .into()
        }
        (None, false) => "the evidence does not name a cause".into(),
    };
    Verdict {
        cause: Cause::Undetermined,
        confidence: 0.2,
        // A failed phase is a failure; a session the server ended without explanation is a doubt;
        // a connection with nothing to go on (e.g. only a "connection accepted" event) is neither.
        severity: if f.failed_phase.is_some() {
            Severity::Error
        } else if f.closed_by_server {
            Severity::Warning
        } else {
            Severity::Info
        },
        summary,
        client_code: &rules::UNKNOWN,
        fix: &[],
        located: None,
        evidence_for: Vec::new(),
        against: Vec::new(),
        competing: Vec::new(),
        collect: collect_next(have),
        cited: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::{Phase, from_events};
    use crate::correlate::{Joined, JoinedBy};
    use crate::events::catalog::{SCHANNEL, SCM, TypedEvent};
    use crate::evidence::{Evidence, Kind};
    use crate::time::Ts;
    use crate::vocab::{Endpoint, Side, Stage};

    fn typed(provider: &str, id: u16, fields: &[(&str, &str)]) -> TypedEvent {
        crate::events::catalog::typed_for_test(provider, id, Ts(0), fields)
    }

    fn joined(n: usize) -> Vec<Joined> {
        (0..n).map(|event| Joined { event, by: JoinedBy::TimeWindow, ts: Ts(0) }).collect()
    }

    fn refused() -> Connection {
        let addr = |s: &str| Endpoint::Addr(s.parse().expect("address"));
        let mut c = from_events(addr("10.0.0.5:50001"), addr("10.0.0.9:3389"), Ts(0), Ts(1), String::new());
        c.phases.tcp = Phase::Refused;
        c.failed_phase = Some(Stage::Tcp);
        c.evidence.push(Evidence::packet(Ts(0), 1, Side::Client, Kind::Syn { sends: 1 }, "SYN".into()));
        c
    }

    const ALL: Inputs = Inputs { capture: true, server_logs: true, client_logs: true };

    #[test]
    fn packets_and_events_combine() {
        let c = refused();
        let v = diagnose(&facts(&c, &[], &[]), &ALL);
        assert_eq!((v.cause.as_str(), v.confidence), ("service-down", 0.6));
        assert!(v.against.iter().any(|a| a.contains("no Windows event")));
        let utf16: String =
            "TermService/1".encode_utf16().flat_map(u16::to_le_bytes).map(|b| format!("{b:02x}")).collect();
        let events =
            vec![typed(SCM, 7036, &[("param1", "Remote Desktop Services"), ("param2", "stopped"), ("Binary", &utf16)])];
        let v = diagnose(&facts(&c, &joined(1), &events), &ALL);
        // 1 − (1 − 0.6)(1 − 0.7) = 0.88
        assert_eq!((v.cause.as_str(), v.confidence), ("service-down", 0.88));
        assert_eq!(v.evidence_for.len(), 2);
    }

    #[test]
    fn strong_competing_evidence_lowers_confidence_and_is_shown() {
        let mut c = refused();
        c.phases.tcp = Phase::Ok;
        c.failed_phase = Some(Stage::Tls);
        let events =
            vec![typed(SCHANNEL, 36870, &[("Type", "server")]), typed(SCHANNEL, 36874, &[("Protocol", "TLS 1.0")])];
        let v = diagnose(&facts(&c, &joined(2), &events), &ALL);
        assert_eq!(v.cause.as_str(), "certificate");
        assert_eq!(v.confidence, 0.65); // 0.8 − 0.15 for the competing tls-mismatch evidence
        assert!(v.against.iter().any(|a| a.contains("tls-mismatch")));
        assert_eq!(v.competing.first().map(|c| c.cause.as_str()), Some("tls-mismatch"));
    }

    #[test]
    fn nothing_to_go_on_says_what_to_collect() {
        let mut c = refused();
        c.phases.tcp = Phase::Ok;
        c.failed_phase = Some(Stage::Session);
        let v = diagnose(&facts(&c, &[], &[]), &Inputs { capture: true, ..Default::default() });
        assert_eq!(v.cause.as_str(), "undetermined");
        assert!(v.collect.iter().any(|s| s.contains("wevtutil epl System")));
        assert!(v.collect.iter().any(|s| s.contains("RDPClient")));
        assert!(!v.collect.iter().any(|s| s.contains("pktmon")));
    }

    #[test]
    fn case_level_prefers_the_shared_failure_over_a_degraded_session() {
        let sev = |s: &str| [Severity::Error, Severity::Warning, Severity::Info].into_iter().find(|x| x.as_str() == s);
        let v = |cause: &str, conf, s: &str| Verdict {
            cause: Cause::parse(cause).expect("a cause"),
            confidence: conf,
            severity: sev(s).expect("a severity"),
            summary: cause.into(),
            client_code: &rules::UNKNOWN,
            fix: &[],
            located: None,
            evidence_for: vec![],
            against: vec![],
            competing: vec![],
            collect: vec![],
            cited: None,
        };
        let all = vec![
            ("C1".to_string(), v("none", 0.8, "info")),
            ("C2".to_string(), v("udp-blocked", 0.7, "warning")),
            ("C3".to_string(), v("certificate", 0.6, "error")),
            ("C4".to_string(), v("certificate", 0.9, "error")),
            ("C5".to_string(), v("network-loss", 0.95, "error")),
        ];
        let d = case_level(&all, &ALL);
        assert_eq!(
            (d.cause.as_str(), d.connection.as_deref(), d.attempts, d.failed_attempts),
            ("certificate", Some("C4"), 2, 3)
        );
        let healthy = case_level(&all[..2], &ALL);
        assert_eq!(healthy.cause.as_str(), "udp-blocked");
        assert_eq!(case_level(&all[..1], &ALL).cause.as_str(), "none");
    }

    /// Two capture points: the fix names the stretch between them only for a cause whose
    /// signature they place there (an ICMP error seen at one point for an MTU black hole).
    #[test]
    fn the_located_fix_names_the_stretch_between_the_points() {
        let path = crate::twopoint::PathFacts {
            client_point: "/cases/a/client.pcap".into(),
            server_point: "server.pcap".into(),
            icmp_only_at: Some(crate::twopoint::Point::Client),
            ..Default::default()
        };
        let f = Facts { path: Some(path), ..Default::default() };
        let fix = rules::located_fix(Cause::MtuBlackhole, &f).unwrap_or_default();
        assert!(
            fix.starts_with("Look between the client's capture point (client.pcap) and the server's (server.pcap)")
        );
        assert!(rules::located_fix(Cause::NetworkLoss, &f).is_none(), "no loss counted between the points");
        assert!(rules::located_fix(Cause::Certificate, &f).is_none());
        // Loss placed between the points: no step asks again for the captures already taken,
        // and the evidence the steps answer stays the same.
        let loss = rules::rule(Cause::NetworkLoss).expect("network-loss rule");
        let asks = |steps: &[rules::Fix]| steps.iter().any(|s| s.step.contains("capture at both ends"));
        assert!(asks(rules::fix_steps(loss, false)) && !asks(rules::fix_steps(loss, true)));
        let answered =
            |steps: &[rules::Fix]| steps.iter().flat_map(|s| s.answers.iter().map(|a| a.text())).collect::<Vec<_>>();
        assert_eq!(answered(rules::fix_steps(loss, false)), answered(rules::fix_steps(loss, true)));
    }

    /// A SYN scan: SYN, SYN+ACK, then the prober's own RST with another TTL than its raw SYN
    /// (ndpi_tcp_scan.pcapng shows scanners' raw SYNs with TTL 57 and window 1024). It is a
    /// probe (info), not a device on the path resetting the connection.
    #[test]
    fn a_syn_scan_is_a_probe_not_a_middlebox_reset() {
        let mut c = refused();
        c.phases.tcp = Phase::Ok;
        c.failed_phase = None;
        c.tcp = Some(crate::connection::TcpFacts::default());
        c.teardown = crate::connection::Teardown {
            how: crate::vocab::CloseKind::Rst,
            by: Some(Side::Client),
            at: Some(crate::flow::tcp::At { frame: 3, ts: Ts(1_000_000) }),
            after_s: Some(0.001),
            rst_ttl_mismatch: true,
            ending: crate::connection::Ending::Abort,
            ending_by: Some(Side::Client),
        };
        let v = diagnose(&facts(&c, &[], &[]), &ALL);
        assert_eq!((v.cause.as_str(), v.severity.as_str()), ("probe", "info"));
    }

    // Oracle: DESIGN.md "Phase consistency" (a verdict of health needs an orderly end or a
    // connection still open) and the two-points sample (7 client packets lost between the
    // points, the client gave up): completed phases do not make a connection that died of
    // unrecovered loss a healthy one, not even as a competing cause.
    #[test]
    fn unrecovered_loss_is_not_health() {
        let none = rules::rule(Cause::None).expect("rule");
        let mut f = Facts { session_ok: true, has_packets: true, ..Default::default() };
        assert!((none.packets)(&f).is_some());
        f.loss_unrecovered = true;
        assert!((none.packets)(&f).is_none());
    }
}
