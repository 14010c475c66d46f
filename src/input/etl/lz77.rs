//! MS-XCA "Plain LZ77" decompression, the codec of compressed ETW buffers (pktmon writes its
//! relogged files with `EVENT_TRACE_COMPRESSED_MODE`, and every data buffer is one LZ77 stream).
//!
//! Takes one compressed buffer body and the size it must decompress to; returns the bytes or
//! why it could not. It knows nothing of buffers or events. The output is bounded by the
//! caller's limit, never by a length read from the input.
//!
//! Reference: [MS-XCA] §2.3 (format) and §2.4 (decompression pseudocode). The stream is a
//! sequence of 32-bit little-endian flag words, each consumed from its most significant bit:
//! a 0 bit is one literal byte, a 1 bit is a 16-bit little-endian match token whose low 3 bits
//! are a length and whose high 13 bits are `distance - 1`. A length of 7 continues into a
//! shared half-byte (the low nibble of a new byte, then the high nibble of the same byte at the
//! next such match), 15 into a byte, 255 into a 16-bit length, 0 there into a 32-bit length.
//! The minimum match is 3 bytes. A match token where the input ends marks the end of data.
//!
//! Crates considered: `rust-lzxpress` 0.7 grows its output without a caller-given bound (a
//! ten-byte input can ask for a 4 GiB match) and rejects a flag word that ends the input
//! exactly; `xpress_rs` 0.2 takes its input by value and has no output bound either. The
//! decoder is forty lines, so it lives here with its tests and a fuzz target.

use std::fmt;

/// Why a stream could not be decompressed. Every error leaves the bytes produced before it in
/// the output, so a caller may still use a damaged buffer's intact prefix.
#[derive(Debug, PartialEq, Eq)]
pub enum Lz77Error {
    /// The input ends inside a flag word, a match token or a length escape.
    Truncated { at: usize },
    /// A match reaches back before the start of the output.
    BadDistance { at: usize, distance: usize, produced: usize },
    /// A 16/32-bit length escape encodes less than its own minimum (MS-XCA: "error").
    BadLength { at: usize },
    /// The output would exceed the caller's limit.
    TooLong { limit: usize },
}

impl fmt::Display for Lz77Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lz77Error::Truncated { at } => write!(f, "compressed data ends inside a token at byte {at}"),
            Lz77Error::BadDistance { at, distance, produced } => {
                write!(f, "match at byte {at} reaches back {distance} bytes but only {produced} were produced")
            }
            Lz77Error::BadLength { at } => write!(f, "invalid match length escape at byte {at}"),
            Lz77Error::TooLong { limit } => write!(f, "decompresses to more than the {limit} bytes announced"),
        }
    }
}

fn le16(src: &[u8], at: usize) -> Result<usize, Lz77Error> {
    match src.get(at..at + 2) {
        Some(b) => Ok(u16::from_le_bytes([b[0], b[1]]) as usize),
        None => Err(Lz77Error::Truncated { at }),
    }
}

fn le32(src: &[u8], at: usize) -> Result<usize, Lz77Error> {
    match src.get(at..at + 4) {
        Some(b) => Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize),
        None => Err(Lz77Error::Truncated { at }),
    }
}

fn byte(src: &[u8], at: usize) -> Result<usize, Lz77Error> {
    src.get(at).map(|&b| b as usize).ok_or(Lz77Error::Truncated { at })
}

