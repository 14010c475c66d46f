//! Command-line behaviour: input errors are one clear line naming the file, exit code 2.

use std::io::Write;

use crate::util::{rdplog, stderr};

fn temp_with(name: &str, bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join(name);
    std::fs::File::create(&p).and_then(|mut f| f.write_all(bytes)).expect("write");
    (dir, p)
}

fn assert_input_error(path: &std::path::Path, needle: &str) {
    let out = rdplog(&["analyze", path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(&path.display().to_string()), "names the file: {err}");
    assert!(err.contains(needle), "{needle:?} in {err}");
}

#[test]
fn empty_file_is_a_clear_error() {
    let (_d, p) = temp_with("capture.pcap", b"");
    assert_input_error(&p, "empty file");
}

#[test]
fn unknown_format_is_detected_by_content_not_name() {
    let (_d, p) = temp_with("capture.pcap", b"GIF89a not a capture at all");
    assert_input_error(&p, "not a pcap, pcapng, evtx or XML event file");
}

#[test]
fn etl_trace_explains_how_to_convert() {
    let (_d, p) = temp_with("NetTrace.etl", &[0u8; 256]);
    assert_input_error(&p, "pktmon etl2pcap");
}

#[test]
fn directory_without_usable_files_is_an_error() {
    let (d, _p) = temp_with("notes.txt", b"hello");
    let out = rdplog(&["analyze", d.path().to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("directory contains no capture"), "{}", stderr(&out));
}

#[test]
fn missing_file_names_the_file() {
    let out = rdplog(&["analyze", "/nonexistent/rdplog-test.pcap"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/nonexistent/rdplog-test.pcap"));
}

#[test]
fn usage_error_exits_2_and_help_exits_0() {
    assert_eq!(rdplog(&["analyze"]).status.code(), Some(2));
    let help = rdplog(&["analyze", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("etl2pcap"));
}
