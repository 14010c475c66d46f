//! Two-point scenarios: the same conversations captured at the client (`capture.pcap`) and at
//! the server (`server.pcap`), a NAT between them (the client connects to 203.0.113.15, the
//! server sees the client as 198.51.100.7 and itself as 10.20.1.15), six routers, 1 ms one way,
//! and the server's capture host's clock 2.437 s ahead of the client's. Each places one fault
//! on the stretch between the points: packets lost there, a RST a device there made, a SYN
//! dropped there.

use std::io;
use std::net::Ipv4Addr;

pub use super::kit::Case;
use super::kit::*;
use crate::synth::conversation::{Frame, Link, TcpConversation, UdpExchange, merge};
use crate::synth::rdp;
use crate::synth::twopoint::{Between, Path, views};
use crate::time::Ts;

const LINK: Link = Link::Ethernet;
/// The server's capture host's clock minus the client's.
pub const OFFSET: i64 = 2_437 * MS;
const VIP: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 15);
const NAT_CLIENT: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 20, 1, 15);
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 20, 30, 41);

/// A connection from the workstation to the published address, as scripted at the client.
fn vip_conv(port: u16, start: Ts, seed: u32) -> TcpConversation {
    let [a, b, c, d] = VIP.octets();
    conv(LINK, client(), port, v4(a, b, c, d, 128), 3389, start, seed)
}

/// The path for the connection from client port `port` (the NAT maps it to `port + 10000`).
fn path(port: u16) -> Path {
    let nat = ((NAT_CLIENT, port.wrapping_add(10_000)), (SERVER, 3389));
    Path { link: LINK, client_ip: CLIENT, hops: 6, delay_ns: MS, offset_ns: OFFSET, nat: Some(nat) }
}

/// A DNS lookup by `host` at `t` (unrelated traffic that shows each capture running).
fn lookup(host: Ipv4Addr, t: Ts) -> io::Result<Vec<Frame>> {
    let [a, b, c, d] = host.octets();
    let mut dns = UdpExchange::new(LINK, v4(a, b, c, d, 128), 53_100, v4(10, 20, 1, 2, 128), 53, t, MS);
    let (query, answer) = dns_lookup();
    dns.send(true, &query)?.send(false, &answer)?;
    Ok(dns.frames())
}

/// Both captures of the connections (frames scripted at the client, client port, what happened
/// between the points), each with a lookup before and after: the client's `capture.pcap` and
/// the server's `server.pcap`.
fn two_captures(conns: Vec<(Vec<Frame>, u16, Between)>) -> io::Result<Case> {
    let end = conns.iter().filter_map(|(f, _, _)| f.last().map(|f| f.ts)).max().unwrap_or(T0);
    let mut at_client = vec![lookup(CLIENT, T0)?, lookup(CLIENT, at(end, 5 * SEC))?];
    let mut at_server = vec![lookup(SERVER, at(T0, OFFSET))?, lookup(SERVER, at(end, 5 * SEC + OFFSET))?];
    for (frames, port, between) in &conns {
        let (c, s) = views(&path(*port), frames, between);
        at_client.push(c);
        at_server.push(s);
    }
    let server = pcap(LINK, false, false, &merge(at_server))?;
    Ok(Case {
        capture: pcap(LINK, false, false, &merge(at_client))?,
        logs: None,
        more: vec![("server.pcap".into(), server)],
    })
}

/// A working session whose path dies between the points: the client's next segment is sent six
/// times (0.3 s RTO doubling) and never reaches the server's point; nor does the client's final
/// RST. Everything the server sent reached the client's point.
pub fn loss() -> io::Result<Case> {
    let port = 51_501;
    let mut c = vip_conv(port, at(T0, SEC), 1501);
    session(&mut c, "jdoe", false);
    for (cl, sv) in [(92, 1800), (60, 650)] {
        c.wait(2 * SEC).client_send(&rdp::app_data(cl, 0x17)).server_send(&rdp::app_data(sv, 0x17));
    }
    c.wait(1500 * MS);
    let mark = c.sent();
    c.client_send_lost(&rdp::app_data(295, 0x6c), 5);
    c.wait(9600 * MS).rst_from_client();
    let lost = c.sent_since(mark);
    two_captures(vec![(c.frames(), port, Between { lost, injected: Vec::new() })])
}

/// After NLA, a device between the points sends the client a RST in the server's name, with
/// the TTL the server's packets have at the client's point; the server's point never sees the
/// server send it, and the server goes on waiting.
pub fn injected_reset() -> io::Result<Case> {
    let port = 51_601;
    let mut c = vip_conv(port, at(T0, SEC), 1601);
    through_nla(&mut c, "jdoe");
    c.wait(200 * MS);
    let mark = c.sent();
    c.rst_injected(122);
    let injected = c.sent_since(mark);
    two_captures(vec![(c.frames(), port, Between { lost: Vec::new(), injected })])
}

/// A working session, closed by the client; ten seconds later a new attempt whose SYNs (three
/// retransmissions) leave the client's point and never reach the server's.
pub fn syn_dropped() -> io::Result<Case> {
    let (first, second) = (51_701, 51_702);
    let mut ok = vip_conv(first, at(T0, SEC), 1701);
    session(&mut ok, "jdoe", true);
    let mut blocked = vip_conv(second, at(ok.now(), 10 * SEC), 1702);
    blocked.syn_unanswered(3);
    let lost = blocked.sent_since(0);
    let ok = (ok.frames(), first, Between::default());
    two_captures(vec![ok, (blocked.frames(), second, Between { lost, injected: Vec::new() })])
}
