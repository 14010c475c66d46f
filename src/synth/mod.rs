//! Synthetic captures: packet exchanges and capture files produced entirely by our own code.
//!
//! Tests, benches and the bundled samples need captures, and we may not ship third-party ones,
//! so this module builds them: `conversation` turns a script of TCP/UDP events (handshake, data,
//! loss, resets, ICMP errors) into link-layer frames with correct headers and checksums, and
//! `writer` stores frames as pcap or pcapng in the exact layout the input reader expects.
//!
//! Everything is deterministic: the same calls give byte-identical output. There is no clock and
//! no entropy; the only "randomness" is `XorShift`, seeded by the caller.
//!
//! Nothing in the analysis path uses this module; it only produces input for it. It does not
//! simulate a network (no congestion control, no real loss model), and it reads nothing.
//!
//! References: pcap-savefile(5) and draft-ietf-opsawg-pcapng (see `writer`); RFC 9293,
//! RFC 6298, RFC 792/1191 and RFC 4443 (see `conversation`); Marsaglia, "Xorshift RNGs" (2003).

pub mod binxml_writer;
pub mod conversation;
pub mod etl_writer;
pub mod evtx_writer;
pub mod rdp;
pub mod scenario_logs;
pub mod scenarios;
pub mod twopoint;
pub mod writer;

/// A tiny seeded pseudo-random generator (Marsaglia's xorshift64, shifts 13/7/17).
///
/// Good enough for "random-looking" header fields in generated traffic; not for anything that
/// needs statistical quality or secrecy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XorShift(pub u64);

impl XorShift {
    /// Creates a generator. A zero seed (the one state xorshift never leaves) is replaced by a
    /// fixed non-zero constant so that every seed yields a usable sequence.
    pub fn new(seed: u64) -> Self {
        XorShift(if seed == 0 { 0x9E37_79B9_7F4A_7C15 } else { seed })
    }

    pub fn next_u64(&mut self) -> u64 {
        if self.0 == 0 {
            self.0 = 0x9E37_79B9_7F4A_7C15;
        }
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A value in `0..n` (0 when `n` is 0), by multiply-and-shift rather than modulo.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::XorShift;

    #[test]
    fn xorshift_is_seeded_and_bounded() {
        let a: Vec<u64> = {
            let mut r = XorShift::new(42);
            (0..5).map(|_| r.next_u64()).collect()
        };
        let mut r = XorShift::new(42);
        assert_eq!(a, (0..5).map(|_| r.next_u64()).collect::<Vec<_>>());
        assert_ne!(XorShift::new(43).next_u64(), a[0]);
        let mut z = XorShift(0);
        assert_ne!(z.next_u64(), 0);
        let mut r = XorShift::new(7);
        assert!((0..1000).all(|_| r.below(10) < 10));
        assert_eq!(r.below(0), 0);
    }
}
