//! Terminal text: the verdict first, then the case, the connections, each interesting
//! connection's ladder, codes and timeline, the evidence gaps, inputs, clock skew, events and
//! warnings.
//!
//! Takes the report model; writes lines of at most 100 columns (long lines wrap with a hanging
//! indent). Colour (ANSI SGR) only when the caller asks for it (a terminal, `NO_COLOR` unset).
//! Every string from an input goes through `escape::terminal`, so control characters and
//! escape sequences hidden in a cookie, certificate or host name are printed, never acted on.

use crate::vocab::Severity;
use std::io::Write;

use super::attempt::{Detail, Mark, Row};
use super::escape::terminal as esc;
use super::model::{Report, cause_title};

/// Line width the report fits in.
pub const WIDTH: usize = 100;

/// Writes lines, wrapping and colouring.
struct Out<'a> {
    w: &'a mut dyn Write,
    color: bool,
}

/// Visible width of a string: ANSI SGR sequences (ours) take no columns.
fn visible(s: &str) -> usize {
    let mut n = 0;
    let mut in_esc = false;
    for c in s.chars() {
        match (in_esc, c) {
            (false, '\x1b') => in_esc = true,
            (true, 'm') => in_esc = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

/// Breaks `text` into lines of at most `width` columns after the prefixes; words longer than a
/// line are cut.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let mut empty = true;
    // Splitting on single spaces keeps runs of spaces (empty words) inside a line.
    for word in text.split(' ') {
        if empty && word.is_empty() {
            continue;
        }
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let room = width.saturating_sub(visible(&line));
            let need = word.len() + usize::from(!empty);
            if need <= room {
                if !empty {
                    line.push(' ');
                }
                line.extend(word.iter());
                empty = false;
                break;
            }
            if !empty {
                lines.push(std::mem::replace(&mut line, rest.to_string()));
                empty = true;
                if word.is_empty() {
                    break;
                }
                continue;
            }
            // A word longer than the line: cut it.
            let cut = room.max(1).min(word.len());
            line.extend(word.iter().take(cut));
            word.drain(..cut);
            lines.push(std::mem::replace(&mut line, rest.to_string()));
            if word.is_empty() {
                break;
            }
        }
    }
    if !empty || lines.is_empty() {
        lines.push(line);
    }
    lines.into_iter().map(|l| l.trim_end().to_string()).collect()
}

impl Out<'_> {
    fn paint(&self, sgr: &str, s: &str) -> String {
        if self.color { format!("\x1b[{sgr}m{s}\x1b[0m") } else { s.to_string() }
    }

    fn blank(&mut self) -> std::io::Result<()> {
        writeln!(self.w)
    }

    /// Writes `text` (already escaped) wrapped after the prefixes.
    fn para(&mut self, first: &str, rest: &str, text: &str) -> std::io::Result<()> {
        for l in wrap(text, WIDTH, first, rest) {
            writeln!(self.w, "{l}")?;
        }
        Ok(())
    }

    fn heading(&mut self, s: &str) -> std::io::Result<()> {
        self.blank()?;
        let h = self.paint("1", s);
        writeln!(self.w, "{h}")
    }

    /// A `label  value` line with the value wrapped under itself.
    fn field(&mut self, indent: usize, label: &str, width: usize, value: &str) -> std::io::Result<()> {
        let first = format!("{}{label:<width$}  ", " ".repeat(indent));
        let rest = " ".repeat(indent + width + 2);
        self.para(&first, &rest, value)
    }
}

/// Seconds as `+1.050 ms` below a second, else `+4.005 s`.
pub fn elapsed(s: f64) -> String {
    if s.abs() < 1.0 { format!("{:+.3} ms", s * 1000.0) } else { format!("{s:+.3} s") }
}

fn severity_sgr(sev: Severity) -> &'static str {
    match sev {
        Severity::Error => "1;31",
        Severity::Warning => "1;33",
        Severity::Info => "1;32",
    }
}

