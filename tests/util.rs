//! Test helpers: run the binary, find the shared corpus, make temp files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `rdplog` with the given arguments.
pub fn rdplog(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rdplog")).args(args).env("NO_COLOR", "1").output().expect("rdplog runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The shared corpus of public captures: `$RDPLOG_CORPUS` or `../shared/corpus`. `None` (with a
/// printed notice) when absent, so that corpus tests skip instead of failing.
pub fn corpus(sub: &str, name: &str) -> Option<PathBuf> {
    let base = std::env::var_os("RDPLOG_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    let p = base.join(sub).join(name);
    if p.is_file() {
        Some(p)
    } else {
        eprintln!("corpus file {} not found: skipping (set RDPLOG_CORPUS to the corpus folder)", p.display());
        None
    }
}

/// Runs `analyze --format json` on one file and returns the parsed report.
pub fn analyze_json(path: &Path) -> serde_json::Value {
    let out = rdplog(&["analyze", "--format", "json", path.to_str().expect("utf-8 path")]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "exit {:?}: {}", out.status.code(), stderr(&out));
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

/// Runs `rdplog` with the given arguments and extra environment variables (e.g. `RAYON_NUM_THREADS`).
pub fn rdplog_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rdplog"))
        .args(args)
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .output()
        .expect("rdplog runs")
}

/// Every table row of a Markdown report has as many cells as its header (no cell separator came
/// from an input), and outside code spans every `<`, `[` and `]` is backslash-escaped, so no tag
/// or link can form from input text.
#[cfg(feature = "samples")]
pub fn assert_markdown_inert(md: &str) {
    let mut columns = None;
    for line in md.lines() {
        if !line.starts_with('|') {
            columns = None;
            continue;
        }
        let cells = line.replace("\\|", "").matches('|').count();
        assert_eq!(*columns.get_or_insert(cells), cells, "{line}");
    }
    for line in md.lines() {
        let (mut in_code, mut prev) = (false, ' ');
        for ch in line.chars() {
            if ch == '`' && prev != '\\' {
                in_code = !in_code;
            } else if !in_code && matches!(ch, '<' | '[' | ']') {
                assert_eq!(prev, '\\', "unescaped {ch:?} in: {line}");
            }
            prev = if prev == '\\' && ch == '\\' { ' ' } else { ch };
        }
    }
}
