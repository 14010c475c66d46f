//! The bundled samples: regenerating them gives the committed bytes, and each scenario shows
//! the failure signature it was built with (the builders follow the spec byte layouts; tshark
//! decodes every sample without a Malformed packet, see samples/README.md).

use std::path::Path;

use serde_json::Value;

use crate::util::{analyze_json, rdplog, stderr};

fn sample(folder: &str) -> Value {
    analyze_json(&Path::new(env!("CARGO_MANIFEST_DIR")).join("samples").join(folder))
}

/// The connections rebuilt from the capture (the samples' logs also describe older sessions that
/// appear as connections seen only in the logs).
fn conns(r: &Value) -> Vec<Value> {
    let all = r["connections"].as_array().expect("connections");
    all.iter().filter(|c| !c["tcp"].is_null() || !c["udp"].is_null()).cloned().collect()
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(b).read_to_end(&mut out).expect("valid gzip");
    out
}

#[test]
fn regenerating_gives_identical_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = rdplog(&["samples", "--out", dir.path().to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut n = 0;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let fresh = Path::new(line);
        let rel = fresh.strip_prefix(dir.path()).expect("under out dir");
        let old = std::fs::read(committed.join(rel)).unwrap_or_else(|e| panic!("{}: {e}", rel.display()));
        let new = std::fs::read(fresh).expect("read fresh");
        // Deflate output depends on the flate2 backend that feature unification selects (polars
        // switches it), so gzip files are compared after decompression; all others byte for byte.
        let (old, new) =
            if rel.extension().is_some_and(|e| e == "gz") { (gunzip(&old), gunzip(&new)) } else { (old, new) };
        assert!(old == new, "{} differs: run `cargo run -- samples`", rel.display());
        n += 1;
    }
    assert!(n >= 9);
}

#[test]
fn certificate_resets_after_client_hello_and_keeps_the_analyst_session_apart() {
    let r = sample("certificate");
    assert_eq!(r["inputs"][0]["kind"], "pcapng");
    let cs = conns(&r);
    let failed: Vec<&Value> = cs.iter().filter(|c| c["phases"]["tls"] == "failed").collect();
    assert_eq!(failed.len(), 3, "three attempts");
    for c in &failed {
        assert_eq!(c["server"], "10.20.1.15:3389");
        assert_eq!(c["negotiation"]["cookie"], "jdoe");
        assert!(c["tls"]["client"]["client_hello"].is_object());
        assert!(c["tls"]["server"]["server_hello"].is_null());
        assert_eq!((c["teardown"]["how"].as_str(), c["teardown"]["by"].as_str()), (Some("rst"), Some("server")));
    }
    let own: Vec<&Value> = cs.iter().filter(|c| c["negotiation"]["cookie"] == "analyst").collect();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0]["phases"]["session"], "ok");
    assert_eq!(own[0]["tls"]["server"]["certificates"][0]["subject"], "CN=RDSH01.corp.example");
}

#[test]
fn security_negotiation_failure_code() {
    let r = sample("security-negotiation");
    for c in &conns(&r) {
        // tshark -d tcp.port==3389,tpkt: rdp.negFailure.failureCode 0x00000005 (frames 32, 42)
        assert_eq!(c["negotiation"]["failure_code"], 5);
        assert_eq!(c["negotiation"]["failure"], "HYBRID_REQUIRED_BY_SERVER");
        assert_eq!(c["failed_phase"], "negotiation");
    }
}

#[test]
fn tls_mismatch_fatal_alert_gzip_sll2() {
    let r = sample("tls-mismatch");
    assert_eq!(r["inputs"][0]["gzip"], true);
    let c = &conns(&r)[0];
    // tshark -d tcp.port==3389,tls: frame 36 tls.alert_message.level 2, desc 70
    let a = &c["tls"]["alerts"][0];
    assert_eq!(
        (a["level"].as_u64(), a["description"].as_u64(), a["sender"].as_str()),
        (Some(2), Some(70), Some("server"))
    );
    assert_eq!(a["frame"], 36);
    assert_eq!(c["failed_phase"], "tls");
}

#[test]
fn service_down_refused_in_nanosecond_big_endian_pcap() {
    let r = sample("service-down");
    assert_eq!(r["inputs"][0]["format"], "pcap (nanosecond)");
    assert_eq!(conns(&r).len(), 3);
    assert!(conns(&r).iter().all(|c| c["phases"]["tcp"] == "refused"));
}

#[test]
fn firewall_block_syn_backoff_over_vlan() {
    let r = sample("firewall-block");
    let c = &conns(&r)[0];
    assert_eq!(c["phases"]["tcp"], "unanswered");
    let syns = c["tcp"]["client_to_server"]["syns"].as_array().expect("syns");
    assert_eq!(syns.len(), 4);
    assert!(c["evidence"].to_string().contains("gaps 1.0, 2.0, 4.0 s"));
}

#[test]
fn mtu_blackhole_unacked_full_segment_and_icmp_mtu() {
    let r = sample("mtu-blackhole");
    let c = &conns(&r)[0];
    let s2c = &c["tcp"]["server_to_client"];
    // tshark: frames 37-40 and 42 are tcp.analysis.retransmission; frame 41 icmp.mtu 1400
    assert_eq!(s2c["retransmissions"], 5);
    assert_eq!(s2c["max_segment"], 1460);
    assert_eq!(s2c["max_segment_acked"], false);
    assert_eq!(c["tcp"]["icmp"][0]["mtu"], 1400);
    assert_eq!(c["tcp"]["icmp"][0]["kind"], "frag-needed");
    assert_eq!(c["tcp"]["icmp"][0]["frame"], 41);
}

#[test]
fn middlebox_reset_ttl_mismatch_ipv6() {
    let r = sample("middlebox-reset");
    let c = &conns(&r)[0];
    assert!(c["client"].as_str().is_some_and(|a| a.starts_with("[2001:db8:10::41]:")));
    assert_eq!(c["teardown"]["rst_ttl_mismatch"], true);
    assert_eq!(c["tcp"]["server_to_client"]["rst"]["ttl"], 250);
    assert_eq!(c["tcp"]["server_to_client"]["ttl_first"], 128);
}

#[test]
fn udp_blocked_syns_unanswered_tcp_fine() {
    let r = sample("udp-blocked");
    let cs = conns(&r);
    let udp = cs.iter().find(|c| c["transport"] == "udp").expect("udp");
    // tshark -d udp.port==3389,rdpudp: five SYN datagrams (rdpudp.flags 0x1001), no SYN+ACK
    assert_eq!(udp["udp"]["syn_count"], 5);
    assert!(udp["udp"]["syn_ack"].is_null());
    let tcp = cs.iter().find(|c| c["transport"] == "tcp").expect("tcp");
    assert_eq!(tcp["phases"]["session"], "ok");
    assert_eq!(tcp["phases"]["udp"], "failed");
}

#[test]
fn healthy_connection_exits_zero() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/none");
    let out = rdplog(&["analyze", dir.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = sample("none");
    let c = &conns(&r)[0];
    for phase in ["tcp", "negotiation", "tls", "nla", "session"] {
        assert_eq!(c["phases"][phase], "ok", "{phase}");
    }
    assert!(c["failed_phase"].is_null());
}
