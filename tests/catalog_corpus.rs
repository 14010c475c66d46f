//! The event catalogue on the real logs of ../shared/corpus/evtx: which events it types and the
//! facts it decodes, checked against an independent reading of the same files. Unless a test
//! says otherwise, expected values come from evtx_dump 0.15.1 (`cargo install evtx`):
//!   evtx_dump -o jsonl FILE
//! reading `Event.System.EventRecordID`, `EventData` and `UserData/<element>` children; counts
//! apply the catalogue's own filters by hand (4624 logon types 3/7/10, 4634 type 10, SCM events
//! only with the service key "TermService/<state>" in `Binary` or the name in `param1`).
//! Skipped, with a printed notice, when the corpus is absent.

use std::collections::BTreeMap;

use rdplog::error::WarningSink;
use rdplog::events::catalog::{
    CLIENT, CORE, EVENTLOG, KERNEL_GENERAL, Kind, LSM, Outcome, RCM, SCM, SECURITY, ServiceState, ShutdownAction,
    ShutdownKind, TypedEvent, USER32, is_catalogued, type_event,
};
use rdplog::events::evtx::read_evtx_path;

use crate::util::corpus;

/// The typed events of one corpus log, or `None` when the corpus is absent.
fn typed(name: &str) -> Option<Vec<TypedEvent>> {
    let path = corpus("evtx", name)?;
    let mut sink = WarningSink::new(name);
    let (_, events) = read_evtx_path(&path, &is_catalogued, &mut sink).expect("readable log");
    Some(events.iter().filter_map(type_event).collect())
}

fn count(events: &[TypedEvent], provider: &str, id: u16) -> usize {
    events.iter().filter(|e| e.provider == provider && e.event_id == id).count()
}

fn record(events: &[TypedEvent], id: u64) -> &TypedEvent {
    events.iter().find(|e| e.record_id == id).unwrap_or_else(|| panic!("record {id} typed"))
}

fn client(e: &TypedEvent) -> Option<String> {
    e.client.map(|c| c.to_string())
}

#[test]
fn account_restriction_4625() {
    let Some(ev) = typed("evtx-to-mitre_ID4625-failed_login_with_denied_access_due_to_account_restriction.evtx") else {
        return;
    };
    // evtx_dump: records 90907 and 90939, Status 0xc000006e, SubStatus 0x0, LogonType 10,
    // TargetUserName "-", IpAddress 10.23.23.9, IpPort 0
    assert_eq!(count(&ev, SECURITY, 4625), 2);
    for id in [90907, 90939] {
        let e = record(&ev, id);
        assert_eq!(e.facts.status, Some(0xC000_006E), "{id}"); // STATUS_ACCOUNT_RESTRICTION
        assert_eq!(e.facts.sub_status, Some(0));
        assert_eq!(e.facts.logon_type, Some(10));
        assert_eq!(e.facts.user, None);
        assert_eq!(client(e).as_deref(), Some("10.23.23.9"));
        assert_eq!((e.kind, e.facts.outcome), (Kind::AuthFailure, Some(Outcome::Failure)));
    }
}

#[test]
fn wrong_password_4625_4776_and_wfp_drop() {
    let Some(ev) = typed("omerbenamram-evtx_Security_short_selected.evtx") else { return };
    // record 319457832: 4625 TEMPORAL\Administrator 0xc000006d / 0xc000006a, LogonType 10,
    // 23.94.153.202:60167
    let e = record(&ev, 319_457_832);
    assert_eq!(
        (e.facts.status, e.facts.sub_status, e.facts.logon_type),
        (Some(0xC000_006D), Some(0xC000_006A), Some(10))
    );
    assert_eq!(e.facts.user.as_deref(), Some("TEMPORAL\\Administrator"));
    assert_eq!(client(e).as_deref(), Some("23.94.153.202:60167"));
    // record 319457831: 4776 Administrator, Workstation TEMPORAL, Status 0xc000006a
    let e = record(&ev, 319_457_831);
    assert_eq!(
        (e.kind, e.facts.status, e.facts.outcome),
        (Kind::AuthFailure, Some(0xC000_006A), Some(Outcome::Failure))
    );
    assert_eq!(e.facts.user.as_deref(), Some("Administrator"));
    // record 319457771: 5152 23.94.153.202:59639 -> 169.46.6.101:3389 dropped
    assert_eq!(client(record(&ev, 319_457_771)).as_deref(), Some("23.94.153.202:59639"));
}

