//! Unit tests of the two-point comparison: hand-built views and records whose expected values
//! follow from the counts set here (the oracle is the arithmetic in each comment).

use super::*;
use crate::connection::{TcpFacts, from_events};
use crate::flow::tcp::{At, TcpDir};

fn dir(packets: u64, rsts: u32) -> DirView {
    DirView { packets, rsts, ..DirView::default() }
}

fn view(input: &str, point: Point, c2s: DirView, s2c: DirView, icmp: usize) -> View {
    let addr = |s: &str| Endpoint::Addr(s.parse().expect("address"));
    View {
        input: input.into(),
        point,
        client: addr("10.20.30.41:51501"),
        server: addr("203.0.113.15:3389"),
        first: Ts(0),
        last: Ts(1),
        offset_ns: 0,
        client_to_server: c2s,
        server_to_client: s2c,
        icmp,
    }
}

#[test]
fn loss_between_the_points_per_direction() {
    // The client's point saw 12 client→server packets, the server's 7: 5 lost between them.
    // The server sent 9 (seen at its point) and all 9 reached the client's point: none lost.
    let c = view("client.pcap", Point::Client, dir(12, 0), dir(9, 0), 0);
    let s = view("server.pcap", Point::Server, dir(7, 0), dir(9, 0), 0);
    let p = locate(&c, &s, true, true);
    assert_eq!(p.losses(), Some((5, 0)));
    assert!(!p.forged_rst() && !p.syn_never_arrived && p.icmp_only_at.is_none());
    assert_eq!(p.segment(), "between the client's capture point (client.pcap) and the server's (server.pcap)");
    // A server capture that does not cover the connection's time says nothing about loss.
    assert_eq!(locate(&c, &s, true, false).lost_to_server, None);
}

#[test]
fn a_rst_received_that_the_other_side_never_sent() {
    // The client's point saw one RST from the server (10 packets); the server's point saw the
    // server send 9 and no RST: the RST was made between the points, and nothing was lost.
    let c = view("a", Point::Client, dir(8, 0), dir(10, 1), 0);
    let s = view("b", Point::Server, dir(8, 0), dir(9, 0), 0);
    let p = locate(&c, &s, true, true);
    assert!(p.rst_not_sent_by_server && !p.rst_not_sent_by_client);
    assert_eq!(p.losses(), Some((0, 0)));
    // Toward the server: the server's point saw a client RST the client's point never saw.
    let c = view("a", Point::Client, dir(8, 0), dir(9, 0), 0);
    let s = view("b", Point::Server, dir(9, 1), dir(9, 0), 0);
    let p = locate(&c, &s, true, true);
    assert!(p.rst_not_sent_by_client && p.forged_rst());
    assert_eq!(p.losses(), Some((0, 0)));
}

#[test]
fn icmp_at_one_point_only() {
    let c = view("a", Point::Client, dir(3, 0), dir(0, 0), 2);
    let s = view("b", Point::Server, dir(3, 0), dir(0, 0), 0);
    assert_eq!(locate(&c, &s, true, true).icmp_only_at, Some(Point::Client));
    assert_eq!(locate(&s, &c, true, true).icmp_only_at, Some(Point::Server));
}

/// A record whose client's SYN is seen at `syn`, the SYN+ACK at `syn_ack`, with the first TTLs
/// of each direction.
fn record(input: &str, syn: i64, syn_ack: i64, ttl: (u8, u8)) -> Connection {
    let addr = |s: &str| Endpoint::Addr(s.parse().expect("address"));
    let mut c = from_events(addr("10.20.30.41:51501"), addr("203.0.113.15:3389"), Ts(syn), Ts(syn_ack), input.into());
    let mut c2s = TcpDir::default();
    c2s.syns.push(At { frame: 1, ts: Ts(syn) });
    c2s.ttl_first = Some(ttl.0);
    let mut s2c = TcpDir::default();
    s2c.syns.push(At { frame: 2, ts: Ts(syn_ack) });
    s2c.ttl_first = Some(ttl.1);
    c.tcp = Some(TcpFacts { client_to_server: c2s, server_to_client: s2c, ..TcpFacts::default() });
    c
}

