//! Facts decoding, with field values taken from corpus records (read with evtx_dump 0.15.1;
//! file and record id in each comment) or from the documentation named beside them.

use super::*;
use crate::events::catalog::{lookup, type_event};

fn facts(provider: &str, id: u16, fields: &[(&str, &str)]) -> EventFacts {
    let e = WinEvent {
        provider: provider.into(),
        event_id: id,
        fields: fields.iter().copied().collect(),
        ..Default::default()
    };
    let entry = lookup(provider, id).expect("catalogued");
    extract(entry, &e)
}

fn utf16_hex(s: &str) -> String {
    s.encode_utf16().flat_map(u16::to_le_bytes).map(|b| format!("{b:02x}")).collect()
}

#[test]
fn logon_failure_status_and_sub_status() {
    // omerbenamram Security_short_selected record 319457832: 4625 of a wrong password
    let f = facts(
        SECURITY,
        4625,
        &[
            ("TargetUserName", "Administrator"),
            ("TargetDomainName", "TEMPORAL"),
            ("Status", "0xc000006d"),
            ("SubStatus", "0xc000006a"),
            ("LogonType", "10"),
        ],
    );
    assert_eq!(f.status, Some(0xC000_006D)); // STATUS_LOGON_FAILURE
    assert_eq!(f.sub_status, Some(0xC000_006A)); // STATUS_WRONG_PASSWORD
    assert_eq!(f.logon_type, Some(10)); // RemoteInteractive
    assert_eq!(f.user.as_deref(), Some("TEMPORAL\\Administrator"));
    assert_eq!(f.outcome, Some(Outcome::Failure));
    // mitre account-restriction file record 90907: SubStatus "0x0", user "-" and domain "-"
    let f = facts(
        SECURITY,
        4625,
        &[("TargetUserName", "-"), ("TargetDomainName", "-"), ("Status", "0xc000006e"), ("SubStatus", "0x0")],
    );
    assert_eq!((f.status, f.sub_status, f.user), (Some(0xC000_006E), Some(0), None));
    // the zero-padded form other tools write, and the logon type not granted (MS-ERREF 2.3.1)
    let f = facts(SECURITY, 4625, &[("Status", "0xC000015B"), ("SubStatus", "0x00000000")]);
    assert_eq!((f.status, f.sub_status), (Some(0xC000_015B), Some(0)));
}

#[test]
fn account_events_name_the_user() {
    // 4740: TargetDomainName is the caller computer, not the account's domain (event-4740 doc)
    let f = facts(SECURITY, 4740, &[("TargetUserName", "alice"), ("TargetDomainName", "WS041")]);
    assert_eq!(f.user.as_deref(), Some("alice"));
    // 4825 (event-4825 doc, OSSEM data dictionary): AccountDomain\AccountName
    let f = facts(
        SECURITY,
        4825,
        &[("AccountName", "dadmin"), ("AccountDomain", "CONTOSO"), ("ClientAddress", "10.10.10.10")],
    );
    assert_eq!((f.user.as_deref(), f.outcome), (Some("CONTOSO\\dadmin"), Some(Outcome::Failure)));
    // 4647 has no LogonType (StolenSzechuan Security record 137)
    let f = facts(SECURITY, 4647, &[("TargetUserName", "Administrator"), ("TargetDomainName", "WIN-E0PO207ERMD")]);
    assert_eq!((f.logon_type, f.user.as_deref()), (None, Some("WIN-E0PO207ERMD\\Administrator")));
    // RCM 1149 with an empty domain (velociraptor RCM record 35)
    let f = facts(RCM, 1149, &[("Param1", "vagrant"), ("Param2", ""), ("Param3", "192.168.38.1")]);
    assert_eq!(f.user.as_deref(), Some("vagrant"));
}

#[test]
fn termservice_state_from_binary_data() {
    // velociraptor System record 15424: "TermService/1" = SERVICE_STOPPED
    let stopped = facts(
        SCM,
        7036,
        &[
            ("param1", "Remote Desktop Services"),
            ("param2", "stopped"),
            ("Binary", "5400650072006d0053006500720076006900630065002f0031000000"),
        ],
    );
    assert_eq!(stopped.service_state, Some(ServiceState::Stopped));
    // the binary data wins over localized text: "TermService/4" = SERVICE_RUNNING
    let f = facts(
        SCM,
        7036,
        &[("param1", "Remotedesktopdienste"), ("param2", "Wird ausgeführt"), ("Binary", &utf16_hex("TermService/4\0"))],
    );
    assert_eq!(f.service_state, Some(ServiceState::Running));
    // no binary data: the English text
    let f = facts(SCM, 7036, &[("param1", "Remote Desktop Services"), ("param2", "running")]);
    assert_eq!(f.service_state, Some(ServiceState::Running));
    assert_eq!(facts(SCM, 7034, &[("param1", "Remote Desktop Services")]).service_state, Some(ServiceState::Crashed));
    assert_eq!(facts(SCM, 7023, &[("param1", "Remote Desktop Services")]).service_state, Some(ServiceState::Failed));
    assert_eq!(ServiceState::from_code(7).map(ServiceState::as_str), Some("paused"));
    assert_eq!(ServiceState::from_code(8), None);
}

