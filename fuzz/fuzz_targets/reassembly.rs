//! TCP reassembler (`flow::reassembly::Reassembler`): the fuzz bytes are a budget, a mode byte and
//! a program of operations (push a segment at a sequence number relative to the last one or at an
//! absolute one, set the ISN, flush, finish), ended by a flush.
//!
//! Invariants checked:
//! - the bytes delivered never exceed the budget, and nothing is delivered after `finish`;
//! - in "consistent" mode (every segment's bytes are the low byte of their own sequence number,
//!   as a real stream's retransmissions agree with each other) the delivered bytes are in order and
//!   each exactly once: every run counts up by one, and a run continues the previous one unless
//!   the reassembler counted a jumped gap in between.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rdplog::flow::reassembly::Reassembler;

struct Ops<'a>(&'a [u8]);

impl Ops<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.byte()?, self.byte()?]))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes([self.byte()?, self.byte()?, self.byte()?, self.byte()?]))
    }
    fn bytes(&mut self, n: usize) -> &[u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }
}

/// What was delivered so far, and whether the next run must continue the last byte.
#[derive(Default)]
struct Seen {
    total: usize,
    last: Option<u8>,
}

fn check_run(seen: &mut Seen, run: &[u8], budget: usize, finished: bool, consistent: bool, continuous: bool) {
    assert!(!run.is_empty(), "empty run delivered");
    assert!(!finished, "bytes delivered after finish()");
    seen.total += run.len();
    assert!(seen.total <= budget, "delivered {} bytes over a budget of {budget}", seen.total);
    if consistent {
        for w in run.windows(2) {
            assert_eq!(w[1], w[0].wrapping_add(1), "run out of order or duplicated: {run:?}");
        }
        if continuous && let Some(last) = seen.last {
            assert_eq!(run[0], last.wrapping_add(1), "run does not continue the previous one");
        }
        seen.last = run.last().copied();
    }
}

fuzz_target!(|data: &[u8]| {
    let mut ops = Ops(data);
    let Some(budget) = ops.u16() else { return };
    let Some(mode) = ops.byte() else { return };
    let budget = budget as usize;
    let consistent = mode & 1 != 0;
    let mut r = Reassembler::new(budget);
    let mut seen = Seen::default();
    let mut finished = false;
    let mut cursor = 0u32;
    let mut buf = Vec::new();
    while let Some(tag) = ops.byte() {
        let gaps_before = r.gaps;
        // A run inside one call continues the previous run only if no gap was jumped in this
        // call (we cannot tell at which run the jump happened).
        let mut runs: Vec<Vec<u8>> = Vec::new();
        let mut collect = |b: &[u8]| runs.push(b.to_vec());
        match tag % 10 {
            0..=5 => {
                let seq = if tag % 10 == 5 {
                    let Some(s) = ops.u32() else { break };
                    s
                } else {
                    let Some(delta) = ops.u16() else { break };
                    cursor.wrapping_add(delta as i16 as i32 as u32)
                };
                let Some(len) = ops.u16() else { break };
                let len = usize::from(len % 2048);
                buf.clear();
                if consistent {
                    buf.extend((0..len).map(|i| seq.wrapping_add(i as u32) as u8));
                } else {
                    buf.extend_from_slice(ops.bytes(len));
                }
                r.push(seq, &buf, &mut collect);
                cursor = seq.wrapping_add(buf.len() as u32);
            }
            6 => {
                let Some(isn) = ops.u32() else { break };
                r.set_isn(isn);
                cursor = isn.wrapping_add(1);
            }
            7 | 8 => r.flush(&mut collect),
            _ => {
                r.finish();
                assert!(r.is_done(), "finish() must make the reassembler done");
                finished = true;
            }
        }
        let continuous = r.gaps == gaps_before;
        for run in &runs {
            check_run(&mut seen, run, budget, finished, consistent, continuous);
        }
        assert!(r.gaps >= gaps_before);
    }
    let gaps_before = r.gaps;
    let mut runs: Vec<Vec<u8>> = Vec::new();
    r.flush(&mut |b: &[u8]| runs.push(b.to_vec()));
    let continuous = r.gaps == gaps_before;
    for run in &runs {
        check_run(&mut seen, run, budget, finished, consistent, continuous);
    }
    assert!(seen.total <= budget);
    if seen.total == budget {
        assert!(r.is_done(), "budget spent but not done");
    }
});
