//! The JSON report (DESIGN.md "JSON report contract", schema_version 1).
//!
//! Takes the `Analysis`; produces one pretty-printed JSON document. Field names are a public
//! contract: add fields freely, never rename or remove them without bumping `schema_version`.
//! `events` lists the catalogued Windows events; each connection carries its `verdict`, and
//! `diagnosis` is the case-level one. Added here: `generated_at` and `threads` (the only
//! values that change between runs of the same inputs) and `redacted`. Under `--redact` every string value is pseudonymised.

use std::io::Write;

use serde::Serialize;

use super::redact::Redactor;
use super::schema::{
    ClockSkewOut, InputOut, NegotiationOut, PathOut, PhasesOut, StormOut, TcpOut, TeardownOut, TlsOut, UdpOut, ViewOut,
    rdp_by_name,
};
use crate::analyze::{Analysis, Attempt};
use crate::connection::fmt_ts;
use crate::diagnose::Verdict;
use crate::error::Warning;
use crate::evidence::{Evidence, Observation};
use crate::vocab::{Endpoint, Stage, Transport};

/// One connection as the contract writes it (DESIGN.md `connections[]`): the field list and
/// order are the report's; the values come from the connection record, the correlation
/// (joined events, merged into `evidence`) and the diagnosis (`verdict`, `observations`).
#[derive(Serialize)]
struct ConnectionOut<'a> {
    id: &'a str,
    client: &'a Endpoint,
    server: &'a Endpoint,
    transport: Transport,
    start: String,
    end: String,
    input: &'a str,
    phases: PhasesOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    failed_phase: Option<Stage>,
    outcome: &'a str,
    teardown: TeardownOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    rdp_by: Option<&'static str>,
    mid_stream: bool,
    negotiation: NegotiationOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcp: Option<TcpOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<TlsOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    udp: Option<UdpOut>,
    /// What each capture point saw, when two saw the connection.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    views: Vec<ViewOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<PathOut<'a>>,
    /// The same session's other leg through a NAT or load balancer, in the same capture.
    #[serde(skip_serializing_if = "Option::is_none")]
    other_leg: Option<&'a str>,
    evidence: Vec<&'a Evidence>,
    notes: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    verdict: Option<&'a Verdict>,
    observations: &'a [Observation],
}

impl<'a> From<Attempt<'a>> for ConnectionOut<'a> {
    fn from(t: Attempt<'a>) -> Self {
        let c = t.conn;
        ConnectionOut {
            id: &c.id,
            client: &c.client,
            server: &c.server,
            transport: c.transport,
            start: fmt_ts(c.start),
            end: fmt_ts(c.end),
            input: &c.input,
            phases: PhasesOut::from(&c.phases),
            failed_phase: c.failed_phase,
            outcome: &c.outcome,
            teardown: TeardownOut::new(&c.teardown, &c.frames),
            rdp_by: c.rdp_by.map(rdp_by_name),
            mid_stream: c.mid_stream,
            negotiation: NegotiationOut::from(&c.negotiation),
            tcp: c.tcp.as_ref().map(|t| TcpOut::new(t, &c.frames)),
            tls: c.tls.as_ref().map(|t| TlsOut::new(t, &c.frames)),
            udp: c.udp.as_ref().map(|u| UdpOut::new(u, &c.frames)),
            views: c.views.iter().map(ViewOut::from).collect(),
            path: c.path.as_ref().map(PathOut::from),
            other_leg: c.other_leg.as_deref(),
            evidence: t.evidence(),
            notes: &c.notes,
            verdict: t.verdict,
            observations: t.observations,
        }
    }
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Report<'a> {
    schema_version: u32,
    tool: Tool,
    #[serde(skip_serializing_if = "Option::is_none")]
    generated_at: Option<&'a str>,
    /// Worker threads of the run (`-j`), like `generated_at` a fact about the run, not the case.
    #[serde(skip_serializing_if = "Option::is_none")]
    threads: Option<usize>,
    redacted: bool,
    inputs: Vec<InputOut<'a>>,
    clock_skew: Vec<ClockSkewOut<'a>>,
    diagnosis: &'a Option<crate::diagnose::Diagnosis>,
    /// Password guessing kept apart from the diagnosis (added to schema_version 1).
    background: Vec<StormOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    other_logons: &'a Option<crate::noise::OtherLogons>,
    connections: Vec<ConnectionOut<'a>>,
    events: &'a [crate::events::catalog::TypedEvent],
    warnings: &'a [Warning],
    skipped_files: &'a [String],
}

fn report<'a>(a: &'a Analysis, generated_at: Option<&'a str>) -> Report<'a> {
    Report {
        schema_version: 1,
        tool: Tool { name: "rdplog", version: env!("CARGO_PKG_VERSION") },
        generated_at,
        threads: a.threads,
        redacted: false,
        inputs: a.inputs.iter().map(InputOut::from).collect(),
        clock_skew: a.skews.iter().map(ClockSkewOut::from).collect(),
        diagnosis: &a.diagnosis,
        background: a.background.iter().map(StormOut::from).collect(),
        other_logons: &a.other_logons,
        connections: a.attempts().map(ConnectionOut::from).collect(),
        events: &a.events,
        warnings: &a.warnings,
        skipped_files: &a.skipped_files,
    }
}

/// The report as a JSON value, before redaction. Key order is kept (serde_json's
/// `preserve_order`, which the evtx dependency switches on).
fn report_value(a: &Analysis, generated_at: Option<&str>) -> serde_json::Value {
    serde_json::to_value(report(a, generated_at)).unwrap_or(serde_json::Value::Null)
}

pub fn render(a: &Analysis, generated_at: &str, redactor: &Redactor, out: &mut dyn Write) -> std::io::Result<()> {
    if redactor.is_on() {
        let mut doc = report_value(a, Some(generated_at));
        redactor.json(&mut doc);
        if let Some(flag) = doc.get_mut("redacted") {
            *flag = serde_json::Value::Bool(true);
        }
        serde_json::to_writer_pretty(&mut *out, &doc)?;
    } else {
        serde_json::to_writer_pretty(&mut *out, &report(a, Some(generated_at)))?;
    }
    writeln!(out)
}
