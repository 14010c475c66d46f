//! RDP and TLS wire codes as small newtypes over the raw number, with their names and meanings.
//!
//! Takes: raw values already read off the wire by the parsers (`rdp::x224`, `rdp::udp`,
//! `rdp::tls`). Produces: names for known values and the raw value for unknown ones, so nothing
//! the wire says is ever hidden or rejected, and a short meaning in our words. Every newtype
//! serialises as its raw number. Does not: parse bytes, judge whether a value is plausible, or
//! know about flows.
//!
//! References: MS-RDPBCGR 2.2.1.1.1 (RDP_NEG_REQ), 2.2.1.2.1 (RDP_NEG_RSP),
//! 2.2.1.2.2 (RDP_NEG_FAILURE); RFC 5246 §7.2 and RFC 8446 §6 (TLS alerts), RFC 6066 §9,
//! RFC 7301 §3.2, RFC 7507 §2, RFC 4279 §7 (extra alert codes); RFC 8446 §4.2.1 (versions).

use std::fmt;

/// Bitmask of security protocols: `requestedProtocols` of RDP_NEG_REQ and
/// `selectedProtocol` of RDP_NEG_RSP.
///
/// MS-RDPBCGR 2.2.1.1.1 RDP_NEG_REQ / 2.2.1.2.1 RDP_NEG_RSP
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Protocols(pub u32);

impl Protocols {
    /// PROTOCOL_RDP: no bit set at all means Standard RDP Security.
    pub const RDP: u32 = 0x0000_0000;
    /// PROTOCOL_SSL: TLS without CredSSP.
    pub const SSL: u32 = 0x0000_0001;
    /// PROTOCOL_HYBRID: CredSSP (Network Level Authentication) inside TLS.
    pub const HYBRID: u32 = 0x0000_0002;
    /// PROTOCOL_RDSTLS: RDSTLS (redirection / auto-reconnect credentials).
    pub const RDSTLS: u32 = 0x0000_0004;
    /// PROTOCOL_HYBRID_EX: CredSSP plus the Early User Authorization Result PDU.
    pub const HYBRID_EX: u32 = 0x0000_0008;
    /// PROTOCOL_RDSAAD: Entra ID (Azure AD) authentication.
    pub const RDSAAD: u32 = 0x0000_0010;

    /// Known bits in the order they are printed.
    const KNOWN: [(u32, &'static str); 5] = [
        (Self::SSL, "SSL"),
        (Self::HYBRID, "HYBRID"),
        (Self::RDSTLS, "RDSTLS"),
        (Self::HYBRID_EX, "HYBRID_EX"),
        (Self::RDSAAD, "RDSAAD"),
    ];

    /// `true` when every bit of `bit` is set. `PROTOCOL_RDP` has no bit of its own, so
    /// `contains(Protocols::RDP)` is `true` only for the value zero (Standard RDP Security).
    pub fn contains(&self, bit: u32) -> bool {
        if bit == Self::RDP { self.0 == 0 } else { self.0 & bit == bit }
    }

    /// Names joined with `|`, e.g. "SSL|HYBRID|HYBRID_EX"; "RDP" for zero. Any bits we have
    /// no name for are shown together as one hex number at the end, e.g. "SSL|0x40".
    pub fn names(&self) -> String {
        if self.0 == 0 {
            return "RDP".to_string();
        }
        let mut parts: Vec<String> =
            Self::KNOWN.iter().filter(|(bit, _)| self.0 & bit != 0).map(|(_, name)| (*name).to_string()).collect();
        let unknown = self.0 & !Self::KNOWN.iter().fold(0, |acc, (bit, _)| acc | bit);
        if unknown != 0 {
            parts.push(format!("{unknown:#x}"));
        }
        parts.join("|")
    }

    /// What the bits ask for, in our words, e.g. "TLS, CredSSP/NLA inside TLS".
    pub fn meaning(&self) -> String {
        if self.0 == 0 {
            return "Standard RDP Security only (no TLS, no NLA)".into();
        }
        let mut parts = Vec::new();
        for (bit, what) in [
            (Self::SSL, "TLS"),
            (Self::HYBRID, "CredSSP/NLA inside TLS"),
            (Self::RDSTLS, "RDSTLS"),
            (Self::HYBRID_EX, "CredSSP/NLA with the early user authorization result"),
            (Self::RDSAAD, "Entra ID authentication"),
        ] {
            if self.0 & bit != 0 {
                parts.push(what);
            }
        }
        parts.join(", ")
    }
}

impl fmt::Display for Protocols {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names())
    }
}

