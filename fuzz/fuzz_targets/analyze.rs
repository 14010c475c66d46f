//! The whole `rdplog analyze` pipeline: the fuzz bytes are written to temp files (the pipeline
//! reads files by path and detects the format by content, gzip included), analysed with
//! `analyze::analyze`, and the result is rendered in every report format, plain and redacted, and
//! as timeline rows, so that renderer panics on odd analyses surface too.
//!
//! One input file, or two when the bytes contain `SPLIT`: then what comes before it and what
//! comes after it are two files of one case (seeded as a capture and an event log), so that the
//! event window, the joins of events to connections and the clock-skew estimate are fuzzed too.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rdplog::analyze::analyze;
use rdplog::input::detect;
use rdplog::report::{Format, Options, render_with};

const SPLIT: &[u8] = b"\n--rdplog-fuzz-split--\n";

/// Two temp files per fuzzing process, rewritten for every input.
fn paths() -> &'static [PathBuf; 2] {
    static PATHS: OnceLock<[PathBuf; 2]> = OnceLock::new();
    PATHS.get_or_init(|| {
        let dir = std::env::temp_dir();
        let pid = std::process::id();
        [dir.join(format!("rdplog-fuzz-analyze-{pid}-a")), dir.join(format!("rdplog-fuzz-analyze-{pid}-b"))]
    })
}

fuzz_target!(|data: &[u8]| {
    let parts: Vec<&[u8]> = match data.windows(SPLIT.len()).position(|w| w == SPLIT) {
        Some(at) => vec![&data[..at], &data[at + SPLIT.len()..]],
        None => vec![data],
    };
    let mut inputs = Vec::new();
    for (part, path) in parts.iter().zip(paths()) {
        std::fs::write(path, part).expect("write the temp input");
        if let Ok(input) = detect(path) {
            inputs.push(input);
        }
    }
    if inputs.is_empty() {
        return;
    }
    let Ok(analysis) = analyze(&inputs) else { return };
    for format in [Format::Text, Format::Md, Format::Html, Format::Json] {
        for redact in [false, true] {
            let opts = Options { format, redact, color: redact, generated_at: "2026-01-01T00:00:00Z".into() };
            let mut out = Vec::new();
            render_with(&analysis, &opts, &mut out).expect("rendering to memory cannot fail");
            if format == Format::Json {
                serde_json::from_slice::<serde_json::Value>(&out).expect("the JSON report is valid JSON");
            }
        }
    }
    std::hint::black_box(rdplog::timeline::rows(&analysis));
});
