//! Per-direction TCP bookkeeping: the facts a diagnosis needs about one side of a connection.
//!
//! Counts packets and bytes, SYNs and their retransmission times, FIN/RST (with the RST's TTL
//! and IP-ID so a forged RST can be told from the peer's), retransmissions and RTO back-off,
//! duplicate ACKs, zero windows, SACK blocks, the largest segment and whether it was ever
//! acknowledged. It keeps no payload.
//!
//! References: RFC 9293 §3.1 (header, options), §3.8.1 (retransmission); RFC 6298 (RTO
//! doubling); RFC 2018 (SACK option kind 5); RFC 7323 (window scale option kind 3).

use serde::Serialize;

use super::reassembly::seq_diff;
use crate::time::Ts;

/// Retransmission times kept per direction (enough to show the back-off pattern).
const MAX_RETX_TIMES: usize = 12;

/// A frame reference: the frame number and its time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct At {
    pub frame: u64,
    #[serde(serialize_with = "crate::connection::ser_ts")]
    pub ts: Ts,
}

/// What is known about a RST.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Reset {
    #[serde(flatten)]
    pub at: At,
    pub ttl: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_id: Option<u16>,
    /// The RST also acknowledged data (RST+ACK).
    pub with_ack: bool,
}

/// One direction of a TCP connection ("client → server" or "server → client").
#[derive(Clone, Debug, Default, Serialize)]
pub struct TcpDir {
    pub packets: u64,
    /// TCP payload bytes (as captured; retransmissions included).
    pub payload_bytes: u64,
    /// SYN or SYN+ACK segments sent (first + retransmissions).
    pub syns: Vec<At>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fin: Option<At>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rst: Option<Reset>,
    pub rst_count: u32,
    pub retransmissions: u32,
    /// Times of the retransmissions of the segment retransmitted most (RTO back-off shows as
    /// roughly doubling gaps).
    pub retx_times: Vec<At>,
    pub dup_acks: u32,
    pub zero_windows: u32,
    pub sack_blocks: u32,
    /// MSS option from this side's SYN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mss: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_scale: Option<u8>,
    /// Largest payload carried by one segment, and whether the peer ever acknowledged it.
    pub max_segment: u32,
    pub max_segment_acked: bool,
    /// TTL (hop limit) of the first non-RST packet, and the range seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_first: Option<u8>,
    pub ttl_min: u8,
    pub ttl_max: u8,
    /// Last IPv4 identification seen on a non-RST packet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_ip_id: Option<u16>,
    #[serde(skip)]
    max_seg_end: u32,
    #[serde(skip)]
    high_seq: Option<u32>,
    #[serde(skip)]
    last_ack: Option<(u32, u16)>,
    #[serde(skip)]
    retx_seq: Option<u32>,
    #[serde(skip)]
    isn: Option<u32>,
}

/// The header fields of one segment that the bookkeeping needs.
pub struct Seg<'a> {
    pub at: At,
    pub seq: u32,
    pub ack: u32,
    pub syn: bool,
    pub ack_flag: bool,
    pub fin: bool,
    pub rst: bool,
    pub window: u16,
    pub options: &'a [u8],
    pub payload_len: u32,
    pub ttl: u8,
    pub ip_id: Option<u16>,
}

impl TcpDir {
    pub fn isn(&self) -> Option<u32> {
        self.isn
    }

    /// Records a segment this side sent.
    pub fn on_send(&mut self, s: &Seg) {
        self.packets += 1;
        self.payload_bytes += s.payload_len as u64;
        if s.rst {
            self.rst_count += 1;
            if self.rst.is_none() {
                self.rst = Some(Reset { at: s.at, ttl: s.ttl, ip_id: s.ip_id, with_ack: s.ack_flag });
            }
            return;
        }
        if self.ttl_first.is_none() {
            self.ttl_first = Some(s.ttl);
            self.ttl_min = s.ttl;
            self.ttl_max = s.ttl;
        }
        self.ttl_min = self.ttl_min.min(s.ttl);
        self.ttl_max = self.ttl_max.max(s.ttl);
        if s.ip_id.is_some() {
            self.last_ip_id = s.ip_id;
        }
        if s.syn {
            self.syns.push(s.at);
            self.isn.get_or_insert(s.seq);
            self.read_syn_options(s.options);
            self.high_seq = Some(s.seq.wrapping_add(1));
            return;
        }
        if s.fin && self.fin.is_none() {
            self.fin = Some(s.at);
        }
        self.count_sack(s.options);
        if s.window == 0 && !s.fin {
            self.zero_windows += 1;
        }
        let end = s.seq.wrapping_add(s.payload_len).wrapping_add(s.fin as u32);
        if s.payload_len > 0 || s.fin {
            match self.high_seq {
                Some(high) if seq_diff(end, high) <= 0 && s.payload_len > 0 => self.note_retx(s),
                Some(high) if seq_diff(end, high) > 0 => self.high_seq = Some(end),
                None => self.high_seq = Some(end),
                _ => {}
            }
        } else if s.ack_flag {
            // Pure ACK: a repeat of the previous ACK with the same window is a duplicate ACK.
            if self.last_ack == Some((s.ack, s.window)) {
                self.dup_acks += 1;
            }
        }
        if s.ack_flag {
            self.last_ack = Some((s.ack, s.window));
        }
        if s.payload_len > self.max_segment {
            self.max_segment = s.payload_len;
            self.max_segment_acked = false;
            self.max_seg_end = s.seq.wrapping_add(s.payload_len);
        }
    }

