//! A pktmon `.etl` writer: packets as an uncompressed ETW trace of Microsoft-Windows-PktMon
//! events, each packet logged at the components it crosses (event 160) and, where one of them
//! drops it, a drop event (170) with pktmon's reason code. The bundled `host-firewall` sample
//! and the tests' `.etl` twins of pcap samples are written with it.
//!
//! Layouts it writes (the facts `src/input/etl` reads, from the references in its `walk` and
//! `pktmon` modules): WMI_BUFFER_HEADER (0x48 bytes, BufferSize @0, Offset/FilledBytes @0x30);
//! the first record a SYSTEM64 header (marker 0xC0020002, Size u16 @4, HookId 0 @6) whose
//! payload is a 64-bit TRACE_LOGFILE_HEADER (PerfFreq @0x100, StartTime @0x108, ReservedFlags
//! @0x110 = 1: QPC clock); then EVENT_HEADER64 records (marker 0xC013xxxx with the size in its
//! low 16 bits, TimeStamp @0x10, ProviderId @0x18, Id @0x28, user data @0x50), 8-byte aligned.
//! pktmon 20: Id u16, Type u16, Name and Description UTF-16Z; 160/170: the 34-byte fixed part
//! (PktGroupId … LoggedPayloadSize) and the payload.
//!
//! It writes only what the reader needs: no compression, no rundown events; one processor
//! unless asked for more (then one buffer per processor, written out as each fills).

use std::io::{self, Write};

use crate::input::link::{LINKTYPE_ETHERNET, LINKTYPE_IEEE802_11};
use crate::time::Ts;

const BUFFER: usize = 64 << 10;
const BUFFER_HEADER: usize = 0x48;
/// Microsoft-Windows-PktMon {4d4f80d9-c8bd-4d73-bb5b-19c90402c5ac}, in its on-disk byte order.
const PKTMON: [u8; 16] =
    [0xd9, 0x80, 0x4f, 0x4d, 0xbd, 0xc8, 0x73, 0x4d, 0xbb, 0x5b, 0x19, 0xc9, 0x04, 0x02, 0xc5, 0xac];
/// FILETIME of the Unix epoch (100 ns units since 1601).
const FILETIME_UNIX: i64 = 116_444_736_000_000_000;
/// The QPC value at the trace's start (any value: times are relative to it).
const START_RAW: i64 = 5_000_000;
/// pktmon DirTag values: Rx (received from the wire), Tx (sent to it).
const RX: u16 = 3;
const TX: u16 = 4;

/// One component a packet crosses, and the drop reason when it drops the packet there.
#[derive(Clone, Copy, Debug)]
pub struct Hop {
    pub component: u16,
    pub drop: Option<u32>,
}

/// A trace being written, buffer by buffer, to `out`.
pub struct PktmonWriter<W: Write> {
    out: W,
    /// One buffer per processor, as ETW keeps them: each is written out when it is full (so
    /// the file interleaves the processors' buffers in the order they filled) or at the end.
    bufs: Vec<Vec<u8>>,
    /// The processor whose buffer the next events go to.
    cpu: usize,
    start_ns: i64,
    group: u64,
}

impl<W: Write> PktmonWriter<W> {
    /// A trace of one processor that starts at `start` (its logfile header) and names its
    /// `components`.
    pub fn new(out: W, start: Ts, components: &[(u16, &str)]) -> io::Result<PktmonWriter<W>> {
        Self::with_processors(out, start, components, 1)
    }

    /// A trace of `cpus` processors (at least one; the logfile header says how many): events
    /// go to processor 0 until `on_processor` says otherwise.
    pub fn with_processors(out: W, start: Ts, components: &[(u16, &str)], cpus: u8) -> io::Result<PktmonWriter<W>> {
        let cpus = cpus.max(1);
        let bufs = vec![Vec::new(); usize::from(cpus)];
        let mut w = PktmonWriter { out, bufs, cpu: 0, start_ns: start.0, group: 0 };
        w.record(&logfile_header(start.0, u32::from(cpus)))?;
        w.flush()?;
        for (id, name) in components {
            w.event(start.0, 20, &component(*id, name))?;
        }
        Ok(w)
    }

