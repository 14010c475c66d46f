//! Sequence-number analysis of one TCP direction, with tshark's definitions and order of checks
//! (Wireshark's `tcp_analyze_sequence_number`), so that the counts in [`TcpDir`] can be held
//! against `tshark -Y tcp.analysis.*` on the same capture.
//!
//! Each segment a side sends is compared with what that side sent before (the next expected
//! sequence number and when it last advanced, its last ACK and window) and with what the peer
//! said last (its ACK, window, run of duplicate ACKs, whether it just sent a keep-alive). In
//! this order:
//!
//! 1. zero-window probe: one byte at the next sequence number while the peer's window is 0
//!    (RFC 9293 §3.8.6.1); nothing else below is checked for it, and it does not advance the
//!    sequence space;
//! 2. zero window: this side advertises window 0 (not on SYN, FIN or RST);
//! 3. lost segment: it starts above the next expected sequence number, so the capture missed
//!    something (not for RST);
//! 4. keep-alive: 0 or 1 byte at one below the next sequence number (RFC 9293 §3.8.4);
//! 5. window full: its end reaches the right edge of the peer's advertised window (RFC 7323);
//! 6. duplicate ACK: no payload, the same ACK and window as this side's previous segment, at the
//!    next sequence number, and not the answer to the peer's keep-alive (RFC 5681 §2);
//! 7. ACKed lost segment: it acknowledges more than the peer was seen to send without a gap;
//!    not checked while the peer is sending duplicate ACKs, and reported once until the peer
//!    sends new data (tshark's behaviour as observed; on contrived sequences with ACKs jumping
//!    back and forth the two can still differ, never on the corpus);
//! 8. for segments with payload, SYN or FIN that start below the next sequence number, the
//!    first that holds of: fast retransmission (the peer sent two or more duplicate ACKs for
//!    exactly this sequence number, the last one less than 20 ms before; RFC 5681 §3.2),
//!    out-of-order (less than the reordering window after the highest segment, and not ending
//!    where it), spurious retransmission (its end is at or below the peer's last ACK: the data
//!    had arrived), retransmission (RFC 9293 §3.8.1, RFC 6298). A keep-alive is none of these;
//!    a segment of two or more bytes starting one below the next sequence number can only be
//!    spurious.
//!
//! The reordering window is the connection's initial round-trip time (most recent SYN to the
//! first ACK), 3 ms when unknown: a segment that fills a gap sooner than a retransmission timer
//! could have fired was reordered, not resent.
//!
//! Where its job ends: it keeps a few numbers per direction, no segment history and no
//! payload; frames stored twice by the capture are removed before they get here
//! (`flow::FlowTable`); what the counts mean is the diagnosis's business.

use super::{Seg, TcpDir};
use crate::flow::reassembly::seq_diff;

/// Reordering window when the handshake's round-trip time is unknown (tshark's default).
pub const DEFAULT_REORDER_NS: i64 = 3_000_000;
/// A retransmission this soon after the peer's latest duplicate ACK is a fast retransmission.
const FAST_RETX_NS: i64 = 20_000_000;
/// Largest window scale shift (RFC 7323 §2.3).
const MAX_WINDOW_SHIFT: u8 = 14;

/// What one side sent last, as far as the analysis needs it.
#[derive(Clone, Debug, Default)]
pub(super) struct SeqState {
    /// Next expected sequence number: the end of the highest segment sent (SYN and FIN count
    /// one), and when it last advanced (ns).
    next_seq: Option<u32>,
    next_seq_ts: i64,
    /// The most the peer may acknowledge of what the capture saw this side send without a
    /// gap: it advances only with a segment starting at it (or one filling the gap up to it).
    max_to_ack: Option<u32>,
    /// ACK number (when the ACK flag was set), window and time of the last segment sent.
    last_ack: Option<u32>,
    last_window: Option<u16>,
    last_ts: i64,
    /// The last segment was a SYN: its window is never scaled (RFC 7323 §2.2).
    last_was_syn: bool,
    /// Duplicate ACKs in a row for `last_ack` (while there are, the peer's ACKs are not checked
    /// against `max_to_ack`, as tshark does).
    dup_run: u32,
    /// The last segment was a keep-alive (the peer's answer repeats its ACK without being a
    /// duplicate ACK).
    last_keep_alive: bool,
    /// The peer acknowledged data of this side's that the capture missed; not reported again
    /// until this side sends new data.
    ack_lost_reported: bool,
}

