//! Every bundled sample reaches the verdict its `expected.json` states: the case-level cause,
//! and for the failing connection its cause and failed phase. The verdict must not depend on
//! how the inputs are given: the folder, its files one by one in reverse order, or a copy in
//! which one file has another name (formats are detected by content).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{analyze_json, rdplog, stderr};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

fn expected(folder: &str) -> Value {
    let path = samples().join(folder).join("expected.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The analysable files of a sample folder (the capture, and the logs in the hosts' folders),
/// sorted by path.
fn inputs(folder: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("sample folder").filter_map(Result::ok) {
            let p = entry.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.file_name().is_some_and(|n| n != "expected.json") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&samples().join(folder), &mut files);
    files.sort();
    files
}

/// `rdplog analyze --format json` on several files at once.
fn analyze_files(files: &[PathBuf]) -> Value {
    let mut args = vec!["analyze".to_string(), "--format".into(), "json".into()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = rdplog(&args);
    assert!(matches!(out.status.code(), Some(0 | 1)), "exit {:?}: {}", out.status.code(), stderr(&out));
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

/// The connection whose client is `client`.
fn connection<'a>(report: &'a Value, client: &str) -> Option<&'a Value> {
    report["connections"].as_array().and_then(|cs| cs.iter().find(|c| c["client"] == client))
}

fn check(report: &Value, want: &Value, how: &str) {
    let cause = want["cause"].as_str().expect("expected cause");
    assert_eq!(report["diagnosis"]["cause"], cause, "{how}: case-level diagnosis {}", report["diagnosis"]);
    let Some(client) = want["client"].as_str() else { return };
    let c = connection(report, client).unwrap_or_else(|| panic!("{how}: no connection with client {client}"));
    assert_eq!(c["verdict"]["cause"], cause, "{how}: verdict of {client}: {}", c["verdict"]);
    if let Some(phase) = want["phase"].as_str() {
        assert_eq!(c["failed_phase"], phase, "{how}: failed phase of {client}");
    }
}

/// The three ways of giving a sample's inputs, each checked against `expected.json`.
fn verify(folder: &str) -> Value {
    let want = expected(folder);
    let report = analyze_json(&samples().join(folder));
    check(&report, &want, &format!("{folder} (folder)"));

    let mut files = inputs(folder);
    files.reverse();
    check(&analyze_files(&files), &want, &format!("{folder} (files in reverse order)"));

    // A flat copy where the first file (the capture) is called something else: detection goes
    // by content, not by name or place.
    let dir = tempfile::tempdir().expect("tempdir");
    for (i, f) in inputs(folder).iter().enumerate() {
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let renamed = if i == 0 { "evidence-01.bin".to_string() } else { name };
        std::fs::copy(f, dir.path().join(renamed)).expect("copy");
    }
    check(&analyze_json(dir.path()), &want, &format!("{folder} (first file renamed)"));
    report
}

/// Folders checked by their own tests below.
const SPECIAL: [&str; 2] = ["nla-auth", "disagreeing-evidence"];

macro_rules! sample_tests {
    ($($(#[$attr:meta])* $name:ident => $folder:literal,)*) => {
        $(
            $(#[$attr])*
            #[test]
            fn $name() {
                verify($folder);
            }
        )*

        /// Every folder under samples/ has a test above.
        #[test]
        fn every_sample_folder_is_checked() {
            let known: Vec<&str> = [$($folder),*].into_iter().chain(SPECIAL).collect();
            let mut folders: Vec<String> = std::fs::read_dir(samples())
                .expect("samples")
                .filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            folders.sort();
            for f in &folders {
                assert!(known.contains(&f.as_str()), "samples/{f} has no test in tests/expected.rs");
                assert!(samples().join(f).join("expected.json").is_file(), "samples/{f}/expected.json");
            }
            assert_eq!(folders.len(), known.len(), "{folders:?}");
        }
    };
}

sample_tests! {
    certificate => "certificate",
    security_negotiation => "security-negotiation",
    tls_mismatch => "tls-mismatch",
    service_down => "service-down",
    firewall_block => "firewall-block",
    mtu_blackhole => "mtu-blackhole",
    middlebox_reset => "middlebox-reset",
    udp_blocked => "udp-blocked",
    none => "none",
    server_denied => "server-denied",
    licensing => "licensing",
    network_loss => "network-loss",
    undetermined => "undetermined",
    two_causes => "two-causes",
    after_the_failure => "after-the-failure",
    host_firewall => "host-firewall",
    two_points => "two-points",
}

/// nla-auth: the verdict, and the server's clock found 47 s ahead of the capture from the
/// client ports that 131 and 4625 share with the capture.
#[test]
fn nla_auth_with_the_server_clock_47_s_ahead() {
    let report = verify("nla-auth");
    let skews = report["clock_skew"].as_array().expect("clock_skew");
    let server = skews.iter().find(|s| s["source"] == "RDSH01.corp.example").expect("a skew for the server");
    let offset = server["offset_seconds"].as_f64().expect("offset");
    assert!((offset - 47.0).abs() <= 0.5, "server offset {offset}");
    let client = skews.iter().find(|s| s["source"] == "WS041.corp.example");
    assert!(client.is_none_or(|c| c["offset_seconds"].as_f64().is_some_and(|o| o.abs() < 0.5)), "{client:?}");
}

/// disagreeing-evidence: one cause is chosen, the other is shown as against or competing.
#[test]
fn disagreeing_evidence_shows_the_losing_cause() {
    let report = verify("disagreeing-evidence");
    let want = expected("disagreeing-evidence");
    let c = connection(&report, want["client"].as_str().expect("client")).expect("connection");
    let other = if want["cause"] == "certificate" { "tls-mismatch" } else { "certificate" };
    let v = &c["verdict"];
    let competing = v["competing"].as_array().is_some_and(|cs| cs.iter().any(|x| x["cause"] == other));
    let against =
        v["against"].as_array().is_some_and(|a| a.iter().any(|x| x.as_str().is_some_and(|t| t.contains(other))));
    assert!(competing || against, "{other} neither against nor competing: {v}");
}
