//! Capture file writer: legacy pcap (either byte order, µs or ns) and pcapng (several sections,
//! several interfaces each with its own link type, `if_tsresol`, `if_tsoffset` and `if_name`).
//!
//! Takes frames with a `Ts` (UTC nanoseconds) and writes them to any `Write`, one record or
//! block per call, without buffering (wrap a file in a `BufWriter`). Times are rounded to the
//! nearest unit of the file's clock; a time the clock cannot hold (before 1970 in legacy pcap,
//! before the interface's `if_tsoffset` in pcapng, past 2106 in legacy pcap) is an
//! `InvalidInput` error rather than a silently wrong record. Packets longer than the snaplen
//! are cut, keeping their original length, as a capture tool does.
//!
//! It writes no Simple Packet, Name Resolution, Interface Statistics or custom blocks, and no
//! options besides the IDB's `if_name`, `if_tsresol` and `if_tsoffset`.
//!
//! The byte layout follows pcap-savefile(5) (24-byte file header, 16-byte record headers) and
//! the pcapng draft, draft-ietf-opsawg-pcapng §3.5 (options), §4.1 (Section Header Block), §4.2
//! (Interface Description Block; `if_name` code 2, `if_tsresol` code 9, `if_tsoffset` code 14)
//! and §4.3 (Enhanced Packet Block).

use std::io::{self, Write};

use super::conversation::Frame;
use crate::time::Ts;

/// One pcapng interface, as described by its Interface Description Block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// LINKTYPE_* value.
    pub linktype: u16,
    /// Largest number of bytes kept per packet; 0 means no limit.
    pub snaplen: u32,
    /// Clock resolution (`if_tsresol`): 6 = µs (the default, then not written), 9 = ns,
    /// `0x80 | n` = 2^-n seconds.
    pub tsresol: u8,
    /// Seconds added to every timestamp of this interface (`if_tsoffset`); 0 = option omitted.
    pub tsoffset: i64,
    /// `if_name`, e.g. "eth0".
    pub name: Option<String>,
}

impl Interface {
    /// An interface with µs timestamps, a 262144-byte snaplen, no offset and no name.
    pub fn new(linktype: u16) -> Self {
        Interface { linktype, snaplen: 262_144, tsresol: 6, tsoffset: 0, name: None }
    }

    fn units_per_sec(&self) -> io::Result<u64> {
        let n = (self.tsresol & 0x7f) as u32;
        let units = if self.tsresol & 0x80 == 0 { 10u64.checked_pow(n) } else { 1u64.checked_shl(n) };
        units.ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("if_tsresol {:#04x} is not usable", self.tsresol))
        })
    }
}

/// Clock and cut-off of one interface of the current pcapng section.
struct NgIface {
    snaplen: u32,
    units_per_sec: u64,
    tsoffset: i64,
}

enum Format {
    Pcap { units_per_sec: u64, snaplen: u32 },
    Pcapng { ifaces: Vec<NgIface> },
}

/// Writes a capture file record by record.
pub struct CaptureWriter<W: Write> {
    w: W,
    big_endian: bool,
    format: Format,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Byte-order-aware appends.
struct Out<'a> {
    buf: &'a mut Vec<u8>,
    be: bool,
}

impl Out<'_> {
    fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&if self.be { v.to_be_bytes() } else { v.to_le_bytes() });
    }
    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&if self.be { v.to_be_bytes() } else { v.to_le_bytes() });
    }
    fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&if self.be { v.to_be_bytes() } else { v.to_le_bytes() });
    }
    /// Appends bytes and zero-pads to a multiple of 4.
    fn padded(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
        self.buf.resize(self.buf.len() + (4 - data.len() % 4) % 4, 0);
    }
    /// One option TLV (code, length, value padded to 4 bytes).
    fn option(&mut self, code: u16, value: &[u8]) {
        self.u16(code);
        self.u16(value.len() as u16);
        self.padded(value);
    }
}

/// `ns` expressed in units of `units_per_sec`, rounded to the nearest unit (halves away from
/// the past). For binary resolutions up to 2^-28 this maps every time our reader can produce
/// from such a file back to the exact unit count it came from.
fn to_units(ns: i128, units_per_sec: u64) -> io::Result<i128> {
    ns.checked_mul(units_per_sec as i128)
        .and_then(|x| x.checked_add(500_000_000))
        .map(|x| x.div_euclid(1_000_000_000))
        .ok_or_else(|| invalid(format!("time {ns} ns cannot be expressed in units of 1/{units_per_sec} s")))
}