/// `failureCode` of the server's negotiation failure message.
///
/// MS-RDPBCGR 2.2.1.2.2 RDP_NEG_FAILURE
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct NegFailureCode(pub u32);

impl NegFailureCode {
    /// Spec name for codes 1 to 6, `None` otherwise.
    pub fn name(&self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "SSL_REQUIRED_BY_SERVER",
            2 => "SSL_NOT_ALLOWED_BY_SERVER",
            3 => "SSL_CERT_NOT_ON_SERVER",
            4 => "INCONSISTENT_FLAGS",
            5 => "HYBRID_REQUIRED_BY_SERVER",
            6 => "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER",
            _ => return None,
        })
    }

    /// One short sentence saying what the refusal means for the connection.
    pub fn meaning(&self) -> &'static str {
        match self.0 {
            1 => "The server insists on TLS or CredSSP, but the client offered only standard RDP security.",
            2 => "The server accepts only standard RDP security, but the client asked for TLS or CredSSP.",
            3 => "The server would use TLS but has no usable certificate.",
            4 => "The requested protocols clash with the security the server already enforces.",
            5 => "The server requires Network Level Authentication (CredSSP), which the client did not offer.",
            6 => "The server requires TLS with user authentication, which the client did not offer.",
            _ => "unknown failure code",
        }
    }
}

impl fmt::Display for NegFailureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{:#010x}", self.0),
        }
    }
}

/// AlertDescription byte of a TLS alert record.
///
/// RFC 5246 §7.2 / RFC 8446 §6 AlertDescription
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct TlsAlert(pub u8);

/// Registered alert descriptions: (value, name, what it says in our words where we have it).
#[rustfmt::skip]
const ALERTS: &[(u8, &str, Option<&str>)] = &[
    (0, "close_notify", Some("orderly close of the TLS session")),
    (10, "unexpected_message", Some("a message arrived that was not expected at this point")),
    (20, "bad_record_mac", Some("a record failed its integrity check")),
    (21, "decryption_failed", None),
    (22, "record_overflow", None),
    (30, "decompression_failure", None),
    (40, "handshake_failure", Some("no set of security parameters both sides accept (often no common cipher suite)")),
    (41, "no_certificate", None),
    (42, "bad_certificate", Some("the certificate is corrupt or its signature does not verify")),
    (43, "unsupported_certificate", Some("the certificate is of a type the peer does not support")),
    (44, "certificate_revoked", Some("the certificate was revoked")),
    (45, "certificate_expired", Some("the certificate has expired or is not yet valid")),
    (46, "certificate_unknown", Some("an unspecified problem with the certificate")),
    (47, "illegal_parameter", Some("a handshake field had a value out of range")),
    (48, "unknown_ca", Some("the certificate chain does not end in a trusted root")),
    (49, "access_denied", Some("the peer refused access")),
    (50, "decode_error", Some("a message could not be decoded")),
    (51, "decrypt_error", Some("a signature or key-exchange check failed")),
    (60, "export_restriction", None),
    (70, "protocol_version", Some("no TLS version both sides accept")),
    (71, "insufficient_security", Some("the server needs stronger cipher suites than the client offered")),
    (80, "internal_error", Some("the sender failed internally (on an RDP server often a certificate or private-key problem)")),
    (86, "inappropriate_fallback", Some("a downgrade attempt was detected")),
    (90, "user_canceled", Some("the handshake was cancelled by the user")),
    (100, "no_renegotiation", None),
    (109, "missing_extension", Some("a required extension is missing")),
    (110, "unsupported_extension", None),
    (111, "certificate_unobtainable", None),
    (112, "unrecognized_name", Some("the SNI host name is not served here")),
    (113, "bad_certificate_status_response", None),
    (114, "bad_certificate_hash_value", None),
    (115, "unknown_psk_identity", None),
    (116, "certificate_required", None),
    (120, "no_application_protocol", None),
];

impl TlsAlert {
    fn row(&self) -> Option<&'static (u8, &'static str, Option<&'static str>)> {
        ALERTS.iter().find(|(v, _, _)| *v == self.0)
    }

    /// Registered description name, `None` for values we do not know.
    pub fn name(&self) -> Option<&'static str> {
        self.row().map(|(_, name, _)| *name)
    }

    /// What the alert says, in our words (RFC 5246 §7.2, RFC 8446 §6); "TLS alert" otherwise.
    pub fn meaning(&self) -> &'static str {
        self.row().and_then(|(_, _, meaning)| *meaning).unwrap_or("TLS alert")
    }
}

