//! Typed facts of one catalogued event: the numbers and names that the diagnosis rules need,
//! decoded once here so that no later stage reads raw fields (logon type, NTSTATUS, service
//! state from the SCM binary data, error and reason codes, user, RD Gateway resource, session
//! id, shutdown markers). Decoding is lenient: a field that is missing or does not parse leaves
//! its fact empty. What the codes mean is in `codes.rs`; what they say about a connection is
//! `diagnose`'s business.

use serde::Serialize;

use super::{
    CLIENT, CORE, EVENTLOG, Entry, GATEWAY, KERNEL_GENERAL, LSM, Outcome, RCM, SCHANNEL, SCM, SECURITY, TERMDD, USER32,
    codes::SessionDisconnectReason,
};
use crate::events::WinEvent;
use crate::explain::parse_code;

/// The decoded facts of a catalogued event. Each is `None` when the event does not carry it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EventFacts {
    /// Whether the event reports a success or a failure: the catalogue's outcome, refined by
    /// codes (Security 4776 Status, LocalSessionManager 40 reason, client 1026 reason).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Security 4624 / 4625 / 4634 `LogonType` (3 network, as NLA makes it; 7 unlock or
    /// reconnect; 10 RemoteInteractive). 4647 and 4648 have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logon_type: Option<u8>,
    /// NTSTATUS ([MS-ERREF] 2.3): Security 4625 and 4776 `Status`; TermDD 50/56 the status in
    /// the binary data (HRESULT_FROM_NT form 0xD000xxxx turned back into 0xC000xxxx).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u32>,
    /// Security 4625 `SubStatus` (NTSTATUS): the precise cause when `status` is the generic
    /// 0xC000006D STATUS_LOGON_FAILURE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_status: Option<u32>,
    /// What Remote Desktop Services (TermService) did: SCM 7036 state, 7031/7034 crash,
    /// 7000–7024 start or run failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_state: Option<ServiceState>,
    /// The error the event reports, as logged: RdpCoreTS `ErrorCode` / `ResultCode` / `error`
    /// (HRESULTs, `codes::HRESULTS`), the client's 1026 disconnect reason (decimal, see
    /// `rdplog explain`) and 226 `Error Code`, LSM 16/17 status and 36/37 `ErrorCode`, RCM
    /// 1057/1058 status, Schannel 36870/36871 `ErrorCode` and 36887/36888 `AlertDesc` (the TLS
    /// alert description), RD Gateway `ErrorCode`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u32>,
    /// A reason code: LocalSessionManager 40 `Reason` (`codes::SessionDisconnectReason`),
    /// RdpCoreTS 103 `ReasonCode`. LSM 39 has none: it names the disconnecting session in
    /// `by_session`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<u32>,
    /// The session id: LSM 21–25 `SessionID`, 36 `SessionId`, 39 `TargetSession`,
    /// 40 `Session`; RdpCoreTS 66 `SessionID`; the client's 1027 `SessionId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<u32>,
    /// LSM 39: the session that disconnected `session` (the same id when a user disconnected
    /// their own session).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_session: Option<u32>,
    /// The account, `DOMAIN\user` when the event names both: Security `TargetDomainName` /
    /// `TargetUserName` (4740 and 4776: the user only), `AccountDomain` / `AccountName`
    /// (4778, 4779, 4825); RCM 1149 `Param2` / `Param1`, 20499 `UserName`; LSM `User`; RD
    /// Gateway `Username`; User32 1074 `param7` (who asked for the shutdown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// RD Gateway: the resource (RD Session Host) the user asked for, `Resource`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// A host start or stop marker (User32 1074, EventLog 6005/6006/6008, Kernel-General 12/13).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shutdown: Option<Shutdown>,
    /// RdpCoreTS 104: the client's time-zone bias in hours, as logged ("[1]" → 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone_bias_hours: Option<i32>,
}

impl EventFacts {
    /// NTSTATUS 0xC000015B STATUS_LOGON_TYPE_NOT_GRANTED: the account lacks the logon right
    /// (not in Remote Desktop Users / "Allow log on through Remote Desktop Services").
    pub fn logon_right_missing(&self) -> bool {
        self.status == Some(0xC000_015B) || self.sub_status == Some(0xC000_015B)
    }

