//! A minimal pktmon `.etl` writer for tests: turns a capture's packets into an uncompressed ETW
//! trace of Microsoft-Windows-PktMon events, each packet logged at two components (the NIC,
//! then tcpip.sys) as pktmon logs a received packet.
//!
//! Layouts it writes (the same facts `src/input/etl` reads): WMI_BUFFER_HEADER (0x48 bytes,
//! BufferSize @0, Offset/FilledBytes @0x30, ProcessorNumber @0x28); the first record a
//! SYSTEM64 header (marker 0xC0020002, Size u16 @4, HookId 0 @6, SystemTime @0x10) whose
//! payload is a 64-bit TRACE_LOGFILE_HEADER (PerfFreq @0x100, StartTime @0x108, ReservedFlags
//! @0x110 = 1, QPC); then EVENT_HEADER64 records (marker 0xC013xxxx with the size in its low
//! 16 bits, TimeStamp @0x10, ProviderId @0x18, Id @0x28, Keyword @0x30, user data @0x50),
//! 8-byte aligned, and pktmon events 20 (component) and 160 (packet, 34-byte fixed part).

use rdplog::error::WarningSink;
use rdplog::input::link::{LINKTYPE_ETHERNET, LINKTYPE_IEEE802_11};

const BUFFER: usize = 64 << 10;
const PKTMON: [u8; 16] =
    [0xd9, 0x80, 0x4f, 0x4d, 0xbd, 0xc8, 0x73, 0x4d, 0xbb, 0x5b, 0x19, 0xc9, 0x04, 0x02, 0xc5, 0xac];
/// FILETIME of the Unix epoch.
const FILETIME_UNIX: i64 = 116_444_736_000_000_000;
/// The QPC value at the trace's start (any value: times are relative to it).
const START_RAW: i64 = 5_000_000;

struct Writer {
    out: Vec<u8>,
    buf: Vec<u8>,
    start_ns: i64,
}

impl Writer {
    fn raw(&self, ns: i64) -> i64 {
        START_RAW + (ns - self.start_ns) / 100
    }

    fn record(&mut self, rec: &[u8]) {
        let padded = rec.len().div_ceil(8) * 8;
        if 0x48 + self.buf.len() + padded > BUFFER {
            self.flush();
        }
        self.buf.extend_from_slice(rec);
        self.buf.resize(self.buf.len() + padded - rec.len(), 0);
    }

    fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let mut h = vec![0u8; 0x48];
        h[0..4].copy_from_slice(&(BUFFER as u32).to_le_bytes());
        h[0x30..0x34].copy_from_slice(&((0x48 + self.buf.len()) as u32).to_le_bytes());
        self.out.extend_from_slice(&h);
        self.out.extend_from_slice(&self.buf);
        self.out.resize(self.out.len() + BUFFER - 0x48 - self.buf.len(), 0xFF);
        self.buf.clear();
    }

    fn event(&mut self, ns: i64, id: u16, data: &[u8]) {
        let size = 0x50 + data.len();
        let mut r = vec![0u8; 0x50];
        r[0..4].copy_from_slice(&(0xC013_0000u32 | size as u32).to_le_bytes());
        r[0x10..0x18].copy_from_slice(&self.raw(ns).to_le_bytes());
        r[0x18..0x28].copy_from_slice(&PKTMON);
        r[0x28..0x2A].copy_from_slice(&id.to_le_bytes());
        r.extend_from_slice(data);
        self.record(&r);
    }
}

fn logfile_header(start_ns: i64) -> Vec<u8> {
    let mut p = vec![0u8; 0x118];
    p[0..4].copy_from_slice(&(BUFFER as u32).to_le_bytes());
    p[8..12].copy_from_slice(&20348u32.to_le_bytes());
    p[0x0C..0x10].copy_from_slice(&1u32.to_le_bytes());
    p[0x20..0x24].copy_from_slice(&1u32.to_le_bytes());
    p[0x2C..0x30].copy_from_slice(&8u32.to_le_bytes());
    p[0x100..0x108].copy_from_slice(&10_000_000u64.to_le_bytes());
    p[0x108..0x110].copy_from_slice(&(start_ns / 100 + FILETIME_UNIX).to_le_bytes());
    p[0x110..0x114].copy_from_slice(&1u32.to_le_bytes());
    for s in ["rdplog test", "capture.etl"] {
        for u in s.encode_utf16().chain([0]) {
            p.extend_from_slice(&u.to_le_bytes());
        }
    }
    let mut r = vec![0u8; 0x20];
    r[0..4].copy_from_slice(&0xC002_0002u32.to_le_bytes());
    r[4..6].copy_from_slice(&((0x20 + p.len()) as u16).to_le_bytes());
    r[0x10..0x18].copy_from_slice(&START_RAW.to_le_bytes());
    r.extend_from_slice(&p);
    r
}

fn component(id: u16, name: &str) -> Vec<u8> {
    let mut d = id.to_le_bytes().to_vec();
    d.extend_from_slice(&2u16.to_le_bytes());
    for s in [name, ""] {
        for u in s.encode_utf16().chain([0]) {
            d.extend_from_slice(&u.to_le_bytes());
        }
    }
    d
}

fn packet(group: u64, appearance: u16, component: u16, packet_type: u16, orig: u16, payload: &[u8]) -> Vec<u8> {
    let mut d = group.to_le_bytes().to_vec();
    for v in [1u16, appearance, 3 /* Rx */, packet_type, component, 1, 0] {
        d.extend_from_slice(&v.to_le_bytes());
    }
    d.extend_from_slice(&[0u8; 8]);
    d.extend_from_slice(&orig.to_le_bytes());
    d.extend_from_slice(&(payload.len() as u16).to_le_bytes());
    d.extend_from_slice(payload);
    d
}

/// The pktmon trace of a pcap/pcapng capture's packets.
pub fn pktmon_from_capture(capture: &[u8]) -> Vec<u8> {
    let mut pkts = Vec::new();
    let mut sink = WarningSink::new("twin");
    rdplog::input::read_capture(capture, "twin", &mut sink, |p, _| {
        pkts.push((p.ts.0, p.linktype, p.orig_len, p.data.to_vec()));
    })
    .expect("capture reads");
    let start_ns = pkts.first().map(|p| p.0 - 1_000_000).unwrap_or(0);
    let mut w = Writer { out: Vec::new(), buf: Vec::new(), start_ns };
    w.record(&logfile_header(start_ns));
    w.flush();
    w.event(start_ns, 20, &component(1, "rdplognic.sys"));
    w.event(start_ns, 20, &component(2, "tcpip.sys"));
    for (i, (ns, linktype, orig, data)) in pkts.iter().enumerate() {
        let packet_type = match *linktype {
            LINKTYPE_ETHERNET => 1,
            LINKTYPE_IEEE802_11 => 2,
            _ => 3,
        };
        let orig = (*orig).min(u32::from(u16::MAX)) as u16;
        let group = i as u64 + 1;
        w.event(*ns, 160, &packet(group, 1, 1, packet_type, orig, data));
        // The copy at tcpip.sys, 100 ns later and not at the wire: it must not count twice.
        w.event(*ns + 100, 160, &packet(group, 2, 2, packet_type, orig, data));
    }
    w.flush();
    w.out
}
