//! Microsoft-Windows-PktMon events: packets (160), dropped packets (170) and the component
//! descriptions (20) that name where they were seen.
//!
//! Decodes one event's user data into a borrowed view; it does not decide which appearance of
//! a packet to keep (that is `dedup` in the parent module) and keeps no state.
//!
//! Layouts (microsoft/NetMon_Parsers_for_PacketMon `etl_Microsoft-Windows-PktMon-Events.npl`;
//! checked on the corpus: record Size = 0x50 + 34 + LoggedPayloadSize on every packet event):
//! 160/170 — PktGroupId u64, PktNumber u16, AppearanceCount u16, DirTag u16, PacketType u16,
//! ComponentId u16, EdgeId u16, FilterId u16, DropReason u32, DropLocation u32,
//! OriginalPayloadSize u16, LoggedPayloadSize u16, Payload[LoggedPayloadSize].
//! 20 — Id u16, Type u16, Name UTF-16Z, Description UTF-16Z.
//! DirTag: 1 In, 2 Out, 3 Rx, 4 Tx, 5 Ingress, 6 Egress. PacketType: 0 Unknown, 1 Ethernet,
//! 2 WiFi (802.11), 3 MBB (raw IP).

use super::walk::{Guid, u16_at, u32_at, u64_at};
use crate::input::link::{LINKTYPE_ETHERNET, LINKTYPE_IEEE802_11, LINKTYPE_RAW};

/// Microsoft-Windows-PktMon.
pub const PKTMON: Guid = Guid::new(0x4d4f80d9, 0xc8bd, 0x4d73, [0xbb, 0x5b, 0x19, 0xc9, 0x04, 0x02, 0xc5, 0xac]);

pub const EVENT_COMPONENT: u16 = 20;
pub const EVENT_PACKET: u16 = 160;
pub const EVENT_DROP: u16 = 170;

/// The fixed part of a 160/170 event.
const FIXED: usize = 34;

/// One appearance of a packet at a component.
#[derive(Debug)]
pub struct Appearance<'a> {
    pub group: u64,
    pub number: u16,
    pub appearance: u16,
    pub direction: u16,
    pub packet_type: u16,
    pub component: u16,
    pub drop_reason: u32,
    pub drop_location: u32,
    pub original_size: u16,
    pub payload: &'a [u8],
}

impl Appearance<'_> {
    /// Outbound tags (Out, Tx, Egress): the wire is after the last appearance; inbound ones
    /// have it before the first.
    pub fn outbound(&self) -> bool {
        matches!(self.direction, 2 | 4 | 6)
    }

    /// LINKTYPE_* of the payload, `None` for packet types we cannot frame.
    pub fn linktype(&self) -> Option<u32> {
        match self.packet_type {
            1 => Some(LINKTYPE_ETHERNET),
            2 => Some(LINKTYPE_IEEE802_11),
            3 => Some(LINKTYPE_RAW),
            _ => None,
        }
    }
}

/// Decodes a 160 or 170 event; `None` when the data is shorter than its own size fields say.
pub fn appearance(data: &[u8]) -> Option<Appearance<'_>> {
    let logged = usize::from(u16_at(data, 32)?);
    Some(Appearance {
        group: u64_at(data, 0)?,
        number: u16_at(data, 8)?,
        appearance: u16_at(data, 10)?,
        direction: u16_at(data, 12)?,
        packet_type: u16_at(data, 14)?,
        component: u16_at(data, 16)?,
        drop_reason: u32_at(data, 22)?,
        drop_location: u32_at(data, 26)?,
        original_size: u16_at(data, 30)?,
        payload: data.get(FIXED..FIXED + logged)?,
    })
}

/// Decodes a component description (event 20): its id and its name.
pub fn component(data: &[u8]) -> Option<(u16, String)> {
    let id = u16_at(data, 0)?;
    let rest = data.get(4..)?;
    let units: Vec<u16> =
        rest.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).take_while(|&u| u != 0).take(128).collect();
    Some((id, String::from_utf16_lossy(&units)))
}

/// What kind of thing dropped a packet, as far as its drop reason tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropClass {
    /// A filter or policy: the Windows Filtering Platform (the host firewall's engine), IPsec
    /// policy, a blocked port or a vSwitch ACL.
    Firewall,
    /// Anything else: a malformed or unexpected packet, a resource shortage, a TCP state check.
    Other,
}

