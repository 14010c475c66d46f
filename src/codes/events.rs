//! The code tables catalogued events refer to, each with its source: NTSTATUS values of Security
//! 4625 / 4776 and TermDD, the LocalSessionManager 40 disconnect reasons, and the HRESULTs that
//! RdpCoreTS and LSM write in their error fields. Meanings are in our own words. Only the
//! tables live here: deciding what a code says about a connection is `diagnose`'s job, and
//! `rdplog explain` (src/explain.rs) has the client-side tables (disconnect reasons, ERRINFO,
//! SSPI).

/// One NTSTATUS value. Names from [MS-ERREF] 2.3.1 "NTSTATUS Values"; meanings as Microsoft's
/// event-4625 and event-4776 documentation describes them for logons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ntstatus {
    pub code: u32,
    /// The symbolic name, e.g. "STATUS_LOGON_TYPE_NOT_GRANTED".
    pub name: &'static str,
    pub meaning: &'static str,
}

macro_rules! st {
    ($code:expr, $name:expr, $meaning:expr) => {
        Ntstatus { code: $code, name: $name, meaning: $meaning }
    };
}

/// The NTSTATUS values logon and RDP events carry.
#[rustfmt::skip]
pub const NTSTATUS: &[Ntstatus] = &[
    st!(0x0000_0000, "STATUS_SUCCESS", "none"),
    st!(0xC000_005E, "STATUS_NO_LOGON_SERVERS", "no logon servers"),
    st!(0xC000_0064, "STATUS_NO_SUCH_USER", "user name does not exist"),
    st!(0xC000_006A, "STATUS_WRONG_PASSWORD", "wrong password"),
    st!(0xC000_006D, "STATUS_LOGON_FAILURE", "bad user name or authentication information"),
    st!(0xC000_006E, "STATUS_ACCOUNT_RESTRICTION", "account restriction"),
    st!(0xC000_006F, "STATUS_INVALID_LOGON_HOURS", "outside allowed logon hours"),
    st!(0xC000_0070, "STATUS_INVALID_WORKSTATION", "workstation restriction"),
    st!(0xC000_0071, "STATUS_PASSWORD_EXPIRED", "password expired"),
    st!(0xC000_0072, "STATUS_ACCOUNT_DISABLED", "account disabled"),
    st!(0xC000_0133, "STATUS_TIME_DIFFERENCE_AT_DC", "clock skew with the domain controller"),
    st!(0xC000_015B, "STATUS_LOGON_TYPE_NOT_GRANTED", "logon type not granted (not allowed to log on through Remote Desktop Services)"),
    st!(0xC000_0184, "STATUS_INVALID_DEVICE_STATE", "the device is not in a valid state for the request"),
    st!(0xC000_018C, "STATUS_TRUSTED_DOMAIN_FAILURE", "trust relationship failed"),
    st!(0xC000_0192, "STATUS_NETLOGON_NOT_STARTED", "Netlogon service not started"),
    st!(0xC000_0193, "STATUS_ACCOUNT_EXPIRED", "account expired"),
    st!(0xC000_020D, "STATUS_CONNECTION_RESET", "the connection was reset by the peer"),
    st!(0xC000_0224, "STATUS_PASSWORD_MUST_CHANGE", "password must change"),
    st!(0xC000_0234, "STATUS_ACCOUNT_LOCKED_OUT", "account locked out"),
    st!(0xC000_0241, "STATUS_CONNECTION_ABORTED", "the connection was aborted"),
    st!(0xC000_0371, "STATUS_NO_SECRETS", "the local account store has no secret for the account"),
    st!(0xC000_0413, "STATUS_AUTHENTICATION_FIREWALL_FAILED", "authentication firewall"),
];

/// The table line of an NTSTATUS value.
pub fn ntstatus(code: u32) -> Option<&'static Ntstatus> {
    NTSTATUS.iter().find(|s| s.code == code)
}

/// The meaning of an NTSTATUS written as text ("0xc000006d", "C000006D", "0x0"): "none" for
/// zero or empty, "unknown" for values outside the table.
pub fn ntstatus_name(code: &str) -> &'static str {
    let t = code.trim();
    if t.is_empty() {
        return "none";
    }
    let hex = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")).unwrap_or(t);
    u32::from_str_radix(hex, 16).ok().and_then(ntstatus).map_or("unknown", |s| s.meaning)
}

