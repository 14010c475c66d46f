//! Wires the pipeline for `rdplog analyze`: inputs in, one `Analysis` out.
//!
//! One rayon task per input file (a capture is one sequential stream); within a file the
//! SHA-256 for the inventory is computed alongside the parse. Results are merged and sorted so
//! that the output does not depend on the order the inputs were given in.

use std::io::Read;

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::connection::{self, Connection, fmt_ts};
use crate::error::{Error, Result, Warning, WarningSink};
use crate::flow::{FlowStats, FlowTable};
use crate::input::pcap::{CaptureStats, read_packets};
use crate::input::{self, Input, Kind};

/// One input in the inventory (DESIGN.md JSON contract `inputs[]`).
#[derive(Clone, Debug, Serialize)]
pub struct InputSummary {
    pub path: String,
    pub kind: &'static str,
    /// Detailed format, e.g. "pcap (nanosecond)".
    pub format: String,
    pub gzip: bool,
    pub size: u64,
    pub sha256: String,
    /// Packets (captures) or records (event logs).
    pub records: u64,
    pub warnings: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flows: Option<FlowStats>,
    /// Set when the input was recognised but not analysed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// What one input yields: its inventory line, its connections and its warnings.
type PerInput = (InputSummary, Vec<Connection>, Vec<Warning>);

/// Everything `analyze` found, ready for a renderer.
#[derive(Debug, Default)]
pub struct Analysis {
    pub inputs: Vec<InputSummary>,
    pub connections: Vec<Connection>,
    pub warnings: Vec<Warning>,
    /// Files inside input directories that were not usable.
    pub skipped_files: Vec<String>,
}

/// Analyses every input in parallel and merges the results deterministically.
pub fn analyze(inputs: &[Input]) -> Result<Analysis> {
    let results: Vec<Result<PerInput>> = inputs.par_iter().map(analyze_one).collect();
    let mut out = Analysis::default();
    for r in results {
        let (summary, conns, warnings) = r?;
        out.inputs.push(summary);
        out.connections.extend(conns);
        out.warnings.extend(warnings);
    }
    out.inputs.sort_by(|a, b| a.path.cmp(&b.path));
    out.connections
        .sort_by(|a, b| (a.start, &a.client, &a.server, &a.input).cmp(&(b.start, &b.client, &b.server, &b.input)));
    for (i, c) in out.connections.iter_mut().enumerate() {
        c.id = format!("C{}", i + 1);
    }
    out.warnings.sort();
    Ok(out)
}

fn analyze_one(input: &Input) -> Result<PerInput> {
    let name = input.display();
    let (digest, parsed) = rayon::join(|| sha256(input), || parse(input, &name));
    let (mut summary, conns, sink) = parsed?;
    summary.sha256 = digest?;
    summary.warnings = sink.total();
    let mut warnings = sink.list;
    if sink.dropped > 0 {
        warnings.push(Warning {
            input: name,
            offset: 0,
            frame: None,
            message: format!("{} more warnings not listed", sink.dropped),
        });
    }
    Ok((summary, conns, warnings))
}

fn parse(input: &Input, name: &str) -> Result<(InputSummary, Vec<Connection>, WarningSink)> {
    let mut sink = WarningSink::new(name);
    let mut summary = InputSummary {
        path: name.to_string(),
        kind: input.kind.name(),
        format: input.kind.name().to_string(),
        gzip: input.gzip,
        size: input.size,
        sha256: String::new(),
        records: 0,
        warnings: 0,
        first: None,
        last: None,
        flows: None,
        skipped: None,
    };
    if input.kind == Kind::Evtx {
        summary.skipped = Some("event-log analysis is not implemented in this version; the file was not read".into());
        return Ok((summary, Vec::new(), sink));
    }
    let reader = input::open(input)?;
    let (stats, flow_stats, conns) = analyze_capture(reader, name, &mut sink)?;
    summary.format = stats.format.to_string();
    summary.records = stats.packets;
    summary.first = stats.first.map(|t| t.rfc3339(stats.precision));
    summary.last = stats.last.map(|t| t.rfc3339(stats.precision));
    summary.flows = Some(flow_stats);
    if stats.packets == 0 {
        sink.push(0, None, "the capture contains no packets");
    }
    Ok((summary, conns, sink))
}

/// The capture pipeline for one stream, on the calling thread: packets → flows → connections.
pub fn analyze_capture(
    reader: impl Read,
    name: &str,
    sink: &mut WarningSink,
) -> Result<(CaptureStats, FlowStats, Vec<Connection>)> {
    let mut table = FlowTable::new();
    let stats = read_packets(reader, name, sink, |pkt, warn| table.on_packet(pkt, warn))?;
    let (finished, flow_stats) = table.finish(sink);
    Ok((stats, flow_stats, connection::build(name, finished)))
}

fn sha256(input: &Input) -> Result<String> {
    let mut file = std::fs::File::open(&input.path).map_err(|source| Error::Io { path: input.path.clone(), source })?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|source| Error::Io { path: input.path.clone(), source })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Times in a summary line.
pub fn span(c: &Connection) -> String {
    format!("{} (+{:.3} s)", fmt_ts(c.start), c.end.since(c.start))
}
