//! The expert labels as a test (../shared/corpus/labels, written from tshark and evtx_dump
//! alone, never from rdplog): every corpus capture and every labelled log (or host group of
//! logs) is analysed and compared with what the expert concluded.
//!
//! Captures: no false alarm (an error verdict on a connection the expert marks as no
//! failure), at least 95 % of labelled connections with an accepted label, every case-level
//! diagnosis accepted. Logs: the case label accepted, no error verdict that no label accepts,
//! and every non-noise failure group found. The same rules as ../shared/tools/score_labels.py.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

use crate::util::{analyze_json, corpus, rdplog, stderr};

/// The causes that are failures (an error verdict outside them is not a false alarm).
const FAIL: [&str; 11] = [
    "nla-auth",
    "server-denied",
    "certificate",
    "tls-mismatch",
    "security-negotiation",
    "licensing",
    "service-down",
    "network-loss",
    "firewall-block",
    "mtu-blackhole",
    "middlebox-reset",
];

fn labels(name: &str) -> Option<Vec<Value>> {
    let p = corpus("labels", name)?;
    let text = std::fs::read_to_string(p).expect("labels readable");
    Some(serde_json::from_str::<Vec<Value>>(&text).expect("labels are JSON"))
}

fn strs(v: &Value) -> BTreeSet<&str> {
    v.as_array().into_iter().flatten().filter_map(Value::as_str).collect()
}

#[test]
fn captures_agree_with_the_expert_labels() {
    let Some(labels) = labels("captures.json") else { return };
    let files: BTreeSet<&str> = labels.iter().filter_map(|l| l["file"].as_str()).collect();
    let (mut agree, mut total, mut alarms, mut wrong_cases) = (0, 0, Vec::new(), Vec::new());
    let mut disagree = Vec::new();
    for file in files {
        let Some(path) = corpus("pcap", file) else { return };
        let report = analyze_json(&path);
        let conns = report["connections"].as_array().expect("connections");
        for l in labels.iter().filter(|l| l["file"] == file) {
            if let Some(case) = l.get("case_label") {
                let got = &report["diagnosis"]["cause"];
                if !strs(&l["acceptable_case_labels"]).contains(got.as_str().unwrap_or("")) {
                    wrong_cases.push(format!("{file}: case {got}, expert {case}"));
                }
                continue;
            }
            total += 1;
            let accepted = strs(&l["acceptable_labels"]);
            let mine: Vec<&Value> = conns
                .iter()
                .filter(|c| c["client"] == l["client"] && c["transport"] == l["transport"])
                .map(|c| &c["verdict"])
                .collect();
            let causes: Vec<&str> = mine.iter().filter_map(|v| v["cause"].as_str()).collect();
            if !causes.is_empty() && causes.iter().all(|c| accepted.contains(c)) {
                agree += 1;
            } else {
                disagree.push(format!("{file} {}: {causes:?}, expert {}", l["client"], l["label"]));
            }
            let alarm =
                mine.iter().any(|v| v["severity"] == "error" && !accepted.contains(v["cause"].as_str().unwrap_or("")));
            if l["failure"] == "no" && alarm {
                alarms.push(format!("{file} {}: {causes:?}, expert {}", l["client"], l["label"]));
            }
        }
    }
    assert!(alarms.is_empty(), "false alarms: {alarms:#?}");
    assert!(wrong_cases.is_empty(), "case diagnoses the expert does not accept: {wrong_cases:#?}");
    assert!(agree * 100 >= total * 95, "{agree} of {total} connections agree; disagreements: {disagree:#?}");
}

#[test]
fn logs_agree_with_the_expert_labels() {
    let Some(labels) = labels("logs.json") else { return };
    let mut problems = Vec::new();
    for entry in &labels {
        let mut paths: Vec<PathBuf> = Vec::new();
        for f in entry["files"].as_array().expect("files").iter().filter_map(Value::as_str) {
            let Some(p) = corpus("evtx", f) else { return };
            paths.push(p);
        }
        let name = entry["files"][0].as_str().unwrap_or("?");
        let mut args = vec!["analyze", "--format", "json"];
        args.extend(paths.iter().filter_map(|p| p.to_str()));
        let out = rdplog(&args);
        assert!(matches!(out.status.code(), Some(0 | 1)), "{name}: exit {:?}: {}", out.status.code(), stderr(&out));
        let report: Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
        let got = report["diagnosis"]["cause"].as_str().unwrap_or("");
        if !strs(&entry["acceptable_case_labels"]).contains(got) {
            problems.push(format!("{name}: case {got}, expert {}", entry["case_label"]));
        }
        let groups = entry["groups"].as_array().expect("groups");
        let mut accepted = strs(&entry["acceptable_case_labels"]);
        accepted.extend(groups.iter().flat_map(|g| strs(&g["acceptable_labels"])));
        let conns = report["connections"].as_array().expect("connections");
        let causes: BTreeSet<&str> = conns.iter().filter_map(|c| c["verdict"]["cause"].as_str()).collect();
        for c in conns {
            let cause = c["verdict"]["cause"].as_str().unwrap_or("");
            if c["verdict"]["severity"] == "error" && !accepted.contains(cause) {
                problems.push(format!("{name}: {} is {cause}, which no label accepts", c["id"]));
            }
        }
        for g in groups {
            let failure = FAIL.contains(&g["label"].as_str().unwrap_or(""));
            let noise = g["attack_or_noise"].as_bool().unwrap_or(false);
            if failure && !noise && causes.is_disjoint(&strs(&g["acceptable_labels"])) {
                problems.push(format!("{name}: group {} x{} not found", g["label"], g["count"]));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
