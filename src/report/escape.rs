//! Escaping for each output format: the one place where input-derived text is made inert.
//!
//! Takes any string (a cookie, a host name, a certificate subject, an event field) and produces
//! text that its format shows literally: `terminal` turns control and bidirectional-override
//! characters into visible `\x..`/`\u{..}` escapes, `markdown` additionally backslash-escapes the
//! characters that start markup (links, HTML, emphasis, tables, code), `html` additionally
//! encodes `& < > " '`. `rich_*` render our own sentences, whose `backtick` spans are commands.
//! Does not redact (see `redact`), wrap lines or decide what is shown.

/// Characters that reorder text visually (Unicode bidi controls): shown escaped, never acted on.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}')
}

/// Control characters (C0, DEL, C1) and bidi controls become visible escapes; everything else
/// is kept. The common base of every format's escaping.
pub fn neutralize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else if is_bidi_control(c) {
            out.push_str(&format!("\\u{{{:04x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Terminal text: nothing that came from an input may reach the terminal as a control sequence.
pub fn terminal(s: &str) -> String {
    neutralize(s)
}

/// Markdown prose (CommonMark + GitHub extensions), also safe inside a table cell: links,
/// images, raw HTML, autolinks in angle brackets, emphasis, strikethrough, code spans, math and
/// cell separators cannot form, nor autolinks (`scheme://`, `www.`, `a@b`). `_` is escaped only where it could
/// open or close emphasis.
pub fn markdown(s: &str) -> String {
    let clean = neutralize(s);
    let chars: Vec<char> = clean.chars().collect();
    let mut out = String::with_capacity(clean.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '\\' | '`' | '*' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '$' | '#' | '@' | '!' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            // `scheme://` and `www.` would become links by GitHub's autolink extension.
            ':' if chars.get(i + 1) == Some(&'/') && chars.get(i + 2) == Some(&'/') => out.push_str("\\:"),
            '.' if i >= 3
                && chars.get(i - 3..i).is_some_and(|w| w.iter().collect::<String>().eq_ignore_ascii_case("www")) =>
            {
                out.push_str("\\.")
            }
            '_' => {
                let before = i.checked_sub(1).and_then(|j| chars.get(j)).is_some_and(|p| p.is_alphanumeric());
                let after = chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
                if !(before && after) {
                    out.push('\\');
                }
                out.push('_');
            }
            _ => out.push(c),
        }
    }
    // A line that starts with a list, heading, quote or ordered-list marker would become a
    // block: escape the first character of such text.
    match out.chars().next() {
        Some('-' | '+' | '=') => format!("\\{out}"),
        Some(d) if d.is_ascii_digit() => {
            let digits = out.chars().take_while(char::is_ascii_digit).count();
            let mut after = out.get(digits..).unwrap_or("").chars();
            match (after.next(), after.next()) {
                (Some('.' | ')'), None | Some(' ' | '\t')) => match (out.get(..digits), out.get(digits..)) {
                    (Some(number), Some(rest)) => format!("{number}\\{rest}"),
                    _ => out,
                },
                _ => out,
            }
        }
        _ => out,
    }
}

/// A Markdown code span around `s`, fenced with more backticks than `s` contains in a row.
/// `|` is escaped so the span can sit in a table cell (GitHub tables honour `\|` in code).
pub fn markdown_code(s: &str) -> String {
    let clean = neutralize(s).replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in clean.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if clean.starts_with('`') || clean.ends_with('`') || clean.is_empty() { " " } else { "" };
    format!("{fence}{pad}{clean}{pad}{fence}")
}

/// HTML text or a double- or single-quoted attribute value (also inside inline SVG).
pub fn html(s: &str) -> String {
    let clean = neutralize(s);
    let mut out = String::with_capacity(clean.len() + 16);
    for c in clean.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Splits one of our own sentences into (is_code, text) parts at backticks.
fn spans(s: &str) -> impl Iterator<Item = (bool, &str)> {
    s.split('`').enumerate().filter(|(_, t)| !t.is_empty()).map(|(i, t)| (i % 2 == 1, t))
}

/// Our own sentence for Markdown: backtick spans stay code, the rest is escaped prose.
pub fn rich_markdown(s: &str) -> String {
    spans(s).map(|(code, t)| if code { markdown_code(t) } else { markdown(t) }).collect()
}

/// Our own sentence for HTML: backtick spans become `<code>`, everything is escaped.
pub fn rich_html(s: &str) -> String {
    spans(s).map(|(code, t)| if code { format!("<code>{}</code>", html(t)) } else { html(t) }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_control_and_bidi() {
        assert_eq!(terminal("a\x1b[2Jb\u{202e}c\n"), "a\\x1b[2Jb\\u{202e}c\\x0a");
        assert_eq!(terminal("plain ✓ text"), "plain ✓ text");
    }

    #[test]
    fn markdown_makes_markup_literal() {
        assert_eq!(markdown("x](javascript:alert(1))"), "x\\](javascript:alert(1))");
        assert_eq!(markdown("<script>"), "\\<script\\>");
        assert_eq!(markdown("a|b"), "a\\|b");
        assert_eq!(markdown("TLS_ECDHE_RSA"), "TLS_ECDHE_RSA");
        assert_eq!(markdown("_x_"), "\\_x\\_");
        assert_eq!(markdown("- item"), "\\- item");
        assert_eq!(markdown("12. x"), "12\\. x");
        assert_eq!(markdown("3)"), "3\\)");
        assert_eq!(markdown("10.20.30.41:3389"), "10.20.30.41:3389");
        assert_eq!(markdown("CONTOSO\\alice"), "CONTOSO\\\\alice");
        assert_eq!(markdown("see http://x and WWW.example.com"), "see http\\://x and WWW\\.example.com");
    }

    #[test]
    fn markdown_code_fences_backticks() {
        assert_eq!(markdown_code("a`b"), "``a`b``");
        assert_eq!(markdown_code("`x"), "`` `x ``");
        assert_eq!(markdown_code("a|b"), "`a\\|b`");
    }

    #[test]
    fn html_encodes_specials() {
        assert_eq!(html("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(rich_html("run `a<b` now"), "run <code>a&lt;b</code> now");
        assert_eq!(rich_markdown("run `x|y` now_"), "run `x\\|y` now\\_");
    }
}
