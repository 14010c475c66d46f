//! MS-RDPEUDP SYN and SYN+ACK datagram parser (the RDP-UDP side channel on UDP 3389).
//!
//! Takes: the payload of one UDP datagram.
//! Produces: the handshake fields of a SYN or SYN+ACK (sequence numbers, window, MTUs,
//! correlation id, protocol version), or `None` for anything that is not one.
//! Optional parts are read only when their flag is set and their bytes are present.
//! Does not: parse data/ACK datagrams, FEC, the TLS/DTLS inside, or v3 (MS-RDPEUDP2)
//! traffic after the handshake; it does not decide the port or direction either.
//!
//! References: MS-RDPEUDP 2.2.2.1 (RDPUDP_FEC_HEADER), 2.2.2.5 (RDPUDP_SYNDATA_PAYLOAD),
//! 2.2.2.8 (RDPUDP_CORRELATION_ID_PAYLOAD), 2.2.2.9 (RDPUDP_SYNDATAEX_PAYLOAD).

use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u32};
use nom::{IResult, Parser};

/// RDPUDP_FLAG_* bits of `uFlags` (MS-RDPEUDP 2.2.2.1).
pub mod flags {
    pub const SYN: u16 = 0x0001;
    pub const FIN: u16 = 0x0002;
    pub const ACK: u16 = 0x0004;
    pub const DATA: u16 = 0x0008;
    pub const FEC: u16 = 0x0010;
    pub const CN: u16 = 0x0020;
    pub const CWR: u16 = 0x0040;
    pub const SACK_OPTION: u16 = 0x0080;
    pub const AOA: u16 = 0x0100;
    pub const SYNLOSSY: u16 = 0x0200;
    pub const ACKDELAYED: u16 = 0x0400;
    pub const CORRELATION_ID: u16 = 0x0800;
    pub const SYNEX: u16 = 0x1000;
}

const FLAG_NAMES: [(u16, &str); 13] = [
    (flags::SYN, "SYN"),
    (flags::FIN, "FIN"),
    (flags::ACK, "ACK"),
    (flags::DATA, "DATA"),
    (flags::FEC, "FEC"),
    (flags::CN, "CN"),
    (flags::CWR, "CWR"),
    (flags::SACK_OPTION, "SACK_OPTION"),
    (flags::AOA, "AOA"),
    (flags::SYNLOSSY, "SYNLOSSY"),
    (flags::ACKDELAYED, "ACKDELAYED"),
    (flags::CORRELATION_ID, "CORRELATION_ID"),
    (flags::SYNEX, "SYNEX"),
];

/// `uSynExFlags` bit saying `uUdpVer` is meaningful (MS-RDPEUDP 2.2.2.9).
const VERSION_INFO_VALID: u16 = 0x0001;
/// `uUdpVer` of MS-RDPEUDP2; only this version carries the 32-byte cookie hash.
pub const VERSION_3: u16 = 0x0101;
/// snSourceAck of a client SYN: no sequence number has been seen yet (-1).
pub const CLIENT_SYN_SOURCE_ACK: u32 = 0xFFFF_FFFF;

/// uCorrelationId (16) plus 16 reserved bytes.
const CORRELATION_PAYLOAD_LEN: usize = 32;
/// SHA-256 of the security cookie.
const COOKIE_HASH_LEN: usize = 32;

/// The handshake fields of a SYN or SYN+ACK datagram.
///
/// MS-RDPEUDP 2.2.2.1 RDPUDP_FEC_HEADER + 2.2.2.5 RDPUDP_SYNDATA_PAYLOAD
/// (+ 2.2.2.8 RDPUDP_CORRELATION_ID_PAYLOAD, 2.2.2.9 RDPUDP_SYNDATAEX_PAYLOAD)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RdpUdpSyn {
    /// 0xFFFFFFFF in a client SYN; the client's initial sequence number in a SYN+ACK.
    pub sn_source_ack: u32,
    /// uReceiveWindowSize, in datagrams.
    pub receive_window: u16,
    /// uFlags, see [`flags`].
    pub flags: u16,
    pub initial_seq: u32,
    pub upstream_mtu: u16,
    pub downstream_mtu: u16,
    /// Present only with the CORRELATION_ID flag and enough bytes (the report writes it as hex).
    pub correlation_id: Option<[u8; 16]>,
    /// uUdpVer, present only with the SYNEX flag and VERSION_INFO_VALID set.
    pub version: Option<u16>,
    /// A 32-byte cookie hash follows a version-3 SYNDATAEX payload.
    pub cookie_hash_present: bool,
}

impl RdpUdpSyn {
    /// SYN and ACK both set: the server's answer.
    pub fn is_syn_ack(&self) -> bool {
        self.flags & (flags::SYN | flags::ACK) == flags::SYN | flags::ACK
    }

    /// A client SYN: no ACK and snSourceAck = -1.
    pub fn is_client_syn(&self) -> bool {
        self.flags & flags::ACK == 0 && self.sn_source_ack == CLIENT_SYN_SOURCE_ACK
    }