    /// Remote Desktop Services stopped, crashed or failed.
    pub fn service_down(&self) -> bool {
        matches!(self.service_state, Some(ServiceState::Stopped | ServiceState::Crashed | ServiceState::Failed))
    }

    /// True when no fact was decoded (the JSON then leaves `facts` out).
    pub fn is_empty(&self) -> bool {
        *self == EventFacts::default()
    }
}

/// What Remote Desktop Services did, from the Service Control Manager. The first seven are the
/// SERVICE_STATUS `dwCurrentState` values (winsvc.h; learn.microsoft.com/windows/win32/api/
/// winsvc/ns-winsvc-service_status) that 7036's binary data ends with ("TermService/4").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceState {
    /// SERVICE_STOPPED (1).
    Stopped,
    /// SERVICE_START_PENDING (2).
    StartPending,
    /// SERVICE_STOP_PENDING (3).
    StopPending,
    /// SERVICE_RUNNING (4).
    Running,
    /// SERVICE_CONTINUE_PENDING (5).
    ContinuePending,
    /// SERVICE_PAUSE_PENDING (6).
    PausePending,
    /// SERVICE_PAUSED (7).
    Paused,
    /// SCM 7031 / 7034: the service terminated unexpectedly.
    Crashed,
    /// SCM 7000, 7001, 7009, 7011, 7022, 7023, 7024: failed to start, hung, or stopped with an
    /// error.
    Failed,
}

impl ServiceState {
    /// The SERVICE_STATUS `dwCurrentState` value.
    pub fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            1 => Self::Stopped,
            2 => Self::StartPending,
            3 => Self::StopPending,
            4 => Self::Running,
            5 => Self::ContinuePending,
            6 => Self::PausePending,
            7 => Self::Paused,
            _ => return None,
        })
    }

    /// The state from 7036's `param2` text, English only (it is localized).
    fn from_text(text: &str) -> Option<Self> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "stopped" => Self::Stopped,
            "start pending" => Self::StartPending,
            "stop pending" => Self::StopPending,
            "running" => Self::Running,
            "continue pending" => Self::ContinuePending,
            "pause pending" => Self::PausePending,
            "paused" => Self::Paused,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stopped => "stopped",
            Self::StartPending => "start-pending",
            Self::StopPending => "stop-pending",
            Self::Running => "running",
            Self::ContinuePending => "continue-pending",
            Self::PausePending => "pause-pending",
            Self::Paused => "paused",
            Self::Crashed => "crashed",
            Self::Failed => "failed",
        }
    }
}

/// A host start or stop marker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Shutdown {
    pub kind: ShutdownKind,
    /// User32 1074 `param5`: restart, shutdown or power off (English text only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<ShutdownAction>,
    /// User32 1074: the SHTDN_REASON_FLAG_PLANNED bit (0x80000000) of the reason code
    /// (learn.microsoft.com/windows/win32/shutdown/system-shutdown-reason-codes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned: Option<bool>,
    /// User32 1074 `param4`, the shutdown reason code, e.g. 0x80020003.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<u32>,
    /// User32 1074 `param3`, the reason text, e.g. "Operating System: Upgrade (Planned)".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// User32 1074 `param1`, the process that asked, e.g. "C:\Windows\system32\winlogon.exe (HOST)".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
}

/// Which marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShutdownKind {
    /// User32 1074: a process or user asked for a shutdown or restart.
    Requested,
    /// EventLog 6005: the event log service started (boot).
    LogStarted,
    /// EventLog 6006: the event log service stopped (clean shutdown).
    LogStopped,
    /// EventLog 6008: the previous shutdown was unexpected (crash, power loss).
    Unexpected,
    /// Kernel-General 12: the operating system started.
    OsStarted,
    /// Kernel-General 13: the operating system is shutting down.
    OsShutdown,
}

impl ShutdownKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::LogStarted => "log-started",
            Self::LogStopped => "log-stopped",
            Self::Unexpected => "unexpected",
            Self::OsStarted => "os-started",
            Self::OsShutdown => "os-shutdown",
        }
    }
}

/// What User32 1074 asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShutdownAction {
    Restart,
    Shutdown,
    PowerOff,
}

impl ShutdownAction {
    fn from_text(text: &str) -> Option<Self> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "restart" => Self::Restart,
            "shutdown" => Self::Shutdown,
            "power off" => Self::PowerOff,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Restart => "restart",
            Self::Shutdown => "shutdown",
            Self::PowerOff => "power-off",
        }
    }
}

