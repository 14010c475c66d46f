//! Link and network layers: from a captured frame to an IP packet with its transport slice.
//!
//! Handles Ethernet with 802.1Q/QinQ VLAN tags, Linux SLL and SLL2, raw IPv4/IPv6, and
//! BSD loopback/NULL, IEEE 802.11 data frames carrying LLC/SNAP; IPv4 and IPv6 (extension headers) via etherparse's lax slicer, so that
//! snaplen-cut packets still yield their headers. IPv4/IPv6 fragments are reported as such
//! and not reassembled. Nothing here keeps state.
//!
//! References: tcpdump.org LINKTYPE_* list (0 NULL, 1 ETHERNET, 101 RAW, 108 LOOP,
//! 105 IEEE802_11, 113 LINUX_SLL, 228 IPV4, 229 IPV6, 276 LINUX_SLL2); IEEE 802.1Q; RFC 791; RFC 8200.

use std::net::IpAddr;

use etherparse::err::Layer;
use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, TransportSlice};

pub const LINKTYPE_NULL: u32 = 0;
pub const LINKTYPE_ETHERNET: u32 = 1;
pub const LINKTYPE_RAW: u32 = 101;
/// OpenBSD's DLT_RAW value, written into some old captures instead of 101.
pub const LINKTYPE_RAW_OPENBSD: u32 = 14;
pub const LINKTYPE_LOOP: u32 = 108;
pub const LINKTYPE_LINUX_SLL: u32 = 113;
pub const LINKTYPE_IPV4: u32 = 228;
pub const LINKTYPE_IPV6: u32 = 229;
pub const LINKTYPE_LINUX_SLL2: u32 = 276;
/// IEEE 802.11 frames without radio headers (pktmon WiFi packets, netsh Native802.11 captures).
pub const LINKTYPE_IEEE802_11: u32 = 105;

/// An IP packet with the transport layer still as an etherparse slice.
pub struct IpPacket<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 identification field (none for IPv6).
    pub ip_id: Option<u16>,
    /// The packet is an IP fragment (its transport header may be missing).
    pub fragment: bool,
    pub transport: Option<TransportSlice<'a>>,
}

/// Why a frame yielded no IP packet.
#[derive(Debug, PartialEq, Eq)]
pub enum Skip {
    /// Not IP at all (ARP, LLDP, STP...): ignored silently.
    NotIp,
    /// A link type rdplog does not decode.
    UnsupportedLink(u32),
    /// Headers that contradict themselves (bogus IHL, lengths past the end...).
    Malformed(String),
}

/// Decodes one frame of the given link type.
pub fn decode(linktype: u32, data: &[u8]) -> Result<IpPacket<'_>, Skip> {
    let sliced = match linktype {
        LINKTYPE_ETHERNET => {
            LaxSlicedPacket::from_ethernet(data).map_err(|e| Skip::Malformed(format!("ethernet: {e}")))?
        }
        LINKTYPE_RAW | LINKTYPE_RAW_OPENBSD | LINKTYPE_IPV4 | LINKTYPE_IPV6 => from_ip(data)?,
        LINKTYPE_NULL | LINKTYPE_LOOP => {
            // 4-byte address family: host byte order for NULL, network order for LOOP.
            // AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24, 28 or 30 (BSDs, macOS).
            let fam = data.get(..4).ok_or_else(|| Skip::Malformed("loopback header shorter than 4 bytes".into()))?;
            let (le, be) = (
                u32::from_le_bytes([fam[0], fam[1], fam[2], fam[3]]),
                u32::from_be_bytes([fam[0], fam[1], fam[2], fam[3]]),
            );
            let family = if linktype == LINKTYPE_LOOP {
                be
            } else if le < 256 {
                le
            } else {
                be
            };
            match family {
                2 | 10 | 24 | 28 | 30 => from_ip(&data[4..])?,
                _ => return Err(Skip::NotIp),
            }
        }
        LINKTYPE_LINUX_SLL => {
            // 16-byte header; protocol (an EtherType for IP) at offset 14.
            let h = data.get(..16).ok_or_else(|| Skip::Malformed("Linux SLL header shorter than 16 bytes".into()))?;
            LaxSlicedPacket::from_ether_type(EtherType(u16::from_be_bytes([h[14], h[15]])), &data[16..])
        }
        LINKTYPE_LINUX_SLL2 => {
            // 20-byte header; protocol (an EtherType) at offset 0.
            let h = data.get(..20).ok_or_else(|| Skip::Malformed("Linux SLL2 header shorter than 20 bytes".into()))?;
            LaxSlicedPacket::from_ether_type(EtherType(u16::from_be_bytes([h[0], h[1]])), &data[20..])
        }
        LINKTYPE_IEEE802_11 => {
            let (ether_type, payload) = dot11(data)?;
            LaxSlicedPacket::from_ether_type(EtherType(ether_type), payload)
        }
        other => return Err(Skip::UnsupportedLink(other)),
    };
    to_ip_packet(sliced)
}