    /// SYNLOSSY set: the lossy (UDPFECL, DTLS) transport rather than the reliable one.
    pub fn is_lossy(&self) -> bool {
        self.flags & flags::SYNLOSSY != 0
    }

    /// Flag names joined with `|` in bit order, e.g. "SYN|CORRELATION_ID|SYNEX"; unknown
    /// bits as one hex number at the end.
    pub fn flag_names(&self) -> String {
        let mut parts: Vec<String> =
            FLAG_NAMES.iter().filter(|(bit, _)| self.flags & bit != 0).map(|(_, name)| (*name).to_string()).collect();
        let unknown = self.flags & !FLAG_NAMES.iter().fold(0, |acc, (bit, _)| acc | bit);
        if unknown != 0 {
            parts.push(format!("{unknown:#x}"));
        }
        parts.join("|")
    }
}

/// Short name of a `uUdpVer` value: "v1", "v2", "v3" or "unknown".
pub fn version_name(v: u16) -> &'static str {
    match v {
        0x0001 => "v1",
        0x0002 => "v2",
        VERSION_3 => "v3",
        _ => "unknown",
    }
}

type UResult<'a, O> = IResult<&'a [u8], O>;

/// Fixed 16 bytes: FEC header then SYNDATA payload.
#[allow(clippy::type_complexity)]
fn fixed_part(i: &[u8]) -> UResult<'_, (u32, u16, u16, u32, u16, u16)> {
    (be_u32, be_u16, be_u16, be_u32, be_u16, be_u16).parse(i)
}

/// RDPUDP_CORRELATION_ID_PAYLOAD: uCorrelationId[16] then 16 reserved bytes.
fn correlation_part(i: &[u8]) -> UResult<'_, &[u8]> {
    take(CORRELATION_PAYLOAD_LEN).parse(i)
}

/// RDPUDP_SYNDATAEX_PAYLOAD up to the optional cookie hash: uSynExFlags, uUdpVer.
fn synex_part(i: &[u8]) -> UResult<'_, (u16, u16)> {
    (be_u16, be_u16).parse(i)
}

/// Parses a SYN or SYN+ACK datagram. `None` unless the SYN flag is set and the 16 fixed
/// bytes are present. A flagged optional part whose bytes are missing is left out, and so
/// is everything after it. Never panics.
pub fn parse_syn(payload: &[u8]) -> Option<RdpUdpSyn> {
    // Complete-input parsers: fewer than 16 bytes is an error, which becomes `None`.
    let (mut rest, (sn_source_ack, receive_window, flag_bits, initial_seq, up, down)) = fixed_part(payload).ok()?;
    if flag_bits & flags::SYN == 0 {
        return None;
    }
    let mut syn = RdpUdpSyn {
        sn_source_ack,
        receive_window,
        flags: flag_bits,
        initial_seq,
        upstream_mtu: up,
        downstream_mtu: down,
        correlation_id: None,
        version: None,
        cookie_hash_present: false,
    };

    if flag_bits & flags::CORRELATION_ID != 0 {
        let Ok((tail, block)) = correlation_part(rest) else {
            return Some(syn);
        };
        syn.correlation_id = block.get(..16).and_then(|id| <[u8; 16]>::try_from(id).ok());
        rest = tail;
    }

    if flag_bits & flags::SYNEX != 0 {
        let Ok((tail, (ex_flags, version))) = synex_part(rest) else {
            return Some(syn);
        };
        if ex_flags & VERSION_INFO_VALID != 0 {
            syn.version = Some(version);
            syn.cookie_hash_present = version == VERSION_3 && tail.len() >= COOKIE_HASH_LEN;
        }
    }
    Some(syn)
}

#[cfg(test)]
mod tests {
    // Expected values are read off the MS-RDPEUDP 2.2.2.1 / 2.2.2.5 / 2.2.2.8 / 2.2.2.9 byte
    // layouts (all fields big-endian), not from this parser's output.
    use super::*;

    // Offsets from the start of the datagram.
    const SN_SOURCE_ACK: usize = 0;
    const FLAGS: usize = 6;
    const FIXED_END: usize = 16;

    /// A real Windows SYN+ACK header: snSourceAck 0, window 64, flags SYN|ACK,
    /// initial sequence 0x98aeca6a, both MTUs 1232.
    const WINDOWS_SYN_ACK: [u8; 16] = [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x05, // RDPUDP_FEC_HEADER
        0x98, 0xae, 0xca, 0x6a, 0x04, 0xd0, 0x04, 0xd0, // RDPUDP_SYNDATA_PAYLOAD
    ];

