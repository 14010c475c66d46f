//! Microsoft-Windows-NDIS-PacketCapture (`netsh trace start capture=yes`): event 1001, one
//! fragment of a frame; fragments are joined into frames here.
//!
//! Takes events in file order and yields whole frames with their link type; knows nothing of
//! other providers or of time order.
//!
//! The provider manifest (RavuAlHemio/etl2pcapng `contrib/Microsoft-Windows-NDIS-PacketCapture
//! .manifest.xml`): 1001 = MiniportIfIndex u32, LowerIfIndex u32, FragmentSize u32,
//! Fragment[FragmentSize], then (newer builds only) GftFlowEntryId u64, GftOffloadInformation
//! u64 — so the fragment is found by FragmentSize and whatever follows it is ignored. Keywords:
//! Ethernet802.3 0x1, WirelessWAN 0x200 (raw IP), Native802.11 0x10000, PacketStart
//! 0x40000000, PacketEnd 0x80000000, SendPath 0x1_0000_0000, ReceivePath 0x2_0000_0000
//! (microsoft/etl2pcapng `main.c` joins the fragments between PacketStart and PacketEnd).

use super::walk::{Guid, u32_at};
use crate::input::link::{LINKTYPE_ETHERNET, LINKTYPE_IEEE802_11, LINKTYPE_RAW};
use crate::input::pcap::MAX_CAPLEN;

/// Microsoft-Windows-NDIS-PacketCapture.
pub const NDIS: Guid = Guid::new(0x2ed6006e, 0x4729, 0x4609, [0xb4, 0x23, 0x3e, 0xe7, 0xbc, 0xd6, 0x78, 0xef]);
pub const EVENT_FRAGMENT: u16 = 1001;

const KW_ETHERNET: u64 = 0x1;
const KW_WWAN: u64 = 0x200;
const KW_WIFI: u64 = 0x10000;
const KW_START: u64 = 0x4000_0000;
const KW_END: u64 = 0x8000_0000;

/// A frame being joined: its first fragment's event and the bytes so far.
struct Partial {
    key: (u8, u32),
    event: u64,
    linktype: u32,
    data: Vec<u8>,
}

/// Joins fragments per (CPU, LowerIfIndex): one frame's fragments are logged back to back by
/// one thread.
#[derive(Default)]
pub struct Joiner {
    open: Vec<Partial>,
    /// Fragments without a PacketStart before them, or frames cut by a new PacketStart.
    pub orphans: u64,
    /// Events whose FragmentSize runs past the event's data.
    pub malformed: u64,
    /// Frames whose keywords name no link type we frame (e.g. VMSwitch-only).
    pub unknown_link: u64,
}

/// A joined frame.
pub struct Frame {
    /// The event number of its first fragment.
    pub event: u64,
    pub linktype: u32,
    pub data: Vec<u8>,
}

impl Joiner {
    /// Adds one 1001 event; returns a frame when this fragment completes one.
    pub fn fragment(&mut self, cpu: u8, event: u64, keyword: u64, data: &[u8]) -> Option<Frame> {
        let (Some(lower), Some(size)) = (u32_at(data, 4), u32_at(data, 8)) else {
            self.malformed += 1;
            return None;
        };
        let Some(fragment) = data.get(12..).and_then(|d| d.get(..size as usize)) else {
            self.malformed += 1;
            return None;
        };
        let key = (cpu, lower);
        let slot = self.open.iter().position(|p| p.key == key);
        if keyword & KW_START != 0 {
            if let Some(i) = slot {
                self.open.swap_remove(i);
                self.orphans += 1;
            }
            let linktype = if keyword & KW_WIFI != 0 {
                LINKTYPE_IEEE802_11
            } else if keyword & KW_WWAN != 0 {
                LINKTYPE_RAW
            } else if keyword & KW_ETHERNET != 0 {
                LINKTYPE_ETHERNET
            } else {
                self.unknown_link += 1;
                return None;
            };
            self.open.push(Partial { key, event, linktype, data: Vec::new() });
        }
        let Some(i) = self.open.iter().position(|p| p.key == key) else {
            self.orphans += 1;
            return None;
        };
        let p = &mut self.open[i];
        let room = (MAX_CAPLEN as usize).saturating_sub(p.data.len());
        p.data.extend_from_slice(&fragment[..fragment.len().min(room)]);
        if keyword & KW_END != 0 {
            let p = self.open.swap_remove(i);
            return Some(Frame { event: p.event, linktype: p.linktype, data: p.data });
        }
        // Bounded: a CPU/interface pair never has more than one frame open.
        None
    }

    /// Frames still open at the end of the trace (their PacketEnd never came).
    pub fn unfinished(&self) -> usize {
        self.open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(lower: u32, frag: &[u8], gft: bool) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&lower.to_le_bytes());
        d.extend_from_slice(&lower.to_le_bytes());
        d.extend_from_slice(&(frag.len() as u32).to_le_bytes());
        d.extend_from_slice(frag);
        if gft {
            d.extend_from_slice(&[0xEE; 16]);
        }
        d
    }

    // Oracle: the manifest layout in the module doc; with and without the trailing Gft fields
    // (NOTES.md: absent on build 17134, present on 19044).
    #[test]
    fn joins_fragments_by_size_fields() {
        let mut j = Joiner::default();
        assert!(j.fragment(0, 1, KW_ETHERNET | KW_START, &ev(14, b"abc", true)).is_none());
        let f = j.fragment(0, 2, KW_ETHERNET | KW_END, &ev(14, b"def", false)).expect("frame");
        assert_eq!((f.event, f.linktype, f.data.as_slice()), (1, LINKTYPE_ETHERNET, &b"abcdef"[..]));
        let f = j.fragment(1, 3, KW_WIFI | KW_START | KW_END, &ev(2, b"x", true)).expect("frame");
        assert_eq!(f.linktype, LINKTYPE_IEEE802_11);
        assert!(j.fragment(1, 4, KW_ETHERNET | KW_END, &ev(2, b"y", false)).is_none());
        assert_eq!(j.orphans, 1);
        let mut bad = ev(2, b"xyz", false);
        bad[8] = 200;
        assert!(j.fragment(1, 5, KW_ETHERNET | KW_START | KW_END, &bad).is_none());
        assert_eq!(j.malformed, 1);
        assert_eq!(j.unfinished(), 0);
    }
}
