//! Renderers. Each takes the finished `Analysis` (never a packet) and writes one format.
//!
//! `text` is the terminal view; `json` is the public contract of DESIGN.md (schema_version 1).

pub mod json;
pub mod text;

use std::io::Write;

use crate::analyze::Analysis;

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text for a terminal.
    Text,
    /// The JSON report contract (schema_version 1).
    Json,
}

impl Format {
    /// The format implied by an output file name, if its extension names one.
    pub fn from_extension(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "txt" | "text" | "log" => Some(Format::Text),
            _ => None,
        }
    }
}

pub fn render(a: &Analysis, format: Format, out: &mut dyn Write) -> std::io::Result<()> {
    match format {
        Format::Text => text::render(a, out),
        Format::Json => json::render(a, out),
    }
}
