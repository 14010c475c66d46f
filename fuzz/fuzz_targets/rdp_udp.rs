//! MS-RDPEUDP SYN / SYN+ACK parsing (`rdp::udp::parse_syn` and the `RdpUdpSyn` helpers), plus the
//! UDP flow bookkeeping built on it (`flow::udp::client_side`, `UdpFlow::on_datagram`). The fuzz
//! bytes are one datagram payload; the parse must agree with the raw header fields it reads.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use libfuzzer_sys::fuzz_target;
use rdplog::flow::tcp::At;
use rdplog::flow::udp::{UdpFlow, client_side};
use rdplog::rdp::udp::{flags, parse_syn, version_name};
use rdplog::time::Ts;

fuzz_target!(|data: &[u8]| {
    let parsed = parse_syn(data);
    if let Some(syn) = &parsed {
        assert!(data.len() >= 16, "a SYN needs its 16 fixed bytes");
        assert_eq!(syn.flags, u16::from_be_bytes([data[6], data[7]]));
        assert!(syn.flags & flags::SYN != 0);
        assert_eq!(syn.correlation_id.is_some(), syn.flags & flags::CORRELATION_ID != 0 && data.len() >= 48);
        assert!(!syn.cookie_hash_present || syn.version.is_some());
        let names = syn.flag_names();
        assert!(names.starts_with("SYN"));
        std::hint::black_box((syn.is_syn_ack(), syn.is_client_syn(), syn.is_lossy(), syn.version.map(version_name)));
    } else if data.len() >= 16 {
        assert_eq!(u16::from_be_bytes([data[6], data[7]]) & flags::SYN, 0);
    }

    let a = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 50000);
    let b = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 3389);
    let (client, server) = client_side(a, b, data);
    assert!((client, server) == (a, b) || (client, server) == (b, a));
    let at = At { frame: 1, ts: Ts(0) };
    let mut flow = UdpFlow::new(client, server, at);
    flow.on_datagram(true, data, at);
    flow.on_datagram(false, data, At { frame: 2, ts: Ts(1) });
    assert_eq!(flow.c2s_bytes, data.len() as u64);
    assert_eq!(flow.syn.is_some(), parsed.as_ref().is_some_and(|s| !s.is_syn_ack()));
    assert_eq!(flow.syn_ack.is_some(), parsed.as_ref().is_some_and(|s| s.is_syn_ack()));
});
