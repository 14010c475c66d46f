//! Views of the case-level values beside `connections[]`: `inputs` (with each capture's flow
//! counters and each event log's counts), `clock_skew` and `background`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::Serialize;

use crate::analyze::InputSummary;
use crate::connection::fmt_ts;
use crate::correlate::ClockSkew;
use crate::events::LogStats;
use crate::flow::FlowStats;
use crate::noise::Storm;
use crate::vocab::Cause;

/// One input in the inventory (`inputs[]`).
#[derive(Serialize)]
pub struct InputOut<'a> {
    path: &'a str,
    kind: &'static str,
    format: &'a str,
    gzip: bool,
    size: u64,
    sha256: &'a str,
    records: u64,
    warnings: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flows: Option<FlowStatsOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    events: Option<LogStatsOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<&'a str>,
    /// The piece before this one in a capture read as one stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    continues: Option<&'a str>,
}

impl<'a> From<&'a InputSummary> for InputOut<'a> {
    fn from(i: &'a InputSummary) -> Self {
        InputOut {
            path: &i.path,
            kind: i.kind,
            format: &i.format,
            gzip: i.gzip,
            size: i.size,
            sha256: &i.sha256,
            records: i.records,
            warnings: i.warnings,
            first: i.first.as_deref(),
            last: i.last.as_deref(),
            flows: i.flows.as_ref().map(FlowStatsOut::from),
            events: i.events.as_ref().map(LogStatsOut::from),
            skipped: i.skipped.as_deref(),
            continues: i.continues.as_deref(),
        }
    }
}

/// A capture's flow counters (`flow::FlowStats`).
#[derive(Serialize)]
struct FlowStatsOut {
    ip_packets: u64,
    non_ip: u64,
    malformed: u64,
    ip_fragments: u64,
    tcp_flows: u64,
    rdp_tcp_flows: u64,
    rdp_udp_flows: u64,
    icmp_errors: u64,
    icmp_errors_unmatched: u64,
    untracked_flows: u64,
    unsupported_link_packets: u64,
}

impl From<&FlowStats> for FlowStatsOut {
    fn from(f: &FlowStats) -> Self {
        FlowStatsOut {
            ip_packets: f.ip_packets,
            non_ip: f.non_ip,
            malformed: f.malformed,
            ip_fragments: f.ip_fragments,
            tcp_flows: f.tcp_flows,
            rdp_tcp_flows: f.rdp_tcp_flows,
            rdp_udp_flows: f.rdp_udp_flows,
            icmp_errors: f.icmp_errors,
            icmp_errors_unmatched: f.icmp_errors_unmatched,
            untracked_flows: f.untracked_flows,
            unsupported_link_packets: f.unsupported_link_packets,
        }
    }
}

/// An event log's counts (`events::LogStats`).
#[derive(Serialize)]
struct LogStatsOut<'a> {
    records: u64,
    chunks: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last: Option<String>,
    /// Events per "provider/event id".
    per_event: &'a BTreeMap<String, u64>,
    computers: &'a [String],
}

impl<'a> From<&'a LogStats> for LogStatsOut<'a> {
    fn from(l: &'a LogStats) -> Self {
        LogStatsOut {
            records: l.records,
            chunks: l.chunks,
            first: l.first.map(fmt_ts),
            last: l.last.map(fmt_ts),
            per_event: &l.per_event,
            computers: &l.computers,
        }
    }
}

/// One log host's clock offset against the capture (`clock_skew[]`).
#[derive(Serialize)]
pub struct ClockSkewOut<'a> {
    source: &'a str,
    offset_seconds: f64,
    anchor: &'a str,
    confidence: &'static str,
    pairs: usize,
    spread_seconds: f64,
}

impl<'a> From<&'a ClockSkew> for ClockSkewOut<'a> {
    fn from(c: &'a ClockSkew) -> Self {
        ClockSkewOut {
            source: &c.source,
            offset_seconds: c.offset_seconds,
            anchor: &c.anchor,
            confidence: c.confidence,
            pairs: c.pairs,
            spread_seconds: c.spread_seconds,
        }
    }
}

/// One storm of failures kept apart from the diagnosis (`background[]`).
#[derive(Serialize)]
pub struct StormOut<'a> {
    kind: &'static str,
    /// `[cause, failures]` pairs, most first.
    causes: &'a [(Cause, usize)],
    failures: usize,
    sources: &'a BTreeSet<IpAddr>,
    first: String,
    last: String,
    succeeded: &'a [String],
}

impl<'a> From<&'a Storm> for StormOut<'a> {
    fn from(s: &'a Storm) -> Self {
        StormOut {
            kind: s.kind,
            causes: &s.causes,
            failures: s.failures,
            sources: &s.sources,
            first: fmt_ts(s.first),
            last: fmt_ts(s.last),
            succeeded: &s.succeeded,
        }
    }
}
