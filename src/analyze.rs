//! Wires the pipeline for `rdplog analyze`: inputs in, one `Analysis` out.
//!
//! One rayon task per input file (a capture is one sequential stream; an .evtx log's chunks are
//! parsed in parallel), on whatever rayon pool the caller installed (`-j/--threads`); within a
//! file the SHA-256 for the inventory is computed on its own thread from the same reads
//! (`input::hash`), or skipped (`Options::no_hash`). Results are merged and sorted so
//! that the output does not depend on the order the inputs were given in. Captures that are
//! pieces of one capture are then read again as one stream (`pieces`).

mod pieces;

use std::io::Read;

use rayon::prelude::*;

use crate::connection::{self, Connection};
use crate::correlate::{ClockSkew, correlate};
use crate::diagnose::{self, Diagnosis, Inputs, Verdict};
use crate::error::{Error, Result, Warning, WarningSink};
use crate::events::catalog::{CLIENT, LSASRV};
use crate::events::catalog::{TypedEvent, is_catalogued, type_event};
use crate::events::evtx::{Keep, read_evtx_bytes_kept, read_evtx_file_kept};
use crate::events::xml::read_xml;
use crate::events::{LogStats, WinEvent};
use crate::evidence::{self, Evidence, Frames, Observation, Origin, Unit};
use crate::flow::{FlowStats, FlowTable};
use crate::input::pcap::CaptureStats;
use crate::input::{self, Input, Kind, hash};
use crate::limits::{Deadline, Limits};
use crate::time::Ts;
use crate::vocab::Side;

/// One input in the inventory (DESIGN.md JSON contract `inputs[]`).
#[derive(Clone, Debug)]
pub struct InputSummary {
    pub path: String,
    pub kind: &'static str,
    /// A packet capture (pcap, pcapng, .etl), as opposed to an event log.
    pub capture: bool,
    /// Detailed format, e.g. "pcap (nanosecond)".
    pub format: String,
    pub gzip: bool,
    pub size: u64,
    pub sha256: String,
    /// Packets (captures) or records (event logs).
    pub records: u64,
    pub warnings: u64,
    pub first: Option<String>,
    pub last: Option<String>,
    /// A capture's first and last packet times (what `first` and `last` print).
    pub span: Option<(Ts, Ts)>,
    pub flows: Option<FlowStats>,
    /// Event logs: events per provider/id, computers, chunks.
    pub events: Option<LogStats>,
    /// Set when the input was recognised but not analysed.
    pub skipped: Option<String>,
    /// For a piece of a capture read as one stream with others (`pieces`): the piece before it.
    pub continues: Option<String>,
}

/// What one input yields.
struct PerInput {
    summary: InputSummary,
    conns: Vec<Connection>,
    /// Catalogued events (event logs).
    events: Vec<TypedEvent>,
    warnings: Vec<Warning>,
    /// For a capture that could continue another, what the grouping of pieces needs.
    piece: Option<pieces::Piece>,
}

/// What `parse` reads from one input: `PerInput` with the warnings still in their sink.
type Parsed = (InputSummary, Vec<Connection>, Vec<TypedEvent>, WarningSink, Option<pieces::Piece>);

