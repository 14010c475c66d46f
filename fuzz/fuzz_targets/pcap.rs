//! Legacy pcap reader (`input::pcap::read_packets`): the fuzz bytes are the whole file, read
//! through a `Cursor`, every packet is visited. Inputs that start with the pcapng magic are left
//! to the `pcapng` target. Checks what the reader promises its callers: frames numbered 1, 2, 3…,
//! no packet larger than `MAX_CAPLEN`, and the packet count it reports.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use rdplog::error::WarningSink;
use rdplog::input::pcap::{MAX_CAPLEN, read_packets};

fuzz_target!(|data: &[u8]| {
    if data.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        return;
    }
    let mut sink = WarningSink::new("fuzz.pcap");
    let mut seen = 0u64;
    let result = read_packets(Cursor::new(data), "fuzz.pcap", &mut sink, |pkt, _warn| {
        seen += 1;
        assert_eq!(pkt.frame, seen, "frames are numbered in file order");
        assert!(pkt.data.len() <= MAX_CAPLEN as usize);
        assert!(pkt.offset < data.len() as u64);
        std::hint::black_box(pkt.ts.rfc3339(9));
    });
    if let Ok(stats) = result {
        assert_eq!(stats.packets, seen);
    }
});
