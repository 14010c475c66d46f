//! The report model: every fact the text, Markdown and HTML reports show, computed once from the
//! `Analysis` so the three formats say the same thing.
//!
//! Takes the finished `Analysis` and a `Redactor`; produces a `Report` of plain strings and
//! numbers: the case-level verdict (sentence, decisive evidence, fix, what would confirm or
//! rule it out, competing causes), the case header, the connection inventory, per-connection
//! details (see `attempt`), evidence gaps, input inventory, clock skew, events and warnings.
//! Every string taken from the analysis passes through the redactor here. Nothing is escaped
//! here: each renderer escapes for its own format. Does not read inputs or change the analysis.

use std::collections::{BTreeMap, BTreeSet};

use super::attempt::{self, Detail, Mark, Row};
use super::codes::{Code, client_codes};
use super::redact::Redactor;
use crate::analyze::{Analysis, Attempt};
use crate::connection::fmt_ts;
use crate::diagnose::Inputs;
use crate::diagnose::rules::{self, Answer};
use crate::events::catalog::{CLIENT, LSASRV, TypedEvent};
use crate::evidence::Origin;
use crate::vocab::{Cause, Severity, Stage, Transport};

/// Connections listed in the inventory; the rest are counted (the JSON report has them all).
pub const MAX_CONNECTIONS: usize = 200;
/// Connections shown in detail (ladder, codes, timeline).
pub const MAX_DETAILS: usize = 30;
/// Windows events listed in the appendix.
pub const MAX_EVENTS: usize = 100;
/// Warnings listed.
pub const MAX_WARNINGS: usize = 100;

/// Everything a report shows.
#[derive(Debug)]
pub struct Report {
    pub generated_at: String,
    pub version: &'static str,
    pub redacted: bool,
    pub verdict: VerdictView,
    pub case: Case,
    pub connections: Vec<ConnRow>,
    pub connections_omitted: usize,
    /// Per day, client and user (long cases only; `history`).
    pub history: Vec<super::history::HistoryRow>,
    pub details: Vec<Detail>,
    pub details_omitted: usize,
    /// Our own sentences with `command` spans (paths inside are redacted).
    pub gaps: Vec<String>,
    pub inputs: Vec<InputRow>,
    pub skipped_files: Vec<String>,
    /// Worker threads of the run (`-j`), when the caller said.
    pub threads: Option<usize>,
    pub skews: Vec<SkewRow>,
    pub events: Vec<EventRow>,
    pub events_omitted: usize,
    pub warnings: Vec<WarningRow>,
    pub warnings_omitted: usize,
}

/// The case-level verdict, ready to print first.
#[derive(Debug)]
pub struct VerdictView {
    pub cause: Cause,
    pub severity: Severity,
    pub confidence: f64,
    pub confidence_word: &'static str,
    /// One sentence: failing phase, cause and confidence.
    pub sentence: String,
    pub connection: Option<String>,
    pub client_code: String,
    pub client_codes: Vec<Code>,
    /// The 1–3 pieces of evidence that decide it, with exact pointers.
    pub decisive: Vec<Row>,
    /// Fix steps (our sentences, `command` spans).
    pub fix: Vec<String>,
    pub confirm: Vec<String>,
    pub against: Vec<String>,
    pub competing: Vec<Competitor>,
}

#[derive(Debug)]
pub struct Competitor {
    pub cause: Cause,
    pub confidence: f64,
    pub evidence: Vec<String>,
}

/// Case header: who, what, when.
#[derive(Debug, Default)]
pub struct Case {
    pub attempts: usize,
    pub tcp: usize,
    pub udp: usize,
    pub failed: usize,
    pub clients: Vec<String>,
    pub servers: Vec<String>,
    pub users: Vec<String>,
    pub first_failure: Option<String>,
    pub last_failure: Option<String>,
    /// Background outcomes (probes, other services on the port), counted with their sources;
    /// the connection list leaves them out.
    pub background: Vec<String>,
}

/// One row of the case table: label, value, and whether the value came from an input (and so
/// must be escaped by the renderer).
pub struct CaseRow {
    pub label: &'static str,
    pub value: String,
    pub from_input: bool,
}

