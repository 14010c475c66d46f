//! ICMP and ICMPv6 error messages, and the flow each one quotes.
//!
//! An ICMP error carries the start of the packet that caused it (the "invoking packet"):
//! its IP header and at least the first 8 bytes of its transport header, enough for the ports.
//! We decode the error's kind (unreachable, fragmentation needed with the next-hop MTU, packet
//! too big with the MTU, administratively prohibited, time exceeded) and the quoted 5-tuple.
//!
//! References: RFC 792 (ICMP types 3 and 11), RFC 1191 §4 (next-hop MTU in bytes 6–7),
//! RFC 1812 §5.2.7.1 (code 13 communication administratively prohibited), RFC 4443 §3.1–3.3
//! (ICMPv6 types 1, 2, 3; codes 1 and 5/6 for policy).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::tcp::At;

/// What an ICMP error says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpKind {
    /// Destination unreachable (other codes).
    Unreachable,
    /// ICMPv4 type 3 code 4, with the next-hop MTU (RFC 1191).
    FragNeeded,
    /// ICMPv6 type 2, with the MTU (RFC 4443 §3.2).
    PacketTooBig,
    /// Communication administratively prohibited (RFC 1812; ICMPv6 codes 1, 5, 6).
    AdminProhibited,
    TimeExceeded,
}

impl IcmpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IcmpKind::Unreachable => "unreachable",
            IcmpKind::FragNeeded => "frag-needed",
            IcmpKind::PacketTooBig => "packet-too-big",
            IcmpKind::AdminProhibited => "admin-prohibited",
            IcmpKind::TimeExceeded => "time-exceeded",
        }
    }
}

impl std::fmt::Display for IcmpKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One ICMP error matched to a flow.
#[derive(Clone, Debug)]
pub struct IcmpError {
    pub at: At,
    /// Who sent the error (a router, a firewall or the peer).
    pub from: IpAddr,
    pub kind: IcmpKind,
    pub icmp_type: u8,
    pub code: u8,
    pub mtu: Option<u32>,
}

/// The quoted packet's addressing: protocol and both endpoints.
#[derive(Debug, PartialEq, Eq)]
pub struct Quoted {
    pub proto: u8,
    pub src: (IpAddr, u16),
    pub dst: (IpAddr, u16),
}

/// Decodes an ICMPv4 message (`msg` starts at the ICMP type byte). Returns `None` for
/// non-error messages (echo, etc.) and for errors too short to name a flow.
pub fn parse_v4(msg: &[u8]) -> Option<(IcmpKind, u8, u8, Option<u32>, Quoted)> {
    let (&ty, &code) = (msg.first()?, msg.get(1)?);
    let kind = match (ty, code) {
        (3, 4) => IcmpKind::FragNeeded,
        (3, 9 | 10 | 13) => IcmpKind::AdminProhibited,
        (3, _) => IcmpKind::Unreachable,
        (11, _) => IcmpKind::TimeExceeded,
        _ => return None,
    };
    let mtu = if ty == 3 && code == 4 { msg.get(6..8).map(|b| u16::from_be_bytes([b[0], b[1]]) as u32) } else { None };
    let quoted = quoted_v4(msg.get(8..)?)?;
    Some((kind, ty, code, mtu, quoted))
}

/// Decodes an ICMPv6 error message (`msg` starts at the ICMPv6 type byte).
pub fn parse_v6(msg: &[u8]) -> Option<(IcmpKind, u8, u8, Option<u32>, Quoted)> {
    let (&ty, &code) = (msg.first()?, msg.get(1)?);
    let kind = match (ty, code) {
        (1, 1 | 5 | 6) => IcmpKind::AdminProhibited,
        (1, _) => IcmpKind::Unreachable,
        (2, _) => IcmpKind::PacketTooBig,
        (3, _) => IcmpKind::TimeExceeded,
        _ => return None,
    };
    let mtu = if ty == 2 { msg.get(4..8).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])) } else { None };
    let quoted = quoted_v6(msg.get(8..)?)?;
    Some((kind, ty, code, mtu, quoted))
}

fn quoted_v4(ip: &[u8]) -> Option<Quoted> {
    let vihl = *ip.first()?;
    if vihl >> 4 != 4 {
        return None;
    }
    let ihl = ((vihl & 0x0f) as usize) * 4;
    if ihl < 20 {
        return None;
    }
    let proto = *ip.get(9)?;
    let s = ip.get(12..16)?;
    let d = ip.get(16..20)?;
    let ports = ip.get(ihl..ihl + 4)?;
    Some(Quoted {
        proto,
        src: (IpAddr::V4(Ipv4Addr::new(s[0], s[1], s[2], s[3])), u16::from_be_bytes([ports[0], ports[1]])),
        dst: (IpAddr::V4(Ipv4Addr::new(d[0], d[1], d[2], d[3])), u16::from_be_bytes([ports[2], ports[3]])),
    })
}

fn quoted_v6(ip: &[u8]) -> Option<Quoted> {
    if ip.first()? >> 4 != 6 {
        return None;
    }
    let proto = *ip.get(6)?;
    let s: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
    let d: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
    // Only a transport header directly after the fixed header is followed; quoted extension
    // headers are rare in errors about TCP/UDP flows.
    let ports = ip.get(40..44)?;
    Some(Quoted {
        proto,
        src: (IpAddr::V6(Ipv6Addr::from(s)), u16::from_be_bytes([ports[0], ports[1]])),
        dst: (IpAddr::V6(Ipv6Addr::from(d)), u16::from_be_bytes([ports[2], ports[3]])),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ICMP type 3 code 4 with next-hop MTU 1400 (RFC 1191 §4 layout: unused u16, MTU u16),
    /// quoting an IPv4/TCP packet 10.0.0.2:3389 → 10.0.0.1:50000.
    #[test]
    fn frag_needed_with_mtu() {
        let mut m = vec![3, 4, 0, 0, 0, 0, 0x05, 0x78];
        let mut ip = vec![0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1];
        ip.extend_from_slice(&[0x0d, 0x3d, 0xc3, 0x50, 0, 0, 0, 1]);
        m.extend_from_slice(&ip);
        let (kind, _, _, mtu, q) = parse_v4(&m).expect("parsed");
        assert_eq!((kind.as_str(), mtu), ("frag-needed", Some(1400)));
        assert_eq!(q.proto, 6);
        assert_eq!(q.src, (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 3389));
        assert_eq!(q.dst.1, 50000);
        // truncated quote: no flow can be named
        assert!(parse_v4(&m[..30]).is_none());
        // echo request is not an error
        assert!(parse_v4(&[8, 0, 0, 0]).is_none());
    }

    /// ICMPv6 Packet Too Big (type 2) carries the MTU as a u32 at bytes 4–7 (RFC 4443 §3.2).
    #[test]
    fn packet_too_big_v6() {
        let mut m = vec![2, 0, 0, 0, 0, 0, 0x05, 0x00];
        let mut ip = vec![0x60, 0, 0, 0, 0, 20, 6, 64];
        ip.extend_from_slice(&[0u8; 15]);
        ip.push(1);
        ip.extend_from_slice(&[0u8; 15]);
        ip.push(2);
        ip.extend_from_slice(&[0x0d, 0x3d, 0xc3, 0x50]);
        m.extend_from_slice(&ip);
        let (kind, _, _, mtu, q) = parse_v6(&m).expect("parsed");
        assert_eq!((kind.as_str(), mtu, q.proto, q.src.1), ("packet-too-big", Some(1280), 6, 3389));
        assert!(parse_v6(&m[..20]).is_none());
    }
}
