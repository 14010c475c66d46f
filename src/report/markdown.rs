//! Markdown: the same report as the terminal text, for pasting into a ticket or a wiki page
//! (CommonMark with GitHub tables).
//!
//! Takes the report model; writes headings, lists and pipe tables. Every string from an input
//! goes through `escape::markdown` (or `markdown_code` for hashes), so a cookie, host name or
//! certificate subject cannot open a link, raw HTML, emphasis or a table cell. Our own
//! sentences go through `escape::rich_markdown`, which keeps their `command` spans as code.
//! Does not wrap lines (Markdown viewers do).

use std::io::Write;

use super::attempt::{Detail, Mark, Row};
use super::escape::{markdown as esc, markdown_code as code, rich_markdown as rich};
use super::model::{Report, cause_title};
use super::text::elapsed;

fn mark(m: Mark) -> &'static str {
    match m {
        Mark::Pass => "✓",
        Mark::Fail => "✗",
        Mark::Other => "·",
    }
}

pub fn render(rep: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "# rdplog report: why the Remote Desktop connection failed")?;
    writeln!(out)?;
    writeln!(out, "Generated {} by rdplog {}", rep.generated_at, rep.version)?;
    if rep.redacted {
        writeln!(out)?;
        writeln!(
            out,
            "> Pseudonymised (`--redact`): user, domain and host names and IP addresses are replaced, \
             consistently across this report."
        )?;
    }
    verdict(rep, out)?;
    case(rep, out)?;
    history(rep, out)?;
    connections(rep, out)?;
    for d in &rep.details {
        detail(d, out)?;
    }
    if rep.details_omitted > 0 {
        writeln!(out)?;
        writeln!(out, "{} more connection(s) in detail: see the JSON report.", rep.details_omitted)?;
    }
    appendix(rep, out)
}

fn verdict(rep: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let v = &rep.verdict;
    writeln!(out)?;
    writeln!(out, "## Verdict: {} (confidence {:.2}, {}; {})", v.cause, v.confidence, v.confidence_word, v.severity)?;
    writeln!(out)?;
    writeln!(out, "**{}**", esc(&v.sentence))?;
    if !v.client_codes.is_empty() {
        writeln!(out)?;
        writeln!(out, "The client shows {}:", esc(&v.client_code))?;
        writeln!(out)?;
        for c in &v.client_codes {
            writeln!(out, "- {} **{}**: {}", code(&c.number()), esc(&c.name), esc(&c.meaning))?;
        }
    }
    if !v.decisive.is_empty() {
        writeln!(out)?;
        writeln!(out, "### Decisive evidence")?;
        writeln!(out)?;
        for (i, r) in v.decisive.iter().enumerate() {
            writeln!(out, "{}. {}", i + 1, pointer(r))?;
        }
    }
    if !v.fix.is_empty() {
        writeln!(out)?;
        writeln!(out, "### Fix")?;
        writeln!(out)?;
        for (i, f) in v.fix.iter().enumerate() {
            writeln!(out, "{}. {}", i + 1, rich(f))?;
        }
    }
    if !v.confirm.is_empty() || !v.against.is_empty() {
        writeln!(out)?;
        writeln!(out, "### What would confirm or rule it out")?;
        writeln!(out)?;
        for c in &v.confirm {
            writeln!(out, "- {}", rich(c))?;
        }
        for c in &v.against {
            writeln!(out, "- Against: {}", esc(c))?;
        }
    }
    writeln!(out)?;
    writeln!(out, "### Competing causes considered")?;
    writeln!(out)?;
    if v.competing.is_empty() {
        writeln!(out, "None: no other cause's signature is in the evidence.")?;
    } else {
        writeln!(out, "| cause | confidence | what it would mean | evidence for it |")?;
        writeln!(out, "|---|---|---|---|")?;
        for c in &v.competing {
            writeln!(
                out,
                "| {} | {:.2} | {} | {} |",
                c.cause,
                c.confidence,
                cause_title(c.cause),
                esc(&c.evidence.join("; "))
            )?;
        }
    }
    Ok(())
}

/// An exact pointer with time, lane and text, on one list line.
fn pointer(r: &Row) -> String {
    let mut s = format!(
        "{} #{}: **{}** at {} ({} {}): {}",
        esc(&r.conn),
        r.n,
        esc(&r.pointer),
        esc(&r.time),
        r.lane.name(),
        esc(&r.host),
        esc(&r.text)
    );
    if let (Some(orig), Some(skew)) = (&r.original, &r.skew) {
        s.push_str(&format!(" (logged at {orig} on the host's clock; offset removed {skew})"));
    }
    s
}