impl Case {
    /// The case table in display order; each renderer only formats and escapes.
    pub fn rows(&self) -> Vec<CaseRow> {
        let row = |label, value, from_input| CaseRow { label, value, from_input };
        let users = if self.users.is_empty() { "not seen".to_string() } else { self.users.join("; ") };
        let mut rows = vec![
            row(
                "Attempts",
                format!(
                    "{} RDP connection attempt(s) ({} TCP, {} UDP), {} failed",
                    self.attempts, self.tcp, self.udp, self.failed
                ),
                false,
            ),
            row("Client(s)", self.clients.join("; "), true),
            row("Server(s)", self.servers.join("; "), true),
            row("User(s)", users, !self.users.is_empty()),
        ];
        if let Some(f) = &self.first_failure {
            rows.push(row("First failure", f.clone(), true));
        }
        if let Some(l) = &self.last_failure {
            rows.push(row("Last failure", l.clone(), true));
        }
        if !self.background.is_empty() {
            rows.push(row("Background", self.background.join("; "), true));
        }
        rows
    }
}

/// One line of the connection inventory.
#[derive(Debug, Clone)]
pub struct ConnRow {
    pub id: String,
    pub transport: Transport,
    pub client: String,
    pub server: String,
    pub start: String,
    pub duration_s: f64,
    pub user: Option<String>,
    pub failed_phase: Option<Stage>,
    /// The capture shows at least one phase (false for connections known from events only).
    pub captured: bool,
    pub cause: Option<Cause>,
    pub confidence: Option<f64>,
    pub severity: Option<Severity>,
    pub outcome: String,
}

#[derive(Debug)]
pub struct InputRow {
    pub path: String,
    pub kind: String,
    pub size: u64,
    pub sha256: String,
    pub first: Option<String>,
    pub last: Option<String>,
    pub records: u64,
    /// "packets" or "records".
    pub unit: &'static str,
    pub warnings: u64,
    /// Hosts that wrote an event log, or the RDP flows of a capture.
    pub about: String,
    pub skipped: Option<String>,
}

#[derive(Debug)]
pub struct SkewRow {
    pub source: String,
    pub offset_s: f64,
    pub confidence: &'static str,
    pub pairs: usize,
    pub spread_s: f64,
    pub anchor: String,
}

#[derive(Debug)]
pub struct EventRow {
    pub time: String,
    pub host: String,
    pub provider: String,
    pub event_id: u16,
    pub reference: String,
    pub summary: String,
}

#[derive(Debug)]
pub struct WarningRow {
    pub input: String,
    pub offset: u64,
    pub frame: Option<u64>,
    pub message: String,
}

impl ConnRow {
    /// The connection's state in a few words, and whether it is a failure.
    pub fn state(&self) -> (String, Mark) {
        match (self.failed_phase, self.severity, self.captured) {
            (Some(p), _, _) => (format!("✗ {p}"), Mark::Fail),
            (None, Some(Severity::Error), _) => ("✗ failed".into(), Mark::Fail),
            (None, _, false) => ("· not captured".into(), Mark::Other),
            (None, _, true) => ("✓ no phase failed".into(), Mark::Pass),
        }
    }
}

/// Our words for each cause (the rule's title).
pub fn cause_title(cause: Cause) -> &'static str {
    rules::title(cause)
}

pub fn confidence_word(c: f64) -> &'static str {
    if c >= 0.8 {
        "high"
    } else if c >= 0.5 {
        "medium"
    } else {
        "low"
    }
}

/// What kinds of input the case has, as `analyze` judges it.
pub fn have(a: &Analysis) -> Inputs {
    Inputs {
        capture: a.inputs.iter().any(|i| i.capture && i.skipped.is_none()),
        server_logs: a.events.iter().any(|e| e.provider != CLIENT && e.provider != LSASRV),
        client_logs: a.events.iter().any(|e| e.provider == CLIENT || e.provider == LSASRV),
    }
}

/// The events that connections' evidence points at (`System.evtx#4711`), found in one pass.
pub struct EventIndex<'a> {
    map: BTreeMap<(String, u64), &'a TypedEvent>,
}

/// The file name part of a path, borrowed.
fn base_name(path: &str) -> &str {
    std::path::Path::new(path).file_name().and_then(|f| f.to_str()).unwrap_or(path)
}

fn record_key(o: &Origin) -> Option<(&str, u64)> {
    match o {
        Origin::Record { file, record } => Some((file, *record)),
        Origin::Packet { .. } => None,
    }
}