/// Analyses one segment `me` sent and counts what it is; `peer` is the other direction.
/// Returns true for a retransmission of any kind (plain, fast or spurious).
pub(super) fn analyze(me: &mut TcpDir, peer: &mut TcpDir, s: &Seg, reorder_ns: i64) -> bool {
    let now = s.at.ts.0;
    let len = s.payload_len;
    let control = s.syn || s.fin || s.rst;
    let st = &me.seq;
    let at_next = st.next_seq == Some(s.seq);
    let same_ack = s.ack_flag && st.last_ack == Some(s.ack);
    let one_below = st.next_seq.is_some_and(|n| s.seq == n.wrapping_sub(1));

    let probe = len == 1 && at_next && peer.seq.last_window == Some(0);
    let mut keep_alive = false;
    if probe {
        me.zero_window_probes += 1;
    } else {
        if s.window == 0 && !control {
            me.zero_windows += 1;
        }
        if !s.rst && st.next_seq.is_some_and(|n| seq_diff(s.seq, n) > 0) {
            me.lost_segments += 1;
        }
        if len <= 1 && !control && one_below {
            keep_alive = true;
            me.keep_alives += 1;
        }
        if len > 0 && !control && fills_window(me, peer, s) {
            me.window_full += 1;
        }
        let repeat = len == 0 && !control && s.window != 0 && st.last_window == Some(s.window) && at_next && same_ack;
        if repeat && !peer.seq.last_keep_alive {
            me.dup_acks += 1;
            me.seq.dup_run += 1;
        }
    }
    if !same_ack {
        me.seq.dup_run = 0;
    }
    let beyond = |m: u32| seq_diff(s.ack, m) > 0;
    let check_ack = s.ack_flag && peer.seq.dup_run == 0 && !peer.seq.ack_lost_reported;
    if check_ack && peer.seq.max_to_ack.is_some_and(beyond) {
        me.ack_lost_segments += 1;
        peer.seq.max_to_ack = peer.seq.next_seq;
        peer.seq.ack_lost_reported = true;
    }

    let mut retx = false;
    let occupies = len > 0 || s.syn || s.fin;
    let end = s.seq.wrapping_add(len).wrapping_add(u32::from(s.syn || s.fin));
    if occupies && !keep_alive {
        let st = &me.seq;
        // Like tshark, a segment of two or more bytes starting one below the next sequence
        // number (new data behind a keep-alive byte or a FIN) is only checked for spuriousness.
        let behind = st.next_seq.is_some_and(|n| seq_diff(s.seq, n) < 0) && !(one_below && len > 1);
        let since = |t: i64, limit: i64| (0..limit).contains(&now.saturating_sub(t));
        let fast = behind
            && peer.seq.dup_run >= 2
            && peer.seq.last_ack == Some(s.seq)
            && since(peer.seq.last_ts, FAST_RETX_NS);
        let reordered = behind && since(st.next_seq_ts, reorder_ns) && st.next_seq != Some(end);
        let spurious = len > 0 && peer.seq.last_ack.is_some_and(|a| seq_diff(s.seq.wrapping_add(len), a) <= 0);
        if fast {
            me.fast_retransmissions += 1;
            retx = true;
        } else if spurious {
            me.spurious_retransmissions += 1;
            retx = true;
        } else if reordered {
            me.out_of_order += 1;
        } else {
            retx = behind;
        }
    }

    // Any segment, a pure ACK included, moves the next expected sequence number up (after a
    // capture gap the gap is reported once); a zero-window probe does not.
    let st = &mut me.seq;
    if !probe {
        if st.next_seq.is_none_or(|n| seq_diff(end, n) > 0) {
            st.next_seq = Some(end);
            st.next_seq_ts = now;
        }
        if st.max_to_ack.is_none_or(|m| m == s.seq) {
            st.max_to_ack = st.next_seq;
        }
        if occupies && !retx {
            st.ack_lost_reported = false;
        }
    }
    st.last_ack = s.ack_flag.then_some(s.ack);
    st.last_window = Some(s.window);
    st.last_ts = now;
    st.last_was_syn = s.syn;
    st.last_keep_alive = keep_alive;
    retx
}

