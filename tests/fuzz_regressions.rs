//! Inputs from the cargo-fuzz targets in `fuzz/` (README, "Fuzzing"): the bug they found, and
//! the most telling inputs of the evtx, pcapng and tls corpora. Each must be read to the end
//! without a panic or a hang, and its damage must come out as a warning.
//!
//! Corpus inputs were minimised keeping their outcome (same warnings, same record or packet
//! count): bytes were cut from the end and zeroed wherever the outcome did not change, so most
//! are written here as their few non-zero runs over a zero-filled buffer (`sparse`). The two
//! larger evtx inputs are files under `tests/regressions/`. Expected values are the readers'
//! own output, checked by hand against the bytes.

use std::io::Cursor;
use std::path::Path;

use rdplog::error::{Warning, WarningSink};
use rdplog::events::evtx::{EvtxCounters, read_evtx_counted};
use rdplog::events::{LogStats, WinEvent};
use rdplog::input::pcap::read_packets;
use rdplog::rdp::tls::{TlsStream, TlsSummary};
use rdplog::report::{Format, render};

fn hex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    s.chunks(2).map(|p| u8::from_str_radix(std::str::from_utf8(p).expect("ascii"), 16).expect("hex digit")).collect()
}

/// `len` zero bytes with the given hex runs written at their offsets.
fn sparse(len: usize, runs: &[(usize, &str)]) -> Vec<u8> {
    let mut out = vec![0u8; len];
    for &(at, h) in runs {
        let b = hex(h);
        out[at..at + b.len()].copy_from_slice(&b);
    }
    out
}

fn has(warnings: &[String], needle: &str) -> bool {
    warnings.iter().any(|w| w.contains(needle))
}

// ---------------------------------------------------------------------------------------------
// TLS (`rdp::tls::TlsStream`)

/// Feeds the stream whole and one byte at a time (the fuzz target's invariant: the result must
/// not depend on how TCP cut the stream) and returns the one outcome.
fn tls(stream: &[u8]) -> (TlsSummary, Vec<String>, bool) {
    let (mut whole, mut whole_w) = (TlsStream::new(), Vec::new());
    whole.feed(stream, &mut whole_w);
    let (mut bytes, mut bytes_w) = (TlsStream::new(), Vec::new());
    for b in stream {
        bytes.feed(std::slice::from_ref(b), &mut bytes_w);
    }
    assert_eq!(whole.summary(), bytes.summary());
    assert_eq!(whole_w, bytes_w);
    assert_eq!(whole.stream_offset(), bytes.stream_offset());
    (whole.summary().clone(), whole_w, whole.is_done())
}

/// Found by the `tls` target: the notice that caps a direction's warnings named the offset where
/// the current chunk started, so its text changed with the TCP segmentation. One handshake
/// record holding 16 empty ClientHellos (type 1, length 0): 15 parse warnings, then the notice,
/// which must name the 16th message (record header 5 + 15 × 4 bytes = offset 65).
#[test]
fn tls_warning_cap_notice_does_not_depend_on_segmentation() {
    let mut stream = hex("16 03 01 00 40");
    for _ in 0..16 {
        stream.extend_from_slice(&hex("01 00 00 00"));
    }
    let (summary, warnings, done) = tls(&stream);
    assert_eq!(warnings.len(), 16, "{warnings:?}");
    assert_eq!(warnings[0], "TLS offset 5: handshake message type 1 could not be parsed");
    assert_eq!(warnings[14], "TLS offset 61: handshake message type 1 could not be parsed");
    assert_eq!(warnings[15], "TLS offset 65: further TLS warnings for this direction suppressed");
    assert_eq!(summary.handshake_messages, vec![1; 16]);
    assert!(summary.client_hello.is_none() && !done);
}

/// A handshake message declaring 2^16 bytes (type 0, u24 length 0x010000) in a record that
/// declares 512 and holds 4: over the 64 KiB cap with its header, so handshake parsing stops
/// without buffering anything, while the record walk goes on.
#[test]
fn tls_oversized_handshake_message() {
    let (summary, warnings, done) = tls(&hex("16 03 00 02 00  00 01 00 00"));
    assert_eq!(
        warnings,
        ["TLS offset 5: handshake message declares 65536 bytes, over the 65536-byte cap; handshake parsing stopped"]
    );
    assert_eq!(summary.records, 1);
    assert!(summary.handshake_messages.is_empty() && !done);
}