impl<'a> EventIndex<'a> {
    pub fn new(a: &'a Analysis) -> EventIndex<'a> {
        let wanted: BTreeSet<(&str, u64)> = a.joined.iter().flatten().filter_map(|e| record_key(&e.origin)).collect();
        let mut map = BTreeMap::new();
        if !wanted.is_empty() {
            for e in &a.events {
                let key = (base_name(&e.input), e.record_id);
                if wanted.contains(&key) {
                    map.entry((key.0.to_string(), key.1)).or_insert(e);
                }
            }
        }
        EventIndex { map }
    }

    /// The event an evidence origin points at.
    pub fn get(&self, origin: &Origin) -> Option<&'a TypedEvent> {
        record_key(origin).and_then(|(f, r)| self.map.get(&(f.to_string(), r)).copied())
    }
}

/// Builds the report model.
pub fn build(a: &Analysis, r: &Redactor, generated_at: &str) -> Report {
    let index = EventIndex::new(a);
    // Full detail only for the connections the report shows in detail: the failing or degraded
    // ones (all of them when none is), at most MAX_DETAILS, and always the representative one.
    // A failed phase of a background outcome (a probe, another service) is not a failure.
    let interesting = |t: &Attempt| match t.verdict.map(|v| v.severity) {
        Some(Severity::Info) => t.conn.failed_phase.is_some() && !t.verdict.is_some_and(|v| v.cause.is_background()),
        Some(_) => true,
        None => t.conn.failed_phase.is_some(),
    };
    let n_interesting = a.attempts().filter(interesting).count();
    // With nothing failing, the healthy connections in detail; probes only when that is all.
    let foreground = |t: &Attempt| !t.verdict.is_some_and(|v| v.cause.is_background());
    let n_foreground = a.attempts().filter(foreground).count();
    let calm = |t: &Attempt| n_foreground == 0 || foreground(t);
    let total_details = if n_interesting > 0 { n_interesting } else { n_foreground.max(1).min(a.connections.len()) };
    let rep = a.diagnosis.as_ref().and_then(|d| d.connection.as_deref());
    let mut shown = 0;
    let details: Vec<Detail> = a
        .attempts()
        .filter(|t| {
            let pick = (if n_interesting == 0 { calm(t) } else { interesting(t) }) && shown < MAX_DETAILS;
            shown += usize::from(pick);
            pick || rep == Some(t.conn.id.as_str())
        })
        .map(|t| attempt::detail(a, &index, &t, r))
        .collect();
    // The representative connection first, then failures before degraded sessions.
    let rank = |d: &Detail| {
        let severity = match d.row.severity {
            Some(Severity::Error) => 1,
            _ if d.row.failed_phase.is_some() => 1,
            Some(Severity::Warning) => 2,
            _ => 3,
        };
        if rep == Some(d.row.id.as_str()) { 0 } else { severity }
    };
    let mut details = details;
    details.sort_by_key(|d| rank(d));
    let verdict = verdict(a, r, &details);
    let case = super::case::case(a, &index, r);
    // Probes and other services are counted in the case table ("Background"), not listed.
    let listed = a.attempts().filter(|t| !t.verdict.is_some_and(|v| v.cause.is_background()));
    let history = super::history::history(a, &index, r);
    let max = if history.is_empty() { MAX_CONNECTIONS } else { super::history::LISTED_WITH_HISTORY };
    let connections: Vec<ConnRow> = listed.take(max).map(|t| attempt::row(&t, r)).collect();
    let background = a.verdicts.iter().filter(|v| v.cause.is_background()).count();
    let events: Vec<EventRow> = a
        .events
        .iter()
        .take(MAX_EVENTS)
        .map(|e| EventRow {
            time: e.ts.rfc3339(7),
            host: r.text(&e.host),
            provider: crate::timeline::short_provider(&e.provider).to_string(),
            event_id: e.event_id,
            reference: r.text(&format!("{}#{}", file_name(&e.input), e.record_id)),
            summary: r.text(&e.summary),
        })
        .collect();
    Report {
        generated_at: generated_at.to_string(),
        version: env!("CARGO_PKG_VERSION"),
        redacted: r.is_on(),
        verdict,
        case,
        connections_omitted: a.connections.len().saturating_sub(connections.len() + background),
        history,
        connections,
        details_omitted: total_details.saturating_sub(details.len()),
        details,
        gaps: super::case::gaps(a, r),
        inputs: super::case::inputs(a, r),
        skipped_files: a.skipped_files.iter().map(|s| r.text(s)).collect(),
        threads: a.threads,
        skews: a
            .skews
            .iter()
            .map(|s| SkewRow {
                source: r.text(&s.source),
                offset_s: s.offset_seconds,
                confidence: s.confidence,
                pairs: s.pairs,
                spread_s: s.spread_seconds,
                anchor: r.text(&s.anchor),
            })
            .collect(),
        events_omitted: a.events.len().saturating_sub(events.len()),
        events,
        warnings: a
            .warnings
            .iter()
            .take(MAX_WARNINGS)
            .map(|w| WarningRow {
                input: r.text(&w.input),
                offset: w.offset,
                frame: w.frame,
                message: r.text(&w.message),
            })
            .collect(),
        warnings_omitted: a.warnings.len().saturating_sub(MAX_WARNINGS),
    }
}