#[test]
fn session_manager_users_reasons_and_addresses() {
    if let Some(ev) = typed("velociraptor_RDPAuth_LocalSessionManager.evtx") {
        // record 176: 25 WINDOMAIN\vagrant session 1 from 192.168.38.1
        let e = record(&ev, 176);
        assert_eq!((e.event_id, e.facts.user.as_deref(), e.facts.session), (25, Some("WINDOMAIN\\vagrant"), Some(1)));
        assert_eq!(client(e).as_deref(), Some("192.168.38.1"));
        // records 172 and 179: 40 reasons 5 (replaced by another connection) and 12 (logoff)
        assert_eq!((record(&ev, 172).facts.reason, record(&ev, 172).facts.session), (Some(5), Some(1)));
        assert_eq!(record(&ev, 179).facts.reason, Some(12));
        // records 169/170: 21/22 of the console session, Address "LOCAL": no client
        assert_eq!(record(&ev, 169).facts.user.as_deref(), Some("WINDOMAIN\\vagrant"));
        assert_eq!(record(&ev, 169).client, None);
    }
    if let Some(ev) =
        typed("museum-StolenSzechuan_Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx")
    {
        // records 108, 109: 21/22 C137\Administrator session 2 from 194.61.24.102; 110: 23
        for id in [108, 109] {
            let e = record(&ev, id);
            assert_eq!((e.facts.user.as_deref(), e.facts.session), (Some("C137\\Administrator"), Some(2)));
            assert_eq!(client(e).as_deref(), Some("194.61.24.102"));
        }
        assert_eq!((record(&ev, 110).event_id, record(&ev, 110).client), (23, None));
        // record 102: 36 EvLogon ErrorCode 0x80004005 on session 2
        let e = record(&ev, 102);
        assert_eq!((e.event_id, e.facts.error_code, e.facts.session), (36, Some(0x8000_4005), Some(2)));
        // 13 × 21, 13 × 22, 12 × 23, 3 × 24, 6 × 40, 1 × 39, 1 × 36
        let n = |id| count(&ev, LSM, id);
        assert_eq!((n(21), n(22), n(23), n(24), n(40), n(39), n(36)), (13, 13, 12, 3, 6, 1, 1));
    }
}

#[test]
fn termservice_states_and_shutdown_markers() {
    if let Some(ev) = typed("velociraptor_RDPAuth_System.evtx") {
        // record 15424: 7036 "TermService/1" stopped; 15470: param1 "TermService", "/4" running
        assert_eq!(count(&ev, SCM, 7036), 2);
        assert_eq!(record(&ev, 15_424).facts.service_state, Some(ServiceState::Stopped));
        assert_eq!(record(&ev, 15_470).facts.service_state, Some(ServiceState::Running));
        // record 15393: 1074 restart by WINDOMAIN\vagrant, "Other (Unplanned)", 0x0
        let s = record(&ev, 15_393).facts.shutdown.clone().expect("marker");
        assert_eq!(
            (s.kind, s.action, s.planned),
            (ShutdownKind::Requested, Some(ShutdownAction::Restart), Some(false))
        );
        assert_eq!(record(&ev, 15_393).facts.user.as_deref(), Some("WINDOMAIN\\vagrant"));
    }
    let Some(ev) = typed("museum-StolenSzechuan_System.evtx") else { return };
    // 15 TermService 7036 (8 "TermService/4", 7 "TermService/1"), no other SCM event for it
    let scm: Vec<&TypedEvent> = ev.iter().filter(|e| e.provider == SCM).collect();
    assert_eq!(scm.len(), 15);
    let running = scm.iter().filter(|e| e.facts.service_state == Some(ServiceState::Running)).count();
    assert_eq!(running, 8);
    assert_eq!(record(&ev, 658).facts.service_state, Some(ServiceState::Stopped));
    // markers: 16 × User32 1074, 11 × 6005, 10 × 6006, 11 × Kernel-General 12 and 13
    let per: BTreeMap<(&str, u16), usize> =
        [(USER32, 1074), (EVENTLOG, 6005), (EVENTLOG, 6006), (KERNEL_GENERAL, 12), (KERNEL_GENERAL, 13)]
            .into_iter()
            .map(|(p, id)| ((p, id), count(&ev, p, id)))
            .collect();
    assert_eq!(per.values().copied().collect::<Vec<_>>(), [11, 10, 11, 11, 16]);
    assert!(ev.iter().filter(|e| e.kind == Kind::Shutdown).all(|e| e.facts.shutdown.is_some()));
    // record 135: planned restart, reason 0x80020003 "Operating System: Upgrade (Planned)"
    let s = record(&ev, 135).facts.shutdown.clone().expect("marker");
    assert_eq!(
        (s.planned, s.reason_code, s.reason.as_deref()),
        (Some(true), Some(0x8002_0003), Some("Operating System: Upgrade (Planned)"))
    );
    // record 803: "power off"
    assert_eq!(record(&ev, 803).facts.shutdown.as_ref().and_then(|s| s.action), Some(ShutdownAction::PowerOff));
}

