//! TCP facts per connection and direction against tshark's expert information, for every TCP
//! connection labelled in ../shared/corpus/labels/captures.json (`tcp_expert`, tshark 4.0.17).
//!
//! Each label count is what this command prints, with A:P the sending side of the direction
//! (the client for `c2s`, the server for `s2c`; `ipv6.src` for IPv6 addresses):
//!
//!   tshark -r F -Y 'FILTER && ip.src==A && tcp.srcport==P' | wc -l
//!
//! with FILTER given next to each count in `COUNTS`. Our counts leave out frames the capture
//! stored twice; tshark's do not, so where a file stores frames twice the difference is listed,
//! with the frame numbers, in `CAPTURE_DUPLICATES`. Everything else must agree exactly.

use serde_json::Value;

use crate::util::{analyze_json, corpus};

/// (label key, the fields of `tcp.client_to_server` / `tcp.server_to_client` that add up to
/// it, tshark's display filter).
const COUNTS: &[(&str, &[&str], &str)] = &[
    // Fast and spurious retransmissions carry this flag too. tshark also counts a SYN, SYN+ACK
    // or FIN sent again, which we keep apart from the data retransmissions.
    ("retransmission", &["retransmissions", "syn_fin_retransmissions"], "tcp.analysis.retransmission"),
    ("fast_retransmission", &["fast_retransmissions"], "tcp.analysis.fast_retransmission"),
    ("spurious_retransmission", &["spurious_retransmissions"], "tcp.analysis.spurious_retransmission"),
    ("out_of_order", &["out_of_order"], "tcp.analysis.out_of_order"),
    ("dup_ack", &["dup_acks"], "tcp.analysis.duplicate_ack"),
    // "Previous segment(s) not captured"
    ("lost_segment", &["lost_segments"], "tcp.analysis.lost_segment"),
    // "ACKed segment that wasn't captured"
    ("ack_lost_segment", &["ack_lost_segments"], "tcp.analysis.ack_lost_segment"),
    ("zero_window", &["zero_windows"], "tcp.analysis.zero_window"),
    ("zero_window_probe", &["zero_window_probes"], "tcp.analysis.zero_window_probe"),
    ("keep_alive", &["keep_alives"], "tcp.analysis.keep_alive"),
    ("window_full", &["window_full"], "tcp.analysis.window_full"),
];

/// Counts where tshark's differs from ours because the file stores frames twice: (file,
/// direction, label key, our count, which frames). The copies have the same IP ID and TCP
/// checksum as the frame before them and come 0-7 µs later (tshark -T fields -e ip.id -e
/// tcp.checksum -e frame.time_relative); tshark reads each copy as a retransmission or a
/// duplicate ACK, we count the packet once.
const CAPTURE_DUPLICATES: &[(&str, &str, &str, u64, &str)] = &[
    (
        "zeek_rdp-no-cookie-mstshash.pcap",
        "c2s",
        "retransmission",
        0,
        "frames 2 (SYN), 8, 12, 16 (data) are copies of frames 1, 7, 11, 15",
    ),
    ("zeek_rdp-no-cookie-mstshash.pcap", "c2s", "dup_ack", 0, "frame 6 is the copy of the handshake ACK, frame 5"),
    (
        "zeek_rdp-no-cookie-mstshash.pcap",
        "s2c",
        "retransmission",
        0,
        "frames 4 (SYN+ACK), 10, 14, 18 (data) are copies of frames 3, 9, 13, 17",
    ),
];

/// The labels, or `None` (with a notice) when the corpus is absent.
fn labels() -> Option<Vec<Value>> {
    let path = corpus("labels", "captures.json")?;
    let text = std::fs::read_to_string(&path).expect("labels readable");
    let v: Value = serde_json::from_str(&text).expect("labels are JSON");
    Some(v.as_array().expect("labels are an array").clone())
}

/// Our JSON report for each corpus file, analysed once.
struct Reports(Vec<(String, Value)>);

impl Reports {
    fn get(&mut self, file: &str) -> Option<&Value> {
        if !self.0.iter().any(|(f, _)| f == file) {
            let report = analyze_json(&corpus("pcap", file)?);
            self.0.push((file.to_string(), report));
        }
        self.0.iter().find(|(f, _)| f == file).map(|(_, r)| r)
    }
}

/// The connection of `report` with this client and server over TCP.
fn connection<'a>(report: &'a Value, client: &str, server: &str) -> Option<&'a Value> {
    report["connections"]
        .as_array()?
        .iter()
        .find(|c| c["client"] == client && c["server"] == server && c["transport"] == "tcp")
}

