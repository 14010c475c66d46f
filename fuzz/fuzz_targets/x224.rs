//! TPKT / X.224 Connection Request and Confirm / RDP_NEG parsing (`rdp::x224`), and the per-flow
//! analyzer that drives it (`rdp::analyzer::RdpAnalyzer`).
//!
//! The fuzz bytes are parsed whole as a TPKT, a Connection Request and a Connection Confirm, and
//! run through the cheap sniffers; the parsers must account for every byte (what they return
//! plus what they consumed is the input) and agree with the sniffers. Then the same bytes are
//! read as a conversation, segments of `(header, payload)` where the header's high bit is the
//! direction and its low 7 bits the payload length, and fed to an `RdpAnalyzer`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rdplog::flow::tcp::At;
use rdplog::rdp::analyzer::{Dir, RdpAnalyzer};
use rdplog::rdp::x224::{
    looks_like_connection_request, looks_like_tpkt, parse_connection_confirm, parse_connection_request, parse_tpkt,
};
use rdplog::time::Ts;

fuzz_target!(|data: &[u8]| {
    if let Ok((rest, tpdu)) = parse_tpkt(data) {
        assert_eq!(4 + tpdu.len() + rest.len(), data.len());
        assert_eq!(usize::from(u16::from_be_bytes([data[2], data[3]])), 4 + tpdu.len());
    }
    if let Ok((rest, cr)) = parse_connection_request(data) {
        assert!(rest.len() + 7 <= data.len());
        if data[1] == 0 {
            assert!(looks_like_tpkt(data), "parsed as a Connection Request but not sniffed as TPKT");
        }
        for text in cr.cookie.iter().chain(cr.routing_token.iter()) {
            assert!(text.len() <= 256 * 3, "cookie text is capped at 256 input bytes");
        }
    }
    if let Ok((rest, _cc)) = parse_connection_confirm(data) {
        assert!(rest.len() + 7 <= data.len());
    }
    std::hint::black_box((looks_like_tpkt(data), looks_like_connection_request(data)));

    let mut analyzer = RdpAnalyzer::new();
    let mut warnings = Vec::new();
    let mut rest = data;
    let mut frame = 0u64;
    while let Some((&head, tail)) = rest.split_first() {
        let (seg, tail) = tail.split_at(usize::from(head & 0x7f).min(tail.len()));
        rest = tail;
        frame += 1;
        let dir = if head & 0x80 == 0 { Dir::ToServer } else { Dir::ToClient };
        analyzer.feed(dir, seg, At { frame, ts: Ts(frame as i64 * 1000) }, &mut warnings);
        if analyzer.is_done() {
            break;
        }
    }
    std::hint::black_box(&analyzer.summary);
});