pub fn render(rep: &Report, color: bool, out: &mut dyn Write) -> std::io::Result<()> {
    let mut o = Out { w: out, color };
    let title = o.paint("1", "rdplog report: why the Remote Desktop connection failed");
    writeln!(o.w, "{title}")?;
    writeln!(o.w, "Generated {} by rdplog {}", rep.generated_at, rep.version)?;
    if rep.redacted {
        o.para("", "", "Pseudonymised (--redact): user, domain and host names and IP addresses are replaced, consistently across this report.")?;
    }
    verdict(&mut o, rep)?;
    case(&mut o, rep)?;
    history(&mut o, rep)?;
    connections(&mut o, rep)?;
    for d in &rep.details {
        detail(&mut o, d)?;
    }
    if rep.details_omitted > 0 {
        o.blank()?;
        o.para(
            "",
            "",
            &format!(
                "{} more connection(s) with the same kind of detail are in the JSON report (--format json).",
                rep.details_omitted
            ),
        )?;
    }
    appendix(&mut o, rep)
}

fn verdict(o: &mut Out, rep: &Report) -> std::io::Result<()> {
    let v = &rep.verdict;
    let head =
        format!("VERDICT  {} · confidence {:.2} ({}) · {}", v.cause, v.confidence, v.confidence_word, v.severity);
    o.blank()?;
    let h = o.paint(severity_sgr(v.severity), &head);
    writeln!(o.w, "{h}")?;
    o.para("  ", "  ", &esc(&v.sentence))?;
    if !v.client_codes.is_empty() {
        o.para("  ", "    ", &format!("The client shows {}:", esc(&v.client_code)))?;
        for c in &v.client_codes {
            o.para("    ", "      ", &esc(&format!("{}  {}: {}", c.number(), c.name, c.meaning)))?;
        }
    }
    if !v.decisive.is_empty() {
        o.para("  ", "  ", &o.paint("1", "Decisive evidence"))?;
        for r in &v.decisive {
            pointer(o, r)?;
        }
    }
    if !v.fix.is_empty() {
        o.para("  ", "  ", &o.paint("1", "Fix"))?;
        for (i, f) in v.fix.iter().enumerate() {
            o.para(&format!("    {}. ", i + 1), "       ", &esc(f))?;
        }
    }
    if !v.confirm.is_empty() || !v.against.is_empty() {
        o.para("  ", "  ", &o.paint("1", "What would confirm or rule it out"))?;
        for c in &v.confirm {
            o.para("    - ", "      ", &esc(c))?;
        }
        for c in &v.against {
            o.para("    - ", "      ", &format!("Against: {}", esc(c)))?;
        }
    }
    o.para("  ", "  ", &o.paint("1", "Competing causes considered"))?;
    if v.competing.is_empty() {
        o.para("    ", "    ", "none: no other cause's signature is in the evidence")?;
    }
    for c in &v.competing {
        let text =
            format!("{} ({:.2}), {}: {}", c.cause, c.confidence, cause_title(c.cause), esc(&c.evidence.join("; ")));
        o.para("    - ", "      ", &text)?;
    }
    Ok(())
}

/// A decisive evidence line: exact pointer, time, who, and what it says.
fn pointer(o: &mut Out, r: &Row) -> std::io::Result<()> {
    let head = format!("[{} #{}] {} at {} ({} {})", r.conn, r.n, esc(&r.pointer), r.time, r.lane.name(), esc(&r.host));
    o.para("    ", "        ", &head)?;
    o.para("        ", "        ", &esc(&r.text))?;
    if let (Some(orig), Some(skew)) = (&r.original, &r.skew) {
        o.para("        ", "        ", &format!("logged at {orig} on the host's clock; offset removed {skew}"))?;
    }
    Ok(())
}

fn case(o: &mut Out, rep: &Report) -> std::io::Result<()> {
    let c = &rep.case;
    o.heading("CASE")?;
    for r in c.rows() {
        let value = if r.from_input { esc(&r.value) } else { r.value };
        o.field(2, &r.label.to_lowercase(), 13, &value)?;
    }
    Ok(())
}

fn history(o: &mut Out, rep: &Report) -> std::io::Result<()> {
    if rep.history.is_empty() {
        return Ok(());
    }
    o.heading("HISTORY (per day, client and user)")?;
    for h in &rep.history {
        let line = format!(
            "{}  {}  {}  {} attempt(s), {} succeeded, failed: {}{}",
            h.day,
            esc(&h.client),
            esc(&h.user),
            h.attempts,
            h.succeeded,
            h.failures_text(),
            if h.background > 0 { format!(", {} probe(s)/other", h.background) } else { String::new() }
        );
        o.para("  ", "      ", &line)?;
    }
    Ok(())
}