    /// Logs the next events on processor `cpu` (taken modulo the trace's processors).
    pub fn on_processor(&mut self, cpu: u8) {
        self.cpu = usize::from(cpu) % self.bufs.len().max(1);
    }

    /// One packet at `ts` (on the wire), of `linktype`, crossing `hops` in the order pktmon logs
    /// them: from the wire inwards for an `inbound` packet, towards the wire otherwise. Each
    /// appearance is 100 ns from the next; the one at the wire is at `ts`.
    pub fn packet(&mut self, ts: Ts, linktype: u32, data: &[u8], inbound: bool, hops: &[Hop]) -> io::Result<()> {
        self.group += 1;
        let n = hops.len() as i64;
        for (k, hop) in hops.iter().enumerate() {
            let k = k as i64;
            let at = if inbound { ts.0 + 100 * k } else { ts.0 - 100 * (n - 1 - k) };
            let a = Appearance {
                group: self.group,
                appearance: k as u16 + 1,
                direction: if inbound { RX } else { TX },
                packet_type: packet_type(linktype),
                component: hop.component,
                drop: hop.drop,
            };
            let id = if hop.drop.is_some() { 170 } else { 160 };
            self.event(at, id, &a.encode(data))?;
        }
        Ok(())
    }

    /// Writes the last buffers (processor by processor, as ETW does when a session stops) and
    /// returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        for cpu in 0..self.bufs.len() {
            self.cpu = cpu;
            self.flush()?;
        }
        Ok(self.out)
    }

    fn raw(&self, ns: i64) -> i64 {
        START_RAW + (ns - self.start_ns) / 100
    }

    fn record(&mut self, rec: &[u8]) -> io::Result<()> {
        let padded = rec.len().div_ceil(8) * 8;
        if BUFFER_HEADER + self.buf().len() + padded > BUFFER {
            self.flush()?;
        }
        let buf = self.buf();
        buf.extend_from_slice(rec);
        buf.resize(buf.len() + padded - rec.len(), 0);
        Ok(())
    }

    fn buf(&mut self) -> &mut Vec<u8> {
        if self.bufs.is_empty() {
            self.bufs.push(Vec::new());
        }
        let at = self.cpu.min(self.bufs.len() - 1);
        &mut self.bufs[at]
    }

    /// Writes the current processor's buffer out.
    fn flush(&mut self) -> io::Result<()> {
        let cpu = self.cpu as u8;
        let mut buf = std::mem::take(self.buf());
        if buf.is_empty() {
            return Ok(());
        }
        let mut h = vec![0u8; BUFFER_HEADER];
        h[0..4].copy_from_slice(&(BUFFER as u32).to_le_bytes());
        h[0x28] = cpu;
        h[0x30..0x34].copy_from_slice(&((BUFFER_HEADER + buf.len()) as u32).to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(&buf)?;
        self.out.write_all(&vec![0xFF; BUFFER - BUFFER_HEADER - buf.len()])?;
        buf.clear();
        *self.buf() = buf;
        Ok(())
    }

    fn event(&mut self, ns: i64, id: u16, data: &[u8]) -> io::Result<()> {
        let size = 0x50 + data.len();
        let mut r = vec![0u8; 0x50];
        r[0..4].copy_from_slice(&(0xC013_0000u32 | size as u32).to_le_bytes());
        r[0x10..0x18].copy_from_slice(&self.raw(ns).to_le_bytes());
        r[0x18..0x28].copy_from_slice(&PKTMON);
        r[0x28..0x2A].copy_from_slice(&id.to_le_bytes());
        r.extend_from_slice(data);
        self.record(&r)
    }
}