fn case(rep: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let c = &rep.case;
    writeln!(out)?;
    writeln!(out, "## Case")?;
    writeln!(out)?;
    writeln!(out, "| | |")?;
    writeln!(out, "|---|---|")?;
    for r in c.rows() {
        let value = if r.from_input { esc(&r.value) } else { r.value };
        writeln!(out, "| {} | {value} |", r.label)?;
    }
    Ok(())
}

fn history(rep: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    if rep.history.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "## History (per day, client and user)")?;
    writeln!(out)?;
    writeln!(out, "| {} |", super::history::COLUMNS.join(" | "))?;
    writeln!(out, "|{}", "---|".repeat(super::history::COLUMNS.len()))?;
    for h in &rep.history {
        let cells: Vec<String> = h.cells().iter().map(|c| esc(c)).collect();
        writeln!(out, "| {} |", cells.join(" | "))?;
    }
    Ok(())
}

fn connections(rep: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out)?;
    writeln!(out, "## Connections ({})", rep.connections.len() + rep.connections_omitted)?;
    writeln!(out)?;
    if rep.connections.is_empty() {
        writeln!(out, "No RDP traffic found (TCP/UDP 3389, or an X.224 Connection Request on any port).")?;
        return Ok(());
    }
    writeln!(out, "| id | transport | client → server | start (UTC) | duration | user | state | verdict | outcome |")?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|")?;
    for c in &rep.connections {
        let verdict = match (c.cause, c.confidence) {
            (Some(cause), Some(conf)) => format!("{cause} ({conf:.2})"),
            _ => String::new(),
        };
        writeln!(
            out,
            "| {} | {} | {} → {} | {} | {:.3} s | {} | {} | {} | {} |",
            c.id,
            c.transport.as_str().to_uppercase(),
            esc(&c.client),
            esc(&c.server),
            c.start,
            c.duration_s,
            c.user.as_deref().map(esc).unwrap_or_default(),
            c.state().0,
            verdict,
            esc(&c.outcome)
        )?;
    }
    if rep.connections_omitted > 0 {
        writeln!(out)?;
        writeln!(out, "{} more connection(s) in the JSON report.", rep.connections_omitted)?;
    }
    Ok(())
}

fn detail(d: &Detail, out: &mut dyn Write) -> std::io::Result<()> {
    let c = &d.row;
    writeln!(out)?;
    writeln!(out, "## {}: {} {} → {}", c.id, c.transport.as_str().to_uppercase(), esc(&c.client), esc(&c.server))?;
    writeln!(out)?;
    writeln!(out, "- **Started:** {}, lasted {:.3} s", c.start, c.duration_s)?;
    writeln!(out, "- **Outcome:** {}", esc(&c.outcome))?;
    if let Some(s) = &d.verdict_summary {
        let conf =
            c.confidence.map(|x| format!(" ({x:.2}, {})", c.severity.map_or("", |s| s.as_str()))).unwrap_or_default();
        writeln!(out, "- **Verdict:** {}{conf}", esc(s))?;
    }
    writeln!(out)?;
    writeln!(out, "**Phase ladder**")?;
    writeln!(out)?;
    writeln!(out, "| | phase | result | at | detail |")?;
    writeln!(out, "|---|---|---|---|---|")?;
    for r in &d.ladder {
        let at = r.at.map(elapsed).unwrap_or_default();
        writeln!(out, "| {} | {} | {} | {at} | {} |", mark(r.mark), r.phase, esc(&r.state), esc(&r.detail))?;
    }
    if !d.facts.is_empty() {
        writeln!(out)?;
        writeln!(out, "**Facts**")?;
        writeln!(out)?;
        for (k, v) in &d.facts {
            writeln!(out, "- {}: {}", k, esc(v))?;
        }
    }
    if !d.codes.is_empty() {
        writeln!(out)?;
        writeln!(out, "**Decoded codes**")?;
        writeln!(out)?;
        writeln!(out, "| where | value | name | meaning |")?;
        writeln!(out, "|---|---|---|---|")?;
        for k in &d.codes {
            let num = if k.number().is_empty() { String::new() } else { code(&k.number()) };
            writeln!(out, "| {} | {num} | {} | {} |", esc(&k.what), esc(&k.name), esc(&k.meaning))?;
        }
    }
    writeln!(out)?;
    writeln!(out, "**Timeline** (UTC on the capture clock; rows in bold decide the verdict)")?;
    writeln!(out)?;
    writeln!(out, "| # | time (UTC) | lane | host | ref | what | logged at (offset removed) |")?;
    writeln!(out, "|---|---|---|---|---|---|---|")?;
    for r in &d.timeline {
        let logged = match (&r.original, &r.skew) {
            (Some(o), Some(s)) => format!("{o} ({s})"),
            _ => String::new(),
        };
        let text = if r.key { format!("**{}**", esc(&r.text)) } else { esc(&r.text) };
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {text} | {logged} |",
            r.n,
            esc(&r.time),
            r.lane.name(),
            esc(&r.host),
            esc(&r.reference)
        )?;
    }
    if d.rows_omitted > 0 {
        writeln!(out)?;
        writeln!(out, "{} more row(s), farther from the failure: see the JSON report.", d.rows_omitted)?;
    }
    if !d.notes.is_empty() {
        writeln!(out)?;
        writeln!(out, "**Notes**")?;
        writeln!(out)?;
        for n in &d.notes {
            writeln!(out, "- {}", esc(n))?;
        }
    }
    Ok(())
}

