//! ETW trace reader (`input::etl`) and its MS-XCA Plain LZ77 decompressor (`input::etl::lz77`).
//!
//! The fuzz bytes are decompressed as one LZ77 stream with a limit taken from their first two
//! bytes (the output never exceeds it, an error never panics), then read whole as an `.etl` by
//! the record walker and by the packet reader: events are numbered 1, 2, 3… in file order,
//! offsets lie inside the input, packets are never larger than
//! `MAX_CAPLEN` and come out in time order, and the count the reader reports is the count it delivered. Seed the corpus
//! with the shared corpus' `.etl` files (`../shared/corpus/etl/*.etl`). Run it with
//! `-detect_leaks=0`: a trace longer than one batch is read ahead on a second thread, and
//! LeakSanitizer reports that thread's thread-local bookkeeping (32 bytes from
//! `__cxa_thread_atexit_impl`) as a leak.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use rdplog::error::WarningSink;
use rdplog::input::etl::{lz77, read_packets, walk};
use rdplog::input::pcap::MAX_CAPLEN;

fuzz_target!(|data: &[u8]| {
    let limit = data.first().map_or(0, |&a| usize::from(a) << 8 | usize::from(data.get(1).copied().unwrap_or(0)));
    let mut out = Vec::new();
    let _ = lz77::decompress(data.get(2..).unwrap_or_default(), limit, &mut out);
    assert!(out.len() <= limit);

    let mut sink = WarningSink::new("fuzz.etl");
    let mut next = 1u64;
    let _ = walk::walk(Cursor::new(data), "fuzz.etl", &mut sink, |ev, _| {
        assert_eq!(ev.index, next, "events are numbered in file order");
        next += 1;
        assert!(ev.offset < data.len() as u64);
        std::hint::black_box(ev.ts.rfc3339(7));
    });

    let mut sink = WarningSink::new("fuzz.etl");
    let mut seen = 0u64;
    let mut last = i64::MIN;
    let result = read_packets(Cursor::new(data), "fuzz.etl", &mut sink, |pkt, _| {
        seen += 1;
        // Within the hold's caps (far above any fuzz input), packets come out in time order.
        assert!(pkt.ts.0 >= last, "packets in time order");
        last = pkt.ts.0;
        assert!(pkt.data.len() <= MAX_CAPLEN as usize);
        assert!(pkt.offset < data.len() as u64);
    });
    if let Ok(stats) = result {
        assert_eq!(stats.packets, seen);
    }
});