impl<W: Write> CaptureWriter<W> {
    /// Starts a legacy pcap file: magic (µs 0xa1b2c3d4 or ns 0xa1b23c4d) in the chosen byte
    /// order, version 2.4, thiszone 0, sigfigs 0, snaplen and link type. A snaplen of 0 is
    /// written as given but cuts nothing.
    pub fn pcap(mut w: W, linktype: u32, nanos: bool, big_endian: bool, snaplen: u32) -> io::Result<Self> {
        let mut buf = Vec::with_capacity(24);
        let mut o = Out { buf: &mut buf, be: big_endian };
        o.u32(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
        o.u16(2);
        o.u16(4);
        o.u32(0); // thiszone
        o.u32(0); // sigfigs
        o.u32(snaplen);
        o.u32(linktype);
        w.write_all(&buf)?;
        let units_per_sec = if nanos { 1_000_000_000 } else { 1_000_000 };
        Ok(CaptureWriter { w, big_endian, format: Format::Pcap { units_per_sec, snaplen } })
    }

    /// Starts a little-endian pcapng file with one section describing `interfaces`.
    pub fn pcapng(w: W, interfaces: &[Interface]) -> io::Result<Self> {
        Self::pcapng_with_order(w, interfaces, false)
    }

    /// Starts a big-endian pcapng file (every section of it is big-endian).
    pub fn pcapng_be(w: W, interfaces: &[Interface]) -> io::Result<Self> {
        Self::pcapng_with_order(w, interfaces, true)
    }

    fn pcapng_with_order(w: W, interfaces: &[Interface], big_endian: bool) -> io::Result<Self> {
        let mut cw = CaptureWriter { w, big_endian, format: Format::Pcapng { ifaces: Vec::new() } };
        cw.new_section(interfaces)?;
        Ok(cw)
    }

    /// Starts another pcapng section (SHB, then one IDB per interface). Interface ids restart at
    /// 0: `packet(0, ..)` now refers to `interfaces[0]`. Legacy pcap has no sections.
    pub fn new_section(&mut self, interfaces: &[Interface]) -> io::Result<()> {
        let mut described = Vec::with_capacity(interfaces.len());
        for i in interfaces {
            if i.name.as_ref().is_some_and(|n| n.len() > 1024) {
                return Err(invalid("if_name longer than 1024 bytes".into()));
            }
            described.push(NgIface { snaplen: i.snaplen, units_per_sec: i.units_per_sec()?, tsoffset: i.tsoffset });
        }
        let Format::Pcapng { ifaces } = &mut self.format else {
            return Err(invalid("legacy pcap files have no sections".into()));
        };
        *ifaces = described;
        let be = self.big_endian;
        // SHB body: byte-order magic, version 1.0, section length -1 (not given), no options.
        let mut body = Vec::new();
        let mut o = Out { buf: &mut body, be };
        o.u32(0x1A2B_3C4D);
        o.u16(1);
        o.u16(0);
        o.i64(-1);
        self.block(0x0A0D_0D0A, &body)?;
        for i in interfaces {
            let mut body = Vec::new();
            let mut o = Out { buf: &mut body, be };
            o.u16(i.linktype);
            o.u16(0); // reserved
            o.u32(i.snaplen);
            let mut any = false;
            if let Some(name) = &i.name {
                o.option(2, name.as_bytes());
                any = true;
            }
            if i.tsresol != 6 {
                o.option(9, &[i.tsresol]);
                any = true;
            }
            if i.tsoffset != 0 {
                let v = if be { i.tsoffset.to_be_bytes() } else { i.tsoffset.to_le_bytes() };
                o.option(14, &v);
                any = true;
            }
            if any {
                o.option(0, &[]); // opt_endofopt
            }
            self.block(1, &body)?;
        }
        Ok(())
    }

    /// Writes one pcapng block: type, total length, body (already padded), total length again.
    fn block(&mut self, btype: u32, body: &[u8]) -> io::Result<()> {
        let total = u32::try_from(body.len() + 12).map_err(|_| invalid("block too large".into()))?;
        let mut buf = Vec::with_capacity(body.len() + 12);
        let mut o = Out { buf: &mut buf, be: self.big_endian };
        o.u32(btype);
        o.u32(total);
        o.buf.extend_from_slice(body);
        o.u32(total);
        self.w.write_all(&buf)
    }

    /// Writes one packet captured at `ts` on `interface` (ignored for legacy pcap, which has
    /// exactly one interface).
    pub fn packet(&mut self, interface: u32, ts: Ts, data: &[u8]) -> io::Result<()> {
        let orig = u32::try_from(data.len()).map_err(|_| invalid("packet longer than 4 GiB".into()))?;
        let be = self.big_endian;
        match &self.format {
            Format::Pcap { units_per_sec, snaplen } => {
                let ups = *units_per_sec as i128;
                let units = to_units(ts.0 as i128, *units_per_sec)?;
                let secs = u32::try_from(units.div_euclid(ups))
                    .map_err(|_| invalid(format!("time {ts} does not fit a pcap record (1970..2106)")))?;
                let cap = if *snaplen == 0 { orig } else { orig.min(*snaplen) };
                let mut buf = Vec::with_capacity(16 + cap as usize);
                let mut o = Out { buf: &mut buf, be };
                o.u32(secs);
                o.u32(units.rem_euclid(ups) as u32);
                o.u32(cap);
                o.u32(orig);
                o.buf.extend_from_slice(&data[..cap as usize]);
                self.w.write_all(&buf)
            }
            Format::Pcapng { ifaces } => {
                let Some(i) = ifaces.get(interface as usize) else {
                    return Err(invalid(format!(
                        "interface {interface} is not described in this section ({} interfaces)",
                        ifaces.len()
                    )));
                };
                let ns = ts.0 as i128 - i.tsoffset as i128 * 1_000_000_000;
                let units = u64::try_from(to_units(ns, i.units_per_sec)?)
                    .map_err(|_| invalid(format!("time {ts} is outside this interface's clock range")))?;
                let cap = if i.snaplen == 0 { orig } else { orig.min(i.snaplen) };
                let mut body = Vec::with_capacity(24 + cap as usize);
                let mut o = Out { buf: &mut body, be };
                o.u32(interface);
                o.u32((units >> 32) as u32);
                o.u32(units as u32);
                o.u32(cap);
                o.u32(orig);
                o.padded(&data[..cap as usize]);
                self.block(6, &body)
            }
        }
    }

    /// Writes every frame on `interface`, in the given order.
    pub fn frames(&mut self, interface: u32, frames: &[Frame]) -> io::Result<()> {
        frames.iter().try_for_each(|f| self.packet(interface, f.ts, &f.data))
    }

    /// Returns the underlying writer (not flushed).
    pub fn into_inner(self) -> W {
        self.w
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::WarningSink;
    use crate::input::pcap::read_packets;

    /// (frame, ts, linktype, data, orig_len) of every packet our reader finds.
    fn read_back(bytes: &[u8]) -> Vec<(u64, Ts, u32, Vec<u8>, u32)> {
        let mut out = Vec::new();
        let mut sink = WarningSink::new("t");
        let r = read_packets(bytes, "t", &mut sink, |p, _| {
            out.push((p.frame, p.ts, p.linktype, p.data.to_vec(), p.orig_len))
        });
        assert!(r.is_ok(), "reader failed: {:?}", r.err());
        assert!(sink.list.iter().all(|w| w.message.contains("snaplen")), "{:?}", sink.list);
        out
    }

    const T0: Ts = Ts(1_700_000_000_123_456_000);

    fn legacy(nanos: bool, be: bool) -> io::Result<Vec<u8>> {
        let mut w = CaptureWriter::pcap(Vec::new(), 101, nanos, be, 64)?;
        w.packet(0, T0, &[0x45; 40])?;
        w.packet(0, Ts(T0.0 + 1_000_789), &[7; 100])?; // cut to the 64-byte snaplen
        Ok(w.into_inner())
    }

    #[test]
    fn legacy_pcap_all_variants() -> io::Result<()> {
        for (nanos, be) in [(false, false), (false, true), (true, false), (true, true)] {
            let bytes = legacy(nanos, be)?;
            let magic = if nanos { 0xa1b2_3c4du32 } else { 0xa1b2_c3d4 };
            let want = if be { magic.to_be_bytes() } else { magic.to_le_bytes() };
            assert_eq!(bytes[..4], want);
            assert_eq!(bytes.len(), 24 + 16 + 40 + 16 + 64);
            let got = read_back(&bytes);
            assert_eq!(got.len(), 2);
            assert_eq!((got[0].0, got[0].1, got[0].2, got[0].3.len(), got[0].4), (1, T0, 101, 40, 40));
            // µs files round 1_000_789 ns to 1_001 µs.
            let t1 = if nanos { Ts(T0.0 + 1_000_789) } else { Ts(T0.0 + 1_001_000) };
            assert_eq!((got[1].0, got[1].1, got[1].3.clone(), got[1].4), (2, t1, vec![7; 64], 100));
        }
        Ok(())
    }

    #[test]
    fn legacy_header_bytes() -> io::Result<()> {
        let bytes = legacy(false, false)?;
        let want = [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0, 0, 101, 0, 0, 0];
        assert_eq!(bytes[..24], want);
        // Record header: seconds, microseconds, caplen, origlen.
        assert_eq!(bytes[24..28], 1_700_000_000u32.to_le_bytes());
        assert_eq!(bytes[28..32], 123_456u32.to_le_bytes());
        assert_eq!(legacy(false, false)?, bytes, "same calls, same bytes");
        Ok(())
    }

    #[test]
    fn pcapng_sections_interfaces_and_clocks() -> io::Result<()> {
        let eth = Interface::new(1);
        let sll =
            Interface { linktype: 113, snaplen: 0, tsresol: 9, tsoffset: 1_600_000_000, name: Some("any".into()) };
        let mut w = CaptureWriter::pcapng(Vec::new(), &[eth, sll])?;
        w.packet(0, T0, &[1, 2, 3])?;
        w.packet(1, Ts(T0.0 + 5), &[4; 17])?;
        assert!(w.packet(2, T0, &[0]).is_err(), "no third interface");
        assert!(w.packet(1, Ts(1_500_000_000_000_000_000), &[0]).is_err(), "before if_tsoffset");
        let ms = Interface { linktype: 101, tsresol: 3, ..Interface::new(0) };
        w.new_section(&[ms])?;
        w.packet(0, Ts(T0.0 + 1_499_999), &[9; 8])?; // .124955999 s rounds to .125 s
        let bytes = w.into_inner();
        assert_eq!(bytes[..12], [0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a]);
        let got = read_back(&bytes);
        assert_eq!(got.len(), 3);
        assert_eq!((got[0].0, got[0].1, got[0].2, got[0].3.clone()), (1, T0, 1, vec![1, 2, 3]));
        assert_eq!((got[1].0, got[1].1, got[1].2, got[1].3.clone()), (2, Ts(T0.0 + 5), 113, vec![4; 17]));
        assert_eq!((got[2].0, got[2].1, got[2].2, got[2].4), (3, Ts(1_700_000_000_125_000_000), 101, 8));
        Ok(())
    }

    /// Binary resolutions (`0x80 | n`): the bytes follow pcapng §4.2, and our reader (which
    /// decodes `if_tsresol` itself because pcap-parser 0.17 rejects binary values) reads the
    /// exact time back.
    #[test]
    fn pcapng_binary_resolution_bytes() -> io::Result<()> {
        let bin = Interface { linktype: 101, tsresol: 0x80 | 20, ..Interface::new(0) };
        let mut w = CaptureWriter::pcapng(Vec::new(), &[bin])?;
        let shb_idb = w.w.len();
        // 1_700_000_000.5 s is exactly 1_700_000_000.5 * 2^20 units.
        w.packet(0, Ts(1_700_000_000_500_000_000), &[9; 5])?;
        let b = w.into_inner();
        // IDB: 20 bytes + if_tsresol (8) + opt_endofopt (4) = 32; SHB 28.
        assert_eq!(shb_idb, 28 + 32);
        assert_eq!(b[28 + 16..28 + 24], [9, 0, 1, 0, 0x94, 0, 0, 0]);
        let epb = &b[shb_idb..];
        let units = (u32::from_le_bytes([epb[12], epb[13], epb[14], epb[15]]) as u64) << 32
            | u32::from_le_bytes([epb[16], epb[17], epb[18], epb[19]]) as u64;
        assert_eq!(units, 1_700_000_000 * (1 << 20) + (1 << 19));
        // 5 data bytes padded to 8; total 32 + 8, repeated at the end.
        assert_eq!((epb.len(), epb[4], epb[epb.len() - 4]), (40, 40, 40));
        let got = read_back(&b);
        assert_eq!(got, vec![(1, Ts(1_700_000_000_500_000_000), 101, vec![9; 5], 5)]);
        Ok(())
    }

    #[test]
    fn pcapng_big_endian() -> io::Result<()> {
        // A non-zero if_tsoffset checks that it is read in the section's byte order.
        let ns = Interface { linktype: 1, snaplen: 16, tsresol: 9, tsoffset: 100, name: Some("eth0".into()) };
        let mut w = CaptureWriter::pcapng_be(Vec::new(), &[ns])?;
        w.packet(0, Ts(T0.0 + 999), &[5; 20])?;
        let bytes = w.into_inner();
        assert_eq!(bytes[8..12], [0x1a, 0x2b, 0x3c, 0x4d]);
        let got = read_back(&bytes);
        assert_eq!(got, vec![(1, Ts(T0.0 + 999), 1, vec![5; 16], 20)]);
        Ok(())
    }

    #[test]
    fn rejects_what_the_format_cannot_hold() -> io::Result<()> {
        let mut w = CaptureWriter::pcap(Vec::new(), 1, false, false, 0)?;
        assert!(w.packet(0, Ts(-1_000_000_000), &[0]).is_err());
        assert!(w.new_section(&[]).is_err());
        let bad = Interface { tsresol: 20, ..Interface::new(1) };
        assert!(CaptureWriter::pcapng(Vec::new(), &[bad]).is_err());
        Ok(())
    }
}
