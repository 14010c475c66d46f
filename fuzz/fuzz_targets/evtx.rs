//! `.evtx` reader (`events::evtx::read_evtx_counted` on a `Cursor`): the fuzz bytes are the whole
//! file, nothing prepended. Every event is wanted, so the field extraction of both record paths
//! (our BinXML reader and the evtx crate's JSON fallback) runs on every record, and every event
//! then goes through the catalogue (`type_event`). Checks that the reader's counts add up.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use rdplog::error::WarningSink;
use rdplog::events::catalog::type_event;
use rdplog::events::evtx::read_evtx_counted;

fuzz_target!(|data: &[u8]| {
    let mut sink = WarningSink::new("fuzz.evtx");
    let Ok((stats, events, counters)) = read_evtx_counted(Cursor::new(data), "fuzz.evtx", &|_, _| true, &mut sink)
    else {
        return;
    };
    assert_eq!(events.len() as u64, stats.records, "every record counted is kept when all are wanted");
    assert_eq!(counters.typed + counters.rendered, stats.records);
    for e in &events {
        std::hint::black_box(type_event(e));
    }
});