/// An all-zero 38-byte ServerHello, then an alert record of length 0: the hello is reported as
/// unparseable, the empty alert is kept as an (encrypted) alert at its record's offset.
#[test]
fn tls_bad_server_hello_then_empty_alert() {
    let mut stream = sparse(47, &[(0, "16 03 00 00 2a  02 00 00 26")]);
    stream.extend_from_slice(&hex("15 03 00 00 00"));
    let (summary, warnings, done) = tls(&stream);
    assert_eq!(
        warnings,
        [
            "TLS offset 5: handshake message type 2 could not be parsed",
            "TLS offset 47: alert record of 0 bytes is not a plain 2-byte alert; kept as encrypted"
        ]
    );
    assert_eq!(summary.records, 2);
    assert!(summary.server_hello.is_none());
    assert_eq!(summary.alerts.len(), 1);
    assert!(summary.alerts[0].encrypted && summary.alerts[0].stream_offset == 47);
    assert!(!done);
}

/// Two handshake records of zeros (each 4 zero bytes is an empty message of type 0; the second
/// record leaves 2 bytes of a header), then a ChangeCipherSpec: the half header is reported as
/// cut off, and the kept message types stop at their cap of 32.
#[test]
fn tls_change_cipher_spec_cuts_off_a_handshake_message() {
    let stream = sparse(833, &[(0, "16 03 00 00 2a"), (47, "16 03 00 03 08"), (828, "14 03")]);
    let (summary, warnings, done) = tls(&stream);
    assert_eq!(
        warnings,
        ["TLS offset 828: ChangeCipherSpec cut off the handshake message started at offset 826 after 2 bytes"]
    );
    assert_eq!(summary.records, 3);
    assert!(summary.change_cipher_spec);
    assert_eq!(summary.handshake_messages, vec![0; 32]);
    assert!(!done);
}

/// Record type 24 (heartbeat) is counted, warned about once, and skipped.
#[test]
fn tls_uninterpreted_record_type() {
    let (summary, warnings, done) = tls(&hex("18 03 00 00 00"));
    assert_eq!(warnings, ["TLS offset 0: record type 24 is not interpreted"]);
    assert_eq!((summary.records, summary.unknown_records), (1, 1));
    assert!(!done);
}

// ---------------------------------------------------------------------------------------------
// pcapng (`input::pcap::read_packets`)

/// Reads a capture from memory: (packets delivered, packets counted, warnings).
fn pcapng(bytes: &[u8]) -> (u64, u64, Vec<Warning>) {
    let mut sink = WarningSink::new("fuzz.pcapng");
    let mut delivered = 0;
    let stats = read_packets(Cursor::new(bytes), "fuzz.pcapng", &mut sink, |_, _| delivered += 1)
        .expect("a stream with the pcapng magic reads");
    assert_eq!(stats.format, "pcapng");
    (delivered, stats.packets, sink.list)
}

fn messages(warnings: &[Warning]) -> Vec<String> {
    warnings.iter().map(|w| format!("@{} {}", w.offset, w.message)).collect()
}

/// A Section Header Block whose lengths agree (108) but whose byte-order magic is zero:
/// pcap-parser rejects it, the block is skipped whole, and the zero padding after it is
/// reported as a corrupt block.
#[test]
fn pcapng_section_header_without_byte_order_magic() {
    let (delivered, packets, w) = pcapng(&sparse(120, &[(0, "0a0d0d0a 6c000000"), (104, "6c000000")]));
    assert_eq!((delivered, packets), (0, 0));
    assert_eq!(
        messages(&w),
        [
            "@0 malformed block of type 0x0a0d0d0a (108 bytes) skipped: HeaderNotRecognized",
            "@108 corrupt block length 0 (block type 0x00000000); skipped 12 bytes to the next plausible block",
        ]
    );
}