/// Everything `analyze` found, ready for a renderer.
#[derive(Debug, Default)]
pub struct Analysis {
    pub inputs: Vec<InputSummary>,
    pub connections: Vec<Connection>,
    /// Catalogued Windows events, in time order.
    pub events: Vec<crate::events::catalog::TypedEvent>,
    pub warnings: Vec<Warning>,
    /// Files inside input directories that were not usable.
    pub skipped_files: Vec<String>,
    /// Clock offset of each log host against the capture (the correlation's value).
    pub skews: Vec<ClockSkew>,
    /// Per connection, the events joined to it as evidence, in time order (the correlation's
    /// value).
    pub joined: Vec<Vec<Evidence>>,
    /// Per connection, its verdict (the diagnosis' value).
    pub verdicts: Vec<Verdict>,
    /// Per connection, the anomalies that did not end it.
    pub observations: Vec<Vec<Observation>>,
    /// Password guessing among the failures: background, not the user's failure.
    pub background: Vec<crate::noise::Storm>,
    /// Network logon failures that no RDP attempt accounts for.
    pub other_logons: Option<crate::noise::OtherLogons>,
    /// The case-level verdict.
    pub diagnosis: Option<Diagnosis>,
    /// The filter the analysis answered (empty: every attempt).
    pub filter: crate::filter::Filter,
    /// Worker threads the run used (`-j/--threads`), noted in the report's inventory; `None`
    /// when the caller did not say (library use): the analysis itself never depends on it.
    pub threads: Option<usize>,
}

/// One connection with what the later stages found about it: the view every report reads.
#[derive(Clone, Copy, Debug)]
pub struct Attempt<'a> {
    pub conn: &'a Connection,
    pub verdict: Option<&'a Verdict>,
    /// Events joined to it (packet evidence is `conn.evidence`).
    pub joined: &'a [Evidence],
    pub observations: &'a [Observation],
}

impl<'a> Attempt<'a> {
    /// Packet and event evidence merged in time order (packets first at equal times).
    pub fn evidence(&self) -> Vec<&'a Evidence> {
        let mut out: Vec<&Evidence> = self.conn.evidence.iter().chain(self.joined).collect();
        out.sort_by_key(|e| e.time);
        out
    }
}

impl Analysis {
    /// Connection `i` with its findings.
    pub fn attempt(&self, i: usize) -> Option<Attempt<'_>> {
        Some(Attempt {
            conn: self.connections.get(i)?,
            verdict: self.verdicts.get(i),
            joined: self.joined.get(i).map(Vec::as_slice).unwrap_or_default(),
            observations: self.observations.get(i).map(Vec::as_slice).unwrap_or_default(),
        })
    }

    /// Every connection with its findings, in id order.
    pub fn attempts(&self) -> impl Iterator<Item = Attempt<'_>> {
        (0..self.connections.len()).filter_map(|i| self.attempt(i))
    }

    /// The connection with this id, with its findings.
    pub fn attempt_by_id(&self, id: &str) -> Option<Attempt<'_>> {
        self.connections.iter().position(|c| c.id == id).and_then(|i| self.attempt(i))
    }
}

/// Options that change the conclusions of `analyze`.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Clock offset of every log host against the capture, in seconds (event − packet);
    /// `None` estimates it from the events that share a client ip:port with the capture.
    pub skew: Option<f64>,
    /// Memory and time limits (`crate::limits`).
    pub limits: Limits,
    /// The attempts the analyst asks about (`--client`, `--user`, `--server`, `--since`,
    /// `--until`); the diagnosis answers about these only.
    pub filter: crate::filter::Filter,
    /// Skip the SHA-256 of each input (`--no-hash`): the inventory says `NOT_HASHED` instead.
    pub no_hash: bool,
}

/// The inventory's `sha256` of an input whose hash was not computed (`--no-hash`).
pub const NOT_HASHED: &str = "not computed";

/// Analyses every input in parallel and merges the results deterministically.
pub fn analyze(inputs: &[Input]) -> Result<Analysis> {
    analyze_with(inputs, &Options::default())
}