    /// Records an acknowledgement from the peer covering this side's data.
    pub fn on_peer_ack(&mut self, ack: u32) {
        if self.max_segment > 0 && seq_diff(ack, self.max_seg_end) >= 0 {
            self.max_segment_acked = true;
        }
    }

    fn note_retx(&mut self, s: &Seg) {
        self.retransmissions += 1;
        if self.retx_seq != Some(s.seq) {
            // Keep the back-off series of the first segment that needed retransmitting, unless a
            // later one needs more (the one that killed the connection).
            if self.retx_times.len() <= 1 {
                self.retx_seq = Some(s.seq);
                self.retx_times.clear();
            } else {
                return;
            }
        }
        if self.retx_times.len() < MAX_RETX_TIMES {
            self.retx_times.push(s.at);
        }
    }

    fn read_syn_options(&mut self, opts: &[u8]) {
        for (kind, body) in tcp_options(opts) {
            match (kind, body) {
                (2, [a, b]) => self.mss = Some(u16::from_be_bytes([*a, *b])),
                (3, [shift]) => self.window_scale = Some(*shift),
                _ => {}
            }
        }
    }

    fn count_sack(&mut self, opts: &[u8]) {
        for (kind, body) in tcp_options(opts) {
            if kind == 5 {
                self.sack_blocks += (body.len() / 8) as u32;
            }
        }
    }

    /// Gaps between consecutive SYN (or retransmission) times, in seconds.
    pub fn gaps(times: &[At]) -> Vec<f64> {
        times.windows(2).map(|w| w[1].ts.since(w[0].ts)).collect()
    }
}

/// Iterates TCP options as (kind, body); stops at End-of-Options or a malformed length.
fn tcp_options(mut opts: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        loop {
            let (&kind, rest) = opts.split_first()?;
            match kind {
                0 => return None,
                1 => opts = rest,
                _ => {
                    let len = *rest.first()? as usize;
                    if len < 2 || len > opts.len() {
                        return None;
                    }
                    let body = &opts[2..len];
                    opts = &opts[len..];
                    return Some((kind, body));
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(frame: u64, secs: f64, seq: u32, len: u32) -> Seg<'static> {
        Seg {
            at: At { frame, ts: Ts((secs * 1e9) as i64) },
            seq,
            ack: 0,
            syn: false,
            ack_flag: true,
            fin: false,
            rst: false,
            window: 1000,
            options: &[],
            payload_len: len,
            ttl: 64,
            ip_id: Some(frame as u16),
        }
    }

    #[test]
    fn options_are_walked_safely() {
        // MSS 1460 (kind 2 len 4), NOP, window scale 8 (kind 3 len 3), SACK-permitted, then a
        // truncated option whose length runs past the end.
        let opts = [2, 4, 0x05, 0xb4, 1, 3, 3, 8, 4, 2, 5, 10, 0];
        let got: Vec<(u8, usize)> = tcp_options(&opts).map(|(k, b)| (k, b.len())).collect();
        assert_eq!(got, vec![(2, 2), (3, 1), (4, 0)]);
        let mut d = TcpDir::default();
        d.read_syn_options(&opts);
        assert_eq!((d.mss, d.window_scale), (Some(1460), Some(8)));
    }

    #[test]
    fn retransmissions_and_backoff() {
        let mut d = TcpDir::default();
        let mut syn = seg(1, 0.0, 999, 0);
        syn.syn = true;
        d.on_send(&syn);
        d.on_send(&seg(2, 0.1, 1000, 1460));
        for (i, t) in [0.4, 1.0, 2.2, 4.6].iter().enumerate() {
            d.on_send(&seg(3 + i as u64, *t, 1000, 1460));
        }
        assert_eq!(d.retransmissions, 4);
        let gaps = TcpDir::gaps(&d.retx_times);
        assert_eq!(gaps.len(), 3);
        assert!(gaps[1] > gaps[0] && gaps[2] > gaps[1]);
        assert!(!d.max_segment_acked);
        d.on_peer_ack(2460);
        assert!(d.max_segment_acked);
    }

    #[test]
    fn rst_keeps_ttl_and_ip_id() {
        let mut d = TcpDir::default();
        d.on_send(&seg(1, 0.0, 1, 10));
        let mut r = seg(2, 1.0, 11, 0);
        r.rst = true;
        r.ttl = 250;
        d.on_send(&r);
        let rst = d.rst.expect("rst recorded");
        assert_eq!((rst.ttl, d.ttl_first), (250, Some(64)));
        assert_eq!(d.rst_count, 1);
    }
}
