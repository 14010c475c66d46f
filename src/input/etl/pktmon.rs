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

/// A drop reason's name: the `PktMon_DropReason` table of microsoft/NetMon_Parsers_for_PacketMon
/// (2018). Later Windows builds added reasons; those are shown by number.
pub fn drop_reason(code: u32) -> String {
    let name = match code {
        0 => "Unspecified",
        1 => "Invalid Data",
        2 => "Invalid Packet",
        3 => "Insufficient resources",
        4 => "Adapter not ready",
        5 => "Media Disconnected",
        6 => "Not accepted",
        7 => "Device busy",
        8 => "Filtered",
        9 => "Filtered VLAN",
        10 => "Unauthorized VLAN",
        11 => "Unauthorized MAC",
        12 => "Failed security policy",
        13 => "Failed pVlan setting",
        14 => "QoS drop",
        15 => "IPSec drop",
        16 => "Spoofed MAC address is not allowed",
        17 => "Failed DHCP guard",
        18 => "Failed Router Guard",
        19 => "Bridge is not allowed inside VM",
        20 => "Virtual Subnet ID does not match",
        21 => "Required vSwitch extension is missing",
        22 => "Creating vSwitch over another vSwitch is not allowed",
        23 => "MTU mismatch",
        24 => "Native forwarding required",
        25 => "Invalid VLAN format",
        26 => "Invalid destination MAC",
        27 => "Invalid source MAC",
        28 => "First NB too small",
        29 => "Windows Network Virtualization error",
        30 => "Storm limit exceeded",
        31 => "ICMP request injected by switch",
        32 => "Failed to update destination list",
        33 => "Destination NIC is disabled",
        34 => "Packet does not match destination NIC packet filter",
        35 => "vSwitch data flow is disabled",
        36 => "Port isolation setting does not allow untagged traffic",
        37 => "Invalid PD queue",
        38 => "Adapter is in low power state",
        101 => "Adapter paused",
        102 => "Adapter reset in progress",
        103 => "Send aborted",
        104 => "Unsupported EtherType",
        201 => "Microport error",
        202 => "VF not ready",
        203 => "Microport not ready",
        204 => "VMBus error",
        _ => return format!("drop reason {code}"),
    };
    name.to_string()
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
}
