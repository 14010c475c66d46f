//! Two capture points of one conversation (`twopoint`): the generated client-side and
//! server-side captures of the same connections, through a NAT and with the server's capture
//! clock 2.437 s ahead, count each connection once and name the stretch of path at fault.
//! Expected counts are the generator's script, checked with tshark on the written files
//! (`tshark -r F -Y 'tcp.srcport==P'` per direction, see each test).

use std::path::{Path, PathBuf};

use rdplog::synth::scenarios::points;
use serde_json::Value;

use crate::util::{rdplog, stderr};

/// Writes a case's captures (`capture.pcap` at the client, `server.pcap` at the server).
fn write(dir: &Path, case: rdplog::synth::scenarios::points::Case) -> Vec<PathBuf> {
    let mut files = vec![(String::from("client.pcap"), case.capture)];
    files.extend(case.more);
    files
        .into_iter()
        .map(|(name, bytes)| {
            let p = dir.join(name);
            std::fs::write(&p, bytes).expect("write capture");
            p
        })
        .collect()
}

fn analyze(files: &[PathBuf]) -> Value {
    let mut args = vec!["analyze".to_string(), "--format".into(), "json".into()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = rdplog(&args);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

fn rdp(r: &Value) -> Vec<Value> {
    let all = r["connections"].as_array().expect("connections").clone();
    all.into_iter().filter(|c| c["server"].as_str().is_some_and(|s| s.ends_with(":3389"))).collect()
}

#[test]
fn loss_between_the_points_counts_once_and_is_located() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = write(dir.path(), points::loss().expect("scenario"));
    let one = analyze(&files[..1]);
    let both = analyze(&files);
    let cs = rdp(&both);
    // One connection, as at one point (not two).
    assert_eq!((cs.len(), rdp(&one).len()), (1, 1));
    assert_eq!(both["diagnosis"]["attempts"], one["diagnosis"]["attempts"]);
    let c = &cs[0];
    assert_eq!((c["client"].as_str(), c["server"].as_str()), (Some("10.20.30.41:51501"), Some("203.0.113.15:3389")));
    assert_eq!(c["verdict"]["cause"], "network-loss");
    // tshark: client.pcap has 35 frames from 10.20.30.41:51501, server.pcap 28 from
    // 198.51.100.7:61501 (the NAT's side): 7 lost; 32 to the client at both points.
    assert_eq!((c["path"]["lost_to_server"].as_u64(), c["path"]["lost_to_client"].as_u64()), (Some(7), Some(0)));
    let views = c["views"].as_array().expect("views");
    assert_eq!(views.len(), 2);
    assert_eq!((views[0]["point"].as_str(), views[1]["point"].as_str()), (Some("client"), Some("server")));
    assert_eq!(views[1]["client"], "198.51.100.7:61501");
    assert_eq!(views[1]["server"], "10.20.1.15:3389");
    assert_eq!(views[0]["client_to_server"]["packets"], 35);
    assert_eq!(views[1]["client_to_server"]["packets"], 28);
    assert_eq!(
        (views[0]["server_to_client"]["packets"].as_u64(), views[1]["server_to_client"]["packets"].as_u64()),
        (Some(32), Some(32))
    );
    // The generator's clock offset (2.437 s), from the paired handshake.
    assert_eq!(views[1]["clock_offset_seconds"], 2.437);
    let summary = c["verdict"]["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("between the client's capture point") && summary.contains("7 of the client's packets lost")
    );
    assert!(summary.contains("none of the server's lost"), "{summary}");
    assert!(c["verdict"]["located"].as_str().is_some_and(|l| l.contains("server.pcap")));
}

#[test]
fn a_reset_made_between_the_points_is_proven() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = write(dir.path(), points::injected_reset().expect("scenario"));
    // At the client alone, the RST carries the server's TTL there (122): no proof of a device.
    let one = analyze(&files[..1]);
    assert_ne!(rdp(&one)[0]["verdict"]["cause"], "middlebox-reset");
    let cs = rdp(&analyze(&files));
    assert_eq!(cs.len(), 1);
    let c = &cs[0];
    assert_eq!(c["verdict"]["cause"], "middlebox-reset");
    assert_eq!(c["path"]["rst_not_sent_by_server"], true);
    // tshark: one RST toward 10.20.30.41:51601 in client.pcap, none from 10.20.1.15 in server.pcap.
    assert_eq!(
        (c["views"][0]["server_to_client"]["rsts"].as_u64(), c["views"][1]["server_to_client"]["rsts"].as_u64()),
        (Some(1), Some(0))
    );
    assert!(c["verdict"]["summary"].as_str().is_some_and(|s| s.contains("between the client's capture point")));
}

#[test]
fn a_syn_that_never_reached_the_server_point_is_a_network_block() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = write(dir.path(), points::syn_dropped().expect("scenario"));
    let cs = rdp(&analyze(&files));
    assert_eq!(cs.len(), 2, "the working session and the blocked attempt, each once");
    assert_eq!(cs[0]["verdict"]["cause"], "none");
    assert_eq!(cs[0]["views"].as_array().map(Vec::len), Some(2));
    let blocked = &cs[1];
    assert_eq!(blocked["client"], "10.20.30.41:51702");
    assert_eq!(blocked["verdict"]["cause"], "firewall-block");
    assert_eq!(blocked["path"]["syn_never_arrived"], true);
    let summary = blocked["verdict"]["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("not the server's host firewall") && summary.contains("server.pcap"), "{summary}");
}
