//! Code tables of the client side of a Remote Desktop failure: the client's disconnect
//! reasons, extended disconnect reasons, ERRINFO codes and SSPI / HRESULT errors, each as
//! `(value, name, meaning)` with the meaning in our own words.
//!
//! Only data and exact lookups live here; `codes::meanings` looks a number up in every table,
//! and `explain` and `report::codes` decide what to show. Wire codes (RDP_NEG_FAILURE, TLS
//! alerts) are in `codes::wire`; the tables of catalogued events (NTSTATUS, LSM 40 reasons,
//! HRESULTs of the server's error fields) in `codes::events`.
//!
//! References: rdp-facts.md §1.1 (IMsTscAxEvents::OnDisconnected reasons), §1.2
//! (ExtendedDisconnectReasonCode), §1.3 (MS-RDPBCGR 2.2.5.1.1 Set Error Info PDU), §5.3
//! (winerror.h SSPI codes).

/// One row of a table: value, name, meaning.
pub type Entry = (u32, &'static str, &'static str);

/// mstsc / ActiveX disconnect reasons (the client's 1026 event, in decimal).
pub const DISCONNECT: &[Entry] = &[
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
pub const EXTENDED: &[Entry] = &[
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
pub const ERRINFO: &[Entry] = &[
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
pub const SSPI: &[Entry] = &[
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

/// The row of `table` for `v`.
pub fn find(table: &[Entry], v: u32) -> Option<&Entry> {
    table.iter().find(|(c, _, _)| *c == v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_one_row_per_value() {
        for table in [DISCONNECT, EXTENDED, ERRINFO, SSPI] {
            let mut values: Vec<u32> = table.iter().map(|e| e.0).collect();
            values.sort_unstable();
            values.dedup();
            assert_eq!(values.len(), table.len());
        }
    }
}