/// `analyze` with options.
pub fn analyze_with(inputs: &[Input], opts: &Options) -> Result<Analysis> {
    // Captures first: their time span bounds which events are worth keeping (memory stays
    // bounded by events near the failure, not by the size of the logs).
    let (captures, logs): (Vec<&Input>, Vec<&Input>) =
        inputs.iter().partition(|i| matches!(i.kind, Kind::Pcap | Kind::Pcapng | Kind::Etl));
    let mut results: Vec<Result<PerInput>> = captures.par_iter().map(|i| analyze_one(i, None, opts)).collect();
    pieces::chain_captures(&captures, &mut results, &opts.limits);
    let span = results
        .iter()
        .flatten()
        .flat_map(|p| p.conns.iter().flat_map(|c| [c.start, c.end]))
        .fold(None, |acc: Option<(Ts, Ts)>, t| Some(acc.map_or((t, t), |(a, b)| (a.min(t), b.max(t)))));
    // Saturating: a damaged timestamp puts a connection at an end of `Ts`'s range.
    let window = span.map(|(a, b)| (Ts(a.0.saturating_sub(EVENT_MARGIN_NS)), Ts(b.0.saturating_add(EVENT_MARGIN_NS))));
    results.extend(logs.par_iter().map(|i| analyze_one(i, window, opts)).collect::<Vec<_>>());
    let mut out = Analysis::default();
    let mut unreadable = Vec::new();
    for (r, input) in results.into_iter().zip(captures.iter().chain(&logs)) {
        match r {
            Ok(p) => {
                out.inputs.push(p.summary);
                out.connections.extend(p.conns);
                out.events.extend(p.events);
                out.warnings.extend(p.warnings);
            }
            Err(e) => unreadable.push((*input, e)),
        }
    }
    // An input that cannot be read at all (e.g. cut inside its file header) costs only itself:
    // it is listed as skipped, with a warning, and the other inputs are analysed. Only when no
    // input could be read is it the run's error.
    if out.inputs.is_empty()
        && let Some((_, e)) = unreadable.pop()
    {
        return Err(e);
    }
    for (input, e) in unreadable {
        let name = input.display();
        out.warnings.push(Warning {
            input: name.clone(),
            offset: 0,
            frame: None,
            message: format!("not analysed: {e}"),
        });
        out.inputs.push(InputSummary { skipped: Some(e.to_string()), ..summary_of(input, &name) });
    }
    out.events.sort_by(|a, b| (a.ts, &a.input, a.record_id).cmp(&(b.ts, &b.input, b.record_id)));
    out.inputs.sort_by(|a, b| a.path.cmp(&b.path));
    // The same connection captured at two points counts once, with both views (`twopoint`).
    let spans = stream_spans(&out.inputs);
    out.connections = crate::twopoint::merge(std::mem::take(&mut out.connections), &spans);
    sort_and_number(&mut out.connections);
    out.warnings.sort();
    let have = Inputs {
        capture: out.inputs.iter().any(|i| i.capture && i.skipped.is_none()),
        server_logs: out.events.iter().any(|e| e.provider != CLIENT && e.provider != LSASRV),
        client_logs: out.events.iter().any(|e| e.provider == CLIENT || e.provider == LSASRV),
    };
    // Attempts known only from the logs: all of them without a capture; with one, those from a
    // client the capture also saw, or from outside the capture's time span (it started after the
    // failure, or ended before it).
    let packet_conns = std::mem::take(&mut out.connections);
    let extra = connections_from_events(&out.events, &packet_conns);
    out.connections = packet_conns;
    out.connections.extend(extra);
    sort_and_number(&mut out.connections);
    conclude(&mut out, opts, &have);
    Ok(out)
}

/// The time each capture stream covers, under the name its connections carry: a single file's
/// own span; for pieces read as one stream, the span of all of them under the first piece's
/// name (a piece names the one it `continues`).
fn stream_spans(inputs: &[InputSummary]) -> crate::twopoint::Spans {
    let before: std::collections::BTreeMap<&str, &str> =
        inputs.iter().filter_map(|i| i.continues.as_deref().map(|c| (i.path.as_str(), c))).collect();
    let mut spans = crate::twopoint::Spans::new();
    for i in inputs {
        let Some((first, last)) = i.span else { continue };
        let mut head = i.path.as_str();
        // Bounded by the number of inputs: a damaged chain cannot loop.
        for _ in 0..inputs.len() {
            match before.get(head) {
                Some(prev) => head = prev,
                None => break,
            }
        }
        let e = spans.entry(head.to_string()).or_insert((first, last));
        *e = (e.0.min(first), e.1.max(last));
    }
    spans
}

