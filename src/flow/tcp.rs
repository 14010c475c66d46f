//! Per-direction TCP bookkeeping: the facts a diagnosis needs about one side of a connection.
//!
//! Counts packets and bytes, SYNs and their retransmission times, FIN/RST (with the RST's TTL
//! and IP-ID so a forged RST can be told from the peer's), SACK and D-SACK blocks, the largest
//! segment and whether it was ever acknowledged, and the sequence-number analysis of
//! [`expert`]: retransmissions (fast, spurious), out-of-order and lost segments, duplicate
//! ACKs, zero windows, keep-alives, with the counts tshark's expert information gives. It also
//! says whether the retransmitted data was acknowledged in the end and whether data was still
//! unacknowledged when the flow ended, so that "losses that recovered" can be told from "the
//! path died". It keeps no payload and no per-segment history.
//!
//! Its job ends at one flow's two directions as captured: frames stored twice by the capture
//! are removed before they get here (`flow::FlowTable`), and what the counts mean for the
//! connection is the diagnosis's business.
//!
//! References: RFC 9293 §3.1 (header, options), §3.8.1 (retransmission), §3.8.6.1 (zero
//! window probing), §3.8.4 (keep-alives); RFC 6298 (RTO doubling); RFC 2018 (SACK option kind
//! 5); RFC 2883 (D-SACK); RFC 7323 (window scale option kind 3).

mod expert;

use super::reassembly::seq_diff;
use crate::time::Ts;

pub use self::expert::DEFAULT_REORDER_NS;

/// Retransmission times kept per direction (enough to show the back-off pattern).
const MAX_RETX_TIMES: usize = 12;

/// A frame reference: its time and the frame number. Ordered by time first: frame numbers
/// follow the file, and an `.etl` file interleaves its processors' buffers out of time order
/// (event 160 of one processor can be earlier than event 82 of another).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct At {
    pub ts: Ts,
    pub frame: u64,
}

/// What is known about a RST.
#[derive(Clone, Copy, Debug)]
pub struct Reset {
    pub at: At,
    pub ttl: u8,
    pub ip_id: Option<u16>,
    /// The RST also acknowledged data (RST+ACK).
    pub with_ack: bool,
}

