//! Security log events of the scenarios: logons and failed logons (4624, 4625, 4634), process
//! creation (4688) and the Windows Filtering Platform's blocked connections (5157), with the
//! field names and value types of Microsoft's audit-event documentation.

use super::{Channel, DOMAIN, Logs, SECURITY, named, s, sid_of};
use crate::synth::evtx_writer::{EventSpec, Value};
use crate::time::Ts;

impl Logs {
    pub(super) fn security(
        &mut self,
        ts: Ts,
        id: u16,
        version: u8,
        task: u16,
        fields: &[(&str, Value)],
    ) -> &mut EventSpec {
        let e = self.push(Channel::Security, SECURITY, id, 0, ts, named(fields));
        e.version = version;
        e.task = task;
        e
    }

    /// 4624: `user` logged on with `logon_type` from `ip:port` (service logons have no address).
    #[allow(clippy::too_many_arguments)] // the fields of the event itself
    pub fn logon(&mut self, ts: Ts, logon_type: u32, user: &str, ip: &str, port: &str, logon_id: u64, process: &str) {
        let (domain, lproc, pkg) = match logon_type {
            5 => ("NT AUTHORITY", "Advapi  ", "Negotiate"),
            3 => (DOMAIN, "NtLmSsp ", "NTLM"),
            _ => (DOMAIN, "User32 ", "Negotiate"),
        };
        let sid = sid_of(user);
        let wks = if logon_type == 3 {
            "WS041"
        } else if logon_type == 10 {
            "RDSH01"
        } else {
            ""
        };
        self.security(
            ts,
            4624,
            2,
            12544,
            &[
                ("SubjectUserSid", Value::Sid("S-1-5-18".into())),
                ("SubjectUserName", s("RDSH01$")),
                ("SubjectDomainName", s(DOMAIN)),
                ("SubjectLogonId", Value::HexU64(0x3e7)),
                ("TargetUserSid", Value::Sid(sid.into())),
                ("TargetUserName", s(user)),
                ("TargetDomainName", s(domain)),
                ("TargetLogonId", Value::HexU64(logon_id)),
                ("LogonType", Value::U32(logon_type)),
                ("LogonProcessName", s(lproc)),
                ("AuthenticationPackageName", s(pkg)),
                ("WorkstationName", s(wks)),
                ("LogonGuid", Value::Guid([0; 16])),
                ("TransmittedServices", s("-")),
                ("LmPackageName", s(if logon_type == 3 { "NTLM V2" } else { "-" })),
                ("KeyLength", Value::U32(if logon_type == 3 { 128 } else { 0 })),
                ("ProcessId", Value::HexU64(if logon_type == 3 { 0 } else { 0x2a4 })),
                ("ProcessName", s(process)),
                ("IpAddress", s(ip)),
                ("IpPort", s(port)),
                ("ImpersonationLevel", s("%%1833")),
                ("RestrictedAdminMode", s(if logon_type == 10 { "%%1843" } else { "-" })),
                ("TargetOutboundUserName", s("-")),
                ("TargetOutboundDomainName", s("-")),
                ("VirtualAccount", s("%%1843")),
                ("TargetLinkedLogonId", Value::HexU64(0)),
                ("ElevatedToken", s(if logon_type == 5 { "%%1842" } else { "%%1843" })),
            ],
        );
    }

    /// 4625: an NLA (network, type 3) logon of jdoe from `ip:port` failed with status/sub-status.
    pub fn logon_failed(&mut self, ts: Ts, status: u32, sub_status: u32, ip: &str, port: &str) {
        let e = self.security(
            ts,
            4625,
            0,
            12544,
            &[
                ("SubjectUserSid", Value::Sid("S-1-0-0".into())),
                ("SubjectUserName", s("-")),
                ("SubjectDomainName", s("-")),
                ("SubjectLogonId", Value::HexU64(0)),
                ("TargetUserSid", Value::Sid("S-1-0-0".into())),
                ("TargetUserName", s("jdoe")),
                ("TargetDomainName", s(DOMAIN)),
                ("Status", Value::HexU32(status)),
                ("FailureReason", s("%%2313")),
                ("SubStatus", Value::HexU32(sub_status)),
                ("LogonType", Value::U32(3)),
                ("LogonProcessName", s("NtLmSsp ")),
                ("AuthenticationPackageName", s("NTLM")),
                ("WorkstationName", s("WS041")),
                ("TransmittedServices", s("-")),
                ("LmPackageName", s("-")),
                ("KeyLength", Value::U32(0)),
                ("ProcessId", Value::HexU64(0)),
                ("ProcessName", s("-")),
                ("IpAddress", s(ip)),
                ("IpPort", s(port)),
            ],
        );
        e.keywords = 0x8010_0000_0000_0000;
    }

    /// 4634: a logon session ended.
    pub fn logoff(&mut self, ts: Ts, user: &str, logon_id: u64, logon_type: u32) {
        self.security(
            ts,
            4634,
            0,
            12545,
            &[
                ("TargetUserSid", Value::Sid(sid_of(user).into())),
                ("TargetUserName", s(user)),
                ("TargetDomainName", s(DOMAIN)),
                ("TargetLogonId", Value::HexU64(logon_id)),
                ("LogonType", Value::U32(logon_type)),
            ],
        );
    }

    /// 4688: `image` started by `parent`.
    pub fn process(&mut self, ts: Ts, pid: u64, image: &str, parent: &str, command: &str) {
        self.security(
            ts,
            4688,
            2,
            13312,
            &[
                ("SubjectUserSid", Value::Sid("S-1-5-18".into())),
                ("SubjectUserName", s("RDSH01$")),
                ("SubjectDomainName", s(DOMAIN)),
                ("SubjectLogonId", Value::HexU64(0x3e7)),
                ("NewProcessId", Value::HexU64(pid)),
                ("NewProcessName", s(image)),
                ("TokenElevationType", s("%%1936")),
                ("ProcessId", Value::HexU64(0x2a4)),
                ("CommandLine", s(command)),
                ("TargetUserSid", Value::Sid("S-1-0-0".into())),
                ("TargetUserName", s("-")),
                ("TargetDomainName", s("-")),
                ("TargetLogonId", Value::HexU64(0)),
                ("ParentProcessName", s(parent)),
                ("MandatoryLabel", Value::Sid("S-1-16-16384".into())),
            ],
        );
    }

    /// 5157: WFP blocked an inbound TCP connection to `local:lport` from `remote:rport`
    /// (Source is the local side, Dest the remote one).
    pub fn wfp_blocked(&mut self, ts: Ts, local: &str, lport: u16, remote: &str, rport: u16) {
        let e = self.security(
            ts,
            5157,
            1,
            12810,
            &[
                ("ProcessID", Value::U64(1132)),
                ("Application", s("\\device\\harddiskvolume2\\windows\\system32\\svchost.exe")),
                ("Direction", s("%%14592")),
                ("SourceAddress", s(local)),
                ("SourcePort", s(&lport.to_string())),
                ("DestAddress", s(remote)),
                ("DestPort", s(&rport.to_string())),
                ("Protocol", Value::U32(6)),
                ("FilterRTID", Value::U64(70_431)),
                ("LayerName", s("%%14610")),
                ("LayerRTID", Value::U64(44)),
                ("RemoteUserID", Value::Sid("S-1-0-0".into())),
                ("RemoteMachineID", Value::Sid("S-1-0-0".into())),
            ],
        );
        e.keywords = 0x8010_0000_0000_0000;
    }
}