/// Sorts connections by start, then client, server and input (the order of the report), and
/// numbers them C1, C2, ...
fn sort_and_number(conns: &mut [Connection]) {
    conns.sort_by_cached_key(|c| (c.start, c.client.to_string(), c.server.to_string(), c.input.clone()));
    for (i, c) in conns.iter_mut().enumerate() {
        c.id = format!("C{}", i + 1);
    }
}

/// Connections seen only in the logs (`attempts`): all of them without a capture; with one,
/// those the capture does not have, and only from a client IP the capture saw or at a time the
/// capture does not cover.
fn connections_from_events(events: &[TypedEvent], packets: &[Connection]) -> Vec<Connection> {
    let seen: std::collections::BTreeSet<std::net::SocketAddr> =
        packets.iter().filter_map(|c| c.client.addr()).collect();
    let client_ips: std::collections::BTreeSet<std::net::IpAddr> =
        packets.iter().filter_map(|c| c.client.ip()).collect();
    let span = (packets.iter().map(|c| c.start).min(), packets.iter().map(|c| c.end).max());
    let keep = |e: &TypedEvent, ip: std::net::IpAddr| {
        if packets.is_empty() {
            return true;
        }
        if e.client.and_then(|c| c.port.map(|p| std::net::SocketAddr::new(c.ip, p))).is_some_and(|a| seen.contains(&a))
        {
            return false;
        }
        let margin = 60_000_000_000;
        let outside = match span {
            (Some(first), Some(last)) => {
                e.ts.0 < first.0.saturating_sub(margin) || e.ts.0 > last.0.saturating_add(margin)
            }
            _ => true,
        };
        // An event without a port, from a client the capture shows connected at that time,
        // belongs to that connection (correlate joins it).
        let covered = e.client.is_some_and(|c| c.port.is_none())
            && packets.iter().any(|c| {
                c.client.ip() == Some(ip)
                    && e.ts.0 >= c.start.0.saturating_sub(margin)
                    && e.ts.0 <= c.end.0.saturating_add(margin)
            });
        !covered && (outside || client_ips.contains(&ip))
    };
    crate::attempts::from_logs(events, keep)
}

/// Correlates, diagnoses each connection and the case.
fn conclude(a: &mut Analysis, opts: &Options, have: &Inputs) {
    let mut corr = correlate(&a.connections, &a.events, opts.skew);
    a.filter = opts.filter.clone();
    if !opts.filter.is_empty() {
        let keep: Vec<bool> = a
            .connections
            .iter()
            .zip(&corr.joined)
            .map(|(c, j)| {
                let events: Vec<&TypedEvent> = j.iter().filter_map(|j| a.events.get(j.event)).collect();
                opts.filter.selects(c, &events)
            })
            .collect();
        let mut flags = keep.iter();
        a.connections.retain(|_| flags.next().copied().unwrap_or(false));
        let mut flags = keep.iter();
        corr.joined.retain(|_| flags.next().copied().unwrap_or(false));
        for (i, c) in a.connections.iter_mut().enumerate() {
            c.id = format!("C{}", i + 1);
        }
    }
    // Ids are final: the two legs of a session through a NAT in one capture name each other.
    crate::twopoint::legs::link(&mut a.connections);
    let mut ids = Vec::new();
    for (i, c) in a.connections.iter().enumerate() {
        let joined = corr.joined.get(i).map(Vec::as_slice).unwrap_or_default();
        a.joined.push(joined.iter().filter_map(|j| a.events.get(j.event).map(|e| event_evidence(e, j.ts))).collect());
        let facts = diagnose::facts(c, joined, &a.events);
        a.verdicts.push(diagnose::diagnose(&facts, have));
        a.observations.push(diagnose::observations(c, &facts));
        ids.push(c.id.clone());
    }
    let verdicts: Vec<(String, Verdict)> = ids.into_iter().zip(a.verdicts.iter().cloned()).collect();
    a.background = crate::noise::storms(&a.connections, &a.verdicts);
    let joined: std::collections::BTreeSet<usize> = corr.joined.iter().flatten().map(|j| j.event).collect();
    a.other_logons = crate::noise::other_logons(&a.events, &joined);
    let mut d = diagnose::case_with_noise(&verdicts, have, &a.background);
    if let (Some(o), true) = (&a.other_logons, a.connections.is_empty()) {
        d = diagnose::not_rdp(o.sentence());
    }
    a.diagnosis = Some(d);
    a.skews = corr.skews;
}