/// Where the network layer starts in a frame of this link type: the EtherType (0 for raw IP)
/// and the offset. Ethernet skips 802.1Q/802.1ad tags; `None` when the frame is too short or
/// carries no EtherType.
pub fn network_offset(linktype: u32, data: &[u8]) -> Option<(u16, usize)> {
    match linktype {
        LINKTYPE_ETHERNET => {
            let mut at = 12;
            loop {
                let t = u16::from_be_bytes([*data.get(at)?, *data.get(at + 1)?]);
                if matches!(t, 0x8100 | 0x88a8) {
                    at += 4;
                } else {
                    return Some((t, at + 2));
                }
            }
        }
        LINKTYPE_IEEE802_11 => {
            let (t, rest) = dot11(data).ok()?;
            Some((t, data.len() - rest.len()))
        }
        LINKTYPE_RAW | LINKTYPE_RAW_OPENBSD | LINKTYPE_IPV4 | LINKTYPE_IPV6 => Some((0, 0)),
        _ => None,
    }
}

/// The EtherType and payload of an 802.11 data frame (IEEE 802.11-2020 §9.2.4.1, §9.3.2.1):
/// Frame Control byte 0 = subtype(4) type(2) version(2), byte 1 flags (ToDS 0x01, FromDS 0x02,
/// Protected 0x40, Order 0x80); a 24-byte header, 30 with both DS bits (Address 4), +2 for QoS
/// subtypes (subtype bit 3), +4 HT Control when QoS and Order are set; then LLC/SNAP
/// `AA AA 03 00 00 00` and the EtherType (RFC 1042). Capture points inside Windows hand over
/// received frames already decrypted but with Protected still set, so the SNAP header decides,
/// not the flag. Management, control, null-data and A-MSDU frames are not IP.
fn dot11(data: &[u8]) -> Result<(u16, &[u8]), Skip> {
    let (Some(&fc), Some(&flags)) = (data.first(), data.get(1)) else {
        return Err(Skip::Malformed("802.11 frame shorter than its frame control".into()));
    };
    let (ftype, subtype) = ((fc >> 2) & 3, fc >> 4);
    if ftype != 2 || subtype & 0x4 != 0 {
        return Err(Skip::NotIp);
    }
    let qos = subtype & 0x8 != 0;
    let mut len = if flags & 0x03 == 0x03 { 30 } else { 24 };
    if qos {
        // QoS Control bit 7: the body is an A-MSDU, not one LLC frame.
        if data.get(len).is_some_and(|b| b & 0x80 != 0) {
            return Err(Skip::NotIp);
        }
        len += 2;
        if flags & 0x80 != 0 {
            len += 4;
        }
    }
    let body = data.get(len..).ok_or_else(|| Skip::Malformed("802.11 frame shorter than its header".into()))?;
    match body {
        [0xAA, 0xAA, 0x03, 0, 0, 0, a, b, rest @ ..] | [0xAA, 0xAA, 0x03, 0, 0, 0xF8, a, b, rest @ ..] => {
            Ok((u16::from_be_bytes([*a, *b]), rest))
        }
        _ => Err(Skip::NotIp),
    }
}

fn from_ip(data: &[u8]) -> Result<LaxSlicedPacket<'_>, Skip> {
    LaxSlicedPacket::from_ip(data).map_err(|e| Skip::Malformed(format!("IP header: {e}")))
}

