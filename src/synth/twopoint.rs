//! Two capture points of one scripted conversation: what a capture at the client and one at the
//! server record of the same packets, with the stretch of path between them in the middle.
//!
//! The conversation is scripted as at the client's point, with the TTLs the hosts send. Between
//! the points every packet is delayed by `delay_ns`, loses `hops` from its TTL (RFC 791 §3.2),
//! and may have its addresses and ports rewritten by a NAT; the server's capture host runs
//! `offset_ns` ahead of the client's. Frames listed as lost cross only their sender's point;
//! frames a device made on the path (an injected RST) appear only at the point they travel
//! toward, unchanged. IPv4 only; the IP header checksum and the TCP/UDP checksum are computed
//! again after a rewrite (RFC 1071, pseudo-header of RFC 9293 §3.1 / RFC 768).
//!
//! It ends at the two frame lists; writing them as captures is the caller's.

use std::net::Ipv4Addr;

use super::conversation::{Frame, Link};
use crate::time::Ts;

/// An address and port as one point sees it.
pub type Addr = (Ipv4Addr, u16);

/// The stretch of path between the client's capture point and the server's.
#[derive(Clone, Copy, Debug)]
pub struct Path {
    pub link: Link,
    /// The client's address at its own point (tells the directions apart).
    pub client_ip: Ipv4Addr,
    pub hops: u8,
    pub delay_ns: i64,
    /// The server capture host's clock minus the client's.
    pub offset_ns: i64,
    /// The client's and the server's address and port at the server's point, when a NAT
    /// between the points rewrites them.
    pub nat: Option<(Addr, Addr)>,
}

/// What happened to particular frames between the points.
#[derive(Clone, Debug, Default)]
pub struct Between {
    /// Sent, and lost before the far point.
    pub lost: Vec<Frame>,
    /// Made by a device between the points (they carry a side's addresses).
    pub injected: Vec<Frame>,
}

/// The frames the client's point and the server's point capture, each in time order.
pub fn views(path: &Path, frames: &[Frame], between: &Between) -> (Vec<Frame>, Vec<Frame>) {
    let (mut at_client, mut at_server) = (Vec::new(), Vec::new());
    let offset = path.offset_ns;
    for f in frames {
        let from_client = src_ip(path.link, f) == Some(path.client_ip);
        let injected = between.injected.contains(f);
        let lost = between.lost.contains(f);
        let nat = path.nat.map(|(c, s)| if from_client { (c, s) } else { (s, c) });
        match (from_client, injected) {
            // A device made it toward the server: only the server's point sees it.
            (true, true) => at_server.push(rewrite(path.link, f, at(f.ts, offset), 0, nat)),
            // Toward the client: only the client's point.
            (false, true) => at_client.push(f.clone()),
            (true, false) => {
                at_client.push(f.clone());
                if !lost {
                    at_server.push(rewrite(path.link, f, at(f.ts, path.delay_ns + offset), path.hops, nat));
                }
            }
            (false, false) => {
                at_server.push(rewrite(path.link, f, at(f.ts, offset), 0, nat));
                if !lost {
                    at_client.push(rewrite(path.link, f, at(f.ts, path.delay_ns), path.hops, None));
                }
            }
        }
    }
    at_client.sort_by_key(|f| f.ts);
    at_server.sort_by_key(|f| f.ts);
    (at_client, at_server)
}

fn at(t: Ts, nanos: i64) -> Ts {
    Ts(t.0.saturating_add(nanos))
}

fn src_ip(link: Link, f: &Frame) -> Option<Ipv4Addr> {
    let ip = link.ip_part(&f.data);
    (ip.len() >= 20 && ip[0] >> 4 == 4).then(|| Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]))
}