/// A joined event as evidence, at its time on the capture clock.
fn event_evidence(e: &TypedEvent, ts: Ts) -> Evidence {
    let file = std::path::Path::new(&e.input).file_name().map(|f| f.to_string_lossy()).unwrap_or_default();
    let side = if matches!(e.provider.as_str(), CLIENT | LSASRV) { Side::Client } else { Side::Server };
    Evidence {
        time: ts,
        origin: Origin::Record { file: file.into(), record: e.record_id },
        side,
        kind: evidence::Kind::Event { provider: e.provider.as_str().into(), id: e.event_id },
        text: format!("{} {} on {}: {}", crate::timeline::short_provider(&e.provider), e.event_id, e.host, e.summary),
    }
}

/// With a capture, events further than this from its connections are not kept (their counts
/// still are): an hour covers any clock offset the correlation believes (`correlate`).
const EVENT_MARGIN_NS: i64 = 3600 * 1_000_000_000;

/// Inputs below this size are hashed on the calling thread, before the parse.
const SMALL_INPUT: u64 = 4 << 20;

fn analyze_one(input: &Input, window: Option<(Ts, Ts)>, opts: &Options) -> Result<PerInput> {
    let name = input.display();
    let limits = &opts.limits;
    // The SHA-256 runs on its own thread from the start (`input::hash`): fed by the parser's own
    // reads for a sequential input, by a front-to-back read beside the chunk workers for an .evtx.
    let (parsed, digest) = if opts.no_hash {
        (parse(input, &name, window, limits, None), Ok(NOT_HASHED.to_string()))
    } else if input.size < SMALL_INPUT {
        // A small input hashes in a few milliseconds: a thread of its own costs more than it
        // saves (thread start and hand-offs dominated a case of 5 small files).
        let digest = hash::hash_file(&input.path);
        (parse(input, &name, window, limits, None), digest)
    } else if matches!(input.kind, Kind::Evtx) && !input.gzip {
        hash::beside(&input.path, || parse(input, &name, window, limits, None))
    } else {
        let raw = input::open_raw(input)?;
        hash::teed(raw, |raw| parse(input, &name, window, limits, Some(Box::new(raw))))
    };
    let (mut summary, conns, events, sink, piece) = parsed?;
    summary.sha256 = digest.map_err(|source| Error::Io { path: input.path.clone(), source })?;
    let (warnings, total) = sink.into_listed();
    summary.warnings = total;
    Ok(PerInput { summary, conns, events, warnings, piece })
}

/// A raw (undecoded) byte stream of an input that its parser reads front to back.
type Raw<'a> = Box<dyn Read + Send + 'a>;

