//! Renderers. Each takes the finished `Analysis` (never a packet) and writes one format.
//!
//! `model` computes once what the human-readable reports show (verdict first, case header,
//! connections with their ladders, codes and timelines, evidence gaps, inventory); `text`,
//! `markdown` and `html` (with `svg`, the swim-lane picture) print it; `json` is the public
//! contract of DESIGN.md (schema_version 1), written from `schema`'s view types. `redact`
//! pseudonymises names and addresses for every format alike; `escape` makes input-derived
//! strings inert in each format.

pub mod attempt;
pub mod case;
pub mod codes;
pub mod escape;
pub mod history;
pub mod html;
pub mod json;
pub mod markdown;
pub mod model;
pub mod redact;
pub mod schema;
pub mod svg;
pub mod text;

use std::io::Write;

use crate::analyze::Analysis;
use redact::Redactor;

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text for a terminal (100 columns; colour on a terminal unless NO_COLOR).
    Text,
    /// Markdown for a ticket or a wiki page.
    #[value(alias = "markdown")]
    Md,
    /// One self-contained HTML file (no external assets; prints well).
    Html,
    /// The JSON report contract (schema_version 1).
    Json,
}

impl Format {
    /// The format implied by an output file name, if its extension names one.
    pub fn from_extension(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "txt" | "text" | "log" => Some(Format::Text),
            "md" | "markdown" => Some(Format::Md),
            "html" | "htm" => Some(Format::Html),
            _ => None,
        }
    }
}

/// How to render.
#[derive(Clone, Debug)]
pub struct Options {
    pub format: Format,
    /// Replace user, domain and host names and IP addresses with pseudonyms.
    pub redact: bool,
    /// ANSI colour in the text format (the caller decides: a terminal, and `NO_COLOR` unset).
    pub color: bool,
    /// The generated-at stamp (RFC 3339); the only part of a report that changes between runs.
    pub generated_at: String,
}

impl Options {
    /// No redaction, no colour, stamped now.
    pub fn new(format: Format) -> Options {
        Options { format, redact: false, color: false, generated_at: now() }
    }
}

/// The current time, RFC 3339 UTC to the second.
pub fn now() -> String {
    let secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    crate::time::Ts(secs.saturating_mul(1_000_000_000)).rfc3339(0)
}

/// Whether colour is wanted on a stream: it is a terminal and `NO_COLOR` is unset or empty.
pub fn color_wanted(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub fn render(a: &Analysis, format: Format, out: &mut dyn Write) -> std::io::Result<()> {
    render_with(a, &Options::new(format), out)
}

pub fn render_with(a: &Analysis, opts: &Options, out: &mut dyn Write) -> std::io::Result<()> {
    let redactor = if opts.redact { Redactor::new(a) } else { Redactor::off() };
    if opts.format == Format::Json {
        return json::render(a, &opts.generated_at, &redactor, out);
    }
    let report = model::build(a, &redactor, &opts.generated_at);
    match opts.format {
        Format::Text => text::render(&report, opts.color, out),
        Format::Md => markdown::render(&report, out),
        _ => html::render(&report, out),
    }
}