/// `f` at time `ts`, its TTL `ttl_drop` lower, its addresses (source, destination) rewritten;
/// checksums computed again. Frames that are not IPv4 come back with only the time changed.
fn rewrite(link: Link, f: &Frame, ts: Ts, ttl_drop: u8, addrs: Option<(Addr, Addr)>) -> Frame {
    let mut data = f.data.clone();
    let h = link.header_len();
    if let Some(ip) = data.get_mut(h..)
        && ip.len() >= 20
        && ip[0] >> 4 == 4
    {
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]])).min(ip.len());
        ip[8] = ip[8].saturating_sub(ttl_drop);
        let proto = ip[9];
        let ports = matches!(proto, 6 | 17) && total >= ihl + 8;
        if let Some(((src, sport), (dst, dport))) = addrs {
            ip[12..16].copy_from_slice(&src.octets());
            ip[16..20].copy_from_slice(&dst.octets());
            if ports {
                ip[ihl..ihl + 2].copy_from_slice(&sport.to_be_bytes());
                ip[ihl + 2..ihl + 4].copy_from_slice(&dport.to_be_bytes());
            }
        }
        ip[10..12].copy_from_slice(&[0, 0]);
        let sum = !fold(sum16(&ip[..ihl], 0));
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        // The TCP checksum sits at byte 16 of its header, UDP's at byte 6.
        let at = match proto {
            6 if total >= ihl + 18 => Some(ihl + 16),
            17 if ports => Some(ihl + 6),
            _ => None,
        };
        if let Some(at) = at {
            ip[at..at + 2].copy_from_slice(&[0, 0]);
            let len = (total - ihl) as u32;
            let pseudo = sum16(&ip[12..20], 0) + u32::from(proto) + len;
            let sum = !fold(sum16(&ip[ihl..total], pseudo));
            // A UDP checksum of 0 means "none" (RFC 768): 0xffff stands for it.
            let sum = if proto == 17 && sum == 0 { 0xffff } else { sum };
            ip[at..at + 2].copy_from_slice(&sum.to_be_bytes());
        }
    }
    Frame { ts, data }
}

/// Ones-complement sum (RFC 1071) of big-endian 16-bit words, odd byte padded with zero.
fn sum16(data: &[u8], acc: u32) -> u32 {
    data.chunks(2).fold(acc, |a, w| a + u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
}

fn fold(mut s: u32) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::conversation::{Host, TcpConversation};

    const T0: Ts = Ts(1_772_442_900_000_000_000);

    fn path() -> Path {
        let nat = ((Ipv4Addr::new(198, 51, 100, 7), 40_001), (Ipv4Addr::new(10, 20, 1, 15), 3389));
        Path {
            link: Link::Ethernet,
            client_ip: Ipv4Addr::new(10, 20, 30, 41),
            hops: 6,
            delay_ns: 1_000_000,
            offset_ns: 2_000_000_000,
            nat: Some(nat),
        }
    }

    fn conversation() -> TcpConversation {
        let client = Host::new(Ipv4Addr::new(10, 20, 30, 41), 128);
        let server = Host::new(Ipv4Addr::new(203, 0, 113, 15), 128);
        TcpConversation::new(Link::Ethernet, client, 50_001, server, 3389, T0, 2_000_000, 1460, 77)
    }

    /// Parses with etherparse (an independent decoder) and checks the rewritten fields and that
    /// both checksums verify.
    #[test]
    fn the_server_point_sees_nat_addresses_later_with_lower_ttl() {
        let mut c = conversation();
        c.handshake().client_send(&[1; 100]);
        let frames = c.frames();
        let (at_client, at_server) = views(&path(), &frames, &Between::default());
        assert_eq!(at_client.len(), frames.len());
        assert_eq!(at_server.len(), frames.len());
        assert_eq!(at_client[0], frames[0]);
        let syn = etherparse::SlicedPacket::from_ethernet(&at_server[0].data).expect("valid frame");
        let Some(etherparse::NetSlice::Ipv4(ip)) = syn.net else { panic!("IPv4") };
        let h = ip.header();
        assert_eq!(
            (h.source_addr(), h.destination_addr(), h.ttl()),
            (Ipv4Addr::new(198, 51, 100, 7), Ipv4Addr::new(10, 20, 1, 15), 122)
        );
        assert_eq!(h.to_header().calc_header_checksum(), h.header_checksum());
        let Some(etherparse::TransportSlice::Tcp(tcp)) = syn.transport else { panic!("TCP") };
        assert_eq!((tcp.source_port(), tcp.destination_port()), (40_001, 3389));
        let sum = tcp.to_header().calc_checksum_ipv4_raw(h.source(), h.destination(), tcp.payload());
        assert_eq!(sum.ok(), Some(tcp.checksum()));
        // The SYN reaches the server's point 1 ms later, on a clock 2 s ahead.
        assert_eq!(at_server[0].ts.0 - frames[0].ts.0, 2_001_000_000);
    }

    #[test]
    fn lost_and_injected_frames_appear_at_one_point() {
        let mut c = conversation();
        c.handshake();
        let mark = c.sent();
        c.client_send_lost(&[2; 300], 2);
        let lost = c.sent_since(mark);
        let mark = c.sent();
        c.rst_injected(122);
        let injected = c.sent_since(mark);
        let frames = c.frames();
        let (at_client, at_server) = views(&path(), &frames, &Between { lost, injected });
        // 3 handshake + 3 transmissions + the RST at the client; the handshake only at the server.
        assert_eq!((at_client.len(), at_server.len()), (7, 3));
    }
}