impl fmt::Display for TlsAlert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "alert {}", self.0),
        }
    }
}

/// Human name of a TLS `ProtocolVersion`; unknown values as "0x%04x".
///
/// RFC 8446 §4.2.1 (0x0304) and the earlier RFCs for 0x0300..0x0303.
pub fn tls_version_name(v: u16) -> String {
    match v {
        0x0300 => "SSL 3.0".to_string(),
        0x0301 => "TLS 1.0".to_string(),
        0x0302 => "TLS 1.1".to_string(),
        0x0303 => "TLS 1.2".to_string(),
        0x0304 => "TLS 1.3".to_string(),
        _ => format!("{v:#06x}"),
    }
}

#[cfg(test)]
mod tests {
    // Expected names and numbers are copied from the spec tables (MS-RDPBCGR 2.2.1.1.1,
    // 2.2.1.2.2; RFC 5246 §7.2, RFC 8446 §6), not from this code's own output.
    use super::*;

    #[test]
    fn protocol_names() {
        assert_eq!(Protocols(0).names(), "RDP");
        assert_eq!(Protocols(0x0000_000B).names(), "SSL|HYBRID|HYBRID_EX");
        assert_eq!(Protocols(0x0000_0041).names(), "SSL|0x40");
        assert_eq!(Protocols(0x0000_001F).to_string(), "SSL|HYBRID|RDSTLS|HYBRID_EX|RDSAAD");
        assert_eq!(Protocols(0x8000_0000).names(), "0x80000000");
    }

    #[test]
    fn protocol_contains() {
        let p = Protocols(0x0000_000B);
        assert!(p.contains(Protocols::SSL));
        assert!(p.contains(Protocols::HYBRID | Protocols::HYBRID_EX));
        assert!(!p.contains(Protocols::RDSTLS));
        assert!(!p.contains(Protocols::RDP));
        assert!(Protocols(0).contains(Protocols::RDP));
    }

    #[test]
    fn failure_codes() {
        assert_eq!(NegFailureCode(5).name(), Some("HYBRID_REQUIRED_BY_SERVER"));
        assert_eq!(NegFailureCode(1).to_string(), "SSL_REQUIRED_BY_SERVER");
        assert_eq!(NegFailureCode(6).to_string(), "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER");
        assert_eq!(NegFailureCode(7).name(), None);
        assert_eq!(NegFailureCode(7).to_string(), "0x00000007");
        assert_eq!(NegFailureCode(0).meaning(), "unknown failure code");
        for code in 1..=6 {
            assert_ne!(NegFailureCode(code).meaning(), "unknown failure code");
        }
    }

    #[test]
    fn tls_alerts() {
        assert_eq!(TlsAlert(40).to_string(), "handshake_failure");
        assert_eq!(TlsAlert(48).name(), Some("unknown_ca"));
        assert_eq!(TlsAlert(112).name(), Some("unrecognized_name"));
        assert_eq!(TlsAlert(120).name(), Some("no_application_protocol"));
        assert_eq!(TlsAlert(255).name(), None);
        assert_eq!(TlsAlert(255).to_string(), "alert 255");
        assert_eq!(TlsAlert(48).meaning(), "the certificate chain does not end in a trusted root");
        assert_eq!(TlsAlert(255).meaning(), "TLS alert");
    }

    #[test]
    fn protocol_meanings() {
        assert_eq!(Protocols(0).meaning(), "Standard RDP Security only (no TLS, no NLA)");
        assert_eq!(Protocols(0x3).meaning(), "TLS, CredSSP/NLA inside TLS");
    }

    #[test]
    fn tls_versions() {
        assert_eq!(tls_version_name(0x0300), "SSL 3.0");
        assert_eq!(tls_version_name(0x0303), "TLS 1.2");
        assert_eq!(tls_version_name(0x0304), "TLS 1.3");
        assert_eq!(tls_version_name(0x7f1c), "0x7f1c");
        assert_eq!(tls_version_name(0x0002), "0x0002");
    }

    #[test]
    fn serialises_as_raw_numbers() {
        let json = serde_json::to_string(&(Protocols(0x0b), NegFailureCode(5), TlsAlert(40)));
        assert_eq!(json.ok().as_deref(), Some("[11,5,40]"));
    }
}