/// The pktmon trace of captured frames as a host logs what it receives: each frame at the NIC
/// (component 1), then at tcpip.sys (component 2) 100 ns later, which must not count twice.
pub fn received(frames: &[(Ts, u32, Vec<u8>)]) -> Vec<u8> {
    let start = Ts(frames.first().map_or(0, |f| f.0.0 - 1_000_000));
    let write = || {
        let mut w = Received::new(Vec::new(), start)?;
        for (ts, linktype, data) in frames {
            w.packet(*ts, *linktype, data)?;
        }
        w.0.finish()
    };
    write().unwrap_or_default()
}

/// A trace written as `received` writes it, one frame at a time (for traces too large to hold).
pub struct Received<W: Write>(pub PktmonWriter<W>);

const RECEIVED_HOPS: [Hop; 2] = [Hop { component: 1, drop: None }, Hop { component: 2, drop: None }];

impl<W: Write> Received<W> {
    pub fn new(out: W, start: Ts) -> io::Result<Self> {
        Self::with_processors(out, start, 1)
    }

    /// A trace of `cpus` processors (`PktmonWriter::on_processor` picks one per packet).
    pub fn with_processors(out: W, start: Ts, cpus: u8) -> io::Result<Self> {
        Ok(Received(PktmonWriter::with_processors(out, start, &[(1, "rdplognic.sys"), (2, "tcpip.sys")], cpus)?))
    }

    pub fn packet(&mut self, ts: Ts, linktype: u32, data: &[u8]) -> io::Result<()> {
        self.0.packet(ts, linktype, data, true, &RECEIVED_HOPS)
    }
}

/// pktmon PacketType: 1 Ethernet, 2 802.11, 3 raw IP.
fn packet_type(linktype: u32) -> u16 {
    match linktype {
        LINKTYPE_ETHERNET => 1,
        LINKTYPE_IEEE802_11 => 2,
        _ => 3,
    }
}

/// One appearance's fixed fields.
struct Appearance {
    group: u64,
    appearance: u16,
    direction: u16,
    packet_type: u16,
    component: u16,
    drop: Option<u32>,
}

impl Appearance {
    /// The 160/170 user data: PktGroupId u64, PktNumber u16, AppearanceCount u16, DirTag u16,
    /// PacketType u16, ComponentId u16, EdgeId u16, FilterId u16, DropReason u32,
    /// DropLocation u32, OriginalPayloadSize u16, LoggedPayloadSize u16, payload.
    fn encode(&self, payload: &[u8]) -> Vec<u8> {
        let logged = payload.len().min(usize::from(u16::MAX));
        let mut d = self.group.to_le_bytes().to_vec();
        for v in [1u16, self.appearance, self.direction, self.packet_type, self.component, 1, 0] {
            d.extend_from_slice(&v.to_le_bytes());
        }
        d.extend_from_slice(&self.drop.unwrap_or(0).to_le_bytes());
        d.extend_from_slice(&(if self.drop.is_some() { 0xE000_0001u32 } else { 0 }).to_le_bytes());
        d.extend_from_slice(&(logged as u16).to_le_bytes());
        d.extend_from_slice(&(logged as u16).to_le_bytes());
        d.extend_from_slice(&payload[..logged]);
        d
    }
}

fn logfile_header(start_ns: i64, cpus: u32) -> Vec<u8> {
    let mut p = vec![0u8; 0x118];
    p[0..4].copy_from_slice(&(BUFFER as u32).to_le_bytes());
    p[8..12].copy_from_slice(&20348u32.to_le_bytes());
    p[0x0C..0x10].copy_from_slice(&cpus.to_le_bytes());
    p[0x20..0x24].copy_from_slice(&1u32.to_le_bytes());
    p[0x2C..0x30].copy_from_slice(&8u32.to_le_bytes());
    p[0x100..0x108].copy_from_slice(&10_000_000u64.to_le_bytes());
    p[0x108..0x110].copy_from_slice(&(start_ns / 100 + FILETIME_UNIX).to_le_bytes());
    p[0x110..0x114].copy_from_slice(&1u32.to_le_bytes());
    for s in ["PktMon", "PktMon.etl"] {
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