pub fn file_name(path: &str) -> String {
    std::path::Path::new(path).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_else(|| path.into())
}

/// The signatures the cause's fix steps answer, each once, wire and event apart.
fn answers(fix: &[rules::Fix]) -> (Vec<&'static str>, Vec<&'static str>) {
    let (mut wire, mut event) = (Vec::new(), Vec::new());
    for a in fix.iter().flat_map(|f| f.answers) {
        let list = if matches!(a, Answer::Wire(_)) { &mut wire } else { &mut event };
        if !list.contains(&a.text()) {
            list.push(a.text());
        }
    }
    (wire, event)
}

fn verdict(a: &Analysis, r: &Redactor, details: &[Detail]) -> VerdictView {
    let d = a.diagnosis.as_ref();
    let rep_id = d.and_then(|d| d.connection.clone());
    let rep_attempt = rep_id.as_ref().and_then(|id| a.attempt_by_id(id));
    let rep = rep_attempt.map(|t| t.conn);
    let rep_detail = rep_id.as_ref().and_then(|id| details.iter().find(|x| &x.row.id == id));
    let v = rep_attempt.and_then(|t| t.verdict);
    let cause = d.map_or(Cause::Undetermined, |d| d.cause);
    let confidence = d.map_or(0.0, |d| d.confidence);
    let word = confidence_word(confidence);
    let severity = match (d, v) {
        (Some(d), _) if d.failed_attempts > 0 => Severity::Error,
        (_, Some(v)) => v.severity,
        _ => Severity::Info,
    };
    let phase = rep.and_then(|c| c.failed_phase);
    let have = have(a);
    let why = v.and_then(|v| v.evidence_for.first()).map(|s| r.text(s));
    let id = rep_id.clone().unwrap_or_default();
    let share = d.map(|d| format!("{} of {} failed attempt(s) share this cause", d.attempts, d.failed_attempts));
    let sentence = match (cause, severity) {
        (_, _) if a.connections.is_empty() => "No RDP connection attempt was found in the inputs.".to_string(),
        (Cause::None, _) => {
            format!("No connection failed: every attempt completed (confidence {confidence:.2}, {word}).")
        }
        (Cause::Probe | Cause::NotRdp, Severity::Info) => format!(
            "No RDP logon failed: {} ({}); confidence {confidence:.2} ({word}).",
            d.map(|d| r.text(&d.summary)).unwrap_or_default(),
            cause_title(cause)
        ),
        (Cause::Undetermined, _) => format!(
            "{} attempt(s) failed{} but the evidence does not name a cause (confidence {confidence:.2}, {word}); \
             see Evidence gaps for what to collect.",
            d.map_or(0, |d| d.failed_attempts),
            phase.map(|p| format!(" ({id} in the {} phase)", p.as_str().to_uppercase())).unwrap_or_default()
        ),
        (_, Severity::Error) => format!(
            "{id} failed{}, most likely from the {cause} cause ({}){}; confidence {confidence:.2} ({word}), {}.",
            match (phase, have.capture) {
                (Some(p), _) => format!(" in the {} phase", p.as_str().to_uppercase()),
                (None, false) => " (no capture shows in which phase)".to_string(),
                (None, true) => String::new(),
            },
            cause_title(cause),
            why.as_ref().map(|w| format!(": {w}")).unwrap_or_default(),
            share.unwrap_or_default()
        ),
        _ => format!(
            "No connection failed, but {id} is degraded by the {cause} cause ({}){}; confidence {confidence:.2} \
             ({word}).",
            cause_title(cause),
            why.as_ref().map(|w| format!(": {w}")).unwrap_or_default()
        ),
    };
    // When the failure is an attacker's storm, say so before anything else.
    let rep_index = rep_id.as_ref().and_then(|id| a.connections.iter().position(|c| &c.id == id));
    let storm = a.background.iter().find(|s| rep_index.is_some_and(|i| s.members.contains(&i)));
    let sentence = match storm {
        Some(s) => format!("Not a user's failure: {}. {sentence}", r.text(&s.sentence())),
        None => sentence,
    };
    let fix_steps = v.map_or(&[][..], |v| v.fix);
    let located = v.and_then(|v| v.located.as_deref()).map(|l| r.text(l));
    let fix: Vec<String> = located.into_iter().chain(fix_steps.iter().map(rules::Fix::sentence)).collect();
    let mut confirm = Vec::new();
    let (wire_sigs, event_sigs) = answers(fix_steps);
    let join = |v: &[&str]| v.join("; ");
    if !wire_sigs.is_empty() {
        let lead = if have.capture { "On the wire this cause shows as" } else { "A capture would show" };
        confirm.push(format!("{lead}: {}.", join(&wire_sigs)));
    }
    let events_for = v.is_some_and(|v| v.cited.is_some());
    if !matches!(cause, Cause::None | Cause::Undetermined) && !event_sigs.is_empty() {
        if events_for {
            confirm.push(format!(
                "Confirmed by the Windows events in the decisive evidence (this cause logs {}).",
                join(&event_sigs)
            ));
        } else {
            let when = rep.map(|c| format!(" around {}", fmt_ts(c.start))).unwrap_or_default();
            confirm.push(format!(
                "Not yet confirmed by a Windows event: it would be confirmed by {} in the event logs{when}; \
                 if those are absent, weigh the competing causes.",
                join(&event_sigs)
            ));
        }
    }
    let mut against: Vec<String> = v.map(|v| v.against.iter().map(|s| r.text(s)).collect()).unwrap_or_default();
    if let Some(dg) = d.filter(|d| d.failed_attempts > d.attempts && d.attempts > 0) {
        against.push(format!(
            "{} failed attempt(s) point to other causes (see the connection list)",
            dg.failed_attempts - dg.attempts
        ));
    }
    VerdictView {
        cause,
        severity,
        confidence,
        confidence_word: word,
        sentence,
        connection: rep_id,
        client_code: d.map(|d| d.client_code.text.to_string()).unwrap_or_default(),
        client_codes: d.map(|d| client_codes(d.client_code)).unwrap_or_default(),
        decisive: decisive(rep_detail, details, cause),
        fix,
        confirm,
        against,
        competing: v
            .map(|v| {
                v.competing
                    .iter()
                    .map(|c| Competitor {
                        cause: c.cause,
                        confidence: c.confidence,
                        evidence: c.evidence.iter().map(|s| r.text(s)).collect(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The decisive rows of the representative connection; when it has none (a TCP session whose
/// UDP side channel failed), those of the first connection with the same cause that has some.
fn decisive(rep: Option<&Detail>, details: &[Detail], cause: Cause) -> Vec<Row> {
    let key = |d: &Detail| d.timeline.iter().filter(|row| row.key).cloned().collect::<Vec<Row>>();
    let own = rep.map(key).unwrap_or_default();
    if !own.is_empty() {
        return own;
    }
    details.iter().filter(|d| d.row.cause == Some(cause)).map(key).find(|k| !k.is_empty()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_taken_from_fix_steps() {
        // The certificate rule's steps, as the JSON writes them (rules::Fix::sentence).
        let fix = rules::rule(Cause::Certificate).map_or(&[][..], |r| r.fix);
        let (wire, event) = answers(fix);
        assert_eq!(wire.first(), Some(&"server reset after the ClientHello"));
        assert_eq!(event[..2], ["Schannel 36870/36871", "RCM 1057/1058"]);
        assert!(
            fix[0]
                .sentence()
                .ends_with("(answers: server reset after the ClientHello; Schannel 36870/36871; RCM 1057/1058)")
        );
    }
}