/// The segment ends exactly at the right edge of the window the peer last advertised (its last
/// ACK plus its window, scaled when both SYNs offered scaling). Unknown without both SYNs.
fn fills_window(me: &TcpDir, peer: &TcpDir, s: &Seg) -> bool {
    if me.syns.is_empty() || peer.syns.is_empty() {
        return false;
    }
    let (Some(ack), Some(window)) = (peer.seq.last_ack, peer.seq.last_window) else { return false };
    let shift = match (me.window_scale, peer.window_scale) {
        (Some(_), Some(p)) if !peer.seq.last_was_syn => p.min(MAX_WINDOW_SHIFT),
        _ => 0,
    };
    s.seq.wrapping_add(s.payload_len) == ack.wrapping_add(u32::from(window) << shift)
}

#[cfg(test)]
mod tests {
    use super::super::{At, DEFAULT_REORDER_NS, Seg, TcpDir};
    use crate::time::Ts;

    const CLIENT_ISN: u32 = 1_000;
    const SERVER_ISN: u32 = 50_000;
    const MSS: u32 = 1_000;
    const WINDOW: u16 = 8_000;
    const MS: i64 = 1_000_000;
    /// Client's first data byte and server's first data byte.
    const C1: u32 = CLIENT_ISN + 1;
    const S1: u32 = SERVER_ISN + 1;

    /// A client and a server with the analysis between them; times in ms.
    struct Pair {
        client: TcpDir,
        server: TcpDir,
        frame: u64,
        reorder_ns: i64,
    }