fn connections(o: &mut Out, rep: &Report) -> std::io::Result<()> {
    if rep.connections.is_empty() {
        o.heading("CONNECTIONS")?;
        return o.para("  ", "  ", "No RDP traffic found (TCP/UDP 3389, or an X.224 Connection Request on any port).");
    }
    o.heading(&format!("CONNECTIONS ({})", rep.connections.len() + rep.connections_omitted))?;
    for c in &rep.connections {
        let user = c.user.as_ref().map(|u| format!("  user {}", esc(u))).unwrap_or_default();
        let head = format!(
            "{}  {}  {} -> {}  {}  {:.3} s{user}",
            c.id,
            c.transport.as_str().to_uppercase(),
            esc(&c.client),
            esc(&c.server),
            c.start,
            c.duration_s
        );
        o.para("  ", "      ", &head)?;
        let (words, mark) = c.state();
        let state = match mark {
            Mark::Fail => o.paint("31", &words),
            Mark::Pass => o.paint("32", &words),
            Mark::Other => o.paint("2", &words),
        };
        let verdict = match (c.cause, c.confidence) {
            (Some(cause), Some(conf)) => format!(" · {cause} ({conf:.2})"),
            _ => String::new(),
        };
        o.para(&format!("      {state}{verdict}: "), "      ", &esc(&c.outcome))?;
    }
    if rep.connections_omitted > 0 {
        o.para("  ", "  ", &format!("... {} more in the JSON report", rep.connections_omitted))?;
    }
    Ok(())
}

fn detail(o: &mut Out, d: &Detail) -> std::io::Result<()> {
    let c = &d.row;
    let head = format!("{}  {}  {} -> {}", c.id, c.transport.as_str().to_uppercase(), esc(&c.client), esc(&c.server));
    o.heading(&head)?;
    o.field(2, "started", 8, &format!("{}, lasted {:.3} s", c.start, c.duration_s))?;
    o.field(2, "outcome", 8, &esc(&c.outcome))?;
    if let Some(s) = &d.verdict_summary {
        let conf =
            c.confidence.map(|x| format!(" ({x:.2}, {})", c.severity.map_or("", |s| s.as_str()))).unwrap_or_default();
        o.field(2, "verdict", 8, &format!("{}{conf}", esc(s)))?;
    }
    o.para("  ", "  ", &o.paint("1", "Phase ladder"))?;
    for r in &d.ladder {
        let (mark, sgr) = match r.mark {
            Mark::Pass => ("✓", "32"),
            Mark::Fail => ("✗", "1;31"),
            Mark::Other => ("·", "2"),
        };
        let at = r.at.map(elapsed).unwrap_or_default();
        let first = format!("    {} {:<11} {:<18} {:>12}  ", o.paint(sgr, mark), r.phase, r.state, at);
        o.para(&first, &" ".repeat(50), &esc(&r.detail))?;
    }
    if !d.facts.is_empty() {
        o.para("  ", "  ", &o.paint("1", "Facts"))?;
        for (k, v) in &d.facts {
            o.field(4, k, 22, &esc(v))?;
        }
    }
    if !d.codes.is_empty() {
        o.para("  ", "  ", &o.paint("1", "Decoded codes"))?;
        for k in &d.codes {
            let num = if k.number().is_empty() { String::new() } else { format!("{}  ", k.number()) };
            o.para("    - ", "      ", &esc(&format!("{}: {num}{}: {}", k.what, k.name, k.meaning)))?;
        }
    }
    o.para("  ", "  ", &o.paint("1", &format!("Timeline (UTC {}, capture clock; * = decisive)", d.date)))?;
    for r in &d.timeline {
        let time = r.time.strip_prefix(&format!("{}T", d.date)).unwrap_or(&r.time);
        let star = if r.key { o.paint("1;31", "*") } else { " ".into() };
        let reference = esc(&r.reference);
        let indent = " ".repeat(10);
        if reference.chars().count() > 12 {
            // A long file name gets the first line to itself; the text follows underneath.
            o.para(&format!("  {star}{:>3}  {time}  {:<7}  ", r.n, r.lane.name()), &indent, &reference)?;
            o.para(&indent, &indent, &esc(&r.text))?;
        } else {
            let first = format!("  {star}{:>3}  {time}  {:<7}  {reference:<12}  ", r.n, r.lane.name());
            o.para(&first, &indent, &esc(&r.text))?;
        }
        if let (Some(orig), Some(skew)) = (&r.original, &r.skew) {
            o.para(&indent, &indent, &format!("logged {orig} by {}; offset removed {skew}", esc(&r.host)))?;
        }
    }
    if d.rows_omitted > 0 {
        let more = format!("... {} more row(s), farther from the failure: see the JSON report", d.rows_omitted);
        o.para("          ", "          ", &more)?;
    }
    if !d.notes.is_empty() {
        o.para("  ", "  ", &o.paint("1", "Notes"))?;
        for n in &d.notes {
            o.para("    - ", "      ", &esc(n))?;
        }
    }
    Ok(())
}