fn ours(dir: &Value, fields: &[&str]) -> u64 {
    fields.iter().map(|f| dir[*f].as_u64().unwrap_or_else(|| panic!("field {f} missing"))).sum()
}

#[test]
fn tcp_expert_counts_match_tshark() {
    let Some(labels) = labels() else { return };
    let mut reports = Reports(Vec::new());
    let mut failures = Vec::new();
    let mut compared = 0;
    for label in labels.iter().filter(|l| l["transport"] == "tcp") {
        let file = label["file"].as_str().expect("file");
        let (client, server) = (label["client"].as_str().expect("client"), label["server"].as_str().expect("server"));
        let Some(report) = reports.get(file) else { continue };
        let Some(c) = connection(report, client, server) else {
            failures.push(format!("{file} {client} -> {server}: connection not found"));
            continue;
        };
        for (dir, key) in [("c2s", "client_to_server"), ("s2c", "server_to_client")] {
            let got = &c["tcp"][key];
            let mut row = Vec::new();
            for (name, fields, filter) in COUNTS {
                let tshark = label["tcp_expert"][dir][*name].as_u64().expect("label count");
                let us = ours(got, fields);
                let expected = match CAPTURE_DUPLICATES.iter().find(|d| d.0 == file && d.1 == dir && d.2 == *name) {
                    Some(&(_, _, _, ours, why)) => {
                        assert_ne!(ours, tshark, "{file} {dir} {name}: not a difference any more ({why})");
                        ours
                    }
                    None => tshark,
                };
                if us != expected {
                    failures.push(format!("{file} {client} {dir} {name}: ours {us}, expected {expected} ({filter})"));
                }
                if us != 0 || tshark != 0 {
                    row.push(format!("{name} {us}/{tshark}"));
                }
                compared += 1;
            }
            if !row.is_empty() {
                println!("{file} {client} {dir} (ours/tshark): {}", row.join(", "));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {compared} counts differ:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn duplicated_frames_are_counted_once() {
    let Some(path) = corpus("pcap", "zeek_rdp-no-cookie-mstshash.pcap") else { return };
    let r = analyze_json(&path);
    let c = connection(&r, "10.128.36.245:50204", "10.132.153.76:3389").expect("the connection");
    // tshark -z conv,tcp: 12 frames client→server and 8 back, each stored twice.
    assert_eq!(c["tcp"]["client_to_server"]["packets"], 6);
    assert_eq!(c["tcp"]["server_to_client"]["packets"], 4);
    let notes = c["notes"].as_array().expect("notes");
    assert!(notes.iter().any(|n| n.as_str().is_some_and(|n| n.starts_with("10 packet(s) appear twice"))), "{notes:?}");
}

#[test]
fn recovered_losses_are_told_from_data_left_unacknowledged() {
    // wswiki_RDP-002: the server's 17 retransmissions (tshark, as above) all recovered; the last
    // one is frame 399 (17.877671 s), and the session ends with a normal logoff.
    let Some(path) = corpus("pcap", "wswiki_RDP-002.pcap") else { return };
    let r = analyze_json(&path);
    let c = connection(&r, "10.226.41.226:10446", "10.226.24.52:3389").expect("the connection");
    let s2c = &c["tcp"]["server_to_client"];
    assert_eq!(s2c["last_retx_recovered"], true);
    assert_eq!(s2c["unacked_at_end"], false);
    assert_eq!(s2c["last_retx"]["frame"], 399);

    // zeek_rdp-x509: the server's MCS Connect-Response (frames 12-13, 1405 bytes) is still
    // unacknowledged when the trace ends; its earlier retransmission (the X.224 Connection
    // Confirm, frame 8) was acknowledged (frame 11, ack 20). The client's D-SACK (frame 15,
    // SACK 1-20 below ack 20: tshark's "D-SACK Sequence") reports the Confirm received twice.
    let Some(path) = corpus("pcap", "zeek_rdp-x509.pcap") else { return };
    let r = analyze_json(&path);
    let c = connection(&r, "192.168.1.1:54990", "192.168.1.2:3389").expect("the connection");
    let (c2s, s2c) = (&c["tcp"]["client_to_server"], &c["tcp"]["server_to_client"]);
    assert_eq!(s2c["unacked_at_end"], true);
    assert_eq!(s2c["last_retx_recovered"], true);
    assert_eq!(s2c["last_retx"]["frame"], 8);
    assert_eq!(c2s["dsack_blocks"], 1);
}
