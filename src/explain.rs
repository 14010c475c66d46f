//! `rdplog explain <code>`: decodes the numbers a Remote Desktop failure leaves behind, offline:
//! client disconnect reasons, extended reasons, ERRINFO, RDP_NEG_FAILURE codes, TLS alerts,
//! NTSTATUS / 4625 sub-status values and SSPI errors.
//!
//! One table per vocabulary; a number is looked up in every table it could belong to, so
//! `0x7` answers both "extended reason 7" and "ERRINFO 7". Descriptions are in our own words.
//!
//! References: rdp-facts.md §1.1 (IMsTscAxEvents::OnDisconnected reasons), §1.2
//! (ExtendedDisconnectReasonCode), §1.3 (MS-RDPBCGR 2.2.5.1.1 Set Error Info PDU), §2.4
//! (MS-RDPBCGR 2.2.1.2.2 RDP_NEG_FAILURE), §5.1 (RFC 5246 §7.2 / RFC 8446 §6 alerts), §5.3
//! and §4.8 (winerror.h SSPI codes, NTSTATUS values in Security 4625).

use crate::rdp::codes::{NegFailureCode, TlsAlert};

/// One decoded meaning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meaning {
    pub table: &'static str,
    pub name: String,
    pub text: String,
}

/// mstsc / ActiveX disconnect reasons (the client's 1026 event, in decimal).
const DISCONNECT: &[(u32, &str, &str)] = &[
    (0x1, "LocalNotError", "the user disconnected locally; not an error"),
    (0x2, "RemoteByUser", "disconnected from the server side by a user; not an error"),
    (0x3, "ByServer", "the server disconnected the client"),
    (0x104, "DNSLookupFailed", "the server name could not be resolved"),
    (0x106, "OutOfMemory", "the client ran out of memory"),
    (0x108, "ConnectionTimedOut", "the connection timed out"),
    (0x204, "SocketConnectFailed", "TCP connect failed: refused (RST), unreachable or no answer to the SYN"),
    (0x208, "HostNotFound", "host not found"),
    (0x304, "WinsockSendFailed", "sending on the socket failed"),
    (0x308, "InvalidIPAddr", "invalid IP address"),
    (0x404, "SocketRecvFailed", "receiving on the socket failed"),
    (0x406, "InvalidSecurityData", "invalid security data"),
    (0x408, "InternalError", "internal client error"),
    (0x506, "InvalidEncryption", "invalid encryption method"),
    (0x508, "DNSLookupFailed2", "DNS lookup failed"),
    (0x604, "GetHostByNameFailed", "name resolution failed"),
    (0x606, "InvalidServerSecurityInfo", "invalid server security data"),
    (0x608, "TimerError", "internal timer error"),
    (0x704, "TimeoutOccurred", "a timeout occurred"),
    (0x706, "ServerCertificateUnpackErr", "the server certificate could not be unpacked"),
    (0x804, "InvalidIP", "bad IP address"),
    (0x807, "SSL_ERR_LOGON_FAILURE", "logon failure: the credentials were rejected"),
    (0x808, "LicensingFailed", "licensing failed"),
    (
        0x904,
        "AtClientWinsockFDCLOSE",
        "the TCP connection was closed under the client (FIN or RST from the server or a device on the path) after it had been established",
    ),
    (0x906, "InternalSecurityError", "internal security error"),
    (0x908, "LicensingTimeout", "licensing timed out"),
    (0xA07, "SSL_ERR_NO_SUCH_USER", "the user name does not exist"),
    (0xB07, "SSL_ERR_ACCOUNT_DISABLED", "the account is disabled"),
    (0xB09, "NLA required", "the server requires Network Level Authentication, which the client did not offer"),
    (0xC07, "SSL_ERR_ACCOUNT_RESTRICTION", "an account restriction prevents the logon"),
    (0xD07, "SSL_ERR_ACCOUNT_LOCKED_OUT", "the account is locked out"),
    (0xE07, "SSL_ERR_ACCOUNT_EXPIRED", "the account has expired"),
    (0xF07, "SSL_ERR_PASSWORD_EXPIRED", "the password has expired"),
    (0x1207, "SSL_ERR_PASSWORD_MUST_CHANGE", "the password must be changed before logging on"),
    (0x1607, "SSL_ERR_DELEGATION_POLICY", "credential delegation policy does not allow this server"),
    (0x1707, "SSL_ERR_POLICY_NTLM_ONLY", "policy allows only NTLM but the server needs Kerberos (or the reverse)"),
    (0x1807, "SSL_ERR_NO_AUTHENTICATING_AUTHORITY", "no authority (domain controller) could be contacted"),
    (0x1B07, "SSL_ERR_CERT_EXPIRED", "the server certificate has expired"),
    (0x1C07, "SSL_ERR_SMARTCARD_WRONG_PIN", "wrong smart card PIN"),
    (0x2107, "SSL_ERR_FRESH_CRED_REQUIRED_BY_SERVER", "the server requires fresh credentials"),
];