/// Parses one input. `raw` is its file's bytes when the caller already opened it (to hash what
/// passes through); otherwise the file is opened here.
fn parse(input: &Input, name: &str, window: Option<(Ts, Ts)>, limits: &Limits, raw: Option<Raw<'_>>) -> Result<Parsed> {
    let mut sink = WarningSink::new(name);
    let mut summary = summary_of(input, name);
    if matches!(input.kind, Kind::Evtx | Kind::EventXml) {
        let keep = Keep { window, per_event: limits.events_per_id, deadline: limits.deadline() };
        let (stats, events) = read_events(input, name, &keep, limits.max_unpacked, raw, &mut sink)?;
        summary.records = stats.records;
        summary.first = stats.first.map(|t| t.rfc3339(7));
        summary.last = stats.last.map(|t| t.rfc3339(7));
        let typed = events.iter().filter_map(type_event).collect();
        summary.events = Some(stats);
        return Ok((summary, Vec::new(), typed, sink, None));
    }
    let reader = input::decode(input, opened(input, raw)?);
    let mut edges = pieces::Edges::default();
    let (stats, flow_stats, conns) = capture_pass(reader, name, limits, &mut sink, &mut edges)?;
    let piece = pieces::Piece::new(&stats, edges, &conns);
    summary.format = stats.detail.clone().unwrap_or_else(|| stats.format.to_string());
    summary.records = stats.packets;
    summary.first = stats.first.map(|t| t.rfc3339(stats.precision));
    summary.last = stats.last.map(|t| t.rfc3339(stats.precision));
    summary.span = stats.first.zip(stats.last);
    summary.flows = Some(flow_stats);
    if stats.packets == 0 {
        sink.push(0, None, "the capture contains no packets");
    }
    Ok((summary, conns, Vec::new(), sink, piece))
}

/// `raw`, or the input's file opened now.
fn opened<'a>(input: &Input, raw: Option<Raw<'a>>) -> Result<Raw<'a>> {
    match raw {
        Some(raw) => Ok(raw),
        None => Ok(Box::new(input::open_raw(input)?)),
    }
}

/// An input's inventory line before anything is read from it.
fn summary_of(input: &Input, name: &str) -> InputSummary {
    InputSummary {
        path: name.to_string(),
        kind: input.kind.name(),
        capture: matches!(input.kind, Kind::Pcap | Kind::Pcapng | Kind::Etl),
        format: input.kind.name().to_string(),
        gzip: input.gzip,
        size: input.size,
        sha256: String::new(),
        records: 0,
        warnings: 0,
        first: None,
        last: None,
        span: None,
        flows: None,
        events: None,
        skipped: None,
        continues: None,
    }
}

/// Reads one event log (.evtx, gzipped .evtx unpacked in memory up to `max_unpacked` bytes,
/// or an XML export), keeping the catalogued events `keep` allows.
fn read_events(
    input: &Input,
    name: &str,
    keep: &Keep,
    max_unpacked: u64,
    raw: Option<Raw<'_>>,
    sink: &mut WarningSink,
) -> Result<(LogStats, Vec<WinEvent>)> {
    let wanted = &is_catalogued;
    let kept = |r: Result<(LogStats, Vec<WinEvent>, crate::events::evtx::EvtxCounters)>| r.map(|(s, e, _)| (s, e));
    match (input.kind, input.gzip) {
        (Kind::EventXml, _) => {
            let reader = Timed::new(input::decode(input, opened(input, raw)?), keep.deadline);
            let stopped = reader.stopped.clone();
            let (stats, mut events) = read_xml(reader, name, wanted, sink)?;
            if let Some(at) = stopped.get() {
                sink.push(at, None, keep.deadline.message(&format!("the export after byte {at}")));
            }
            events.retain(|e| keep.in_window(e.ts));
            crate::events::keep_latest(&mut events, keep.per_event);
            crate::events::warn_trimmed(&events, &stats, keep.per_event, sink);
            Ok((stats, events))
        }
        (_, false) => {
            let file =
                std::fs::File::open(&input.path).map_err(|source| Error::Io { path: input.path.clone(), source })?;
            kept(read_evtx_file_kept(&file, name, wanted, keep, sink))
        }
        (_, true) => {
            let mut data = Vec::new();
            let read = input::decode(input, opened(input, raw)?).take(max_unpacked + 1).read_to_end(&mut data);
            // A truncated or corrupt gzip stream fails only where the damage is: what was
            // unpacked before it (kept by `read_to_end`) is read, its complete records kept.
            if let Err(e) = read {
                if data.is_empty() {
                    return Err(Error::input(&input.path, format!("gzip stream is corrupt: {e}")));
                }
                let at = data.len();
                sink.push(
                    at as u64,
                    None,
                    format!("gzip stream is corrupt after {at} unpacked bytes: {e}; the records before it are read"),
                );
            }
            if data.len() as u64 > max_unpacked {
                let message = format!(
                    "gzipped event log unpacks to more than {max_unpacked} bytes (--max-unpacked): refused; unpack it \
                     first or raise the limit"
                );
                return Err(Error::input(&input.path, message));
            }
            kept(read_evtx_bytes_kept(&data, name, wanted, keep, sink))
        }
    }
}