/// SHTDN_REASON_FLAG_PLANNED.
const SHTDN_REASON_FLAG_PLANNED: u32 = 0x8000_0000;

/// Decodes the facts of event `e`, catalogued as `entry`.
pub(super) fn extract(entry: &Entry, e: &WinEvent) -> EventFacts {
    let text = |k: &str| e.fields.get(k).map(str::trim).filter(|v| !v.is_empty() && *v != "-");
    let num = |k: &str| text(k).and_then(parse_code);
    let first_num = |ks: &[&str]| ks.iter().find_map(|k| num(k));
    let mut f = EventFacts::default();
    match (entry.provider, e.event_id) {
        (SECURITY, id) => {
            f.logon_type = text("LogonType").and_then(|t| t.parse().ok());
            f.status = num("Status");
            f.sub_status = num("SubStatus");
            f.user = match id {
                4740 | 4776 => text("TargetUserName").map(str::to_string),
                4778 | 4779 | 4825 => join_user(text("AccountDomain"), text("AccountName")),
                _ => join_user(text("TargetDomainName"), text("TargetUserName")),
            };
        }
        (SCM, 7036) => f.service_state = scm_state(e),
        (SCM, 7031 | 7034) => f.service_state = Some(ServiceState::Crashed),
        (SCM, _) => f.service_state = Some(ServiceState::Failed),
        (SCHANNEL, 36870 | 36871) => f.error_code = num("ErrorCode"),
        // The TLS alert description (RFC 8446 §6.2) Schannel received or sent.
        (SCHANNEL, 36887 | 36888) => f.error_code = num("AlertDesc"),
        (TERMDD, _) => f.status = text("Binary").and_then(termdd_status),
        (CORE, id) => match id {
            66 => f.session = num("SessionID"),
            99 | 139 => f.error_code = num("ResultCode"),
            103 => f.reason = num("ReasonCode"),
            104 => f.timezone_bias_hours = text("TimezoneBiasHour").and_then(bias_hours),
            142 | 143 => f.error_code = first_num(&["error", "Error", "ErrorCode"]),
            _ => f.error_code = num("ErrorCode"),
        },
        (RCM, id) => match id {
            1149 => f.user = join_user(text("Param2"), text("Param1")),
            20499 => f.user = text("UserName").map(str::to_string),
            1057 | 1058 => f.error_code = first_num(&["Param1", "Data1"]),
            _ => {}
        },
        (LSM, id) => {
            f.user = text("User").map(str::to_string);
            f.session = first_num(&["SessionID", "SessionId", "Session", "TargetSession"]);
            match id {
                16 | 17 => f.error_code = num("Param1"),
                36 | 37 => f.error_code = num("ErrorCode"),
                39 => f.by_session = num("Source"),
                40 => f.reason = num("Reason"),
                _ => {}
            }
        }
        (GATEWAY, _) => {
            f.user = text("Username").map(str::to_string);
            f.resource = text("Resource").map(str::to_string);
            f.error_code = num("ErrorCode");
        }
        (CLIENT, 1026) => f.error_code = num("Value"),
        (CLIENT, 1027) => f.session = num("SessionId"),
        (CLIENT, _) => f.error_code = first_num(&["Error Code", "ErrorCode"]),
        (USER32, 1074) => {
            f.user = text("param7").map(str::to_string);
            let code = num("param4");
            f.shutdown = Some(Shutdown {
                kind: ShutdownKind::Requested,
                action: text("param5").and_then(ShutdownAction::from_text),
                planned: code.map(|c| c & SHTDN_REASON_FLAG_PLANNED != 0),
                reason_code: code,
                reason: text("param3").map(str::to_string),
                process: text("param1").map(str::to_string),
            });
        }
        (EVENTLOG | KERNEL_GENERAL, id) => {
            let kind = match (entry.provider, id) {
                (EVENTLOG, 6005) => Some(ShutdownKind::LogStarted),
                (EVENTLOG, 6006) => Some(ShutdownKind::LogStopped),
                (EVENTLOG, 6008) => Some(ShutdownKind::Unexpected),
                (KERNEL_GENERAL, 12) => Some(ShutdownKind::OsStarted),
                (KERNEL_GENERAL, 13) => Some(ShutdownKind::OsShutdown),
                _ => None,
            };
            f.shutdown = kind.map(|kind| Shutdown {
                kind,
                action: None,
                planned: None,
                reason_code: None,
                reason: None,
                process: None,
            });
        }
        _ => {}
    }
    f.outcome = refine_outcome(entry, e.event_id, &f);
    f
}

