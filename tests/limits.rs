//! The limit flags (`src/limits.rs`): each one holds, and a truncated analysis says which flag
//! truncated it.

use std::io::Write;
use std::path::Path;

use crate::util::{corpus, rdplog, stderr};

/// `analyze --format json` with extra flags; exit code 0 or 1 required.
fn analyze(paths: &[&Path], flags: &[&str]) -> serde_json::Value {
    let mut args = vec!["analyze", "--format", "json"];
    args.extend(flags);
    args.extend(paths.iter().map(|p| p.to_str().expect("utf-8")));
    let out = rdplog(&args);
    assert!(matches!(out.status.code(), Some(0 | 1)), "exit {:?}: {}", out.status.code(), stderr(&out));
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

fn messages(report: &serde_json::Value) -> Vec<String> {
    report["warnings"].as_array().expect("warnings").iter().map(|w| w["message"].as_str().unwrap().into()).collect()
}

fn input<'a>(report: &'a serde_json::Value, suffix: &str) -> &'a serde_json::Value {
    report["inputs"].as_array().unwrap().iter().find(|i| i["path"].as_str().unwrap().ends_with(suffix)).unwrap()
}

#[test]
fn max_flows_counts_the_flows_it_does_not_track() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/certificate/capture.pcapng");
    let full = analyze(&[&sample], &[]);
    let flows = |r: &serde_json::Value| input(r, "capture.pcapng")["flows"].clone();
    assert_eq!(flows(&full)["untracked_flows"], 0);
    let cut = analyze(&[&sample], &["--max-flows", "2"]);
    // Background flows start before the RDP attempts in this sample: with room for two live
    // flows, later ones are counted as untracked.
    assert!(flows(&cut)["untracked_flows"].as_u64().unwrap() > 0, "{}", flows(&cut));
    assert!(messages(&cut).iter().any(|m| m.contains("more than 2 concurrent flows (--max-flows)")), "{cut}");
    assert_eq!(flows(&cut)["ip_packets"], flows(&full)["ip_packets"], "every packet is still read");
}

#[test]
fn max_events_per_id_keeps_the_latest_and_says_so() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/certificate");
    let full = analyze(&[&case], &[]);
    let cut = analyze(&[&case], &["--max-events-per-id", "1"]);
    // 7036 is logged 32 times in this sample's System log (its per_event count).
    let system = input(&full, "System.evtx");
    assert_eq!(system["events"]["per_event"]["Service Control Manager/7036"], 32);
    assert!(
        messages(&cut)
            .iter()
            .any(|m| m == "Service Control Manager/7036: 32 events; the latest 1 are analysed (all are counted)"),
        "{:?}",
        messages(&cut)
    );
    assert_eq!(input(&cut, "System.evtx")["records"], system["records"], "every record is still counted");
    let events = |r: &serde_json::Value| r["events"].as_array().unwrap().len();
    assert!(events(&cut) < events(&full));
}

#[test]
fn max_unpacked_refuses_a_gzipped_log_that_unpacks_too_far() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/nla-auth");
    let r = analyze(&[&case], &["--max-unpacked", "1K"]);
    let system = input(&r, "System.evtx.gz");
    let why = system["skipped"].as_str().expect("skipped");
    assert!(why.contains("unpacks to more than 1024 bytes (--max-unpacked)"), "{why}");
    // The capture is streamed, not unpacked in memory: unaffected.
    assert!(input(&r, "capture.pcap")["skipped"].is_null());
}

#[test]
fn input_timeout_analyses_what_was_read() {
    // A capture past the 1 MiB that is always read: a sample's records repeated (pcap layout:
    // 24-byte file header, then records), so the deadline of 0 s stops it early.
    let sample = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/firewall-block/capture.pcap"))
        .expect("sample");
    let dir = tempfile::tempdir().expect("tempdir");
    let big = dir.path().join("big.pcap");
    let mut f = std::fs::File::create(&big).expect("create");
    f.write_all(&sample).expect("write");
    while f.metadata().expect("stat").len() < 3 << 20 {
        f.write_all(&sample[24..]).expect("write");
    }
    drop(f);
    let full = analyze(&[&big], &[]);
    let cut = analyze(&[&big], &["--input-timeout", "0"]);
    let packets = |r: &serde_json::Value| input(r, "big.pcap")["records"].as_u64().unwrap();
    assert!(packets(&cut) > 0 && packets(&cut) < packets(&full), "{} of {}", packets(&cut), packets(&full));
    assert!(messages(&cut).iter().any(|m| m.contains("(--input-timeout): the capture after byte")), "{cut}");

    // An event log of more than one batch of chunks (64): the newest batch is read.
    let Some(log) = corpus("evtx", "museum-StolenSzechuan_System.evtx") else { return };
    let full = analyze(&[&log], &[]);
    let cut = analyze(&[&log], &["--input-timeout", "0"]);
    let records = |r: &serde_json::Value| input(r, "System.evtx")["records"].as_u64().unwrap();
    assert!(records(&cut) > 0 && records(&cut) < records(&full), "{} of {}", records(&cut), records(&full));
    assert!(messages(&cut).iter().any(|m| m.contains("(--input-timeout): chunks 0 to")), "{:?}", messages(&cut));
}

#[test]
fn limits_are_in_the_help() {
    let out = rdplog(&["analyze", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--max-flows", "--flow-payload", "--max-events-per-id", "--max-unpacked", "--input-timeout"] {
        assert!(help.contains(flag), "{flag} in {help}");
    }
}

#[test]
fn max_archive_unpacked_refuses_the_case_not_the_batch() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cases = tmp.path().join("cases");
    std::fs::create_dir(&cases).expect("mkdir");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/certificate");
    crate::batch::zip_dir(&sample, &cases.join("zipped.zip"));
    let summary = tmp.path().join("summary.csv");
    let args = ["batch", "--quiet", "--max-archive-unpacked", "1K", "--summary", summary.to_str().unwrap()];
    let out = rdplog(&[&args[..], &[cases.to_str().unwrap()]].concat());
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    let rows = crate::batch::summary_rows(&summary);
    let row = &rows["zipped"];
    let error = row.values().find(|v| v.contains("--max-archive-unpacked")).expect("the refusal names the flag");
    assert!(error.contains("more than the limit of 1024 bytes"), "{row:?}");
}