/// One direction of a TCP connection ("client → server" or "server → client"): what this side
/// sent. Frames the capture stored twice are not in any count.
#[derive(Clone, Debug, Default)]
pub struct TcpDir {
    pub packets: u64,
    /// TCP payload bytes (as captured; retransmissions included).
    pub payload_bytes: u64,
    /// SYN or SYN+ACK segments sent (first + retransmissions).
    pub syns: Vec<At>,
    pub fin: Option<At>,
    pub rst: Option<Reset>,
    pub rst_count: u32,
    /// Segments carrying payload that started below the next expected sequence number, or
    /// carried only data the peer had already acknowledged (tshark's
    /// `tcp.analysis.retransmission`, fast and spurious ones included), not counting
    /// out-of-order segments nor frames the capture stored twice. RFC 9293 §3.8.1.
    pub retransmissions: u32,
    /// SYN, SYN+ACK or FIN segments without payload sent again. tshark counts them among its
    /// retransmissions; `retransmissions` does not (`syns` has the SYN times).
    pub syn_fin_retransmissions: u32,
    /// Retransmissions sent within 20 ms of the peer's second (or later) duplicate ACK asking
    /// for exactly this sequence number (tshark's `tcp.analysis.fast_retransmission`; RFC 5681
    /// §3.2). Included in `retransmissions`.
    pub fast_retransmissions: u32,
    /// Retransmissions of data the peer had already acknowledged: the segment ends at or below
    /// the peer's last ACK (tshark's `tcp.analysis.spurious_retransmission`). Included in
    /// `retransmissions`. A D-SACK from the peer (`dsack_blocks` of the other direction)
    /// confirms that the receiver got the data twice (RFC 2883).
    pub spurious_retransmissions: u32,
    /// Segments that filled a gap below the highest sequence number sent, less than the
    /// handshake's round-trip time (3 ms when unknown) after the highest segment: reordered on
    /// the way to the capture point, not retransmitted (tshark's `tcp.analysis.out_of_order`).
    pub out_of_order: u32,
    /// Segments that started above the next expected sequence number: the capture missed
    /// something this side sent ("previous segment not captured", tshark's
    /// `tcp.analysis.lost_segment`).
    pub lost_segments: u32,
    /// Segments acknowledging data the peer sent that the capture never saw ("ACKed segment
    /// that wasn't captured", tshark's `tcp.analysis.ack_lost_segment`).
    pub ack_lost_segments: u32,
    /// Times of the retransmissions of the segment retransmitted most (RTO back-off shows as
    /// roughly doubling gaps).
    pub retx_times: Vec<At>,
    /// The last retransmission of data (any kind), if there was one.
    pub last_retx: Option<At>,
    /// Data was retransmitted and every retransmitted range was acknowledged by the peer before
    /// the flow ended: losses that recovered. False when nothing was retransmitted.
    pub last_retx_recovered: bool,
    /// This side had sent payload that the peer never acknowledged by the end of the flow
    /// (cumulative ACK, RFC 9293 §3.4): with retransmissions, the path or the peer gave up.
    pub unacked_at_end: bool,
    /// Pure ACKs repeating this side's previous acknowledgement number and window while nothing
    /// new was sent (tshark's `tcp.analysis.duplicate_ack`; RFC 5681 §2).
    pub dup_acks: u32,
    /// Segments advertising a zero receive window, SYN/FIN/RST excepted (tshark's
    /// `tcp.analysis.zero_window`; RFC 9293 §3.8.6).
    pub zero_windows: u32,
    /// One-byte segments probing the peer's zero window (tshark's
    /// `tcp.analysis.zero_window_probe`; RFC 9293 §3.8.6.1).
    pub zero_window_probes: u32,
    /// Keep-alives: zero or one byte one below the next sequence number (tshark's
    /// `tcp.analysis.keep_alive`; RFC 9293 §3.8.4).
    pub keep_alives: u32,
    /// Segments that filled the peer's advertised receive window to its edge (tshark's
    /// `tcp.analysis.window_full`; needs both SYNs for the window scale, RFC 7323 §2).
    pub window_full: u32,
    /// SACK blocks (RFC 2018) this side sent.
    pub sack_blocks: u32,
    /// D-SACK blocks this side sent (RFC 2883 §4): a first SACK block that starts below the
    /// cumulative ACK or lies inside the second block, reporting data received twice.
    pub dsack_blocks: u32,
    /// MSS option from this side's SYN.
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    /// Largest payload carried by one segment, and whether the peer ever acknowledged it.
    pub max_segment: u32,
    pub max_segment_acked: bool,
    /// TTL (hop limit) of the first non-RST packet, and the range seen.
    pub ttl_first: Option<u8>,
    pub ttl_min: u8,
    pub ttl_max: u8,
    /// Last IPv4 identification seen on a non-RST packet.
    pub last_ip_id: Option<u16>,
    max_seg_end: u32,
    retx_seq: Option<u32>,
    isn: Option<u32>,
    /// End of the highest payload sent, the highest end retransmitted, and the highest
    /// cumulative ACK received from the peer (for `unacked_at_end`, `last_retx_recovered`).
    data_end: Option<u32>,
    retx_end: Option<u32>,
    peer_acked: Option<u32>,
    /// The sequence-number analysis state ([`expert`]).
    seq: expert::SeqState,
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
    /// The TCP checksum as captured (with the IP ID, it tells a frame stored twice from a
    /// retransmission).
    pub checksum: u16,
}

impl TcpDir {
    pub fn isn(&self) -> Option<u32> {
        self.isn
    }