/// A damaged SHB (trailing length 0), then an Enhanced Packet Block before any Interface
/// Description Block: the packet names interface 0, which the section never described.
#[test]
fn pcapng_packet_before_any_interface() {
    let (delivered, packets, w) =
        pcapng(&sparse(160, &[(0, "0a0d0d0a 6c000000"), (48, "06000000 64000000"), (144, "64")]));
    assert_eq!((delivered, packets), (0, 0));
    let m = messages(&w);
    assert_eq!(m.len(), 3, "{m:?}");
    assert_eq!(
        m[0],
        "@0 block length 108 does not match its trailing copy 0; skipped 48 bytes to the next plausible block"
    );
    assert_eq!(m[1], "@48 packet refers to interface 0 but section 0 describes only 0");
    assert_eq!(w[1].frame, Some(1));
}

/// An EPB whose captured length (0xffffffff) runs past its block: pcap-parser's length check
/// fails ("Verify"), the block is skipped, and the cut-off block after it is reported.
#[test]
fn pcapng_packet_with_impossible_captured_length() {
    let bytes = sparse(
        264,
        &[(0, "0a0d0d0a 6c000000"), (100, "06000000 98000000"), (120, "ffffffff"), (248, "98000000"), (256, "58")],
    );
    let (delivered, packets, w) = pcapng(&bytes);
    assert_eq!((delivered, packets), (0, 0));
    let m = messages(&w);
    assert_eq!(m.len(), 3, "{m:?}");
    assert_eq!(m[1], "@100 malformed block of type 0x00000006 (152 bytes) skipped: Verify");
    assert!(m[2].starts_with("@252 last block is truncated: needs 88 bytes, file ends after 12"), "{m:?}");
}

/// An Interface Description Block with if_tsresol 0x19 (10^-25 s, more units per second than
/// 64 bits hold): the reader warns and assumes microseconds.
#[test]
fn pcapng_interface_with_impossible_time_resolution() {
    let bytes = sparse(
        256,
        &[
            (0, "0a0d0d0a 1c000000"),
            (212, "01000000 20000000"),
            (228, "0900 0100 19"), // option 9 (if_tsresol), length 1, value 0x19
            (240, "20000000"),
            (248, "64000000"),
        ],
    );
    let (delivered, packets, w) = pcapng(&bytes);
    assert_eq!((delivered, packets), (0, 0));
    let m = messages(&w);
    assert_eq!(m.len(), 3, "{m:?}");
    assert_eq!(m[1], "@212 interface 0 has an invalid if_tsresol 0x19; assuming microseconds");
}