fn appendix(rep: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out)?;
    writeln!(out, "## Evidence gaps")?;
    writeln!(out)?;
    if rep.gaps.is_empty() {
        writeln!(out, "None found.")?;
    }
    for g in &rep.gaps {
        writeln!(out, "- {}", rich(g))?;
    }
    writeln!(out)?;
    writeln!(out, "## Inputs")?;
    writeln!(out)?;
    writeln!(out, "| file | kind | size (bytes) | records | warnings | first | last | SHA-256 | notes |")?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|")?;
    for i in &rep.inputs {
        let mut notes = esc(&i.about);
        if let Some(s) = &i.skipped {
            notes = format!("skipped: {}", esc(s));
        }
        writeln!(
            out,
            "| {} | {} | {} | {} {} | {} | {} | {} | {} | {notes} |",
            esc(&i.path),
            esc(&i.kind),
            i.size,
            i.records,
            i.unit,
            i.warnings,
            i.first.as_deref().map(esc).unwrap_or_default(),
            i.last.as_deref().map(esc).unwrap_or_default(),
            code(&i.sha256)
        )?;
    }
    if !rep.skipped_files.is_empty() {
        writeln!(out)?;
        for s in &rep.skipped_files {
            writeln!(out, "- skipped: {}", esc(s))?;
        }
    }
    if !rep.skews.is_empty() {
        writeln!(out)?;
        writeln!(out, "## Clock skew")?;
        writeln!(out)?;
        writeln!(out, "| log host | offset (host − capture) | confidence | pairs | spread | measured on |")?;
        writeln!(out, "|---|---|---|---|---|---|")?;
        for s in &rep.skews {
            writeln!(
                out,
                "| {} | {:+.3} s | {} | {} | {:.3} s | {} |",
                esc(&s.source),
                s.offset_s,
                s.confidence,
                s.pairs,
                s.spread_s,
                esc(&s.anchor)
            )?;
        }
    }
    if !rep.events.is_empty() {
        writeln!(out)?;
        writeln!(out, "## Windows events ({})", rep.events.len() + rep.events_omitted)?;
        writeln!(out)?;
        writeln!(out, "| time (UTC, host clock) | host | event | record | summary |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for e in &rep.events {
            writeln!(
                out,
                "| {} | {} | {} {} | {} | {} |",
                esc(&e.time),
                esc(&e.host),
                esc(&e.provider),
                e.event_id,
                esc(&e.reference),
                esc(&e.summary)
            )?;
        }
        if rep.events_omitted > 0 {
            writeln!(out)?;
            writeln!(out, "{} more: see the JSON report or `rdplog timeline`.", rep.events_omitted)?;
        }
    }
    if !rep.warnings.is_empty() {
        writeln!(out)?;
        writeln!(out, "## Warnings ({})", rep.warnings.len() + rep.warnings_omitted)?;
        writeln!(out)?;
        for w in &rep.warnings {
            let frame = w.frame.map(|f| format!(" frame {f}")).unwrap_or_default();
            writeln!(out, "- {} at offset {}{frame}: {}", esc(&w.input), w.offset, esc(&w.message))?;
        }
    }
    Ok(())
}
