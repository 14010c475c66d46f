//! UDP flows on the RDP-UDP port: who sent SYNs, whether the server answered, how much data.
//!
//! Only datagrams to or from UDP 3389 (RDP-UDP, MS-RDPEUDP) are tracked; other UDP traffic is
//! dropped before it reaches the flow table.

use std::net::SocketAddr;

use super::icmp::IcmpError;
use super::tcp::At;
use crate::rdp::udp::{RdpUdpSyn, parse_syn};

/// Client SYN datagrams remembered per flow (enough to show the retry pattern).
const MAX_SYNS: usize = 16;

#[derive(Clone, Debug)]
pub struct UdpFlow {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub first: At,
    pub last: At,
    pub c2s_datagrams: u64,
    pub s2c_datagrams: u64,
    pub c2s_bytes: u64,
    pub s2c_bytes: u64,
    /// Client SYN datagrams (first + retransmissions).
    pub syns: Vec<At>,
    pub syn_count: u32,
    pub syn: Option<RdpUdpSyn>,
    pub syn_ack: Option<(At, RdpUdpSyn)>,
    pub icmp: Vec<IcmpError>,
}

impl UdpFlow {
    pub fn new(client: SocketAddr, server: SocketAddr, at: At) -> Self {
        UdpFlow {
            client,
            server,
            first: at,
            last: at,
            c2s_datagrams: 0,
            s2c_datagrams: 0,
            c2s_bytes: 0,
            s2c_bytes: 0,
            syns: Vec::new(),
            syn_count: 0,
            syn: None,
            syn_ack: None,
            icmp: Vec::new(),
        }
    }

    /// Records one datagram; `to_server` says its direction.
    pub fn on_datagram(&mut self, to_server: bool, payload: &[u8], at: At) {
        self.last = at;
        let syn = parse_syn(payload);
        if to_server {
            self.c2s_datagrams += 1;
            self.c2s_bytes += payload.len() as u64;
            if let Some(s) = syn.filter(|s| !s.is_syn_ack()) {
                self.syn_count += 1;
                if self.syns.len() < MAX_SYNS {
                    self.syns.push(at);
                }
                self.syn.get_or_insert(s);
            }
        } else {
            self.s2c_datagrams += 1;
            self.s2c_bytes += payload.len() as u64;
            if let Some(s) = syn.filter(|s| s.is_syn_ack()) {
                if self.syn_ack.is_none() {
                    self.syn_ack = Some((at, s));
                }
            }
        }
    }
}

/// Decides which side of a UDP datagram is the RDP-UDP client: the sender of a SYN
/// (snSourceAck = 0xFFFFFFFF), else the side that is not on port 3389.
pub fn client_side(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> (SocketAddr, SocketAddr) {
    if let Some(s) = parse_syn(payload) {
        return if s.is_syn_ack() { (dst, src) } else { (src, dst) };
    }
    if src.port() == 3389 && dst.port() != 3389 { (dst, src) } else { (src, dst) }
}