/// The capture pipeline for one stream, on the calling thread: packets → flows → connections.
pub fn analyze_capture(
    reader: impl Read + Send,
    name: &str,
    sink: &mut WarningSink,
) -> Result<(CaptureStats, FlowStats, Vec<Connection>)> {
    analyze_capture_with(reader, name, &Limits::default(), sink)
}

/// `analyze_capture` within `limits` (flow table size, payload per flow, time).
pub fn analyze_capture_with(
    reader: impl Read + Send,
    name: &str,
    limits: &Limits,
    sink: &mut WarningSink,
) -> Result<(CaptureStats, FlowStats, Vec<Connection>)> {
    capture_pass(reader, name, limits, sink, &mut pieces::Edges::default())
}

/// `analyze_capture_with`, noting the fingerprints of the capture's first and last packets in
/// `edges` (for `pieces`).
fn capture_pass(
    reader: impl Read + Send,
    name: &str,
    limits: &Limits,
    sink: &mut WarningSink,
    edges: &mut pieces::Edges,
) -> Result<(CaptureStats, FlowStats, Vec<Connection>)> {
    let deadline = limits.deadline();
    let reader = Timed::new(reader, deadline);
    let stopped = reader.stopped.clone();
    let mut table = FlowTable::with_limits(limits);
    let stats = input::read_capture(reader, name, sink, |pkt, warn| {
        edges.see(pkt);
        table.on_packet(pkt, warn)
    })?;
    if let Some(at) = stopped.get() {
        sink.push(at, None, deadline.message(&format!("the capture after byte {at}")));
    }
    let (finished, flow_stats) = table.finish(sink);
    let unit = Unit::of(&stats);
    let frames = std::sync::Arc::new(Frames::single(name, unit));
    Ok((stats, flow_stats, connection::build(name, &frames, finished)))
}

/// A stream that ends early when its deadline passes, remembering where (`stopped`). Its first
/// `TIMED_MIN` bytes are always read, so that the format and the first records are known.
struct Timed<R> {
    inner: R,
    deadline: Deadline,
    pos: u64,
    stopped: Stopped,
}

/// Where a `Timed` stream stopped, for whoever holds a clone (the stream may be read on another
/// thread: `.etl` buffers are read ahead).
#[derive(Clone, Default)]
struct Stopped(std::sync::Arc<std::sync::OnceLock<u64>>);

impl Stopped {
    fn get(&self) -> Option<u64> {
        self.0.get().copied()
    }
}

const TIMED_MIN: u64 = 1 << 20;

impl<R> Timed<R> {
    fn new(inner: R, deadline: Deadline) -> Self {
        Timed { inner, deadline, pos: 0, stopped: Default::default() }
    }
}

impl<R: Read> Read for Timed<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= TIMED_MIN && self.deadline.expired() {
            let _ = self.stopped.0.set(self.pos);
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}
