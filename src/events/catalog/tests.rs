//! The catalogue's own tests: table integrity, filters, client addresses and summaries.

use super::*;
use crate::events::WinEvent;

fn event(provider: &str, id: u16, fields: &[(&str, &str)]) -> WinEvent {
    WinEvent {
        provider: provider.into(),
        event_id: id,
        fields: fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..Default::default()
    }
}

#[test]
fn every_issue_listed_event_is_catalogued() {
    let want: &[(&str, &[u16])] = &[
        (SCM, &[7000, 7001, 7009, 7011, 7022, 7023, 7024, 7031, 7034, 7036]),
        (SCHANNEL, &[36870, 36871, 36874, 36887, 36888]),
        (TERMDD, &[50, 56]),
        (RCM, &[258, 259, 261, 1149, 1158]),
        (CORE, &[65, 66, 97, 98, 99, 102, 103, 130, 131, 135, 136, 139, 140, 142, 143, 148, 226, 227, 228]),
        (LSM, &[16, 17, 18, 21, 22, 23, 24, 25, 39, 40]),
        (SECURITY, &[4624, 4625, 4778, 4779, 5152, 5156, 5157]),
        (CLIENT, &[1024, 1025, 1026, 1027, 1028, 1029, 1102, 1103, 1104, 1105, 226]),
        (LSASRV, &[6041]),
    ];
    for (p, ids) in want {
        for id in *ids {
            assert!(is_catalogued(p, *id), "{p} {id}");
        }
    }
    for id in 1050..=1071u16 {
        assert!(is_catalogued(RCM, id), "RCM {id}");
    }
    assert!(!is_catalogued(SECURITY, 4688));
    // one line per provider+id: no id appears twice for the same provider
    for (i, a) in CATALOG.iter().enumerate() {
        for b in &CATALOG[i + 1..] {
            assert!(
                a.provider != b.provider || a.ids.iter().all(|id| !b.ids.contains(id)),
                "{} {:?}",
                a.provider,
                a.ids
            );
        }
    }
}

#[test]
fn client_addresses() {
    // RdpCoreTS 131 ClientIP forms seen in real logs (rdp-facts §4.6)
    assert_eq!(parse_addr("10.0.0.5:50123").map(|a| a.to_string()).as_deref(), Some("10.0.0.5:50123"));
    assert_eq!(parse_addr("[fe80::1]:3390").map(|a| a.to_string()).as_deref(), Some("[fe80::1]:3390"));
    assert_eq!(parse_addr("[10.0.0.5]:50123").map(|a| a.to_string()).as_deref(), Some("10.0.0.5:50123"));
    assert_eq!(parse_addr("-"), None);
    let e = event(
        SECURITY,
        4625,
        &[("IpAddress", "192.168.1.20"), ("IpPort", "50611"), ("Status", "0xc000006d"), ("SubStatus", "0xc000006a")],
    );
    let t = type_event(&e).expect("typed");
    assert_eq!(t.client.map(|c| c.to_string()).as_deref(), Some("192.168.1.20:50611"));
    assert!(t.summary.contains("wrong password"), "{}", t.summary);
    let wfp = event(
        SECURITY,
        5157,
        &[("SourceAddress", "10.1.1.1"), ("SourcePort", "3389"), ("DestAddress", "10.2.2.2"), ("DestPort", "50000")],
    );
    assert_eq!(type_event(&wfp).and_then(|t| t.client).map(|c| c.to_string()).as_deref(), Some("10.2.2.2:50000"));
}

#[test]
fn scm_events_only_for_termservice() {
    // Binary of a real 7036 holds "<ServiceKey>/<state>" in UTF-16LE (rdp-facts §4.2)
    let utf16 = |s: &str| s.encode_utf16().flat_map(u16::to_le_bytes).map(|b| format!("{b:02x}")).collect::<String>();
    let other = event(
        SCM,
        7036,
        &[("param1", "Multimedia Class Scheduler"), ("param2", "running"), ("Binary", &utf16("MMCSS/4"))],
    );
    assert!(type_event(&other).is_none());
    let localized = event(
        SCM,
        7036,
        &[("param1", "Remotedesktopdienste"), ("param2", "Beendet"), ("Binary", &utf16("TermService/1"))],
    );
    let t = type_event(&localized).expect("TermService by key");
    assert_eq!(t.kind, Kind::Service);
}

