//! HTML: one self-contained file to attach to a support case: inline CSS, inline SVG, no
//! script, no external asset (a Content-Security-Policy forbids loading any), laid out to print.
//!
//! Takes the report model; writes the verdict card first, then the case, the connections,
//! each interesting connection (ladder, facts, codes, swim-lane picture, timeline table), the
//! evidence gaps and the inventory. Every string from an input goes through `escape::html`,
//! the one escaping function of this format; our own sentences go through `escape::rich_html`.

use std::io::Write;

use super::attempt::{Detail, Mark, Row};
use super::escape::{html as esc, rich_html as rich};
use super::model::{Report, cause_title};
use super::text::elapsed;

const STYLE: &str = r#"
:root { --ink:#1f2328; --muted:#59636e; --line:#d0d7de; --bg:#ffffff; --soft:#f6f8fa;
  --bad:#c62828; --warn:#b26a00; --good:#1a7f37; --client:#2f6fd0; --server:#6b46c1; --net:#8a6d00; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: var(--bg); margin: 0; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
.meta { color: var(--muted); margin: 0; }
.note { background: var(--soft); border-left: 4px solid var(--muted); padding: 6px 10px; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
code { background: var(--soft); padding: 1px 4px; border-radius: 4px; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; }
th, td { border: 1px solid var(--line); padding: 4px 7px; text-align: left; vertical-align: top;
  overflow-wrap: break-word; }
td.mono { overflow-wrap: anywhere; }
td.time { min-width: 21ch; } td.ref, td.host { min-width: 6em; }
th { background: var(--soft); font-weight: 600; }
table.kv th { width: 14em; }
tr.key td { background: #fdecea; font-weight: 600; }
.verdict { border: 1px solid var(--line); border-left: 8px solid var(--muted); border-radius: 6px;
  padding: 14px 18px 10px; margin-top: 18px; }
.verdict.error { border-left-color: var(--bad); }
.verdict.warning { border-left-color: var(--warn); }
.verdict.info { border-left-color: var(--good); }
.verdict h2 { border: 0; margin: 0 0 8px; font-size: 20px; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 12px; font-size: 13px; font-weight: 600;
  color: #fff; background: var(--muted); vertical-align: middle; margin-left: 6px; }
.badge.error { background: var(--bad); } .badge.warning { background: var(--warn); }
.badge.info { background: var(--good); }
.bars .bar { display: flex; gap: 10px; align-items: center; font-size: 13px; }
.bars .track { display: flex; width: 50%; height: 10px; background: #eee; }
.bars .ok { background: var(--good); } .bars .ko { background: var(--bad); }
.sentence { font-size: 16px; font-weight: 600; margin: 4px 0 10px; }
.pass { color: var(--good); font-weight: 700; } .fail { color: var(--bad); font-weight: 700; }
.other { color: var(--muted); }
.hash { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.82em; word-break: break-all; }
figure { margin: 8px 0 4px; }
figcaption { color: var(--muted); font-size: 12px; }
svg.swimlane { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
svg .lane { stroke: none; } svg .lane-client { fill: #eef4fd; } svg .lane-network { fill: #fbf7e6; }
svg .lane-server { fill: #f3effb; }
svg .lane-label { font: 600 13px sans-serif; text-anchor: end; fill: var(--ink); }
svg .lane-axis { stroke: #c9ced6; stroke-width: 1; }
svg .axis { stroke: var(--muted); } svg .tick { stroke: #d7dbe0; stroke-dasharray: 2 3; }
svg .tick-label { font: 11px sans-serif; fill: var(--muted); text-anchor: middle; }
svg .legend { font: 11px sans-serif; fill: var(--muted); }
svg .mark circle, svg .mark rect { fill: #fff; stroke-width: 2; }
svg .mark text { font: 700 10px sans-serif; text-anchor: middle; fill: var(--ink); }
svg .leader { stroke: #9aa3ad; stroke-width: 1; }
svg .true-time { stroke: var(--ink); stroke-width: 1.5; }
svg .mark.packet circle, svg .mark.event rect { stroke: var(--muted); }
svg .mark.key circle, svg .mark.key rect { fill: var(--bad); stroke: var(--bad); }
svg .mark.key text { fill: #fff; }
svg .mark.outside circle, svg .mark.outside rect { stroke-dasharray: 3 2; }
@media print {
  body { font-size: 10.5px; } main { max-width: none; padding: 0; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-after: avoid; } .verdict, figure, tr { break-inside: avoid; }
  thead { display: table-header-group; }
}
@page { margin: 14mm; }
"#;

/// The opening of a table with its header row (our own column names).
fn thead(class: &str, columns: &[&str]) -> String {
    let class = if class.is_empty() { String::new() } else { format!(" class=\"{class}\"") };
    let cells: String = columns.iter().map(|c| format!("<th>{c}</th>")).collect();
    format!("<table{class}><thead><tr>{cells}</tr></thead><tbody>")
}

fn mark(m: Mark) -> (&'static str, &'static str) {
    match m {
        Mark::Pass => ("✓", "pass"),
        Mark::Fail => ("✗", "fail"),
        Mark::Other => ("·", "other"),
    }
}

pub fn render(rep: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let v = &rep.verdict;
    writeln!(out, "<!DOCTYPE html>")?;
    writeln!(out, "<html lang=\"en\">")?;
    writeln!(out, "<head>")?;
    writeln!(out, "<meta charset=\"utf-8\">")?;
    writeln!(out, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")?;
    writeln!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
    )?;
    writeln!(out, "<meta name=\"generator\" content=\"rdplog {}\">", rep.version)?;
    writeln!(out, "<title>rdplog report: {} ({:.2})</title>", v.cause, v.confidence)?;
    writeln!(out, "<style>{STYLE}</style>")?;
    writeln!(out, "</head>")?;
    writeln!(out, "<body>")?;
    writeln!(out, "<main>")?;
    writeln!(out, "<header>")?;
    writeln!(out, "<h1>rdplog report: why the Remote Desktop connection failed</h1>")?;
    writeln!(out, "<p class=\"meta\">Generated {} by rdplog {}</p>", esc(&rep.generated_at), rep.version)?;
    if rep.redacted {
        writeln!(
            out,
            "<p class=\"note\">Pseudonymised (<code>--redact</code>): user, domain and host names and IP addresses \
             are replaced, consistently across this report.</p>"
        )?;
    }
    writeln!(out, "</header>")?;
    verdict(rep, out)?;
    case(rep, out)?;
    history(rep, out)?;
    connections(rep, out)?;
    for d in &rep.details {
        detail(d, out)?;
    }
    if rep.details_omitted > 0 {
        writeln!(out, "<p>{} more connection(s) in detail: see the JSON report.</p>", rep.details_omitted)?;
    }
    appendix(rep, out)?;
    writeln!(out, "</main>")?;
    writeln!(out, "</body>")?;
    writeln!(out, "</html>")
}

fn verdict(rep: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let v = &rep.verdict;
    let sev = v.severity.as_str();
    writeln!(out, "<section class=\"verdict {sev}\" id=\"verdict\">")?;
    writeln!(
        out,
        "<h2>Verdict: {} <span class=\"badge {sev}\">confidence {:.2} · {}</span> <span class=\"badge {sev}\">{sev}</span></h2>",
        v.cause, v.confidence, v.confidence_word
    )?;
    writeln!(out, "<p class=\"sentence\">{}</p>", esc(&v.sentence))?;
    if !v.client_codes.is_empty() {
        writeln!(out, "<p>The client shows {}:</p>", esc(&v.client_code))?;
        writeln!(out, "<ul>")?;
        for c in &v.client_codes {
            writeln!(out, "<li><code>{}</code> <b>{}</b>: {}</li>", esc(&c.number()), esc(&c.name), esc(&c.meaning))?;
        }
        writeln!(out, "</ul>")?;
    }
    if !v.decisive.is_empty() {
        writeln!(out, "<h3>Decisive evidence</h3>")?;
        writeln!(out, "<ol>")?;
        for r in &v.decisive {
            writeln!(out, "<li>{}</li>", pointer(r))?;
        }
        writeln!(out, "</ol>")?;
    }
    if !v.fix.is_empty() {
        writeln!(out, "<h3>Fix</h3>")?;
        writeln!(out, "<ol>")?;
        for f in &v.fix {
            writeln!(out, "<li>{}</li>", rich(f))?;
        }
        writeln!(out, "</ol>")?;
    }
    if !v.confirm.is_empty() || !v.against.is_empty() {
        writeln!(out, "<h3>What would confirm or rule it out</h3>")?;
        writeln!(out, "<ul>")?;
        for c in &v.confirm {
            writeln!(out, "<li>{}</li>", rich(c))?;
        }
        for c in &v.against {
            writeln!(out, "<li>Against: {}</li>", esc(c))?;
        }
        writeln!(out, "</ul>")?;
    }
    writeln!(out, "<h3>Competing causes considered</h3>")?;
    if v.competing.is_empty() {
        writeln!(out, "<p>None: no other cause's signature is in the evidence.</p>")?;
    } else {
        writeln!(out, "{}", thead("", &["cause", "confidence", "what it would mean", "evidence for it"]))?;
        for c in &v.competing {
            writeln!(
                out,
                "<tr><td>{}</td><td>{:.2}</td><td>{}</td><td>{}</td></tr>",
                c.cause,
                c.confidence,
                cause_title(c.cause),
                esc(&c.evidence.join("; "))
            )?;
        }
        writeln!(out, "</tbody></table>")?;
    }
    writeln!(out, "</section>")
}

/// Escaped text with break opportunities after `-`, `%`, `.`, `/`, `\\` and `T` of a timestamp,
/// so long file names and times wrap at sensible places instead of anywhere.
///
/// The breaks follow the characters of `s`, each escaped on its own: breaking the escaped text
/// put a `<wbr>` inside the `&#39;` of an apostrophe, which then showed as `&#39;`.
fn breakable(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut prev_digit = false;
    for c in s.chars() {
        out.push_str(&esc(c.encode_utf8(&mut [0; 4])));
        if matches!(c, '-' | '%' | '/' | '\\' | '#') || (c == 'T' && prev_digit) {
            out.push_str("<wbr>");
        }
        prev_digit = c.is_ascii_digit();
    }
    out
}

fn pointer(r: &Row) -> String {
    let mut s = format!(
        "<a href=\"#conn-{}\">{} #{}</a>: <b>{}</b> at <span class=\"mono\">{}</span> ({} {}): {}",
        esc(&r.conn),
        esc(&r.conn),
        r.n,
        esc(&r.pointer),
        esc(&r.time),
        r.lane.name(),
        esc(&r.host),
        esc(&r.text)
    );
    if let (Some(orig), Some(skew)) = (&r.original, &r.skew) {
        s.push_str(&format!(
            " <span class=\"other\">(logged at {} on the host's clock; offset removed {})</span>",
            esc(orig),
            esc(skew)
        ));
    }
    s
}

fn case(rep: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let c = &rep.case;
    writeln!(out, "<section id=\"case\">")?;
    writeln!(out, "<h2>Case</h2>")?;
    writeln!(out, "<table class=\"kv\"><tbody>")?;
    for r in c.rows() {
        let value = if r.from_input { esc(&r.value) } else { r.value };
        writeln!(out, "<tr><th>{}</th><td>{value}</td></tr>", r.label)?;
    }
    writeln!(out, "</tbody></table>")?;
    writeln!(out, "</section>")
}

fn history(rep: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    if rep.history.is_empty() {
        return Ok(());
    }
    writeln!(out, "<section id=\"history\">")?;
    writeln!(out, "<h2>History (per day, client and user)</h2>")?;
    // One bar per day: attempts, the failed part in red (CSS widths; no script).
    let days = super::history::per_day(&rep.history);
    let most = days.iter().map(|d| d.1).max().unwrap_or(1).max(1);
    writeln!(out, "<div class=\"bars\">")?;
    for (day, n, failed) in &days {
        let w = |x: usize| (x * 100).div_ceil(most);
        writeln!(
            out,
            "<div class=\"bar\"><span class=\"mono\">{day}</span><span class=\"track\"><span class=\"ok\" style=\"width:{}%\"></span><span class=\"ko\" style=\"width:{}%\"></span></span><span>{n} attempt(s), {failed} failed</span></div>",
            w(n - failed),
            w(*failed)
        )?;
    }
    writeln!(out, "</div>")?;
    writeln!(out, "{}", thead("", &super::history::COLUMNS))?;
    for h in &rep.history {
        let cells: String = h.cells().iter().map(|c| format!("<td>{}</td>", esc(c))).collect();
        writeln!(out, "<tr>{cells}</tr>")?;
    }
    writeln!(out, "</tbody></table>")?;
    writeln!(out, "</section>")
}

fn connections(rep: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "<section id=\"connections\">")?;
    writeln!(out, "<h2>Connections ({})</h2>", rep.connections.len() + rep.connections_omitted)?;
    if rep.connections.is_empty() {
        writeln!(out, "<p>No RDP traffic found (TCP/UDP 3389, or an X.224 Connection Request on any port).</p>")?;
        return writeln!(out, "</section>");
    }
    writeln!(
        out,
        "{}",
        thead(
            "",
            &["id", "transport", "client → server", "start (UTC)", "duration", "user", "state", "verdict", "outcome"]
        )
    )?;
    for c in &rep.connections {
        let verdict = match (c.cause, c.confidence) {
            (Some(cause), Some(conf)) => format!("{cause} ({conf:.2})"),
            _ => String::new(),
        };
        let (words, m) = c.state();
        let failed = format!("<span class=\"{}\">{words}</span>", mark(m).1);
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"mono\">{} → {}</td><td class=\"mono\">{}</td><td>{:.3} s</td><td>{}</td><td>{failed}</td><td>{verdict}</td><td>{}</td></tr>",
            esc(&c.id),
            c.transport.as_str().to_uppercase(),
            esc(&c.client),
            esc(&c.server),
            breakable(&c.start),
            c.duration_s,
            c.user.as_deref().map(esc).unwrap_or_default(),
            esc(&c.outcome)
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    if rep.connections_omitted > 0 {
        writeln!(out, "<p>{} more connection(s) in the JSON report.</p>", rep.connections_omitted)?;
    }
    writeln!(out, "</section>")
}

fn detail(d: &Detail, out: &mut dyn Write) -> std::io::Result<()> {
    let c = &d.row;
    writeln!(out, "<section class=\"conn\" id=\"conn-{}\">", esc(&c.id))?;
    writeln!(
        out,
        "<h2>{}: {} <span class=\"mono\">{} → {}</span></h2>",
        esc(&c.id),
        c.transport.as_str().to_uppercase(),
        esc(&c.client),
        esc(&c.server)
    )?;
    writeln!(out, "<table class=\"kv\"><tbody>")?;
    writeln!(out, "<tr><th>Started</th><td>{}, lasted {:.3} s</td></tr>", esc(&c.start), c.duration_s)?;
    writeln!(out, "<tr><th>Outcome</th><td>{}</td></tr>", esc(&c.outcome))?;
    if let Some(s) = &d.verdict_summary {
        let conf =
            c.confidence.map(|x| format!(" ({x:.2}, {})", c.severity.map_or("", |s| s.as_str()))).unwrap_or_default();
        writeln!(out, "<tr><th>Verdict</th><td>{}{conf}</td></tr>", esc(s))?;
    }
    for (k, v) in &d.facts {
        writeln!(out, "<tr><th>{k}</th><td>{}</td></tr>", esc(v))?;
    }
    writeln!(out, "</tbody></table>")?;
    writeln!(out, "<h3>Phase ladder</h3>")?;
    writeln!(out, "{}", thead("", &["", "phase", "result", "at", "detail"]))?;
    for r in &d.ladder {
        let (m, class) = mark(r.mark);
        let at = r.at.map(elapsed).unwrap_or_default();
        writeln!(
            out,
            "<tr><td class=\"{class}\">{m}</td><td>{}</td><td class=\"{class}\">{}</td><td class=\"mono\">{at}</td><td>{}</td></tr>",
            r.phase,
            esc(&r.state),
            esc(&r.detail)
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    if !d.codes.is_empty() {
        writeln!(out, "<h3>Decoded codes</h3>")?;
        writeln!(out, "{}", thead("", &["where", "value", "name", "meaning"]))?;
        for k in &d.codes {
            writeln!(
                out,
                "<tr><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td></tr>",
                esc(&k.what),
                esc(&k.number()),
                esc(&k.name),
                esc(&k.meaning)
            )?;
        }
        writeln!(out, "</tbody></table>")?;
    }
    let svg = super::svg::swimlane(d);
    if !svg.is_empty() {
        writeln!(out, "<h3>Timeline</h3>")?;
        writeln!(
            out,
            "<figure>{svg}<figcaption>Swim lanes of {}: what the client, the network and the server did, on the capture clock.</figcaption></figure>",
            esc(&c.id)
        )?;
    }
    writeln!(
        out,
        "{}",
        thead(
            "timeline",
            &["#", "time (UTC, capture clock)", "lane", "host", "ref", "what", "logged at (offset removed)"]
        )
    )?;
    for r in &d.timeline {
        let logged = match (&r.original, &r.skew) {
            (Some(o), Some(s)) => format!("<span class=\"time\">{}</span><br>{}", breakable(o), esc(s)),
            _ => String::new(),
        };
        writeln!(
            out,
            "<tr{}><td>{}</td><td class=\"mono time\">{}</td><td>{}</td><td class=\"host\">{}</td><td class=\"mono ref\">{}</td><td>{}</td><td class=\"mono time\">{logged}</td></tr>",
            if r.key { " class=\"key\"" } else { "" },
            r.n,
            breakable(&r.time),
            r.lane.name(),
            breakable(&r.host),
            breakable(&r.reference),
            esc(&r.text)
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    if d.rows_omitted > 0 {
        writeln!(out, "<p>{} more row(s), farther from the failure: see the JSON report.</p>", d.rows_omitted)?;
    }
    if !d.notes.is_empty() {
        writeln!(out, "<h3>Notes</h3>")?;
        writeln!(out, "<ul>")?;
        for n in &d.notes {
            writeln!(out, "<li>{}</li>", esc(n))?;
        }
        writeln!(out, "</ul>")?;
    }
    writeln!(out, "</section>")
}

fn appendix(rep: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "<section id=\"gaps\">")?;
    writeln!(out, "<h2>Evidence gaps</h2>")?;
    if rep.gaps.is_empty() {
        writeln!(out, "<p>None found.</p>")?;
    } else {
        writeln!(out, "<ul>")?;
        for g in &rep.gaps {
            writeln!(out, "<li>{}</li>", rich(g))?;
        }
        writeln!(out, "</ul>")?;
    }
    writeln!(out, "</section>")?;
    writeln!(out, "<section id=\"inputs\">")?;
    writeln!(out, "<h2>Inputs</h2>")?;
    writeln!(
        out,
        "{}",
        thead("", &["file", "kind", "size (bytes)", "records", "warnings", "time span (UTC)", "SHA-256", "notes"])
    )?;
    for i in &rep.inputs {
        let span = match (&i.first, &i.last) {
            (Some(f), Some(l)) => format!("{}<br>{}", esc(f), esc(l)),
            _ => String::new(),
        };
        let notes = match &i.skipped {
            Some(s) => format!("skipped: {}", esc(s)),
            None => esc(&i.about),
        };
        writeln!(
            out,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td><td class=\"mono\">{span}</td><td class=\"hash\">{}</td><td>{notes}</td></tr>",
            breakable(&i.path),
            esc(&i.kind),
            i.size,
            i.records,
            i.unit,
            i.warnings,
            esc(&i.sha256)
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    for s in &rep.skipped_files {
        writeln!(out, "<p>skipped: {}</p>", esc(s))?;
    }
    writeln!(out, "</section>")?;
    if !rep.skews.is_empty() {
        writeln!(out, "<section id=\"skew\">")?;
        writeln!(out, "<h2>Clock skew</h2>")?;
        writeln!(
            out,
            "{}",
            thead("", &["log host", "offset (host − capture)", "confidence", "pairs", "spread", "measured on"])
        )?;
        for s in &rep.skews {
            writeln!(
                out,
                "<tr><td>{}</td><td>{:+.3} s</td><td>{}</td><td>{}</td><td>{:.3} s</td><td>{}</td></tr>",
                esc(&s.source),
                s.offset_s,
                s.confidence,
                s.pairs,
                s.spread_s,
                esc(&s.anchor)
            )?;
        }
        writeln!(out, "</tbody></table>")?;
        writeln!(out, "</section>")?;
    }
    if !rep.events.is_empty() {
        writeln!(out, "<section id=\"events\">")?;
        writeln!(out, "<h2>Windows events ({})</h2>", rep.events.len() + rep.events_omitted)?;
        writeln!(out, "{}", thead("", &["time (UTC, host clock)", "host", "event", "record", "summary"]))?;
        for e in &rep.events {
            writeln!(
                out,
                "<tr><td class=\"mono\">{}</td><td>{}</td><td>{} {}</td><td class=\"mono\">{}</td><td>{}</td></tr>",
                esc(&e.time),
                esc(&e.host),
                esc(&e.provider),
                e.event_id,
                esc(&e.reference),
                esc(&e.summary)
            )?;
        }
        writeln!(out, "</tbody></table>")?;
        if rep.events_omitted > 0 {
            writeln!(out, "<p>{} more: see the JSON report or <code>rdplog timeline</code>.</p>", rep.events_omitted)?;
        }
        writeln!(out, "</section>")?;
    }
    if !rep.warnings.is_empty() {
        writeln!(out, "<section id=\"warnings\">")?;
        writeln!(out, "<h2>Warnings ({})</h2>", rep.warnings.len() + rep.warnings_omitted)?;
        writeln!(out, "<ul>")?;
        for w in &rep.warnings {
            let frame = w.frame.map(|f| format!(" frame {f}")).unwrap_or_default();
            writeln!(out, "<li>{} at offset {}{frame}: {}</li>", esc(&w.input), w.offset, esc(&w.message))?;
        }
        writeln!(out, "</ul>")?;
        writeln!(out, "</section>")?;
    }
    Ok(())
}