fn to_ip_packet(sliced: LaxSlicedPacket<'_>) -> Result<IpPacket<'_>, Skip> {
    let packet = match &sliced.net {
        Some(LaxNetSlice::Ipv4(v4)) => {
            let h = v4.header();
            IpPacket {
                src: IpAddr::V4(h.source_addr()),
                dst: IpAddr::V4(h.destination_addr()),
                ttl: h.ttl(),
                ip_id: Some(h.identification()),
                fragment: v4.is_payload_fragmented(),
                transport: None,
            }
        }
        Some(LaxNetSlice::Ipv6(v6)) => {
            let h = v6.header();
            IpPacket {
                src: IpAddr::V6(h.source_addr()),
                dst: IpAddr::V6(h.destination_addr()),
                ttl: h.hop_limit(),
                ip_id: None,
                fragment: v6.is_payload_fragmented(),
                transport: None,
            }
        }
        Some(LaxNetSlice::Arp(_)) => return Err(Skip::NotIp),
        None => {
            return match sliced.stop_err {
                Some((e, layer)) if is_ip_layer(layer) => Err(Skip::Malformed(format!("{e}"))),
                _ => Err(Skip::NotIp),
            };
        }
    };
    // A transport header that is present but broken (e.g. TCP data offset past the end) is
    // damage worth reporting unless the packet is a fragment or was cut by the snaplen.
    if sliced.transport.is_none() && !packet.fragment {
        if let Some((e, layer)) = &sliced.stop_err {
            if matches!(layer, Layer::TcpHeader | Layer::UdpHeader | Layer::Icmpv4 | Layer::Icmpv6) {
                return Err(Skip::Malformed(format!("{e}")));
            }
        }
    }
    Ok(IpPacket { transport: sliced.transport, ..packet })
}

fn is_ip_layer(layer: Layer) -> bool {
    matches!(
        layer,
        Layer::IpHeader
            | Layer::Ipv4Header
            | Layer::Ipv4Packet
            | Layer::Ipv6Header
            | Layer::Ipv6Packet
            | Layer::Ipv6ExtHeader
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn tcp_frame() -> Vec<u8> {
        let mut out = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6])
            .single_vlan(etherparse::VlanId::try_new(7).unwrap_or_default())
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 128)
            .tcp(50000, 3389, 1, 1024)
            .syn()
            .write(&mut out, &[])
            .unwrap_or_default();
        out
    }

    #[test]
    fn ethernet_vlan_ipv4_tcp() {
        let frame = tcp_frame();
        let p = decode(LINKTYPE_ETHERNET, &frame).map_err(|e| format!("{e:?}")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.src.to_string(), "10.0.0.1");
        assert_eq!(p.ttl, 128);
        assert!(matches!(p.transport, Some(TransportSlice::Tcp(ref t)) if t.destination_port() == 3389 && t.syn()));
    }

    #[test]
    fn sll2_and_null_and_raw() {
        let frame = tcp_frame();
        let ip = &frame[18..]; // 14-byte Ethernet + 4-byte VLAN tag
        let mut sll2 = vec![0u8; 20];
        sll2[0..2].copy_from_slice(&0x0800u16.to_be_bytes());
        sll2.extend_from_slice(ip);
        assert!(decode(LINKTYPE_LINUX_SLL2, &sll2).is_ok());
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend_from_slice(ip);
        assert!(decode(LINKTYPE_NULL, &null).is_ok());
        assert!(decode(LINKTYPE_RAW, ip).is_ok());
        assert_eq!(
            decode(LINKTYPE_NULL, &[2, 0]).err(),
            Some(Skip::Malformed("loopback header shorter than 4 bytes".into()))
        );
        assert_eq!(decode(147, ip).err(), Some(Skip::UnsupportedLink(147)));
    }

    // Oracle: nsvpn_PktMon_7119f51.txt appearance 5 of PktGroupId 1 — a 73-byte 802.11 data
    // frame (ToDS, BSSID/SA/DA) carrying LLC/SNAP IPv4 that etl2txt decodes as TCP to port 443.
    #[test]
    fn dot11_data_frame() {
        let frame = tcp_frame();
        let mut f = vec![0x08, 0x01, 0, 0];
        f.extend_from_slice(&[0u8; 20]);
        f.extend_from_slice(&[0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x00]);
        f.extend_from_slice(&frame[18..]);
        let p = decode(LINKTYPE_IEEE802_11, &f).map_err(|e| format!("{e:?}")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.dst.to_string(), "10.0.0.2");
        // QoS data (subtype 8) with Protected set but a plaintext SNAP header.
        let mut q = vec![0x88, 0x41];
        q.extend_from_slice(&[0u8; 24]);
        q.extend_from_slice(&f[24..]);
        assert!(decode(LINKTYPE_IEEE802_11, &q).is_ok());
        // Beacon (management), reserved type 3, and an encrypted body are not IP.
        assert_eq!(decode(LINKTYPE_IEEE802_11, &[0x80, 0, 0, 0]).err(), Some(Skip::NotIp));
        assert_eq!(decode(LINKTYPE_IEEE802_11, &[0x0c, 0, 0, 0]).err(), Some(Skip::NotIp));
        let mut enc = f.clone();
        enc[24] = 0x12;
        assert_eq!(decode(LINKTYPE_IEEE802_11, &enc).err(), Some(Skip::NotIp));
        assert!(matches!(decode(LINKTYPE_IEEE802_11, &f[..10]), Err(Skip::Malformed(_))));
        assert_eq!(network_offset(LINKTYPE_IEEE802_11, &f), Some((0x0800, 32)));
        assert_eq!(network_offset(LINKTYPE_ETHERNET, &frame), Some((0x0800, 18)));
    }

    #[test]
    fn bogus_ihl_is_malformed() {
        let mut frame = tcp_frame();
        frame[18] = 0x43; // version 4, IHL 3 (< 5 is invalid per RFC 791)
        assert!(matches!(decode(LINKTYPE_ETHERNET, &frame), Err(Skip::Malformed(_))));
    }

    #[test]
    fn tcp_data_offset_past_end_is_malformed() {
        let mut frame = tcp_frame();
        let tcp = 18 + 20;
        frame[tcp + 12] = 0xF0; // data offset 15 words = 60 bytes, but only 20 are there
        assert!(matches!(decode(LINKTYPE_ETHERNET, &frame), Err(Skip::Malformed(_))));
    }
}
