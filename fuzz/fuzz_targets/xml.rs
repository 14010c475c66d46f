//! XML event-export reader (`events::xml::read_xml` on a `Cursor`, UTF-8 or UTF-16): the fuzz
//! bytes are the whole file. Every event is wanted, and every event then goes through the
//! catalogue (`type_event`). Also runs the format sniffer on the same bytes.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use rdplog::error::WarningSink;
use rdplog::events::catalog::type_event;
use rdplog::events::xml::{read_xml, sniff};

fuzz_target!(|data: &[u8]| {
    std::hint::black_box(sniff(data));
    let mut sink = WarningSink::new("fuzz.xml");
    let (stats, events) =
        read_xml(Cursor::new(data), "fuzz.xml", &|_, _| true, &mut sink).expect("a Cursor never fails to read");
    assert_eq!(events.len() as u64, stats.records);
    assert!(!events.is_empty() || sink.total() > 0, "nothing read must say why");
    for e in &events {
        std::hint::black_box(type_event(e));
    }
});
