//! Background activity of the scenarios' logs: what a busy session host logs that has nothing
//! to do with Remote Desktop connections (other services' state changes, DNS-client warnings,
//! service logons with their privileges, process starts, session-manager housekeeping).

use super::{Channel, DNS, Logs, SEC, after, named, s};
use crate::synth::evtx_writer::Value;
use crate::time::Ts;

impl Logs {
    /// Unrelated activity from `from` to `to` on the collected server channels: other services
    /// changing state, DNS warnings, service logons, process starts, session-manager
    /// housekeeping. None of it is about Remote Desktop connections.
    pub fn background(&mut self, from: Ts, to: Ts) {
        let channels = self.collected.clone();
        const SERVICES: [(&str, &str); 6] = [
            ("Windows Update", "wuauserv"),
            ("Background Intelligent Transfer Service", "BITS"),
            ("Windows Modules Installer", "TrustedInstaller"),
            ("WinHTTP Web Proxy Auto-Discovery Service", "WinHttpAutoProxySvc"),
            ("Software Protection", "sppsvc"),
            ("Windows Error Reporting Service", "WerSvc"),
        ];
        const PROCESSES: [(&str, &str, &str); 4] = [
            (
                "C:\\Windows\\System32\\svchost.exe",
                "C:\\Windows\\System32\\services.exe",
                "C:\\Windows\\system32\\svchost.exe -k netsvcs -p",
            ),
            ("C:\\Windows\\System32\\taskhostw.exe", "C:\\Windows\\System32\\svchost.exe", "taskhostw.exe"),
            (
                "C:\\Windows\\System32\\conhost.exe",
                "C:\\Windows\\System32\\cmd.exe",
                "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1",
            ),
            (
                "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
                "C:\\Windows\\System32\\svchost.exe",
                "C:\\Windows\\system32\\wbem\\wmiprvse.exe -Embedding",
            ),
        ];
        let mut t = from;
        let mut logon_id = 0x9_1a00u64;
        while t < to {
            let pick = self.rng.below(6) as usize;
            if channels.contains(&Channel::System) {
                let (display, key) = SERVICES[pick];
                self.service_state(t, display, key, true);
                let up = 31 + self.rng.below(20) as i64;
                self.service_state(after(t, up * SEC), display, key, false);
                if pick == 3 {
                    let e = self.push(
                        Channel::System,
                        DNS,
                        1014,
                        3,
                        after(t, 2 * SEC),
                        named(&[("QueryName", s("wpad.corp.example")), ("AddressLength", Value::U32(128))]),
                    );
                    e.task = 1014;
                    e.keywords = 0x4000_0000_1000_0000;
                    e.process_id = 1208;
                    e.user_sid = Some("S-1-5-20".into());
                }
            }
            if channels.contains(&Channel::Security) {
                logon_id += 0x1d3 + self.rng.below(0x400);
                self.logon(after(t, 4 * SEC), 5, "SYSTEM", "-", "-", 0x3e7, "C:\\Windows\\System32\\services.exe");
                self.security(after(t, 4 * SEC), 4672, 0, 12548, &[
                    ("SubjectUserSid", Value::Sid("S-1-5-18".into())),
                    ("SubjectUserName", s("SYSTEM")),
                    ("SubjectDomainName", s("NT AUTHORITY")),
                    ("SubjectLogonId", Value::HexU64(0x3e7)),
                    ("PrivilegeList", s("SeAssignPrimaryTokenPrivilege\r\n\t\t\tSeTcbPrivilege\r\n\t\t\tSeSecurityPrivilege\r\n\t\t\tSeDebugPrivilege\r\n\t\t\tSeAuditPrivilege\r\n\t\t\tSeImpersonatePrivilege")),
                ]);
                let (image, parent, cmd) = PROCESSES[pick % 4];
                let pid = 0x1000 + 4 * self.rng.below(0x800);
                self.process(after(t, 9 * SEC), pid, image, parent, cmd);
                self.logoff(after(t, 12 * SEC), "RDSH01$", logon_id, 3);
            }
            if channels.contains(&Channel::Lsm) && pick % 2 == 0 {
                self.lsm_fields(after(t, 6 * SEC), 32, &[("messageName", s("RDSAppXPlugin"))]);
            }
            t = after(t, 47 * SEC + self.rng.below(40) as i64 * SEC);
        }
    }
}