/// ExtendedDisconnectReason; values 1–12 equal the ERRINFO codes of the same number.
const EXTENDED: &[(u32, &str, &str)] = &[
    (0, "NoInfo", "no extended information"),
    (1, "APIInitiatedDisconnect", "an application disconnected the session"),
    (2, "APIInitiatedLogoff", "an application logged the session off"),
    (3, "ServerIdleTimeout", "the idle time limit was reached"),
    (4, "ServerLogonTimeout", "the session time limit was reached"),
    (5, "ReplacedByOtherConnection", "another connection took over the session"),
    (6, "OutOfMemory", "the server ran out of memory"),
    (7, "ServerDeniedConnection", "the server refused the connection (drain mode, connections disabled, policy)"),
    (8, "ServerDeniedConnectionFips", "refused: FIPS requirement"),
    (9, "ServerInsufficientPrivileges", "the user may not log on through Remote Desktop Services"),
    (10, "ServerFreshCredsRequired", "fresh credentials required"),
    (11, "RpcInitiatedDisconnectByUser", "disconnected by an administrator tool or user action"),
    (12, "LogoffByUser", "the user logged off"),
    (256, "LicenseInternal", "licensing: internal error"),
    (257, "LicenseNoLicenseServer", "licensing: no license server available"),
    (258, "LicenseNoLicense", "licensing: no license available"),
    (259, "LicenseErrClientMsg", "licensing: bad message from the client"),
    (260, "LicenseHwidDoesntMatchLicense", "licensing: hardware id does not match the license"),
    (261, "LicenseErrClientLicense", "licensing: bad client license"),
    (262, "LicenseCantFinishProtocol", "licensing: protocol could not finish"),
    (263, "LicenseClientEndedProtocol", "licensing: the client ended the protocol"),
    (264, "LicenseErrClientEncryption", "licensing: bad client encryption"),
    (265, "LicenseCantUpgradeLicense", "licensing: license could not be upgraded"),
    (266, "LicenseNoRemoteConnections", "licensing: the server does not allow remote connections"),
    (267, "LicenseCreatingLicStoreAccDenied", "licensing: access denied to the license store"),
];