    /// Records a segment this side sent; `peer` is the other direction of the same connection,
    /// whose acknowledgement state it reads and whose sent data this segment acknowledges.
    /// `reorder_ns` is the connection's out-of-order window: the handshake's round-trip time,
    /// or [`DEFAULT_REORDER_NS`] when the handshake was not captured.
    pub fn on_send(&mut self, s: &Seg, peer: &mut TcpDir, reorder_ns: i64) {
        self.packets += 1;
        self.payload_bytes += s.payload_len as u64;
        let retx = expert::analyze(self, peer, s, reorder_ns);
        if retx {
            if s.payload_len > 0 {
                self.note_retx(s);
            } else {
                self.syn_fin_retransmissions += 1;
            }
        }
        if s.ack_flag {
            peer.on_peer_ack(s.ack);
        }
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
            return;
        }
        if s.fin && self.fin.is_none() {
            self.fin = Some(s.at);
        }
        self.count_sack(s.options, s.ack_flag.then_some(s.ack));
        if s.payload_len > 0 {
            let end = s.seq.wrapping_add(s.payload_len);
            if self.data_end.is_none_or(|e| seq_diff(end, e) > 0) {
                self.data_end = Some(end);
            }
            self.update_ack_facts();
        }
        if s.payload_len > self.max_segment {
            self.max_segment = s.payload_len;
            self.max_segment_acked = false;
            self.max_seg_end = s.seq.wrapping_add(s.payload_len);
        }
    }

    /// Records an acknowledgement from the peer covering this side's data.
    fn on_peer_ack(&mut self, ack: u32) {
        if self.max_segment > 0 && seq_diff(ack, self.max_seg_end) >= 0 {
            self.max_segment_acked = true;
        }
        if self.peer_acked.is_none_or(|a| seq_diff(ack, a) > 0) {
            self.peer_acked = Some(ack);
        }
        self.update_ack_facts();
    }

    /// Keeps `unacked_at_end` and `last_retx_recovered` true to the segments seen so far.
    fn update_ack_facts(&mut self) {
        let peer_acked = self.peer_acked;
        let acked = |end: u32| peer_acked.is_some_and(|a| seq_diff(a, end) >= 0);
        self.unacked_at_end = self.data_end.is_some_and(|e| !acked(e));
        self.last_retx_recovered = self.retx_end.is_some_and(acked);
    }

    /// A retransmitted segment with payload (any kind).
    fn note_retx(&mut self, s: &Seg) {
        self.retransmissions += 1;
        self.last_retx = Some(s.at);
        let end = s.seq.wrapping_add(s.payload_len);
        if self.retx_end.is_none_or(|e| seq_diff(end, e) > 0) {
            self.retx_end = Some(end);
        }
        self.update_ack_facts();
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

    /// Counts SACK blocks (RFC 2018 §3: kind 5, 8 bytes per block) and D-SACK blocks (RFC 2883
    /// §4: the first block starts below the cumulative ACK `ack`, or lies within the second).
    fn count_sack(&mut self, opts: &[u8], ack: Option<u32>) {
        for (kind, body) in tcp_options(opts) {
            if kind != 5 {
                continue;
            }
            self.sack_blocks += (body.len() / 8) as u32;
            let edge = |i: usize| body.get(i..i + 4).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes);
            let (Some(l1), Some(r1)) = (edge(0), edge(4)) else { continue };
            let below_ack = ack.is_some_and(|a| seq_diff(l1, a) < 0);
            let inside_second = match (edge(8), edge(12)) {
                (Some(l2), Some(r2)) => seq_diff(l1, l2) >= 0 && seq_diff(r1, r2) <= 0,
                _ => false,
            };
            if below_ack || inside_second {
                self.dsack_blocks += 1;
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
            checksum: 0,
        }
    }

    /// Sends `s` from `d` to a peer that never answers.
    fn send(d: &mut TcpDir, s: &Seg) {
        d.on_send(s, &mut TcpDir::default(), DEFAULT_REORDER_NS);
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
        send(&mut d, &syn);
        send(&mut d, &seg(2, 0.1, 1000, 1460));
        for (i, t) in [0.4, 1.0, 2.2, 4.6].iter().enumerate() {
            send(&mut d, &seg(3 + i as u64, *t, 1000, 1460));
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
        send(&mut d, &seg(1, 0.0, 1, 10));
        let mut r = seg(2, 1.0, 11, 0);
        r.rst = true;
        r.ttl = 250;
        send(&mut d, &r);
        let rst = d.rst.expect("rst recorded");
        assert_eq!((rst.ttl, d.ttl_first), (250, Some(64)));
        assert_eq!(d.rst_count, 1);
    }
}