#[test]
fn events_real_logs_hold_are_catalogued() {
    let want: &[(&str, &[u16])] = &[
        (SECURITY, &[4634, 4647, 4740, 4776, 4825]),
        (RCM, &[1012, 20499, 20520, 20521, 20523]),
        (CORE, &[98, 104]),
        (LSM, &[36, 37]),
        (GATEWAY, &[200, 201, 202, 203, 300, 301, 302, 303, 304, 305, 306, 307, 309, 312, 313]),
        (USER32, &[1074]),
        (EVENTLOG, &[6005, 6006, 6008]),
        (KERNEL_GENERAL, &[12, 13]),
    ];
    for (p, ids) in want {
        for id in *ids {
            assert!(is_catalogued(p, *id), "{p} {id}");
        }
    }
    // Kernel-General 1 (system time changed), EventLog 6013 (uptime) and LSM 41/42 (session
    // arbitration begins / ends, around every logon) are not evidence about a failure.
    assert!(!is_catalogued(KERNEL_GENERAL, 1) && !is_catalogued(EVENTLOG, 6013) && !is_catalogued(LSM, 41));
}

#[test]
fn names_match_serde() {
    for k in [Kind::Service, Kind::TlsCredential, Kind::ServerDenied, Kind::Gateway, Kind::Shutdown] {
        assert_eq!(serde_json::to_value(k).ok(), Some(serde_json::Value::from(k.as_str())));
    }
    for o in [Outcome::Success, Outcome::Failure] {
        assert_eq!(serde_json::to_value(o).ok(), Some(serde_json::Value::from(o.as_str())));
    }
}

#[test]
fn logoffs_only_of_remote_interactive_sessions() {
    // 4634 LogonType 3 of a machine account (StolenSzechuan Security record 1031) is noise.
    let net = event(
        SECURITY,
        4634,
        &[("TargetUserName", "WIN-E0PO207ERMD$"), ("TargetDomainName", "C137"), ("LogonType", "3")],
    );
    assert!(type_event(&net).is_none());
    let rdp = event(SECURITY, 4634, &[("TargetUserName", "admin"), ("TargetDomainName", "CORP"), ("LogonType", "10")]);
    let t = type_event(&rdp).expect("type 10 logoff");
    assert_eq!((t.kind, t.facts.logon_type, t.facts.user.as_deref()), (Kind::Session, Some(10), Some("CORP\\admin")));
}

#[test]
fn ntlm_validation_kind_follows_status() {
    // 4776 Status 0x0 (StolenSzechuan Security record 129) and 0xc000006a (short_selected)
    let ok =
        type_event(&event(SECURITY, 4776, &[("TargetUserName", "Administrator"), ("Status", "0x0")])).expect("typed");
    assert_eq!((ok.kind, ok.facts.outcome), (Kind::AuthSuccess, Some(Outcome::Success)));
    let bad = type_event(&event(SECURITY, 4776, &[("TargetUserName", "Administrator"), ("Status", "0xc000006a")]))
        .expect("typed");
    assert_eq!(
        (bad.kind, bad.facts.outcome, bad.facts.status),
        (Kind::AuthFailure, Some(Outcome::Failure), Some(0xC000_006A))
    );
    assert!(bad.summary.contains("wrong password"), "{}", bad.summary);
}

#[test]
fn facts_stay_out_of_the_json_when_empty() {
    let t = type_event(&event(RCM, 261, &[("listenerName", "RDP-Tcp")])).expect("typed");
    let v = serde_json::to_value(&t).expect("json");
    assert!(v.get("facts").is_none(), "{v}");
    let t = type_event(&event(LSM, 40, &[("Session", "2"), ("Reason", "5")])).expect("typed");
    let v = serde_json::to_value(&t).expect("json");
    assert_eq!(v["facts"], serde_json::json!({"reason": 5, "session": 2}));
    assert!(t.summary.contains("replaced by another connection"), "{}", t.summary);
}

#[test]
fn gateway_summary_names_user_client_and_resource() {
    // Field names of the RD Gateway UserData/EventInfo (EricZimmerman evtx map for 302, and
    // the detection-wiki sample of 302, record 89)
    let e = event(
        GATEWAY,
        304,
        &[
            ("Username", "CORP\\alice"),
            ("IpAddress", "198.51.100.1"),
            ("Resource", "rdsh01.corp.example"),
            ("ErrorCode", "1460"),
        ],
    );
    let t = type_event(&e).expect("typed");
    assert_eq!((t.kind, t.facts.outcome), (Kind::Gateway, Some(Outcome::Failure)));
    assert_eq!(t.facts.resource.as_deref(), Some("rdsh01.corp.example"));
    assert_eq!(t.client.map(|c| c.to_string()).as_deref(), Some("198.51.100.1"));
    assert!(t.summary.contains("CORP\\alice from 198.51.100.1 to rdsh01.corp.example (error 1460)"), "{}", t.summary);
}