/// ERRINFO codes outside 1–12 (MS-RDPBCGR 2.2.5.1.1).
const ERRINFO: &[(u32, &str, &str)] = &[
    (0x0F, "CLOSE_STACK_ON_DRIVER_NOT_READY", "the display driver did not report in time"),
    (0x10, "SERVER_DWM_CRASH", "the Desktop Window Manager crashed on the server"),
    (0x11, "CLOSE_STACK_ON_DRIVER_FAILURE", "the display driver failed"),
    (0x12, "CLOSE_STACK_ON_DRIVER_IFACE_FAILURE", "the display driver interface failed"),
    (0x17, "SERVER_WINLOGON_CRASH", "Winlogon crashed on the server"),
    (0x18, "SERVER_CSRSS_CRASH", "CSRSS crashed on the server"),
    (0x100, "LICENSE_INTERNAL", "licensing: internal error"),
    (0x101, "LICENSE_NO_LICENSE_SERVER", "licensing: no license server"),
    (0x102, "LICENSE_NO_LICENSE", "licensing: no license"),
    (0x1191, "UPDATE_SESSION_KEY_FAILED", "security layer: session key update failed"),
    (0x1192, "DECRYPT_FAILED", "security layer: decryption failed"),
    (0x1193, "ENCRYPT_FAILED", "security layer: encryption failed"),
    (0x1194, "ENCRYPTION_PACKAGE_MISMATCH", "security layer: encryption package mismatch"),
];

/// SSPI / Schannel errors seen in RdpCoreTS 226/228 and Schannel 36870.
const SSPI: &[(u32, &str, &str)] = &[
    (0x80090302, "SEC_E_UNSUPPORTED_FUNCTION", "unsupported function (TLS alert protocol_version)"),
    (
        0x80090304,
        "SEC_E_INTERNAL_ERROR",
        "internal error in the security provider (often a certificate / private key problem)",
    ),
    (0x8009030C, "SEC_E_LOGON_DENIED", "logon denied"),
    (0x8009030D, "SEC_E_UNKNOWN_CREDENTIALS", "the credential (certificate private key) cannot be used"),
    (0x8009030E, "SEC_E_NO_CREDENTIALS", "no credentials are available"),
    (0x8009030F, "SEC_E_MESSAGE_ALTERED", "a message was altered (TLS bad_record_mac)"),
    (0x80090311, "SEC_E_NO_AUTHENTICATING_AUTHORITY", "no authority could be contacted for authentication"),
    (0x80090322, "SEC_E_WRONG_PRINCIPAL", "the target principal name is wrong"),
    (0x80090325, "SEC_E_UNTRUSTED_ROOT", "the certificate chain ends in an untrusted root"),
    (0x80090326, "SEC_E_ILLEGAL_MESSAGE", "an illegal message was received (TLS handshake_failure and others)"),
    (0x80090327, "SEC_E_CERT_UNKNOWN", "an unknown certificate problem"),
    (0x80090328, "SEC_E_CERT_EXPIRED", "the certificate has expired"),
    (0x80090330, "SEC_E_DECRYPT_FAILURE", "decryption failed"),
    (0x80090331, "SEC_E_ALGORITHM_MISMATCH", "no common algorithm (TLS insufficient_security)"),
    (0x80090333, "SEC_E_UNFINISHED_CONTEXT_DELETED", "the security context was deleted before it completed"),
    (0x80070040, "ERROR_NETNAME_DELETED (as HRESULT)", "the peer or the network dropped the connection"),
    (0x80072746, "WSAECONNRESET (as HRESULT)", "the connection was reset by the peer"),
    (0x8007274C, "WSAETIMEDOUT (as HRESULT)", "the connection timed out"),
];

fn look(table: &'static str, list: &[(u32, &str, &str)], v: u32, out: &mut Vec<Meaning>) {
    if let Some((_, name, text)) = list.iter().find(|(c, _, _)| *c == v) {
        out.push(Meaning { table, name: name.to_string(), text: text.to_string() });
    }
}

/// Parses "0x904", "0X904", "904h" as hexadecimal and "2308" as decimal.
pub fn parse_code(s: &str) -> Option<u32> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).or_else(|| s.strip_suffix('h')) {
        return u32::from_str_radix(h, 16).ok();
    }
    s.parse::<u32>().ok().or_else(|| s.parse::<i32>().ok().map(|v| v as u32))
}