    fn seg(seq: u32, ack: u32, len: u32) -> Seg<'static> {
        Seg {
            at: At { frame: 0, ts: Ts(0) },
            seq,
            ack,
            syn: false,
            ack_flag: true,
            fin: false,
            rst: false,
            window: WINDOW,
            options: &[],
            payload_len: len,
            ttl: 64,
            ip_id: None,
            checksum: 0,
        }
    }

    impl Pair {
        fn new() -> Pair {
            Pair { client: TcpDir::default(), server: TcpDir::default(), frame: 0, reorder_ns: DEFAULT_REORDER_NS }
        }

        fn send(&mut self, from_client: bool, ms: i64, mut s: Seg) {
            self.frame += 1;
            s.at = At { frame: self.frame, ts: Ts(ms * MS) };
            if from_client {
                self.client.on_send(&s, &mut self.server, self.reorder_ns);
            } else {
                self.server.on_send(&s, &mut self.client, self.reorder_ns);
            }
        }

        fn c(&mut self, ms: i64, s: Seg) -> &mut Self {
            self.send(true, ms, s);
            self
        }

        fn s(&mut self, ms: i64, s: Seg) -> &mut Self {
            self.send(false, ms, s);
            self
        }

        /// SYN at 0 ms, SYN+ACK at 5 ms, ACK at 10 ms.
        fn handshake(&mut self) -> &mut Self {
            let mut syn = seg(CLIENT_ISN, 0, 0);
            (syn.syn, syn.ack_flag) = (true, false);
            let mut syn_ack = seg(SERVER_ISN, C1, 0);
            syn_ack.syn = true;
            self.c(0, syn).s(5, syn_ack).c(10, seg(C1, S1, 0))
        }
    }

    fn sack(blocks: &[(u32, u32)]) -> &'static [u8] {
        let mut o = vec![1, 1, 5, 2 + 8 * blocks.len() as u8];
        for (l, r) in blocks {
            o.extend_from_slice(&l.to_be_bytes());
            o.extend_from_slice(&r.to_be_bytes());
        }
        o.leak()
    }

    #[test]
    fn fast_retransmission_after_three_dup_acks() {
        let mut p = Pair::new();
        p.handshake();
        // The server sends four segments; the second is lost after the capture point.
        let (lost, third, fourth) = (S1 + MSS, S1 + 2 * MSS, S1 + 3 * MSS);
        p.s(20, seg(S1, C1, MSS)).s(20, seg(lost, C1, MSS)).s(20, seg(third, C1, MSS)).s(20, seg(fourth, C1, MSS));
        p.c(30, seg(C1, lost, 0));
        for (ms, right) in [(31, fourth), (32, fourth + MSS), (32, fourth + MSS)] {
            let mut dup = seg(C1, lost, 0);
            dup.options = sack(&[(third, right)]);
            p.c(ms, dup);
        }
        p.s(33, seg(lost, C1, MSS)); // 1 ms after the third duplicate ACK
        assert_eq!((p.client.dup_acks, p.client.sack_blocks, p.client.dsack_blocks), (3, 3, 0));
        assert_eq!((p.server.retransmissions, p.server.fast_retransmissions), (1, 1));
        assert_eq!((p.server.out_of_order, p.server.spurious_retransmissions, p.server.lost_segments), (0, 0, 0));
        assert!(p.server.unacked_at_end && !p.server.last_retx_recovered);
        p.c(40, seg(C1, fourth + MSS, 0));
        assert!(!p.server.unacked_at_end && p.server.last_retx_recovered);
        assert_eq!(p.server.last_retx.map(|a| a.frame), Some(12));
    }

    #[test]
    fn spurious_retransmission_confirmed_by_dsack() {
        let mut p = Pair::new();
        p.handshake();
        p.s(20, seg(S1, C1, MSS)).c(30, seg(C1, S1 + MSS, 0));
        // The ACK was slow to reach the server: its RTO fires and it resends acknowledged data.
        p.s(320, seg(S1, C1, MSS));
        let mut dsack = seg(C1, S1 + MSS, 0);
        dsack.options = sack(&[(S1, S1 + MSS)]);
        p.c(330, dsack);
        assert_eq!((p.server.retransmissions, p.server.spurious_retransmissions), (1, 1));
        assert_eq!((p.client.dsack_blocks, p.client.dup_acks), (1, 1));
        assert!(p.server.last_retx_recovered && !p.server.unacked_at_end);
    }

    #[test]
    fn out_of_order_within_the_rtt_is_no_retransmission() {
        let (first, second, third) = (S1, S1 + MSS, S1 + 2 * MSS);
        for (late_ms, ooo, retx) in [(21, 1, 0), (80, 0, 1)] {
            let mut p = Pair::new();
            p.reorder_ns = 10 * MS; // the handshake's RTT
            p.handshake();
            // The second segment arrives after the third (reordered on the way, e.g. a VPN).
            p.s(20, seg(first, C1, MSS)).s(20, seg(third, C1, MSS)).s(late_ms, seg(second, C1, MSS));
            assert_eq!(p.server.lost_segments, 1, "the third segment showed a gap");
            assert_eq!((p.server.out_of_order, p.server.retransmissions), (ooo, retx), "late by {late_ms} ms");
        }
    }

    #[test]
    fn lost_segment_and_acked_lost_segment() {
        let mut p = Pair::new();
        p.handshake();
        let missing = S1 + MSS; // sent by the server but not captured
        let after = missing + MSS;
        p.s(20, seg(S1, C1, MSS)).s(21, seg(after, C1, MSS));
        assert_eq!((p.server.lost_segments, p.server.retransmissions), (1, 0));
        // The client acknowledges the missing segment: it arrived, the capture missed it.
        p.c(30, seg(C1, after + MSS, 0));
        assert_eq!(p.client.ack_lost_segments, 1);
        // From there on the server's data is seen without a gap again.
        p.s(40, seg(after + MSS, C1, MSS)).c(50, seg(C1, after + 2 * MSS, 0));
        assert_eq!((p.client.ack_lost_segments, p.server.lost_segments), (1, 1));
    }

    #[test]
    fn acked_lost_segment_is_reported_once_and_not_during_dup_acks() {
        let mut p = Pair::new();
        p.handshake();
        p.s(20, seg(S1, C1, MSS)).c(30, seg(C1, S1 + MSS, 0));
        // Two jumps ahead with nothing new from the server in between: one report.
        p.c(40, seg(C1, S1 + 3 * MSS, 0)).c(50, seg(C1, S1 + 5 * MSS, 0));
        assert_eq!(p.client.ack_lost_segments, 1);
        // New data from the server re-arms the check; its duplicate ACKs (a pure ACK repeating
        // the ACK and window of its data segment counts as one) suspend it.
        p.s(60, seg(S1 + 5 * MSS, C1, MSS)).s(61, seg(S1 + 6 * MSS, C1, 0)).s(62, seg(S1 + 6 * MSS, C1, 0));
        p.c(70, seg(C1, S1 + 9 * MSS, 0));
        assert_eq!((p.server.dup_acks, p.client.ack_lost_segments), (2, 1));
    }

    #[test]
    fn data_one_below_the_next_sequence_number_is_no_retransmission() {
        let mut p = Pair::new();
        p.handshake();
        // A FIN takes one sequence number; data sent from the FIN's number on is new data.
        let mut fin = seg(S1 + MSS, C1, 0);
        fin.fin = true;
        p.s(20, seg(S1, C1, MSS)).s(30, fin).s(330, seg(S1 + MSS, C1, 100));
        assert_eq!((p.server.retransmissions, p.server.syn_fin_retransmissions, p.server.out_of_order), (0, 0, 0));
        // One byte further back it is a retransmission.
        p.s(630, seg(S1 + MSS - 1, C1, 100));
        assert_eq!(p.server.retransmissions, 1);
    }

    #[test]
    fn keep_alive_and_its_answer() {
        let mut p = Pair::new();
        p.handshake();
        p.c(20, seg(C1, S1, 10)).s(30, seg(S1, C1 + 10, 0));
        // Idle; the client probes the connection with one byte below its next sequence number.
        p.c(7_200_000, seg(C1 + 9, S1, 1)).s(7_200_005, seg(S1, C1 + 10, 0));
        assert_eq!((p.client.keep_alives, p.client.retransmissions, p.client.lost_segments), (1, 0, 0));
        assert_eq!(p.server.dup_acks, 0, "the keep-alive's answer is no duplicate ACK");
        // New data from the client ends the keep-alive; a repeated ACK after it is a duplicate.
        p.c(7_200_100, seg(C1 + 10, S1, 5)).s(7_200_110, seg(S1, C1 + 15, 0)).s(7_200_120, seg(S1, C1 + 15, 0));
        assert_eq!(p.server.dup_acks, 1);
    }

    #[test]
    fn zero_window_and_its_probes() {
        let mut p = Pair::new();
        p.handshake();
        p.s(20, seg(S1, C1, MSS));
        let mut closed = seg(C1, S1 + MSS, 0);
        closed.window = 0;
        p.c(30, closed);
        // The server probes the closed window with the next byte, twice (RFC 9293 §3.8.6.1).
        let mut probe = seg(S1 + MSS, C1, 1);
        p.s(230, probe);
        probe = seg(S1 + MSS, C1, 1);
        p.s(630, probe);
        assert_eq!((p.client.zero_windows, p.server.zero_window_probes), (1, 2));
        assert_eq!((p.server.retransmissions, p.server.lost_segments, p.server.keep_alives), (0, 0, 0));
        // The window opens: the probed byte is sent again as ordinary data.
        p.c(700, seg(C1, S1 + MSS, 0)).s(701, seg(S1 + MSS, C1, MSS));
        assert_eq!((p.server.retransmissions, p.server.out_of_order, p.server.lost_segments), (0, 0, 0));
    }

    #[test]
    fn syn_retransmission_is_counted_apart() {
        let mut p = Pair::new();
        let mut syn = seg(CLIENT_ISN, 0, 0);
        (syn.syn, syn.ack_flag) = (true, false);
        p.c(0, syn);
        let mut again = seg(CLIENT_ISN, 0, 0);
        (again.syn, again.ack_flag) = (true, false);
        p.c(1_000, again);
        assert_eq!((p.client.syn_fin_retransmissions, p.client.retransmissions, p.client.syns.len()), (1, 0, 2));
    }

    #[test]
    fn window_full_at_the_advertised_edge() {
        let mut p = Pair::new();
        p.handshake();
        // The client's window is 8000 bytes (no scaling): the eighth segment fills it.
        for i in 0..8 {
            p.s(20, seg(S1 + i * MSS, C1, MSS));
        }
        assert_eq!(p.server.window_full, 1);
    }
}