/// LocalSessionManager 40 "Session %1 has been disconnected, reason code %2". The values are
/// the ExtendedDisconnectReasonCode enumeration (learn.microsoft.com/windows/win32/termserv/
/// extendeddisconnectreasoncode); the 0–12 meanings match the LSM 40 lookup in EricZimmerman's
/// evtx map (LocalSessionManager_40.map, from the RDS "session host server disconnect codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SessionDisconnectReason {
    /// 0: no additional information (the user closed the window, or the network dropped).
    NoInfo,
    /// 1: an administrative tool disconnected the session from another session.
    ApiInitiatedDisconnect,
    /// 2: an administrative tool forced a logoff from another session.
    ApiInitiatedLogoff,
    /// 3: the idle session time limit elapsed.
    ServerIdleTimeout,
    /// 4: the active session time limit elapsed.
    ServerLogonTimeout,
    /// 5: another connection took the session over (the user reconnected from elsewhere).
    ReplacedByOtherConnection,
    /// 6: the server ran out of memory.
    OutOfMemory,
    /// 7: the server denied the connection.
    ServerDeniedConnection,
    /// 8: the server denied the connection for FIPS security reasons.
    ServerDeniedConnectionFips,
    /// 9: the user lacks the right to connect.
    ServerInsufficientPrivileges,
    /// 10: the server needs freshly typed credentials, not saved ones.
    ServerFreshCredsRequired,
    /// 11: the user or an administrative tool disconnected the session.
    RpcInitiatedDisconnectByUser,
    /// 12: the user logged off.
    LogoffByUser,
}

impl SessionDisconnectReason {
    const ALL: [SessionDisconnectReason; 13] = [
        Self::NoInfo,
        Self::ApiInitiatedDisconnect,
        Self::ApiInitiatedLogoff,
        Self::ServerIdleTimeout,
        Self::ServerLogonTimeout,
        Self::ReplacedByOtherConnection,
        Self::OutOfMemory,
        Self::ServerDeniedConnection,
        Self::ServerDeniedConnectionFips,
        Self::ServerInsufficientPrivileges,
        Self::ServerFreshCredsRequired,
        Self::RpcInitiatedDisconnectByUser,
        Self::LogoffByUser,
    ];

    pub fn from_code(code: u32) -> Option<Self> {
        Self::ALL.get(usize::try_from(code).ok()?).copied()
    }

    pub fn code(self) -> u32 {
        self as u32
    }

    /// The symbolic name (exDiscReason...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoInfo => "exDiscReasonNoInfo",
            Self::ApiInitiatedDisconnect => "exDiscReasonAPIInitiatedDisconnect",
            Self::ApiInitiatedLogoff => "exDiscReasonAPIInitiatedLogoff",
            Self::ServerIdleTimeout => "exDiscReasonServerIdleTimeout",
            Self::ServerLogonTimeout => "exDiscReasonServerLogonTimeout",
            Self::ReplacedByOtherConnection => "exDiscReasonReplacedByOtherConnection",
            Self::OutOfMemory => "exDiscReasonOutOfMemory",
            Self::ServerDeniedConnection => "exDiscReasonServerDeniedConnection",
            Self::ServerDeniedConnectionFips => "exDiscReasonServerDeniedConnectionFips",
            Self::ServerInsufficientPrivileges => "exDiscReasonServerInsufficientPrivileges",
            Self::ServerFreshCredsRequired => "exDiscReasonServerFreshCredsRequired",
            Self::RpcInitiatedDisconnectByUser => "exDiscReasonRpcInitiatedDisconnectByUser",
            Self::LogoffByUser => "exDiscReasonLogoffByUser",
        }
    }

    /// What the reason says, in our words.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::NoInfo => "no additional information (window closed or network lost)",
            Self::ApiInitiatedDisconnect => "disconnected by an administrative tool",
            Self::ApiInitiatedLogoff => "logged off by an administrative tool",
            Self::ServerIdleTimeout => "idle time limit reached",
            Self::ServerLogonTimeout => "active session time limit reached",
            Self::ReplacedByOtherConnection => "replaced by another connection to the session",
            Self::OutOfMemory => "the server ran out of memory",
            Self::ServerDeniedConnection => "the server denied the connection",
            Self::ServerDeniedConnectionFips => "the server denied the connection (FIPS)",
            Self::ServerInsufficientPrivileges => "the user may not connect (insufficient privileges)",
            Self::ServerFreshCredsRequired => "the server requires freshly entered credentials",
            Self::RpcInitiatedDisconnectByUser => "disconnected by the user or an administrator",
            Self::LogoffByUser => "the user logged off",
        }
    }

    /// Whether the reason is an error rather than a normal end (6–10).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Self::OutOfMemory
                | Self::ServerDeniedConnection
                | Self::ServerDeniedConnectionFips
                | Self::ServerInsufficientPrivileges
                | Self::ServerFreshCredsRequired
        )
    }
}

