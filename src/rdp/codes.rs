//! Identifiers the RDP parsers print: 16-byte correlation ids as hex. The wire-code newtypes
//! (`Protocols`, `NegFailureCode`, `TlsAlert`, TLS version names) live in `crate::codes::wire`
//! with every other code table, and are re-exported here for the parsers and their callers.

pub use crate::codes::wire::{NegFailureCode, Protocols, TlsAlert, tls_version_name};

/// Lower-case hex of a 16-byte identifier (correlation ids), no separators.
pub fn hex16(id: &[u8; 16]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// serde helper: an optional 16-byte id serialises as `null` or its hex string.
pub(crate) fn serialize_opt_hex16<S: serde::Serializer>(id: &Option<[u8; 16]>, s: S) -> Result<S::Ok, S::Error> {
    match id {
        Some(id) => s.serialize_some(&hex16(id)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_of_id() {
        let mut id = [0u8; 16];
        id[0] = 0xAB;
        id[15] = 0x01;
        assert_eq!(hex16(&id), "ab000000000000000000000000000001");
    }
}
