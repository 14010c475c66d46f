//! TLS record walker (`rdp::tls::TlsStream`): the first byte says how many of the following bytes
//! are chunk lengths (0–15); the rest is one direction's byte stream, fed in chunks of those
//! lengths (cycled; a zero length feeds an empty slice, then one byte). The same stream fed in one piece must
//! give the same summary, warnings and offset: the state machine may not depend on where TCP
//! happened to cut the stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rdplog::rdp::tls::{TlsStream, looks_like_tls_record};

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else { return };
    let (lens, stream) = rest.split_at(usize::from(n % 16).min(rest.len()));

    let mut whole = TlsStream::new();
    let mut whole_warnings = Vec::new();
    whole.feed(stream, &mut whole_warnings);

    let mut chunked = TlsStream::new();
    let mut chunked_warnings = Vec::new();
    let mut left = stream;
    let mut i = 0;
    while !left.is_empty() {
        let len = lens.get(i % lens.len().max(1)).map_or(left.len(), |&l| usize::from(l));
        if len == 0 {
            chunked.feed(&[], &mut chunked_warnings);
        }
        let (piece, tail) = left.split_at(len.clamp(1, left.len()));
        chunked.feed(piece, &mut chunked_warnings);
        left = tail;
        i += 1;
    }

    assert_eq!(whole.summary(), chunked.summary(), "summary depends on the chunking");
    assert_eq!(whole_warnings, chunked_warnings, "warnings depend on the chunking");
    assert_eq!(whole.is_done(), chunked.is_done());
    assert_eq!(whole.stream_offset(), chunked.stream_offset());
    assert!(whole.stream_offset() <= stream.len() as u64);
    let s = whole.summary();
    assert!(s.alerts.len() <= 16 && s.certificates.len() <= 8 && s.encrypted_sizes.len() <= 16);
    std::hint::black_box(looks_like_tls_record(stream));
});