/// Decompresses `src` into `out` (cleared first), producing at most `limit` bytes.
pub fn decompress(src: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<(), Lz77Error> {
    out.clear();
    let (mut pos, mut flags, mut flag_count) = (0usize, 0usize, 0u32);
    // Position of the byte whose high nibble the next 7-length match uses (MS-XCA
    // "LastLengthHalfByte"; `None` where the pseudocode has 0).
    let mut half: Option<usize> = None;
    loop {
        if flag_count == 0 {
            if pos >= src.len() {
                return Ok(());
            }
            flags = le32(src, pos)?;
            pos += 4;
            flag_count = 32;
        }
        flag_count -= 1;
        if flags & (1 << flag_count) == 0 {
            let Some(&b) = src.get(pos) else { return Ok(()) };
            if out.len() >= limit {
                return Err(Lz77Error::TooLong { limit });
            }
            out.push(b);
            pos += 1;
            continue;
        }
        if pos == src.len() {
            return Ok(());
        }
        let at = pos;
        let token = le16(src, pos)?;
        pos += 2;
        let distance = (token >> 3) + 1;
        let mut length = token & 7;
        if length == 7 {
            length = match half.take() {
                None => {
                    half = Some(pos);
                    pos += 1;
                    byte(src, pos - 1)? & 0x0f
                }
                Some(h) => byte(src, h)? >> 4,
            };
            if length == 15 {
                length = byte(src, pos)?;
                pos += 1;
                if length == 255 {
                    length = le16(src, pos)?;
                    pos += 2;
                    if length == 0 {
                        length = le32(src, pos)?;
                        pos += 4;
                    }
                    length = length.checked_sub(15 + 7).ok_or(Lz77Error::BadLength { at })?;
                }
                length += 15;
            }
            length += 7;
        }
        length += 3;
        let produced = out.len();
        if distance > produced {
            return Err(Lz77Error::BadDistance { at, distance, produced });
        }
        if length > limit - produced {
            return Err(Lz77Error::TooLong { limit });
        }
        // Overlapping copies repeat the last `distance` bytes; copy in chunks that never
        // read past what is already written.
        let mut left = length;
        while left > 0 {
            let start = out.len() - distance;
            let n = left.min(distance);
            out.extend_from_within(start..start + n);
            left -= n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(src: &[u8], limit: usize) -> (Vec<u8>, Result<(), Lz77Error>) {
        let mut out = Vec::new();
        let r = decompress(src, limit, &mut out);
        (out, r)
    }

    // Oracle: MS-XCA §3.1 "Plain LZ77" example — "abcdefghijklmnopqrstuvwxyz" compresses to
    // flag word 0x3f000000 (26 literal bits, then the end) followed by the 26 literals.
    #[test]
    fn spec_example_literals() {
        let mut src = vec![0x3f, 0x00, 0x00, 0x00];
        src.extend_from_slice(b"abcdefghijklmnopqrstuvwxyz");
        let (out, r) = run(&src, 1000);
        assert_eq!(r, Ok(()));
        assert_eq!(out, b"abcdefghijklmnopqrstuvwxyz");
    }

    // Oracle: MS-XCA §3.1 second example — "abc" repeated 100 times is the three literals, then
    // one match of distance 3 and length 297: token 0x0017 (length 7, distance-1 = 2), nibble
    // 0x0f, byte 0xff, then the 16-bit length 297 - 3 = 294 (0x0126) with 22 added back.
    #[test]
    fn spec_example_long_match() {
        let src = [0xff, 0xff, 0xff, 0x1f, b'a', b'b', b'c', 0x17, 0x00, 0x0f, 0xff, 0x26, 0x01];
        let (out, r) = run(&src, 1000);
        assert_eq!(r, Ok(()));
        assert_eq!(out, b"abc".repeat(100));
    }

    #[test]
    fn shared_half_byte() {
        // Literal 'x', then two matches of length 7+3+n, distance 1; the second takes the high
        // nibble of the byte the first one's low nibble came from (MS-XCA §2.4).
        // Flags: 0 (literal), 1, 1 → bits 31..29 = 0b011.
        let src = [0x00, 0x00, 0x00, 0x60, b'x', 0x07, 0x00, 0x21, 0x07, 0x00];
        let (out, r) = run(&src, 100);
        assert_eq!(r, Ok(()));
        assert_eq!(out.len(), 1 + (7 + 1 + 3) + (7 + 2 + 3));
        assert!(out.iter().all(|&b| b == b'x'));
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        // A match before any output.
        assert!(matches!(run(&[0, 0, 0, 0x80, 0x00, 0x00], 10).1, Err(Lz77Error::BadDistance { .. })));
        // Output over the limit.
        let src = [0xff, 0xff, 0xff, 0x1f, b'a', b'b', b'c', 0x17, 0x00, 0x0f, 0xff, 0x26, 0x01];
        let (out, r) = run(&src, 50);
        assert_eq!(r, Err(Lz77Error::TooLong { limit: 50 }));
        assert!(out.len() <= 50);
        // Truncated flag word and truncated escape.
        assert!(matches!(run(&[0x00, 0x00], 10).1, Err(Lz77Error::Truncated { .. })));
        assert!(matches!(run(&[0x00, 0x00, 0x00, 0x60, b'x', 0x07, 0x00], 10).1, Err(Lz77Error::Truncated { .. })));
        // A 32-bit length below its minimum.
        let bad = [0x00, 0x00, 0x00, 0x40, b'x', 0x07, 0x00, 0x0f, 0xff, 0x00, 0x00, 0x01, 0, 0, 0];
        assert!(matches!(run(&bad, 100).1, Err(Lz77Error::BadLength { .. })));
        assert_eq!(run(&[], 10), (Vec::new(), Ok(())));
    }
}