fn appendix(o: &mut Out, rep: &Report) -> std::io::Result<()> {
    o.heading("EVIDENCE GAPS")?;
    if rep.gaps.is_empty() {
        o.para("  ", "  ", "none found")?;
    }
    for g in &rep.gaps {
        o.para("  - ", "    ", &esc(g))?;
    }
    o.heading("INPUTS")?;
    for i in &rep.inputs {
        o.para("  ", "    ", &esc(&i.path))?;
        let about = if i.about.is_empty() { String::new() } else { format!(", {}", esc(&i.about)) };
        let line =
            format!("{}, {} bytes, {} {}, {} warning(s){about}", esc(&i.kind), i.size, i.records, i.unit, i.warnings);
        o.para("    ", "    ", &line)?;
        if let (Some(f), Some(l)) = (&i.first, &i.last) {
            o.para("    ", "    ", &format!("{f} .. {l}"))?;
        }
        o.para("    ", "    ", &format!("sha256 {}", i.sha256))?;
        if let Some(s) = &i.skipped {
            o.para("    ", "    ", &format!("skipped: {}", esc(s)))?;
        }
    }
    for s in &rep.skipped_files {
        o.para("  skipped: ", "    ", &esc(s))?;
    }
    if let Some(n) = rep.threads {
        o.para("  ", "    ", &format!("read with {n} worker thread(s)"))?;
    }
    if !rep.skews.is_empty() {
        o.heading("CLOCK SKEW (log host clock minus capture clock)")?;
        for s in &rep.skews {
            let line = format!(
                "{}: {:+.3} s, {} confidence, {} pair(s), spread {:.3} s; {}",
                esc(&s.source),
                s.offset_s,
                s.confidence,
                s.pairs,
                s.spread_s,
                esc(&s.anchor)
            );
            o.para("  ", "    ", &line)?;
        }
    }
    if !rep.events.is_empty() {
        o.heading(&format!("WINDOWS EVENTS ({})", rep.events.len() + rep.events_omitted))?;
        for e in &rep.events {
            let line = format!(
                "{}  {}  {} {}  {}: {}",
                e.time,
                esc(&e.host),
                e.provider,
                e.event_id,
                esc(&e.reference),
                esc(&e.summary)
            );
            o.para("  ", "    ", &line)?;
        }
        if rep.events_omitted > 0 {
            o.para("  ", "  ", &format!("... {} more: see --format json or `rdplog timeline`", rep.events_omitted))?;
        }
    }
    if !rep.warnings.is_empty() {
        o.heading(&format!("WARNINGS ({})", rep.warnings.len() + rep.warnings_omitted))?;
        for w in &rep.warnings {
            let frame = w.frame.map(|f| format!(" frame {f}")).unwrap_or_default();
            o.para("  ", "    ", &format!("{} @ offset {}{frame}: {}", esc(&w.input), w.offset, esc(&w.message)))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_with_hanging_indent_and_cuts_long_words() {
        let lines = wrap("aaa bbb ccc", 9, "> ", "  ");
        assert_eq!(lines, ["> aaa bbb", "  ccc"]);
        let long = wrap(&"x".repeat(25), 10, "", "");
        assert!(long.iter().all(|l| l.chars().count() <= 10), "{long:?}");
        assert_eq!(long.concat(), "x".repeat(25));
        assert_eq!(visible("\x1b[1mab\x1b[0m"), 2);
    }
}
