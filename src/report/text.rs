//! Terminal text: per connection the phase ladder, the evidence with frame pointers, notes;
//! then the inputs and warnings. Lines stay within 100 columns where the data allows, and any
//! control character that came from an input is shown escaped, never sent to the terminal.

use std::io::Write;

use crate::analyze::Analysis;
use crate::connection::{Connection, Phase, fmt_ts};

/// Makes input-derived text inert for a terminal: control characters (C0, DEL, C1) become
/// `\x..` escapes so an escape sequence hidden in a cookie or certificate cannot act.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if ch.is_control() {
            out.push_str(&format!("\\x{:02x}", ch as u32));
        } else {
            out.push(ch);
        }
    }
    out
}

pub fn render(a: &Analysis, out: &mut dyn Write) -> std::io::Result<()> {
    let tcp = a.connections.iter().filter(|c| c.transport == "tcp").count();
    let udp = a.connections.len() - tcp;
    let failed = a.connections.iter().filter(|c| c.failed_phase.is_some()).count();
    writeln!(
        out,
        "rdplog {}: {} RDP connection attempt(s) ({tcp} TCP, {udp} UDP), {failed} with a failed phase",
        env!("CARGO_PKG_VERSION"),
        a.connections.len()
    )?;
    if let Some(d) = &a.diagnosis {
        writeln!(out)?;
        writeln!(out, "Diagnosis: {} (confidence {:.2})", d.cause, d.confidence)?;
        writeln!(out, "  {}", clean(&d.summary))?;
        if let Some(id) = &d.connection {
            writeln!(out, "  connection {id}; the client sees {}", d.client_code)?;
        }
        let rep = d.connection.as_ref().and_then(|id| a.connections.iter().find(|c| &c.id == id));
        if let Some(v) = rep.and_then(|c| c.verdict.as_ref()) {
            for f in &v.fix {
                writeln!(out, "  fix: {}", clean(f))?;
            }
        }
        for c in &d.collect {
            writeln!(out, "  collect: {}", clean(c))?;
        }
    }
    for s in &a.skews {
        writeln!(
            out,
            "  clock: {} is {:+.3} s from the capture ({} confidence; {})",
            clean(&s.source),
            s.offset_seconds,
            s.confidence,
            clean(&s.anchor)
        )?;
    }
    if a.connections.is_empty() {
        writeln!(out, "No RDP traffic found (TCP/UDP 3389, or an X.224 Connection Request on any port).")?;
    }
    for c in &a.connections {
        writeln!(out)?;
        connection(c, out)?;
    }
    events(a, out)?;
    writeln!(out)?;
    writeln!(out, "Inputs")?;
    for i in &a.inputs {
        let span = match (&i.first, &i.last) {
            (Some(f), Some(l)) => format!(", {f} .. {l}"),
            _ => String::new(),
        };
        let gz = if i.gzip { " (gzip)" } else { "" };
        writeln!(out, "  {}  {}{gz}, {} records, {} warnings{span}", clean(&i.path), i.format, i.records, i.warnings)?;
        if let Some(s) = &i.skipped {
            writeln!(out, "    skipped: {s}")?;
        }
    }
    for s in &a.skipped_files {
        writeln!(out, "  skipped: {}", clean(s))?;
    }
    if !a.warnings.is_empty() {
        writeln!(out)?;
        writeln!(out, "Warnings ({})", a.warnings.len())?;
        for w in &a.warnings {
            let frame = w.frame.map(|f| format!(" frame {f}")).unwrap_or_default();
            writeln!(out, "  {} @ offset {}{frame}: {}", clean(&w.input), w.offset, clean(&w.message))?;
        }
    }
    Ok(())
}

/// Events of interest shown in the text report; the rest are in the JSON report and the timeline.
const MAX_EVENT_LINES: usize = 100;

fn events(a: &Analysis, out: &mut dyn Write) -> std::io::Result<()> {
    if a.events.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "Windows events of interest ({})", a.events.len())?;
    for e in a.events.iter().take(MAX_EVENT_LINES) {
        let provider = crate::timeline::short_provider(&e.provider);
        writeln!(out, "  {}  {}  {provider} {}  {}", e.ts.rfc3339(3), clean(&e.host), e.event_id, clean(&e.summary))?;
    }
    if a.events.len() > MAX_EVENT_LINES {
        writeln!(out, "  ... {} more: see --format json or `rdplog timeline`", a.events.len() - MAX_EVENT_LINES)?;
    }
    Ok(())
}

fn connection(c: &Connection, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{}  {}  {} -> {}  {}  +{:.3} s",
        c.id,
        c.transport.to_uppercase(),
        c.client,
        c.server,
        fmt_ts(c.start),
        c.end.since(c.start)
    )?;
    writeln!(out, "    {}", clean(&c.outcome))?;
    if let Some(v) = &c.verdict {
        writeln!(out, "    verdict: {} ({:.2}, {})", v.cause, v.confidence, v.severity)?;
        for why in v.against.iter() {
            writeln!(out, "      against: {}", clean(why))?;
        }
    }
    let ladder = c.phases.ladder();
    let line: Vec<String> = ladder
        .iter()
        .filter(|(_, ph)| !(c.transport == "udp" && *ph == Phase::NotApplicable))
        .map(|(n, ph)| {
            let mark = if ph.is_failure() {
                "✗"
            } else if *ph == Phase::Ok {
                "✓"
            } else {
                "·"
            };
            format!("{mark} {n} {}", ph.name())
        })
        .collect();
    for chunk in line.chunks(3) {
        writeln!(out, "    {}", chunk.join("   "))?;
    }
    let n = &c.negotiation;
    let mut neg = Vec::new();
    if let Some(cookie) = &n.cookie {
        neg.push(format!("user (mstshash) {}", clean(cookie)));
    }
    if let Some(t) = &n.routing_token {
        neg.push(format!("routing token {}", clean(t)));
    }
    if let Some(r) = &n.requested {
        neg.push(format!("requested {r}"));
    }
    if let Some(s) = &n.selected {
        neg.push(format!("selected {s}"));
    }
    if let Some(f) = &n.failure {
        neg.push(format!("RDP_NEG_FAILURE {f}"));
    }
    if let Some(t) = &c.tls {
        if let Some(v) = &t.version {
            neg.push(format!("{v} {}", t.cipher_suite.as_deref().unwrap_or("")));
        }
    }
    if !neg.is_empty() {
        writeln!(out, "    {}", neg.join("; "))?;
    }
    for e in &c.evidence {
        let time = fmt_ts(e.time);
        let clock = time.get(11..).unwrap_or(&time);
        writeln!(out, "    {:>11}  {clock}  {}", e.reference, clean(&e.text))?;
    }
    for note in &c.notes {
        writeln!(out, "    note: {}", clean(note))?;
    }
    Ok(())
}
