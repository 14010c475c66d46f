//! Link, IP and transport slicing (`input::link::decode`): the fuzz bytes are one captured frame,
//! decoded as every link type rdplog supports (and one it does not). On success the transport
//! slice is walked (TCP options, UDP payload, ICMP errors through `flow::icmp`) the way the flow
//! table does.
#![no_main]

use etherparse::TransportSlice;
use libfuzzer_sys::fuzz_target;
use rdplog::flow::icmp::{parse_v4, parse_v6};
use rdplog::input::link::{
    LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_LOOP,
    LINKTYPE_NULL, LINKTYPE_RAW, LINKTYPE_RAW_OPENBSD, Skip, decode,
};

const LINKTYPES: [u32; 10] = [
    LINKTYPE_NULL,
    LINKTYPE_ETHERNET,
    LINKTYPE_RAW_OPENBSD,
    LINKTYPE_RAW,
    LINKTYPE_LOOP,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL2,
    147, // LINKTYPE_USER0: unsupported
];

fuzz_target!(|data: &[u8]| {
    for linktype in LINKTYPES {
        match decode(linktype, data) {
            Ok(ip) => {
                std::hint::black_box((ip.src, ip.dst, ip.ttl, ip.ip_id, ip.fragment));
                match ip.transport {
                    Some(TransportSlice::Tcp(tcp)) => {
                        std::hint::black_box((tcp.sequence_number(), tcp.payload().len()));
                        for opt in tcp.options_iterator() {
                            std::hint::black_box(opt.is_ok());
                        }
                    }
                    Some(TransportSlice::Udp(udp)) => {
                        std::hint::black_box(udp.payload().len());
                    }
                    Some(TransportSlice::Icmpv4(icmp)) => {
                        std::hint::black_box(parse_v4(icmp.slice()).is_some());
                    }
                    Some(TransportSlice::Icmpv6(icmp)) => {
                        std::hint::black_box(parse_v6(icmp.slice()).is_some());
                    }
                    Some(_) | None => {}
                }
            }
            Err(Skip::UnsupportedLink(l)) => assert_eq!(l, 147),
            Err(Skip::Malformed(m)) => assert!(!m.is_empty()),
            Err(Skip::NotIp) => {}
        }
    }
});