/// An SHB with block length 0: the reader re-synchronises on the IDB after it, and all five
/// (empty) packets that follow are delivered.
#[test]
fn pcapng_resynchronises_after_a_zero_length_section_header() {
    let bytes = sparse(
        808,
        &[
            (0, "0a0d0d0a"),
            (108, "01000000 14000000"),          // IDB of 20 bytes (link type 0)
            (124, "14000000 06000000 5c000000"), // its trailing length; an EPB of 92 bytes
            (216, "5c000000 06000000 5c000000"), // (each EPB: interface 0, no data)
            (308, "5c000000 06000000 5c000000"),
            (400, "5c000000 06000000 10010000"), // an EPB of 272 bytes
            (672, "10010000 06000000 78000000"), // an EPB of 120 bytes
            (792, "78000000"),                   // its trailing length; 12 zero bytes follow
        ],
    );
    let (delivered, packets, w) = pcapng(&bytes);
    assert_eq!((delivered, packets), (5, 5));
    let m = messages(&w);
    assert_eq!(
        m,
        [
            "@0 corrupt block length 0 (block type 0x0a0d0d0a); skipped 108 bytes to the next plausible block",
            "@796 corrupt block length 0 (block type 0x00000000); skipped 12 bytes to the next plausible block",
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// evtx (`events::evtx::read_evtx_counted`)

const ALL: &(dyn Fn(&str, u16) -> bool + Sync) = &|_, _| true;

fn evtx(bytes: Vec<u8>) -> (LogStats, Vec<WinEvent>, EvtxCounters, Vec<String>) {
    let mut sink = WarningSink::new("fuzz.evtx");
    let (stats, events, counters) =
        read_evtx_counted(Cursor::new(bytes), "fuzz.evtx", ALL, &mut sink).expect("an ElfFile header reads");
    assert_eq!(events.len() as u64, stats.records, "all events are wanted");
    assert_eq!(counters.typed + counters.rendered, stats.records);
    (stats, events, counters, sink.list.into_iter().map(|w| w.message).collect())
}

fn regression_file(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `ElfFile\0` and 120 zero bytes: a file header cut short, with a CRC that does not match.
#[test]
fn evtx_header_only() {
    let (stats, _, _, w) = evtx(sparse(128, &[(0, "456c6646696c6500")]));
    assert_eq!((stats.records, stats.chunks), (0, 0));
    assert!(has(&w, "file is shorter than its 4096-byte header: no chunks"), "{w:?}");
    assert!(has(&w, "file header CRC32 mismatch (stored 0x00000000"), "{w:?}");
}

/// A 128-byte header with a valid CRC, the dirty flag, and one chunk announced but absent.
#[test]
fn evtx_dirty_header_without_its_chunk() {
    let bytes = sparse(
        128,
        &[(0, "456c6646696c65"), (24, "62"), (32, "80000000 0100 0300 0010 01"), (120, "01000000 6e5b1328")],
    );
    let (stats, _, _, w) = evtx(bytes);
    assert_eq!(stats.records, 0);
    assert!(has(&w, "file is shorter than its 4096-byte header"), "{w:?}");
    assert!(has(&w, "file header is marked dirty"), "{w:?}");
    assert!(!has(&w, "CRC32 mismatch"), "{w:?}");
}

/// A chunk cut after 536 bytes whose header sends the evtx crate's string table past the chunk:
/// the chunk's records are lost, with a warning naming the chunk, and the read ends normally.
#[test]
fn evtx_truncated_chunk_with_a_bad_string_table() {
    let bytes = sparse(
        4632,
        &[
            (0, "456c6646696c65"),
            (24, "76bc"),
            (32, "80000000 0100 0300 0010 01"),
            (124, "feb83120"),
            (4096, "456c6643686e6b"),
            (4145, "37"),
            (4216, "ff"),
            (4263, "b4"),
        ],
    );
    let (stats, _, counters, w) = evtx(bytes);
    assert_eq!(stats.records, 0);
    assert_eq!(counters.crate_chunks, 1);
    assert!(has(&w, "file is truncated: chunk 0 is cut after 536 of 65536 bytes"), "{w:?}");
    assert!(has(&w, "chunk 0: Failed to build string cache"), "{w:?}");
    assert!(has(&w, "its records are lost"), "{w:?}");
}

/// A truncated chunk whose records' BinXML was mostly zeroed: one record's trailing size copy
/// disagrees with its size, another has a broken header; the six records the evtx crate can
/// still render are kept, the two lost ones are counted.
#[test]
fn evtx_damaged_record_sizes() {
    let (stats, _, counters, w) = evtx(regression_file("evtx-record-size-copy.evtx"));
    assert_eq!(stats.records, 6);
    assert_eq!((counters.rendered, counters.failed, counters.crate_chunks), (6, 2, 1));
    assert!(has(&w, "chunk 0 is cut after 4793 of 65536 bytes"), "{w:?}");
    assert!(has(&w, "its trailing size copy 0 differs from its size 344"), "{w:?}");
    assert!(has(&w, "Invalid EVTX record header magic"), "{w:?}");
}

/// A header announcing 3 chunks over a file that holds part of one; of its records one is
/// typed (its TimeCreated disagrees with the zeroed record header time, and is kept), four
/// are lost with a warning each.
#[test]
fn evtx_damaged_records_in_a_truncated_chunk() {
    let (stats, events, counters, w) = evtx(regression_file("evtx-damaged-records.evtx"));
    assert_eq!(stats.records, 1);
    assert_eq!((counters.typed, counters.failed), (1, 4));
    assert_eq!(events[0].ts.rfc3339(7), "2021-12-16T10:19:07.3604022Z");
    assert!(has(&w, "chunk 0 is cut after 7129 of 65536 bytes"), "{w:?}");
    assert!(
        has(&w, "record id 3: TimeCreated 2021-12-16T10:19:07.3604022Z differs from the record header time"),
        "{w:?}"
    );
    assert!(has(&w, "unfinished element start"), "{w:?}");
}

// ---------------------------------------------------------------------------------------------
// The whole pipeline (`analyze::analyze`, then every report format)

/// Analyses the files (written to a temp folder under these names) and renders every format.
fn analyze_files(files: &[(&str, &[u8])]) -> rdplog::analyze::Analysis {
    let dir = tempfile::tempdir().expect("tempdir");
    let inputs: Vec<_> = files
        .iter()
        .map(|(name, bytes)| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).expect("write input");
            rdplog::input::detect(&path).expect("format detected")
        })
        .collect();
    let analysis = rdplog::analyze::analyze(&inputs).expect("analysed");
    for format in [Format::Text, Format::Md, Format::Html, Format::Json] {
        render(&analysis, format, &mut Vec::new()).expect("rendered");
    }
    analysis
}

/// Found by the `analyze` target (minimised with `cargo fuzz tmin`): a pcapng whose one packet,
/// a UDP datagram to port 3389, is stamped 0x00d605f0_86743f88 µs (year 3870). The time saturates
/// at the end of `Ts`'s range, and widening the capture's span by the one-hour event margin
/// overflowed (a panic with overflow checks, a wrapped window that drops every event without).
const FAR_FUTURE_PCAPNG: &str = "
    0a0d0d0a 94000000 4d3c2b1a 47697070 61312900 00000000 94000000 01000000
    14000000 01000000 ffff0000 14000000 06000000 88000000 00000000 f005d600
    883f7486 65000000 65000100 00000000 00000705 00000008 8100051c 08004500
    0053ce79 00007d11 32fa0a08 25640a64 0257c9c4 0d3d003f cefd1097 603f0400
    000c0001 0c00e65f 8475e65f 84751703 03001e00 00000000 00000807 2d750d60
    8eecc688 afcb167b c9485905 98a4342d 41000000 88000000 00";

#[test]
fn analyze_capture_at_the_end_of_time() {
    let a = analyze_files(&[("capture.pcapng", &hex(FAR_FUTURE_PCAPNG))]);
    assert_eq!(a.inputs[0].records, 1);
    assert_eq!(a.connections.len(), 1);
    assert_eq!(a.connections[0].end.0, i64::MAX, "the time saturates");
    let w: Vec<String> = a.warnings.iter().map(|w| w.message.clone()).collect();
    assert!(has(&w, "packet(s) were cut short by the capture's snaplen"), "{w:?}");
}

/// The same capture with a log. An event from 2038 is far outside the capture's span: counted,
/// not kept. One stamped 9999-12-31 saturates to the capture's time, so it is kept, and its
/// client (the capture's client IP, another port) becomes a log-only connection; the span test
/// for that (60 s around the capture's connections) overflowed too.
#[test]
fn analyze_capture_at_the_end_of_time_with_a_log() {
    let early = xml_export(&[failed_logon("2038-01-19T03:14:07Z", 1, "10.8.37.100", 51653)]);
    let a = analyze_files(&[("capture.pcapng", &hex(FAR_FUTURE_PCAPNG)), ("Security.xml", early.as_bytes())]);
    assert_eq!(a.inputs.iter().map(|i| i.records).collect::<Vec<_>>(), [1, 1]);
    assert!(a.events.is_empty());
    assert_eq!(a.connections.len(), 1);

    let late = xml_export(&[failed_logon("9999-12-31T23:59:59Z", 1, "10.8.37.100", 51653)]);
    let a = analyze_files(&[("capture.pcapng", &hex(FAR_FUTURE_PCAPNG)), ("Security.xml", late.as_bytes())]);
    assert_eq!(a.events.len(), 1);
    assert_eq!(a.events[0].ts.0, i64::MAX);
    assert_eq!(a.connections.len(), 2);
    assert_eq!(a.connections.iter().filter(|c| c.tcp.is_none() && c.udp.is_none()).count(), 1, "from the log");
}

/// A wevtutil-style export of these events.
fn xml_export(events: &[String]) -> String {
    format!("<Events>{}</Events>", events.concat())
}

fn xml_event(provider: &str, id: u16, time: &str, record: u64, data: &str) -> String {
    format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
         <Provider Name='{provider}'/><EventID>{id}</EventID><TimeCreated SystemTime='{time}'/>\
         <EventRecordID>{record}</EventRecordID><Computer>rdsh01</Computer></System>{data}</Event>"
    )
}

/// Security 4625, a failed RDP logon (type 10) from a client ip:port.
fn failed_logon(time: &str, record: u64, ip: &str, port: u16) -> String {
    let data = format!(
        "<EventData><Data Name='LogonType'>10</Data><Data Name='IpAddress'>{ip}</Data>\
         <Data Name='IpPort'>{port}</Data></EventData>"
    );
    xml_event("Microsoft-Windows-Security-Auditing", 4625, time, record, &data)
}

/// Logs only: failed logons from one client ip:port stamped 1601-01-01 (a zero FILETIME, as
/// damaged logs hold; the time saturates at the start of `Ts`'s range) and 2026 make one
/// log-only connection spanning both, another client a second one, and an RCM 1149 (client IP,
/// no port) is joined by time window. Matching events to connections by port (nearest start),
/// the time window, and a `--skew` shift all subtracted times without saturating.
#[test]
fn analyze_log_with_an_event_at_the_start_of_time() {
    let rcm = xml_event(
        "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
        1149,
        "2026-03-01T10:00:01Z",
        4,
        "<UserData><EventXML><Param1>alice</Param1><Param2>CORP</Param2><Param3>10.0.0.6</Param3></EventXML></UserData>",
    );
    let log = xml_export(&[
        failed_logon("1601-01-01T00:00:00Z", 1, "10.0.0.5", 50000),
        failed_logon("2026-03-01T09:59:00Z", 2, "10.0.0.5", 50000),
        failed_logon("2026-03-01T10:00:00Z", 3, "10.0.0.6", 50001),
        rcm,
    ]);
    let a = analyze_files(&[("Security.xml", log.as_bytes())]);
    assert_eq!(a.events.len(), 4);
    assert_eq!(a.connections.len(), 2);
    assert_eq!(a.connections[0].start.0, i64::MIN, "the time saturates");
    assert_eq!(a.connections[0].client.to_string(), "10.0.0.5:50000");

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("Security.xml");
    std::fs::write(&path, &log).expect("write input");
    let input = rdplog::input::detect(&path).expect("format detected");
    let opts = rdplog::analyze::Options { skew: Some(5.0), ..Default::default() };
    let a = rdplog::analyze::analyze_with(&[input], &opts).expect("analysed");
    assert_eq!(a.connections.len(), 2);
}

/// pcapng blocks for the next test (draft-ietf-opsawg-pcapng §4: type, length, body, length).
fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let len = (12 + body.len().div_ceil(4) * 4) as u32;
    let mut b = [kind.to_le_bytes(), len.to_le_bytes()].concat();
    b.extend_from_slice(body);
    b.resize(len as usize - 4, 0);
    b.extend_from_slice(&len.to_le_bytes());
    b
}

