//! pcapng reader (`input::pcap::read_packets` on a stream that starts with a Section Header
//! Block): the fuzz bytes are the whole file, read through a `Cursor`, every packet is visited.
//! Inputs without the SHB magic are left to the `pcap` target. Checks frame numbering, that
//! packet data never exceeds the block that carried it, and the packet count reported.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use rdplog::error::WarningSink;
use rdplog::input::pcap::{MAX_BLOCK, read_packets};

fuzz_target!(|data: &[u8]| {
    if !data.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        return;
    }
    let mut sink = WarningSink::new("fuzz.pcapng");
    let mut seen = 0u64;
    let result = read_packets(Cursor::new(data), "fuzz.pcapng", &mut sink, |pkt, _warn| {
        seen += 1;
        assert_eq!(pkt.frame, seen, "frames are numbered in file order");
        assert!(pkt.data.len() <= MAX_BLOCK as usize);
        assert!(pkt.offset < data.len() as u64);
        std::hint::black_box(pkt.ts.rfc3339(9));
    });
    let stats = result.expect("a stream with the pcapng magic is never a fatal error");
    assert_eq!(stats.packets, seen);
});
