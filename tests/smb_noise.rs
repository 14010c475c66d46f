//! A Security log of SMB password guessing with a few RDP logons among it: only the RDP logons
//! make connections (a 4625 of LogonType 3 is any network logon; nothing RDP names its
//! client), and the guessing is reported as not RDP, never as the diagnosis. The log is written
//! by our evtx writer; its layout is checked against the evtx crate in tests/evtx_writer.rs.

use rdplog::synth::evtx_writer::{EventSpec, Payload, Value, write_evtx};
use rdplog::time::Ts;

use crate::util::rdplog;

const SMB_FAILURES: u64 = 100_000;
const RDP_LOGONS: u64 = 50;

fn security(ts: Ts, id: u16, fields: Vec<(&str, String)>) -> EventSpec {
    EventSpec {
        provider: "Microsoft-Windows-Security-Auditing".into(),
        event_id: id,
        ts,
        channel: "Security".into(),
        computer: "FS01.corp.example".into(),
        payload: Payload::named(&fields.iter().map(|(k, v)| (*k, Value::Str(v.clone()))).collect::<Vec<_>>()),
        ..Default::default()
    }
}

/// Writes `events` as a Security.evtx and analyses it: the JSON report.
fn analyze_log(events: &[EventSpec]) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("Security.evtx");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    write_evtx(events, &mut file).expect("write evtx");
    drop(file);
    let out = rdplog(&["analyze", "--format", "json", path.to_str().expect("utf-8")]);
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

#[test]
fn smb_guessing_makes_no_rdp_connection() {
    let base = 1_767_225_600_000_000_000i64; // 2026-01-01T00:00:00Z
    let mut events = Vec::new();
    for i in 0..SMB_FAILURES {
        // A guess every 0.8 s from 500 addresses, 2,000 user names, LogonType 3 (network).
        let ts = Ts(base + i as i64 * 800_000_000);
        if i % 2_000 == 1_000 {
            // An RDP logon (LogonType 10) from one of five admin workstations.
            let n = i / 2_000;
            let ip = format!("10.1.0.{}", 10 + n % 5);
            events.push(security(
                ts,
                4624,
                vec![
                    ("TargetUserName", format!("admin{}", n % 5)),
                    ("TargetDomainName", "CORP".into()),
                    ("LogonType", "10".into()),
                    ("IpAddress", ip),
                    ("IpPort", format!("{}", 50_000 + n)),
                ],
            ));
        }
        events.push(security(
            ts,
            4625,
            vec![
                ("TargetUserName", format!("user{}", i % 2_000)),
                ("TargetDomainName", "CORP".into()),
                ("LogonType", "3".into()),
                ("Status", "0xc000006d".into()),
                ("SubStatus", "0xc000006a".into()),
                ("IpAddress", format!("203.0.113.{}", i % 250)),
                ("IpPort", format!("{}", 40_000 + i % 20_000)),
            ],
        ));
    }
    let report = analyze_log(&events);
    let conns = report["connections"].as_array().expect("connections");
    assert_eq!(conns.len() as u64, RDP_LOGONS, "one connection per RDP logon, none from the SMB failures");
    assert!(conns.iter().all(|c| c["verdict"]["cause"] == "none"), "every RDP logon worked");
    assert_eq!(report["diagnosis"]["cause"], "none");
    // The guessing is named, as background: the kept 4625s (the newest --max-events-per-id).
    assert!(report["other_logons"]["failures"].as_u64().is_some_and(|n| n >= 5_000));
}

// Oracle: the log as written — three Remote Desktop logons (4624, LogonType 10) and, after them,
// 6,000 network logons (4624, LogonType 3: file shares) on a file server. The network logons
// fill the newest 5,000 of 4624 (`--max-events-per-id`); the Remote Desktop ones still make
// their three connections, each of which worked, and the cut is a warning.
#[test]
fn a_busy_servers_network_logons_do_not_push_its_rdp_logons_out() {
    let base = 1_767_225_600_000_000_000i64; // 2026-01-01T00:00:00Z
    let logon = |i: u64, kind: &str, ip: String| {
        security(
            Ts(base + i as i64 * 500_000_000),
            4624,
            vec![
                ("TargetUserName", format!("user{}", i % 300)),
                ("TargetDomainName", "CORP".into()),
                ("LogonType", kind.into()),
                ("IpAddress", ip),
                ("IpPort", format!("{}", 50_000 + i % 10_000)),
            ],
        )
    };
    let mut events: Vec<EventSpec> = (0..3).map(|i| logon(i, "10", format!("10.1.0.{}", 10 + i))).collect();
    events.extend((3..6_003).map(|i| logon(i, "3", format!("10.2.{}.{}", i / 250 % 250, i % 250))));
    let report = analyze_log(&events);
    let conns = report["connections"].as_array().expect("connections");
    let clients: Vec<&str> = conns.iter().filter_map(|c| c["client"].as_str()).collect();
    assert_eq!(clients, ["10.1.0.10:50000", "10.1.0.11:50001", "10.1.0.12:50002"], "the three Remote Desktop logons");
    assert!(conns.iter().all(|c| c["verdict"]["cause"] == "none"));
    let warnings: Vec<&str> =
        report["warnings"].as_array().expect("warnings").iter().filter_map(|w| w["message"].as_str()).collect();
    assert!(
        warnings.iter().any(|m| m
            .starts_with("Microsoft-Windows-Security-Auditing/4624: 6003 events; the latest 5003 of each logon kind")),
        "{warnings:?}"
    );
}