/// A drop reason's words and class. Codes 0–38 as in the `PktMon_DropReason` table of
/// microsoft/NetMon_Parsers_for_PacketMon (2018); the later ranges (adapter 201+, NDIS 401+,
/// vSwitch 701+, network layer 901+, transport 1200+, IPsec 1401+) as current Windows numbers
/// them (microsoft/retina `pkg/metrics/types_windows.go`, which also matches the codes seen in
/// the build-26200 corpus trace: loopback packets dropped for 1204 and 1210). Other codes are
/// shown by number.
pub fn drop_reason(code: u32) -> (String, DropClass) {
    use DropClass::{Firewall, Other};
    let (name, class) = match code {
        0 => ("unspecified", Other),
        1 => ("invalid data", Other),
        2 => ("invalid packet", Other),
        3 => ("insufficient resources", Other),
        4 => ("adapter not ready", Other),
        5 => ("media disconnected", Other),
        6 => ("not accepted", Other),
        7 => ("device busy", Other),
        8 => ("filtered", Firewall),
        9 => ("filtered VLAN", Firewall),
        10 => ("unauthorized VLAN", Firewall),
        11 => ("unauthorized MAC", Firewall),
        12 => ("failed security policy", Firewall),
        13 => ("failed private VLAN setting", Other),
        14 => ("QoS drop", Other),
        15 => ("IPsec drop", Firewall),
        16 => ("spoofed MAC address not allowed", Firewall),
        17 => ("failed DHCP guard", Firewall),
        18 => ("failed router guard", Firewall),
        23 => ("MTU mismatch", Other),
        30 => ("storm limit exceeded", Other),
        33 => ("destination NIC disabled", Other),
        34 => ("does not match the destination NIC's packet filter", Other),
        38 => ("adapter in low power state", Other),
        201 => ("adapter paused", Other),
        202 => ("adapter reset in progress", Other),
        203 => ("send aborted", Other),
        204 => ("no protocol bound", Other),
        211 => ("CRC error", Other),
        217 => ("receive queue full", Other),
        404 => ("VMBus error", Other),
        601 => ("loopback packet", Other),
        704 => ("broadcast blocked", Firewall),
        716 => ("intercepted and blocked", Firewall),
        718 => ("port blocked", Firewall),
        901 => ("bad source address", Other),
        902 => ("not locally destined", Other),
        903 => ("protocol unreachable", Other),
        904 => ("port unreachable", Other),
        907 => ("no route", Other),
        909 => ("network-layer inspection drop (Windows Filtering Platform)", Firewall),
        911 => ("administratively prohibited", Firewall),
        914 => ("hop limit exceeded", Other),
        918 => ("arbitration unhandled", Other),
        919 => ("network-layer inspection absorb (Windows Filtering Platform)", Firewall),
        920 => ("don't-fragment packet larger than the MTU", Other),
        924 => ("IPsec failure", Firewall),
        945 => ("administratively configured", Firewall),
        954 => ("ICMP inspection drop (Windows Filtering Platform)", Firewall),
        1204 => ("no endpoint listens (TCP/UDP port closed)", Other),
        1207 => ("transport receive inspection drop (Windows Filtering Platform)", Firewall),
        1208 => ("invalid ACK", Other),
        1210 => ("RST", Other),
        1216 => ("outside the TCP window", Other),
        1217 => ("duplicate segment", Other),
        1219 => ("TCB removed", Other),
        1230 => ("SYN attack protection", Other),
        1231 => ("accept inspection drop (Windows Filtering Platform)", Firewall),
        1407 => ("IPsec: clear text where protection is required", Firewall),
        1408 => ("IPsec authenticated-firewall drop", Firewall),
        1410 => ("IPsec DoS protection block", Firewall),
        _ => return (format!("drop reason {code}"), Other),
    };
    (name.to_string(), class)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Oracle: the layout in the module doc; values from nsvpn_PktMon_7119f51.txt's first packet
    // line (PktGroupId 562949953421313, PktNumber 1, Appearance 1, Rx, WiFi, Component 11,
    // OriginalSize 197, LoggedSize 128).
    #[test]
    fn packet_fields() {
        let mut d = Vec::new();
        d.extend_from_slice(&562949953421313u64.to_le_bytes());
        for v in [1u16, 1, 3, 2, 11, 1, 0] {
            d.extend_from_slice(&v.to_le_bytes());
        }
        d.extend_from_slice(&0u32.to_le_bytes());
        d.extend_from_slice(&0u32.to_le_bytes());
        d.extend_from_slice(&197u16.to_le_bytes());
        d.extend_from_slice(&4u16.to_le_bytes());
        d.extend_from_slice(&[1, 2, 3, 4]);
        let a = appearance(&d).expect("decodes");
        assert_eq!((a.group, a.number, a.appearance, a.component, a.original_size), (562949953421313, 1, 1, 11, 197));
        assert_eq!(a.linktype(), Some(LINKTYPE_IEEE802_11));
        assert!(!a.outbound());
        assert_eq!(a.payload, &[1, 2, 3, 4]);
        assert!(appearance(&d[..d.len() - 1]).is_none(), "LoggedPayloadSize past the end");
    }

    // Oracle: learn.microsoft.com "Transport layer discard reasons" lists INET_DISCARD_REASON in
    // order (SourceUnspecified, DestinationMulticast, HeaderInvalid, ChecksumInvalid,
    // EndpointNotFound, …, Rst = the 11th); pktmon numbers them from 1200. The 2018 NetMon
    // table gives 8 Filtered and 12 Failed security policy.
    #[test]
    fn drop_reasons_and_their_class() {
        assert_eq!(drop_reason(1204), ("no endpoint listens (TCP/UDP port closed)".to_string(), DropClass::Other));
        assert_eq!(drop_reason(1210).0, "RST");
        assert_eq!(drop_reason(1231).1, DropClass::Firewall);
        assert_eq!(drop_reason(8), ("filtered".to_string(), DropClass::Firewall));
        assert_eq!(drop_reason(12).1, DropClass::Firewall);
        assert_eq!(drop_reason(4242), ("drop reason 4242".to_string(), DropClass::Other));
    }
}