    /// Client SYN with CORRELATION_ID and SYNEX (version 3 + cookie hash), padded like a real
    /// one. Layout: fixed 16 | correlation id 16 + reserved 16 | SYNEX 4 | hash 32 | padding.
    fn client_syn_v3() -> Vec<u8> {
        let mut v = vec![0xff, 0xff, 0xff, 0xff, 0x00, 0x40, 0x18, 0x01]; // SYN|CORRELATION_ID|SYNEX
        v.extend_from_slice(&[0x12, 0x34, 0x56, 0x78, 0x04, 0xd0, 0x04, 0xd0]);
        v.extend(1u8..=16); // uCorrelationId
        v.extend_from_slice(&[0u8; 16]); // reserved
        v.extend_from_slice(&[0x00, 0x01, 0x01, 0x01]); // VERSION_INFO_VALID, uUdpVer 0x0101
        v.extend_from_slice(&[0xaa; 32]); // cookieHash
        v.resize(1232, 0);
        v
    }

    #[test]
    fn windows_syn_ack() {
        let syn = parse_syn(&WINDOWS_SYN_ACK).unwrap();
        assert_eq!(syn.sn_source_ack, 0);
        assert_eq!(syn.receive_window, 64);
        assert_eq!(syn.flags, flags::SYN | flags::ACK);
        assert_eq!(syn.initial_seq, 0x98ae_ca6a);
        assert_eq!((syn.upstream_mtu, syn.downstream_mtu), (1232, 1232));
        assert!(syn.is_syn_ack());
        assert!(!syn.is_client_syn());
        assert!(!syn.is_lossy());
        assert_eq!(syn.flag_names(), "SYN|ACK");
        assert_eq!((syn.correlation_id, syn.version, syn.cookie_hash_present), (None, None, false));
    }

    #[test]
    fn client_syn_with_correlation_and_v3() {
        let syn = parse_syn(&client_syn_v3()).unwrap();
        assert!(syn.is_client_syn());
        assert!(!syn.is_syn_ack());
        assert_eq!(syn.initial_seq, 0x1234_5678);
        assert_eq!(syn.flag_names(), "SYN|CORRELATION_ID|SYNEX");
        let expected: Vec<u8> = (1u8..=16).collect();
        assert_eq!(syn.correlation_id.map(|id| id.to_vec()), Some(expected));
        assert_eq!(syn.version, Some(VERSION_3));
        assert_eq!(version_name(VERSION_3), "v3");
        assert!(syn.cookie_hash_present);
    }

    #[test]
    fn lossy_v2_syn_without_correlation() {
        let mut v = WINDOWS_SYN_ACK.to_vec();
        v[SN_SOURCE_ACK..SN_SOURCE_ACK + 4].copy_from_slice(&[0xff; 4]);
        v[FLAGS..FLAGS + 2].copy_from_slice(&(flags::SYN | flags::SYNLOSSY | flags::SYNEX).to_be_bytes());
        v.extend_from_slice(&[0x00, 0x01, 0x00, 0x02]);
        let syn = parse_syn(&v).unwrap();
        assert!(syn.is_lossy());
        assert_eq!(syn.version, Some(2));
        assert_eq!(version_name(2), "v2");
        assert!(!syn.cookie_hash_present);
    }

    #[test]
    fn truncated_input() {
        for cut in 0..FIXED_END {
            assert_eq!(parse_syn(&WINDOWS_SYN_ACK[..cut]), None, "prefix of {cut} bytes");
        }
        // Every cut of the full SYN either parses or returns None; optional parts appear
        // only once all their bytes are there.
        let full = client_syn_v3();
        for cut in FIXED_END..full.len().min(120) {
            let syn = parse_syn(&full[..cut]).unwrap();
            assert_eq!(syn.correlation_id.is_some(), cut >= FIXED_END + 32);
            assert_eq!(syn.version.is_some(), cut >= FIXED_END + 36);
            assert_eq!(syn.cookie_hash_present, cut >= FIXED_END + 68);
        }
    }

    #[test]
    fn malformed_input() {
        // No SYN flag: an ACK/DATA datagram is not a handshake.
        let mut v = WINDOWS_SYN_ACK;
        v[FLAGS..FLAGS + 2].copy_from_slice(&(flags::ACK | flags::DATA).to_be_bytes());
        assert_eq!(parse_syn(&v), None);
        // SYNEX without VERSION_INFO_VALID: the version is not trusted.
        let mut ex = WINDOWS_SYN_ACK.to_vec();
        ex[FLAGS..FLAGS + 2].copy_from_slice(&(flags::SYN | flags::SYNEX).to_be_bytes());
        ex.extend_from_slice(&[0x00, 0x00, 0x01, 0x01]);
        assert_eq!(parse_syn(&ex).unwrap().version, None);
        // Unknown flag bits are named as hex.
        let mut odd = WINDOWS_SYN_ACK;
        odd[FLAGS..FLAGS + 2].copy_from_slice(&0x8001u16.to_be_bytes());
        assert_eq!(parse_syn(&odd).unwrap().flag_names(), "SYN|0x8000");
        assert_eq!(version_name(0x0007), "unknown");
    }

    #[test]
    fn reads_correlation_id_and_version() {
        let syn = parse_syn(&client_syn_v3()).unwrap();
        assert_eq!(
            syn.correlation_id.as_ref().map(super::super::codes::hex16).as_deref(),
            Some("0102030405060708090a0b0c0d0e0f10")
        );
        assert_eq!(syn.version, Some(0x0101));
    }
}