/// Every meaning the number has in the tables above.
pub fn explain(v: u32) -> Vec<Meaning> {
    let mut out = Vec::new();
    look("client disconnect reason", DISCONNECT, v, &mut out);
    look("extended disconnect reason", EXTENDED, v, &mut out);
    look("ERRINFO (Set Error Info PDU)", ERRINFO, v, &mut out);
    if (1..=12).contains(&v) {
        look("ERRINFO (Set Error Info PDU)", EXTENDED, v, &mut out);
    }
    if let Some(name) = NegFailureCode(v).name() {
        out.push(Meaning {
            table: "RDP_NEG_FAILURE code",
            name: name.into(),
            text: NegFailureCode(v).meaning().into(),
        });
    }
    if let Ok(b) = u8::try_from(v) {
        if let Some(name) = TlsAlert(b).name() {
            out.push(Meaning { table: "TLS alert", name: name.into(), text: format!("TLS alert description {v}") });
        }
    }
    let ntstatus = crate::events::catalog::ntstatus_name(&format!("{v:08X}"));
    if !matches!(ntstatus, "unknown" | "none") {
        out.push(Meaning {
            table: "NTSTATUS (Security 4625 Status / SubStatus)",
            name: format!("0x{v:08X}"),
            text: ntstatus.into(),
        });
    }
    // TermDD 56 stores NTSTATUS as an HRESULT-like value: 0xD000xxxx stands for 0xC000xxxx.
    if v & 0xF000_0000 == 0xD000_0000 {
        let st = v & 0x0FFF_FFFF | 0xC000_0000;
        out.push(Meaning {
            table: "TermDD NTSTATUS (D → C)",
            name: format!("0x{st:08X}"),
            text: crate::events::catalog::ntstatus_name(&format!("{st:08X}")).into(),
        });
    }
    look("SSPI / HRESULT", SSPI, v, &mut out);
    out
}

/// The text `rdplog explain` prints.
pub fn render(input: &str) -> Result<String, String> {
    let v =
        parse_code(input).ok_or_else(|| format!("{input:?} is not a number (decimal like 2308, or hex like 0x904)"))?;
    let found = explain(v);
    let mut s = format!("{input} = {v} = 0x{v:X}\n");
    if found.is_empty() {
        s.push_str("  not in any table rdplog knows (client disconnect reasons, extended reasons, ERRINFO, RDP_NEG_FAILURE, TLS alerts, NTSTATUS, SSPI)\n");
    }
    for m in found {
        s.push_str(&format!("  {}: {} — {}\n", m.table, m.name, m.text));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classic_pair() {
        // rdp-facts §1.1: 2308 = 0x904 disconnectReasonAtClientWinsockFDCLOSE; §1.2: 7 = ServerDeniedConnection
        assert_eq!(parse_code("0x904"), Some(2308));
        assert_eq!(parse_code("2308"), Some(2308));
        assert_eq!(parse_code("904h"), Some(2308));
        assert_eq!(parse_code("zz"), None);
        assert!(explain(2308).iter().any(|m| m.name == "AtClientWinsockFDCLOSE"));
        let seven = explain(7);
        assert!(seven.iter().any(|m| m.table.starts_with("extended") && m.name == "ServerDeniedConnection"));
        assert!(seven.iter().any(|m| m.table.starts_with("ERRINFO")));
    }

    #[test]
    fn other_tables() {
        assert!(explain(0xC000006A).iter().any(|m| m.text == "wrong password"));
        assert!(explain(0x8009030D).iter().any(|m| m.name == "SEC_E_UNKNOWN_CREDENTIALS"));
        assert!(explain(70).iter().any(|m| m.table == "TLS alert" && m.name == "protocol_version"));
        assert!(explain(5).iter().any(|m| m.name == "HYBRID_REQUIRED_BY_SERVER"));
        assert!(explain(0xD0000184).iter().any(|m| m.name == "0xC0000184"));
        assert!(render("0x1").is_ok() && render("nope").is_err());
    }
}