/// Two identical SYNs to port 3389, the first stamped at the end of `Ts`'s range (interface 0:
/// 2^63 µs), the second at its start (interface 1: if_tsoffset -2^62 s): checking whether the
/// second is a capture duplicate of the first subtracted their times without saturating.
#[test]
fn analyze_duplicate_segment_from_the_other_end_of_time() {
    // IPv4 10.0.0.1 → 10.0.0.2, TCP 50000 → 3389, SYN (checksums are not checked).
    let syn = hex("45000028 00010000 40060000 0a000001 0a000002  c3500d3d 00000001 00000000 50022000 00000000");
    let shb = block(0x0A0D_0D0A, &hex("4d3c2b1a 0100 0000 ffffffffffffffff"));
    let idb0 = block(1, &hex("6500 0000 00000400")); // LINKTYPE_RAW, snaplen 256 KiB
    let mut idb1_body = hex("6500 0000 00000400 0e00 0800"); // option 14 (if_tsoffset), 8 bytes
    idb1_body.extend_from_slice(&(-(1i64 << 62)).to_le_bytes());
    idb1_body.extend_from_slice(&[0; 4]); // opt_endofopt
    let idb1 = block(1, &idb1_body);
    let epb = |iface: u32, ts: u64| {
        let head = [iface, (ts >> 32) as u32, ts as u32, syn.len() as u32, syn.len() as u32];
        let mut body: Vec<u8> = head.iter().flat_map(|v| v.to_le_bytes()).collect();
        body.extend_from_slice(&syn);
        block(6, &body)
    };
    let capture = [shb, idb0, idb1, epb(0, 1 << 63), epb(1, 0)].concat();
    let a = analyze_files(&[("capture.pcapng", &capture)]);
    assert_eq!(a.inputs[0].records, 2);
    assert_eq!(a.connections.len(), 1);
}
