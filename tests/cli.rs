//! Command-line behaviour: input errors are one clear line naming the file, exit code 2.

use std::io::Write;

use sha2::Digest;

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
fn etl_name_without_an_etw_header_is_explained() {
    let (_d, p) = temp_with("NetTrace.etl", &[0u8; 256]);
    assert_input_error(&p, "does not start with an ETW buffer");
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
    assert!(String::from_utf8_lossy(&help.stdout).contains("pktmon"));
}

/// `--client`, `--until`, `--user`: the diagnosis answers about the attempts selected. In the
/// two-causes sample (its expected.json: certificate resets at 09:20 after a UDP fallback at
/// 09:10), the time before the resets selects the degraded session only.
#[test]
fn filters_select_the_attempts_the_diagnosis_answers_about() {
    let run = |extra: &[&str]| {
        let mut args = vec!["analyze", "samples/two-causes", "--format", "json"];
        args.extend_from_slice(extra);
        let o = rdplog(&args);
        serde_json::from_slice::<serde_json::Value>(&o.stdout).expect("JSON report")
    };
    let all = run(&[]);
    assert_eq!(all["diagnosis"]["cause"], "certificate");
    let first = all["connections"].as_array().expect("connections")[1]["start"].as_str().expect("start").to_string();
    let early = run(&["--client", "10.20.30.41", "--until", &first]);
    let causes: Vec<&str> = early["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .filter_map(|c| c["verdict"]["cause"].as_str())
        .collect();
    assert_eq!(causes, ["udp-blocked"]);
    assert_eq!(early["diagnosis"]["cause"], "udp-blocked");
    // The healthy session of another workstation (10.20.30.77) only.
    let other = run(&["--client", "10.20.30.77"]);
    assert_eq!(other["connections"].as_array().map(Vec::len), Some(1));
    assert_eq!(other["diagnosis"]["cause"], "none");
    // A user who never connected: nothing selected.
    let nobody = run(&["--user", "mallory"]);
    assert_eq!(nobody["connections"].as_array().map(Vec::len), Some(0));
    // A bad time is a usage error (exit 2).
    assert_eq!(rdplog(&["analyze", "samples/two-causes", "--since", "yesterday"]).status.code(), Some(2));
}

/// The report's JSON without the run's own facts (`generated_at`, `threads`): what must not
/// depend on how the run was scheduled.
fn without_run_facts(json: &[u8]) -> String {
    String::from_utf8_lossy(json)
        .lines()
        .filter(|l| !l.trim_start().starts_with("\"generated_at\"") && !l.trim_start().starts_with("\"threads\""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `-j 1` and `-j 2` give byte-identical JSON (but for `generated_at` and `threads`), on a
/// capture with its logs plus, when the corpus is there, a 16 MB System log (257 chunks: five
/// batches whose chunks the workers share, and the per-id cap settled across batches), gzipped
/// too (the hash fed by the reads). The inventory notes the thread count; `--no-hash` says
/// "not computed" instead of a digest.
#[test]
fn same_json_at_one_and_two_threads() {
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/nla-auth");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut inputs = vec![sample.display().to_string()];
    if let Some(log) = crate::util::corpus("evtx", "museum-StolenSzechuan_System.evtx") {
        let gz = dir.path().join("System.evtx.gz");
        let bytes = std::fs::read(&log).expect("corpus log");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&bytes).expect("gzip");
        std::fs::write(&gz, enc.finish().expect("gzip")).expect("write");
        inputs.push(log.display().to_string());
        inputs.push(gz.display().to_string());
    }
    let run = |extra: &[&str]| {
        let mut args = vec!["analyze", "--format", "json"];
        args.extend(extra);
        args.extend(inputs.iter().map(String::as_str));
        let out = rdplog(&args);
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
        out.stdout
    };
    let (one, two) = (run(&["-j", "1"]), run(&["--threads", "2"]));
    assert_eq!(without_run_facts(&one), without_run_facts(&two));
    let v: serde_json::Value = serde_json::from_slice(&two).expect("JSON");
    assert_eq!(v["threads"], 2);
    let digests: Vec<&str> =
        v["inputs"].as_array().expect("inputs").iter().filter_map(|i| i["sha256"].as_str()).collect();
    assert!(!digests.is_empty() && digests.iter().all(|d| d.len() == 64), "{digests:?}");
    // Each digest is the file's as it is on disk (compressed for a .gz), as sha256sum says.
    for i in v["inputs"].as_array().expect("inputs") {
        let bytes = std::fs::read(i["path"].as_str().expect("path")).expect("input");
        let want: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(i["sha256"], want.as_str(), "{}", i["path"]);
    }
    let plain: serde_json::Value = serde_json::from_slice(&run(&["-j", "2", "--no-hash"])).expect("JSON");
    assert!(plain["inputs"].as_array().expect("inputs").iter().all(|i| i["sha256"] == "not computed"));
}
