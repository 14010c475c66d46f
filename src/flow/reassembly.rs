//! In-order byte delivery for one TCP direction, bounded.
//!
//! Takes segments as they were captured (retransmitted, overlapping, out of order) and hands the
//! analyzer each new in-order byte exactly once, until a fixed byte budget is spent; after that
//! it only says "done". Out-of-order data waits in a small queue; when the queue overflows or a
//! gap is never filled, delivery jumps over the gap and counts it, rather than buffering more.
//!
//! Reference: RFC 9293 §3.4 (sequence numbers, modulo 2^32 comparison).

/// Segments held while waiting for a gap to fill.
const MAX_PENDING: usize = 16;

/// `a - b` in sequence space (RFC 9293 §3.4): positive when `a` is after `b`.
pub fn seq_diff(a: u32, b: u32) -> i64 {
    a.wrapping_sub(b) as i32 as i64
}

#[derive(Debug)]
pub struct Reassembler {
    /// Next expected sequence number; `None` until the first SYN or data segment.
    next: Option<u32>,
    pending: Vec<(u32, Vec<u8>)>,
    pending_bytes: usize,
    delivered: usize,
    budget: usize,
    /// Gaps jumped over (bytes never seen).
    pub gaps: u32,
}

impl Reassembler {
    pub fn new(budget: usize) -> Self {
        Reassembler { next: None, pending: Vec::new(), pending_bytes: 0, delivered: 0, budget, gaps: 0 }
    }

    /// The peer's SYN fixes the initial sequence number; data starts at ISN + 1.
    pub fn set_isn(&mut self, isn: u32) {
        if self.next.is_none() {
            self.next = Some(isn.wrapping_add(1));
        }
    }

    /// True once the budget is spent: the caller can stop pushing payload.
    pub fn is_done(&self) -> bool {
        self.delivered >= self.budget
    }

    /// Stops delivery for good (the analyzer has what it needs).
    pub fn finish(&mut self) {
        self.delivered = self.budget;
        self.pending = Vec::new();
        self.pending_bytes = 0;
    }

    /// Pushes one segment; calls `deliver` with each run of new in-order bytes.
    pub fn push(&mut self, seq: u32, data: &[u8], deliver: &mut impl FnMut(&[u8])) {
        if data.is_empty() || self.is_done() {
            return;
        }
        let next = *self.next.get_or_insert(seq);
        let d = seq_diff(seq, next);
        if d > 0 {
            self.hold(seq, data);
        } else {
            let skip = (-d) as usize;
            if skip < data.len() {
                self.emit(&data[skip..], deliver);
            }
        }
        self.drain(deliver);
        if self.pending.len() > MAX_PENDING || self.pending_bytes > self.budget {
            self.jump_gap(deliver);
        }
    }

    /// Called when the capture (or the flow) ends: deliver what is held, jumping gaps.
    pub fn flush(&mut self, deliver: &mut impl FnMut(&[u8])) {
        while !self.pending.is_empty() && !self.is_done() {
            self.jump_gap(deliver);
        }
    }

    fn hold(&mut self, seq: u32, data: &[u8]) {
        let room = self.budget.saturating_sub(self.delivered);
        let keep = data.len().min(room);
        if keep == 0 || self.pending.iter().any(|(s, d)| *s == seq && d.len() >= keep) {
            return;
        }
        self.pending_bytes += keep;
        self.pending.push((seq, data[..keep].to_vec()));
    }

    fn emit(&mut self, data: &[u8], deliver: &mut impl FnMut(&[u8])) {
        let room = self.budget.saturating_sub(self.delivered);
        let out = &data[..data.len().min(room)];
        if let Some(n) = self.next.as_mut() {
            *n = n.wrapping_add(data.len() as u32);
        }
        if !out.is_empty() {
            self.delivered += out.len();
            deliver(out);
        }
    }

    /// Delivers held segments that have become in-order.
    fn drain(&mut self, deliver: &mut impl FnMut(&[u8])) {
        loop {
            let Some(next) = self.next else { return };
            let Some(i) = self.pending.iter().position(|(s, _)| seq_diff(*s, next) <= 0) else { return };
            let (seq, data) = self.pending.swap_remove(i);
            self.pending_bytes -= data.len();
            let skip = seq_diff(next, seq) as usize;
            if skip < data.len() {
                self.emit(&data[skip..], deliver);
            }
        }
    }

    /// Skips to the earliest held segment (the bytes in between were never captured).
    fn jump_gap(&mut self, deliver: &mut impl FnMut(&[u8])) {
        let Some(next) = self.next else { return };
        if let Some(&(seq, _)) = self.pending.iter().min_by_key(|(s, _)| seq_diff(*s, next)) {
            self.gaps += 1;
            self.next = Some(seq);
            self.drain(deliver);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(segs: &[(u32, &[u8])], budget: usize) -> (Vec<u8>, Reassembler) {
        let mut r = Reassembler::new(budget);
        r.set_isn(99);
        let mut out = Vec::new();
        for (seq, data) in segs {
            r.push(*seq, data, &mut |b| out.extend_from_slice(b));
        }
        (out, r)
    }

    #[test]
    fn in_order_retransmitted_overlapping_and_out_of_order() {
        let (out, r) = run(&[(100, b"abc"), (100, b"abc"), (102, b"cde"), (108, b"ij"), (105, b"fgh")], 100);
        assert_eq!(out, b"abcdefghij");
        assert_eq!(r.gaps, 0);
    }

    #[test]
    fn budget_caps_delivery() {
        let (out, r) = run(&[(100, b"abcdef"), (106, b"ghij")], 8);
        assert_eq!(out, b"abcdefgh");
        assert!(r.is_done());
    }

    #[test]
    fn wraps_around_sequence_space() {
        let mut r = Reassembler::new(64);
        r.set_isn(u32::MAX - 1);
        let mut out = Vec::new();
        r.push(u32::MAX, b"ab", &mut |b| out.extend_from_slice(b));
        r.push(1, b"c", &mut |b| out.extend_from_slice(b));
        assert_eq!(out, b"abc");
    }

    #[test]
    fn gap_is_jumped_on_flush() {
        let (mut out, mut r) = run(&[(100, b"ab"), (110, b"xy")], 64);
        assert_eq!(out, b"ab");
        r.flush(&mut |b| out.extend_from_slice(b));
        assert_eq!(out, b"abxy");
        assert_eq!(r.gaps, 1);
    }

    #[test]
    fn too_many_holes_jump_instead_of_buffering() {
        let mut segs: Vec<(u32, Vec<u8>)> = Vec::new();
        for i in 0..40u32 {
            segs.push((200 + i * 10, vec![b'z'; 2]));
        }
        let mut r = Reassembler::new(1 << 20);
        r.set_isn(99);
        let mut n = 0;
        for (s, d) in &segs {
            r.push(*s, d, &mut |b| n += b.len());
        }
        assert!(r.pending.len() <= MAX_PENDING + 1);
        assert!(r.gaps >= 1 && n > 0);
    }
}
