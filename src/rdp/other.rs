//! Naming what answered an X.224 Connection Request when it was not RDP: the first bytes of
//! the reply, and the protocol they obviously belong to. Pure functions over bytes.
//!
//! References: Modbus Application Protocol V1.1b3 §4.1 (MBAP header: transaction id, protocol
//! id 0, length, unit id; exception responses set bit 7 of the function code, §7); RFC 9110
//! (HTTP status line); RFC 4253 §4.2 (SSH identification string); RFC 8446 §5.1 (TLS record).

/// Bytes of the reply kept for the report.
const KEEP: usize = 16;

/// A reply that is not an X.224 Connection Confirm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The protocol the bytes belong to, when it is obvious.
    pub protocol: Option<&'static str>,
    /// The reply's first bytes, in hex.
    pub first_bytes: String,
    pub len: usize,
}

impl Reply {
    pub fn of(data: &[u8]) -> Reply {
        let first_bytes = data.iter().take(KEEP).map(|b| format!("{b:02x}")).collect();
        Reply { protocol: name(data), first_bytes, len: data.len() }
    }
}

/// The protocol of a server's reply, when its first bytes make it obvious.
pub fn name(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(b"HTTP/") {
        return Some("HTTP");
    }
    if data.starts_with(b"SSH-") {
        return Some("SSH");
    }
    if let [0x16 | 0x15, 0x03, 0x00..=0x04, ..] = data {
        return Some("TLS (the port speaks TLS directly)");
    }
    // MBAP: protocol id 0 and a length that covers exactly the rest of the PDU.
    if let [_, _, 0, 0, hi, lo, _unit, func, ..] = data {
        let len = u16::from_be_bytes([*hi, *lo]) as usize;
        if len >= 2 && data.len() == 6 + len {
            return Some(if func & 0x80 != 0 { "Modbus/TCP (exception response)" } else { "Modbus/TCP" });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_obvious_protocols() {
        // Modbus exception to a TPKT "request": the transaction id echoes the TPKT header's
        // first two bytes (03 00), protocol id 0, length 3, unit 0, function 0x83, code 1.
        let modbus = [0x03, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x83, 0x01];
        assert_eq!(name(&modbus), Some("Modbus/TCP (exception response)"));
        assert_eq!(Reply::of(&modbus).len, 9);
        assert_eq!(Reply::of(&modbus).first_bytes, "030000000003008301");
        assert_eq!(name(b"HTTP/1.1 400 Bad Request\r\n"), Some("HTTP"));
        assert_eq!(name(b"SSH-2.0-OpenSSH_9.6\r\n"), Some("SSH"));
        assert_eq!(name(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]), Some("TLS (the port speaks TLS directly)"));
        // A truncated or unknown reply is not named.
        assert_eq!(name(&[0x03, 0x00, 0x00]), None);
        assert_eq!(name(b"\x00\x01garbage"), None);
    }
}