/// One HRESULT as RdpCoreTS (97, 139, 142, 143, 226–228), LSM 36 and the client's 226 write it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hresult {
    pub code: u32,
    pub name: &'static str,
    pub meaning: &'static str,
}

/// HRESULTs seen in Remote Desktop error fields. Names from [MS-ERREF] 2.1.1 (HRESULT values)
/// and winerror.h; 0x8007xxxx wraps a Win32 error ([MS-ERREF] 2.1.2 HRESULT_FROM_WIN32,
/// 2.2 Win32 error codes), 0x8009xxxx are SSPI errors (rdp-facts §5.3).
#[rustfmt::skip]
pub const HRESULTS: &[Hresult] = &[
    Hresult { code: 0x8000_4005, name: "E_FAIL", meaning: "unspecified failure" },
    Hresult { code: 0x8000_FFFF, name: "E_UNEXPECTED", meaning: "unexpected failure (an event arrived in a state that does not expect it)" },
    Hresult { code: 0x8007_0040, name: "ERROR_NETNAME_DELETED", meaning: "the network name is gone: the peer or the network dropped the connection" },
    Hresult { code: 0x8007_2746, name: "WSAECONNRESET", meaning: "the peer reset the connection" },
    Hresult { code: 0x8007_274C, name: "WSAETIMEDOUT", meaning: "the connection timed out" },
    Hresult { code: 0x8009_0304, name: "SEC_E_INTERNAL_ERROR", meaning: "the security package failed internally (often no usable TLS credential or no common cipher)" },
    Hresult { code: 0x8009_030C, name: "SEC_E_LOGON_DENIED", meaning: "the logon was denied (bad credentials in NLA)" },
    Hresult { code: 0x8009_030D, name: "SEC_E_UNKNOWN_CREDENTIALS", meaning: "the credential (the certificate's private key) is not usable" },
];

/// The table line of an HRESULT.
pub fn hresult(code: u32) -> Option<&'static Hresult> {
    HRESULTS.iter().find(|h| h.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntstatus_table() {
        assert_eq!(ntstatus(0xC000_015B).map(|s| s.name), Some("STATUS_LOGON_TYPE_NOT_GRANTED"));
        assert_eq!(ntstatus_name("0xc000006d"), "bad user name or authentication information");
        assert_eq!(ntstatus_name("C000006A"), "wrong password");
        assert_eq!(ntstatus_name("0x0"), "none");
        assert_eq!(ntstatus_name(""), "none");
        assert_eq!(ntstatus_name("0xdeadbeef"), "unknown");
        assert_eq!(ntstatus_name("%%2313"), "unknown");
        // the table is sorted and has each code once
        assert!(NTSTATUS.windows(2).all(|w| w[0].code < w[1].code));
    }

    #[test]
    fn lsm_reasons() {
        // Reason 5 and 12 in the velociraptor LSM log (records 172 and 179), 11 in RathbunVM Win10 (35)
        let r = |c| SessionDisconnectReason::from_code(c);
        assert_eq!(r(5), Some(SessionDisconnectReason::ReplacedByOtherConnection));
        assert_eq!(r(12).map(|r| r.as_str()), Some("exDiscReasonLogoffByUser"));
        assert_eq!(r(11).map(|r| r.is_failure()), Some(false));
        assert_eq!(r(9).map(|r| r.is_failure()), Some(true));
        assert_eq!(r(13), None);
        for (i, x) in SessionDisconnectReason::ALL.iter().enumerate() {
            assert_eq!(x.code() as usize, i);
        }
    }

    #[test]
    fn hresult_table() {
        // RdpCoreTS 139 ResultCode in the StolenSzechuan RdpCoreTS log (record 174075)
        assert_eq!(hresult(0x8009_0304).map(|h| h.name), Some("SEC_E_INTERNAL_ERROR"));
        // the client's 226 "Error Code" 2147549183 (StolenSzechuan RDPClient record 7)
        assert_eq!(hresult(2_147_549_183).map(|h| h.name), Some("E_UNEXPECTED"));
    }
}