#[test]
fn clock_offset_from_the_handshakes() {
    // Client point: SYN at 0, SYN+ACK at 2.1 ms (1 ms each way, 0.1 ms turnaround). Server point,
    // its clock 2.437 s ahead: SYN at 1 ms + 2.437 s, SYN+ACK 0.1 ms later. NTP's formula gives
    // ((2.438 + 2.4381) − (0 + 0.0021)) / 2 = 2.437 s exactly, the delay cancelling out.
    let a = record("client.pcap", 0, 2_100_000, (128, 122));
    let b = record("server.pcap", 2_438_000_000, 2_438_100_000, (122, 128));
    assert_eq!(handshake_offset(&a, &b), 2_437_000_000);
    assert_eq!(handshake_offset(&b, &a), -2_437_000_000);
    // TTLs: the client's packets are 6 hops fresher at the client's point.
    assert!(nearer_client(&a, &b) && !nearer_client(&b, &a));
    // Equal TTLs: the longer SYN → SYN+ACK interval (a full round trip) is the client's point.
    let a = record("client.pcap", 0, 2_100_000, (64, 64));
    let b = record("server.pcap", 2_438_000_000, 2_438_100_000, (64, 64));
    assert!(nearer_client(&a, &b) && !nearer_client(&b, &a));
}

/// A firewall that rewrites the sequence numbers too: the records share no ISN nor address,
/// but carry the same packets and payload bytes both ways 2.4 s apart: one connection. A third
/// record with other data stays apart.
#[test]
fn same_data_both_ways_pairs_without_the_isns() {
    let data = |c: &mut Connection, c2s: (u64, u64), s2c: (u64, u64)| {
        if let Some(t) = c.tcp.as_mut() {
            (t.client_to_server.packets, t.client_to_server.payload_bytes) = c2s;
            (t.server_to_client.packets, t.server_to_client.payload_bytes) = s2c;
        }
    };
    let mut a = record("client.pcap", 0, 2_100_000, (128, 122));
    let mut b = record("server.pcap", 2_438_000_000, 2_438_100_000, (122, 128));
    let mut other = record("server.pcap", 3_000_000_000, 3_000_100_000, (122, 128));
    b.client = Endpoint::Addr("198.51.100.7:61501".parse().expect("address"));
    data(&mut a, (35, 4650), (32, 17114));
    data(&mut b, (35, 4650), (32, 17114));
    data(&mut other, (12, 900), (10, 3000));
    assert_eq!(pairs(&[a.clone(), other.clone(), b.clone()]), vec![Pair { a: 0, b: 2 }]);
    // Two records that fit equally well: no guess.
    let mut twin = b.clone();
    twin.start = Ts(2_500_000_000);
    assert_eq!(pairs(&[a, b, twin]), vec![]);
}

/// An unanswered SYN at the client's point, and a server capture covering that time in which
/// the same server answers another client with an initial TTL (128: captured at the server):
/// the SYN never reached the server's point. Answering with TTL 122 (six routers away) the
/// other capture is not at the server, and nothing is claimed.
#[test]
fn an_unanswered_syn_the_server_point_never_saw() {
    let mut syn = record("client.pcap", 10_000_000_000, 10_000_000_000, (128, 0));
    syn.phases.tcp = crate::connection::Phase::Unanswered;
    if let Some(t) = syn.tcp.as_mut() {
        t.server_to_client = TcpDir::default();
    }
    syn.end = Ts(31_000_000_000);
    let spans: Spans = [
        ("client.pcap".to_string(), (Ts(0), Ts(40_000_000_000))),
        ("server.pcap".to_string(), (Ts(0), Ts(50_000_000_000))),
    ]
    .into_iter()
    .collect();
    for (ttl, located) in [(128, true), (122, false)] {
        let mut other = record("server.pcap", 1_000_000_000, 1_000_100_000, (128, ttl));
        other.client = Endpoint::Addr("10.20.30.77:50000".parse().expect("address"));
        let out = merge(vec![syn.clone(), other], &spans);
        let blocked = out.iter().find(|c| c.input == "client.pcap").expect("the attempt");
        assert_eq!(blocked.path.as_ref().is_some_and(|p| p.syn_never_arrived), located, "TTL {ttl}");
        assert_eq!(out.len(), 2);
    }
}