#[test]
fn rdp_stack_and_client_codes() {
    if let Some(ev) = typed("museum-StolenSzechuan_Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx")
    {
        // 247 × 139 ResultCode 0x80090304 from 194.61.24.102; 346 × 131; 347 × 103; 4 × 98
        assert_eq!(
            (count(&ev, CORE, 139), count(&ev, CORE, 131), count(&ev, CORE, 103), count(&ev, CORE, 98)),
            (247, 346, 347, 4)
        );
        let e = record(&ev, 174_075);
        assert_eq!((e.facts.error_code, client(e).as_deref()), (Some(0x8009_0304), Some("194.61.24.102")));
        assert!(ev.iter().filter(|e| e.event_id == 139).all(|e| e.facts.error_code == Some(0x8009_0304)));
        assert_eq!(record(&ev, 174_077).facts.reason, Some(0)); // 103 ReasonCode 0
    }
    if let Some(ev) = typed("evtx-attack-samples_DFIR_RDP_Client_TimeZone_RdpCoreTs_104_example.evtx") {
        // 21 × 104 TimezoneBiasHour "[1]" (records 1129 ... 1213)
        assert_eq!(count(&ev, CORE, 104), 21);
        assert!(ev.iter().all(|e| e.facts.timezone_bias_hours == Some(1)));
    }
    if let Some(ev) = typed("museum-StolenSzechuan_Microsoft-Windows-TerminalServices-RDPClient%4Operational.evtx") {
        // record 7: 226 "Error Code" 2147549183 (0x8000FFFF); record 9: 1026 Value 2
        assert_eq!((record(&ev, 7).event_id, record(&ev, 7).facts.error_code), (226, Some(0x8000_FFFF)));
        assert_eq!((record(&ev, 9).facts.error_code, record(&ev, 9).facts.outcome), (Some(2), None));
        assert_eq!(count(&ev, CLIENT, 1026), 1);
    }
}

#[test]
fn logon_users_and_reconnects() {
    if let Some(ev) = typed("velociraptor_RDPAuth_Security.evtx") {
        // 4624 of types 3/7/10: 39; 4634 of type 10: 2; 4647: 2; 4776: 1; 4778, 4779: 1 each
        let n = |id| count(&ev, SECURITY, id);
        assert_eq!((n(4624), n(4634), n(4647), n(4776), n(4778), n(4779)), (39, 2, 2, 1, 1, 1));
        // record 506531: 4778 WINDOMAIN\vagrant RDP-Tcp#0 from silversurfer 192.168.38.1
        let e = record(&ev, 506_531);
        assert_eq!((e.facts.user.as_deref(), client(e).as_deref()), (Some("WINDOMAIN\\vagrant"), Some("192.168.38.1")));
        // record 506516: 4779 of the console session, ClientAddress "LOCAL": no client
        assert_eq!(record(&ev, 506_516).client, None);
        // record 506570: 4647 WINDOMAIN\vagrant
        assert_eq!(record(&ev, 506_570).facts.user.as_deref(), Some("WINDOMAIN\\vagrant"));
    }
    if let Some(ev) = typed("evtx-to-mitre_ID1149-RDP_success_logins_to_multiple_hosts.evtx") {
        // 11 × RCM 1149, Param1 "admmig", empty Param2, Param3 10.23.123.11
        assert_eq!(count(&ev, RCM, 1149), 11);
        for e in &ev {
            assert_eq!(
                (e.facts.user.as_deref(), client(e).as_deref()),
                (Some("admmig"), Some("10.23.123.11")),
                "{}",
                e.record_id
            );
        }
    }
    if let Some(ev) = typed("museum-StolenSzechuan_Security.evtx") {
        // 96 × 4625 (95 LogonType 3 without an address, 1 LogonType 7 from 127.0.0.1), 12 × 4776
        assert_eq!((count(&ev, SECURITY, 4625), count(&ev, SECURITY, 4776), count(&ev, SECURITY, 4647)), (96, 12, 13));
        let lt3 = ev.iter().filter(|e| e.event_id == 4625 && e.facts.logon_type == Some(3)).count();
        assert_eq!(lt3, 95);
        assert!(ev.iter().filter(|e| e.event_id == 4625).all(|e| e.facts.sub_status == Some(0xC000_006A)));
    }
}