/// The catalogue's outcome, refined by the codes that say more.
fn refine_outcome(entry: &Entry, id: u16, f: &EventFacts) -> Option<Outcome> {
    match (entry.provider, id) {
        (SECURITY, 4776) => f.status.map(|s| if s == 0 { Outcome::Success } else { Outcome::Failure }),
        (LSM, 40) => {
            f.reason.and_then(SessionDisconnectReason::from_code).filter(|r| r.is_failure()).map(|_| Outcome::Failure)
        }
        // 0 no information, 1 local, 2 remote by user, 3 by server: normal ends (rdp-facts §1.1).
        (CLIENT, 1026) => f.error_code.filter(|c| *c > 3).map(|_| Outcome::Failure),
        _ => entry.outcome,
    }
}

/// `DOMAIN\user`, or the user alone.
fn join_user(domain: Option<&str>, user: Option<&str>) -> Option<String> {
    let user = user?;
    Some(match domain {
        Some(d) => format!("{d}\\{user}"),
        None => user.to_string(),
    })
}

/// SCM 7036: the state number after the service key in the binary data ("TermService/1"),
/// else the English state text in `param2`.
fn scm_state(e: &WinEvent) -> Option<ServiceState> {
    let key = e.fields.get("Binary").map(utf16_hex_to_string).unwrap_or_default();
    let from_binary = key
        .trim_end_matches('\0')
        .rsplit_once('/')
        .and_then(|(_, n)| n.trim().parse::<u32>().ok())
        .and_then(ServiceState::from_code);
    from_binary.or_else(|| e.fields.get("param2").and_then(ServiceState::from_text))
}

/// RdpCoreTS 104 writes the bias in brackets: "[1]", "[-5]".
fn bias_hours(text: &str) -> Option<i32> {
    text.trim().trim_start_matches('[').trim_end_matches(']').trim().parse().ok()
}

/// Offset of `DumpData` in an IO_ERROR_LOG_PACKET (wdm.h): 2 UCHAR, 4 USHORT, 2 bytes of
/// alignment, 5 ULONG/NTSTATUS, an 8-byte LARGE_INTEGER.
const IO_ERROR_LOG_DUMP_DATA: usize = 0x28;

/// TermDD 50/56: the binary data is the driver's IO_ERROR_LOG_PACKET; its first DumpData DWORD
/// (little-endian) is the status, written as HRESULT_FROM_NT (0xD0000184 for NTSTATUS
/// 0xC0000184; rdp-facts §4.4, Microsoft's "curious case of event ID 56" article). `None` when
/// the data is shorter than the header or has no dump data.
fn termdd_status(hex: &str) -> Option<u32> {
    let bytes = hex_bytes(hex)?;
    let dump_size = u16::from_le_bytes([*bytes.get(2)?, *bytes.get(3)?]);
    if dump_size < 4 {
        return None;
    }
    let d = bytes.get(IO_ERROR_LOG_DUMP_DATA..IO_ERROR_LOG_DUMP_DATA + 4)?;
    let v = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
    // HRESULT_FROM_NT sets FACILITY_NT_BIT (0x10000000); clear it to get the NTSTATUS back.
    let v = if v >> 28 == 0xD { v & !0x1000_0000 } else { v };
    Some(v).filter(|v| *v != 0)
}

/// Bytes of a hex string; `None` when it has an odd length or a non-hex digit.
fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    let hex = hex.trim();
    if hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len() / 2).map(|i| hex.get(2 * i..2 * i + 2).and_then(|b| u8::from_str_radix(b, 16).ok())).collect()
}

/// Decodes hex text holding UTF-16LE bytes (how SCM stores "<ServiceKey>/<state>").
pub fn utf16_hex_to_string(hex: &str) -> String {
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .filter_map(|i| hex.get(2 * i..2 * i + 2))
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect();
    let units: Vec<u16> = bytes.chunks_exact(2).map(|p| u16::from_le_bytes([p[0], p[1]])).collect();
    String::from_utf16_lossy(&units)
}

#[cfg(test)]
mod tests;
