//! The one T.125 (MCS) PDU rdplog reads after the connection sequence: the Disconnect Provider
//! Ultimatum that ends an RDP connection in order (a logoff or a disconnect), when it travels
//! unencrypted (Standard RDP Security). Pure function over the first bytes of a segment.
//!
//! References: RFC 1006 / T.123 §8 (TPKT: version 3, reserved 0, length); X.224 §13.7 (Data
//! TPDU: LI 2, code 0xF0, EOT 0x80); ITU-T T.125 §11.15 and MS-RDPBCGR 2.2.2.3 (DomainMCSPDU
//! choice 8 disconnectProviderUltimatum, PER: 6 bits of choice, then the 3-bit Reason).

/// The reason of a Disconnect Provider Ultimatum (T.125 Reason: 0 domain-disconnected,
/// 1 provider-initiated, 2 token-purged, 3 user-requested, 4 channel-purged), when `data`
/// (a segment's first bytes) is one.
pub fn disconnect_ultimatum(data: &[u8]) -> Option<u8> {
    match data {
        // TPKT v3, X.224 DT (LI 2, 0xF0, EOT), then the DomainMCSPDU choice byte.
        [3, 0, _, _, 2, 0xF0, 0x80, choice, rest @ ..] if choice >> 2 == 8 => {
            let low = rest.first().map_or(0, |b| b >> 7);
            Some(((choice & 0x03) << 1) | low)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_ultimatum_and_its_reason() {
        // A DPUm, 9 bytes: TPKT length 9, X.224 DT, 0x21 0x80 = disconnectProviderUltimatum,
        // reason 3 (rn-user-requested): the payload of suricata-verify_RDP-003.pcap frame 431
        // (read with a 20-line pcap reader; tshark names it rn-user-requested in the labels).
        assert_eq!(disconnect_ultimatum(&[3, 0, 0, 9, 2, 0xF0, 0x80, 0x21, 0x80]), Some(3));
        // Reason 1 (provider-initiated): 0x20 0x80.
        assert_eq!(disconnect_ultimatum(&[3, 0, 0, 9, 2, 0xF0, 0x80, 0x20, 0x80]), Some(1));
        // An MCS Send Data Request (choice 25 → 0x64) is not one; nor is a truncated PDU.
        assert_eq!(disconnect_ultimatum(&[3, 0, 0, 20, 2, 0xF0, 0x80, 0x64, 0x00]), None);
        assert_eq!(disconnect_ultimatum(&[3, 0, 0, 9, 2, 0xF0]), None);
    }
}