#[test]
fn termdd_status_from_io_error_log_packet() {
    // The event 56 dump in Microsoft's "curious case of event ID 56" article, as DWORDs:
    // 00040000 002c0002 00000000 c00a0038 00000000 c00a0038 00000000 00000000 00000000 00000000
    // d0000184: DumpDataSize 4, DumpData[0] = 0xD0000184 → STATUS_INVALID_DEVICE_STATE.
    let dwords = [0x0004_0000u32, 0x002c_0002, 0, 0xc00a_0038, 0, 0xc00a_0038, 0, 0, 0, 0, 0xd000_0184];
    let hex: String = dwords.iter().flat_map(|d| d.to_le_bytes()).map(|b| format!("{b:02x}")).collect();
    let f = facts(TERMDD, 56, &[("Data1", "\\Device\\Termdd"), ("Data2", "203.0.113.9"), ("Binary", &hex)]);
    assert_eq!(f.status, Some(0xC000_0184));
    assert_eq!(
        crate::events::catalog::codes::ntstatus(0xC000_0184).map(|s| s.name),
        Some("STATUS_INVALID_DEVICE_STATE")
    );
    assert_eq!(f.outcome, Some(Outcome::Failure));
    // a packet cut before its dump data, an odd digit count, no binary: no status
    assert_eq!(termdd_status("0000040001002c0000000000380000c00000000038000ad0"), None);
    assert_eq!(termdd_status("000"), None);
    assert_eq!(facts(TERMDD, 50, &[("Data2", "X.224")]).status, None);
}

#[test]
fn session_manager_reason_and_sessions() {
    // velociraptor LSM record 172: session 1 replaced by another connection (reason 5)
    let f = facts(LSM, 40, &[("Session", "1"), ("Reason", "5")]);
    assert_eq!((f.session, f.reason, f.outcome), (Some(1), Some(5), None));
    // reason 9: insufficient privileges is a failure
    assert_eq!(facts(LSM, 40, &[("Session", "3"), ("Reason", "9")]).outcome, Some(Outcome::Failure));
    // RathbunVM Win10 LSM record 34: session 1 disconnected by session 1
    let f = facts(LSM, 39, &[("TargetSession", "1"), ("Source", "1")]);
    assert_eq!((f.session, f.by_session, f.reason), (Some(1), Some(1), None));
    // StolenSzechuan LSM record 108: logon from 194.61.24.102
    let f = facts(LSM, 21, &[("User", "C137\\Administrator"), ("SessionID", "2"), ("Address", "194.61.24.102")]);
    assert_eq!(
        (f.user.as_deref(), f.session, f.outcome),
        (Some("C137\\Administrator"), Some(2), Some(Outcome::Success))
    );
    // StolenSzechuan LSM record 102: 36 EvLogon failed with E_FAIL
    let f = facts(LSM, 36, &[("SessionId", "2"), ("EventName", "EvLogon"), ("ErrorCode", "0x80004005")]);
    assert_eq!((f.session, f.error_code), (Some(2), Some(0x8000_4005)));
}

#[test]
fn rdp_stack_codes() {
    // StolenSzechuan RdpCoreTS record 174075: 139 ResultCode 0x80090304 (SEC_E_INTERNAL_ERROR)
    assert_eq!(
        facts(CORE, 139, &[("ResultCode", "0x80090304"), ("IPString", "194.61.24.102")]).error_code,
        Some(0x8009_0304)
    );
    // record 174077: 103 ReasonCode 0
    assert_eq!(facts(CORE, 103, &[("ReasonCode", "0")]).reason, Some(0));
    // DFIR sample record 1129: 104 TimezoneBiasHour "[1]"
    assert_eq!(facts(CORE, 104, &[("TimezoneBiasHour", "[1]")]).timezone_bias_hours, Some(1));
    assert_eq!(bias_hours("[-5]"), Some(-5));
    // 142 names its field "error" in the W2022 manifest; 226 ErrorCode as hex
    assert_eq!(facts(CORE, 142, &[("error", "0x80072746")]).error_code, Some(0x8007_2746));
    assert_eq!(facts(CORE, 226, &[("ErrorCode", "0x80070040")]).error_code, Some(0x8007_0040));
    // the client's 226 "Error Code" in decimal (StolenSzechuan RDPClient record 7)
    assert_eq!(facts(CLIENT, 226, &[("Error Code", "2147549183")]).error_code, Some(0x8000_FFFF));
}

#[test]
fn client_disconnect_reason() {
    // StolenSzechuan RDPClient record 9: reason 2 (remote by user) is a normal end
    let f = facts(CLIENT, 1026, &[("Name", "Disconnect Reason"), ("Value", "2")]);
    assert_eq!((f.error_code, f.outcome), (Some(2), None));
    // 2308 = 0x904 socket closed: a failure
    assert_eq!(facts(CLIENT, 1026, &[("Value", "2308")]).outcome, Some(Outcome::Failure));
}

#[test]
fn gateway_user_resource_error() {
    // EricZimmerman evtx map Gateway_200 sample: AuthType NTLM, ErrorCode 0, empty Resource
    let f = facts(
        GATEWAY,
        200,
        &[
            ("Username", "DOMAIN\\username"),
            ("IpAddress", "72.16.2.13"),
            ("AuthType", "NTLM"),
            ("Resource", ""),
            ("ErrorCode", "0"),
        ],
    );
    assert_eq!(
        (f.user.as_deref(), f.resource, f.error_code, f.outcome),
        (Some("DOMAIN\\username"), None, Some(0), Some(Outcome::Success))
    );
    let f = facts(GATEWAY, 302, &[("Username", "HOST\\Administrator"), ("Resource", "rdsh.example.com")]);
    assert_eq!(f.resource.as_deref(), Some("rdsh.example.com"));
}

#[test]
fn shutdown_markers() {
    // StolenSzechuan System record 135: a planned restart for an OS upgrade
    let f = facts(
        USER32,
        1074,
        &[
            ("param1", "C:\\Windows\\system32\\winlogon.exe (WIN-HRJHA99CCDO)"),
            ("param3", "Operating System: Upgrade (Planned)"),
            ("param4", "0x80020003"),
            ("param5", "restart"),
            ("param7", "NT AUTHORITY\\SYSTEM"),
        ],
    );
    let s = f.shutdown.expect("marker");
    assert_eq!(
        (s.kind, s.action, s.planned, s.reason_code),
        (ShutdownKind::Requested, Some(ShutdownAction::Restart), Some(true), Some(0x8002_0003))
    );
    assert_eq!(f.user.as_deref(), Some("NT AUTHORITY\\SYSTEM"));
    // velociraptor System record 15393: "Other (Unplanned)", reason code 0x0
    let s = facts(USER32, 1074, &[("param4", "0x0"), ("param5", "restart")]).shutdown.expect("marker");
    assert_eq!(s.planned, Some(false));
    // record 803: "power off"
    assert_eq!(
        facts(USER32, 1074, &[("param5", "power off")]).shutdown.and_then(|s| s.action),
        Some(ShutdownAction::PowerOff)
    );
    let kind = |p, id| facts(p, id, &[]).shutdown.map(|s| s.kind);
    assert_eq!(kind(EVENTLOG, 6005), Some(ShutdownKind::LogStarted));
    assert_eq!(kind(EVENTLOG, 6006), Some(ShutdownKind::LogStopped));
    assert_eq!(kind(EVENTLOG, 6008), Some(ShutdownKind::Unexpected));
    assert_eq!(kind(KERNEL_GENERAL, 12), Some(ShutdownKind::OsStarted));
    assert_eq!(kind(KERNEL_GENERAL, 13), Some(ShutdownKind::OsShutdown));
    assert_eq!(facts(EVENTLOG, 6008, &[]).outcome, Some(Outcome::Failure));
}

#[test]
fn facts_reach_the_typed_event() {
    let e = WinEvent {
        provider: SECURITY.into(),
        event_id: 4625,
        fields: [("Status", "0xc000015b"), ("LogonType", "3")].into_iter().collect(),
        ..Default::default()
    };
    let t = type_event(&e).expect("typed");
    assert_eq!((t.facts.status, t.facts.logon_type), (Some(0xC000_015B), Some(3)));
}
