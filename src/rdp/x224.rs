//! TPKT → X.224 Connection Request / Confirm → RDP_NEG_REQ / RSP / FAILURE parsers (nom 8).
//!
//! Takes: bytes of one direction of a TCP stream, starting at a TPKT header.
//! Produces: the cookie or routing token and the negotiation request of a Connection Request,
//! or the selected protocol / failure code of a Connection Confirm, plus the bytes after
//! that TPKT. Input shorter than the TPKT's declared length gives `nom::Err::Incomplete`.
//! Unknown codes are kept as raw numbers; unknown negotiation blocks are skipped.
//! Broken input is `nom::Err::Error(X224Error::Invalid(reason))` (never `Failure`).
//! Does not: keep flow state, do I/O, parse X.224 Data TPDUs, MCS, or anything after TLS starts.
//!
//! References: ITU-T T.123 §8 (TPKT), ITU-T X.224 §13.3/§13.4, MS-RDPBCGR 2.2.1.1, 2.2.1.1.1,
//! 2.2.1.1.2, 2.2.1.2, 2.2.1.2.1, 2.2.1.2.2, 3.3.5.3.1.

use std::fmt;

use nom::bytes::complete::take;
use nom::bytes::streaming::take as s_take;
use nom::error::{ErrorKind, ParseError};
use nom::number::complete::{le_u16, le_u32, u8 as byte};
use nom::number::streaming::{be_u16 as s_be_u16, u8 as s_byte};
use nom::{IResult, Parser};

use super::codes::{NegFailureCode, Protocols};

/// Smallest TPKT length we accept: the 4-byte TPKT header plus the shortest X.224 TPDU
/// (a Data TPDU header, `02 F0 80`, is 3 bytes). Anything shorter cannot carry X.224.
const TPKT_MIN_LEN: u16 = 7;
/// LI of a Connection Request/Confirm covers at least code, DST-REF, SRC-REF and class.
const CR_CC_FIXED_LI: u8 = 6;
/// Upper bound for the sniffer. LI is one byte, so a CR header is at most 4 + 1 + 255 = 260
/// bytes and RDP puts no user data after it; 2048 leaves room for odd clients while
/// rejecting random bytes whose "length" field happens to be large.
const SNIFF_MAX_CR_LEN: u16 = 2048;
/// Smallest Connection Request a server accepts (MS-RDPBCGR 3.3.5.3.1): TPKT 4 + LI 1 + 6.
const SNIFF_MIN_CR_LEN: u16 = 11;
/// Cap on the cookie text we keep. LI already limits it to 249 bytes; this is a second fence.
const MAX_COOKIE_BYTES: usize = 256;

const COOKIE_PREFIX: &[u8] = b"Cookie: ";
const MSTSHASH_PREFIX: &[u8] = b"Cookie: mstshash=";

const TYPE_RDP_NEG_REQ: u8 = 0x01;
const TYPE_RDP_NEG_RSP: u8 = 0x02;
const TYPE_RDP_NEG_FAILURE: u8 = 0x03;
const TYPE_RDP_CORRELATION_INFO: u8 = 0x06;
const NEG_BLOCK_LEN: usize = 8;
const CORRELATION_INFO_LEN: usize = 36;

/// Client X.224 Connection Request PDU, the fields RDP adds to it.
///
/// MS-RDPBCGR 2.2.1.1 Client X.224 Connection Request PDU
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ConnectionRequest {
    /// IDENTIFIER from `Cookie: mstshash=IDENTIFIER\r\n` (lossy text, CRLF removed).
    pub cookie: Option<String>,
    /// Whole token line without CRLF (lossy text, at most 256 bytes) when it is a
    /// `Cookie: ` line other than mstshash, e.g. a load-balancer `Cookie: msts=...`.
    pub routing_token: Option<String>,
    /// Absent for legacy clients, which then get Standard RDP Security.
    pub neg_req: Option<NegReq>,
}

/// Client negotiation request, with the correlation id if one follows it.
///
/// MS-RDPBCGR 2.2.1.1.1 RDP_NEG_REQ, 2.2.1.1.2 RDP_NEG_CORRELATION_INFO
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct NegReq {
    pub flags: u8,
    pub requested: Protocols,
    #[serde(serialize_with = "super::codes::serialize_opt_hex16")]
    pub correlation_id: Option<[u8; 16]>,
}

/// Server X.224 Connection Confirm PDU.
///
/// MS-RDPBCGR 2.2.1.2 Server X.224 Connection Confirm PDU
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ConnectionConfirm {
    /// Absent when the server sent no negotiation block (the client sent no RDP_NEG_REQ).
    pub neg: Option<NegOutcome>,
}

/// What the server answered to the negotiation request.
///
/// MS-RDPBCGR 2.2.1.2.1 RDP_NEG_RSP, 2.2.1.2.2 RDP_NEG_FAILURE
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NegOutcome {
    Selected { flags: u8, protocol: Protocols },
    Failure(NegFailureCode),
}

/// Why an X.224 parse failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum X224Error {
    /// A nom primitive failed; the kind says which.
    Nom(ErrorKind),
    /// The bytes break a rule of the spec; the text says which one.
    Invalid(&'static str),
}

impl<'a> ParseError<&'a [u8]> for X224Error {
    fn from_error_kind(_input: &'a [u8], kind: ErrorKind) -> Self {
        X224Error::Nom(kind)
    }

    fn append(_input: &'a [u8], _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

impl fmt::Display for X224Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            X224Error::Nom(kind) => write!(f, "X.224 parse error ({})", kind.description()),
            X224Error::Invalid(reason) => write!(f, "invalid X.224: {reason}"),
        }
    }
}

impl std::error::Error for X224Error {}

type XResult<'a, O> = IResult<&'a [u8], O, X224Error>;

fn invalid<O>(reason: &'static str) -> Result<O, nom::Err<X224Error>> {
    Err(nom::Err::Error(X224Error::Invalid(reason)))
}

/// Splits off one TPKT: returns (bytes after it, its TPDU without the 4-byte header).
///
/// Errors if the version is not 3 or the length is below 7 (see `TPKT_MIN_LEN`); the
/// reserved byte is not checked, as receivers should ignore reserved fields.
/// Incomplete while the buffer is shorter than the declared length.
///
/// ITU-T T.123 §8 TPKT
pub fn parse_tpkt(i: &[u8]) -> XResult<'_, &[u8]> {
    let (i, version) = s_byte(i)?;
    if version != 3 {
        return invalid("TPKT version is not 3");
    }
    let (i, (_reserved, length)) = (s_byte, s_be_u16).parse(i)?;
    if length < TPKT_MIN_LEN {
        return invalid("TPKT length too small to hold an X.224 TPDU");
    }
    s_take(usize::from(length) - 4).parse(i)
}

/// Checks LI and code of a CR/CC TPDU and returns the variable part (after the class byte,
/// bounded by LI). Bytes after the LI-bounded header (X.224 user data) are ignored.
fn x224_header<'a>(tpdu: &'a [u8], code: u8, what: &'static str) -> Result<&'a [u8], nom::Err<X224Error>> {
    let (rest, (li, tpdu_code)) = (byte, byte).parse(tpdu)?;
    if tpdu_code & 0xF0 != code {
        return invalid(what);
    }
    // LI counts the bytes after itself, i.e. the code byte plus `rest`.
    if usize::from(li) > rest.len() + 1 {
        return invalid("X.224 LI runs past the TPKT length");
    }
    if li < CR_CC_FIXED_LI {
        return invalid("X.224 LI too small for a connection TPDU");
    }
    // After the code: DST-REF (2), SRC-REF (2), class (1); their values do not matter here.
    let (header, _fixed) = take(5usize).parse(rest)?;
    let var_len = usize::from(li - CR_CC_FIXED_LI);
    match header.get(..var_len) {
        Some(var) => Ok(var),
        None => invalid("X.224 LI runs past the TPKT length"),
    }
}

/// Parses a Client X.224 Connection Request starting at its TPKT header.
///
/// MS-RDPBCGR 2.2.1.1 Client X.224 Connection Request PDU
pub fn parse_connection_request(i: &[u8]) -> XResult<'_, ConnectionRequest> {
    let (after, tpdu) = parse_tpkt(i)?;
    let mut var = x224_header(tpdu, 0xE0, "not an X.224 Connection Request")?;
    let mut req = ConnectionRequest::default();

    if var.starts_with(COOKIE_PREFIX) {
        let Some(end) = var.windows(2).position(|w| w == b"\r\n") else {
            return invalid("cookie or routing token without CRLF");
        };
        let (line, tail) = var.split_at(end);
        if let Some(id) = line.strip_prefix(MSTSHASH_PREFIX) {
            let kept = id.get(..MAX_COOKIE_BYTES).unwrap_or(id);
            req.cookie = Some(String::from_utf8_lossy(kept).into_owned());
        } else {
            let kept = line.get(..MAX_COOKIE_BYTES).unwrap_or(line);
            req.routing_token = Some(String::from_utf8_lossy(kept).into_owned());
        }
        var = tail.get(2..).unwrap_or_default();
    }

    if var.first() == Some(&TYPE_RDP_NEG_REQ) {
        let Some((block, tail)) = var.split_at_checked(NEG_BLOCK_LEN) else {
            return invalid("RDP_NEG_REQ truncated");
        };
        let (flags, requested) = neg_block(block, "RDP_NEG_REQ length is not 8")?;
        req.neg_req = Some(NegReq { flags, requested: Protocols(requested), correlation_id: correlation_info(tail)? });
    }
    // Any other bytes are an unknown negotiation type: skipped, not an error.
    Ok((after, req))
}

/// Reads the RDP_NEG_CORRELATION_INFO that may follow RDP_NEG_REQ. It is taken whenever its
/// type byte is there, whether or not the request set CORRELATION_INFO_PRESENT (0x08).
///
/// MS-RDPBCGR 2.2.1.1.2 RDP_NEG_CORRELATION_INFO
fn correlation_info(var: &[u8]) -> Result<Option<[u8; 16]>, nom::Err<X224Error>> {
    if var.first() != Some(&TYPE_RDP_CORRELATION_INFO) {
        return Ok(None);
    }
    let Some(block) = var.get(..CORRELATION_INFO_LEN) else {
        return invalid("RDP_NEG_CORRELATION_INFO truncated");
    };
    let (rest, (_type, _flags, length)) = (byte, byte, le_u16).parse(block)?;
    if usize::from(length) != CORRELATION_INFO_LEN {
        return invalid("RDP_NEG_CORRELATION_INFO length is not 36");
    }
    let (_reserved, id) = take(16usize).parse(rest)?;
    Ok(<[u8; 16]>::try_from(id).ok())
}

/// Reads an 8-byte negotiation block (type, flags, length LE = 8, u32 LE value) and returns
/// (flags, value). The caller has already looked at the type byte.
fn neg_block(block: &[u8], bad_len: &'static str) -> Result<(u8, u32), nom::Err<X224Error>> {
    let (_, (_type, flags, length, value)) = (byte, byte, le_u16, le_u32).parse(block)?;
    if usize::from(length) != NEG_BLOCK_LEN {
        return invalid(bad_len);
    }
    Ok((flags, value))
}

/// Parses a Server X.224 Connection Confirm starting at its TPKT header.
///
/// MS-RDPBCGR 2.2.1.2 Server X.224 Connection Confirm PDU
pub fn parse_connection_confirm(i: &[u8]) -> XResult<'_, ConnectionConfirm> {
    let (after, tpdu) = parse_tpkt(i)?;
    let var = x224_header(tpdu, 0xD0, "not an X.224 Connection Confirm")?;
    let neg = match var.first().copied() {
        Some(kind @ (TYPE_RDP_NEG_RSP | TYPE_RDP_NEG_FAILURE)) => {
            let Some(block) = var.get(..NEG_BLOCK_LEN) else {
                return invalid("RDP_NEG_RSP / RDP_NEG_FAILURE truncated");
            };
            let (flags, value) = neg_block(block, "RDP_NEG_RSP / RDP_NEG_FAILURE length is not 8")?;
            Some(if kind == TYPE_RDP_NEG_RSP {
                NegOutcome::Selected { flags, protocol: Protocols(value) }
            } else {
                NegOutcome::Failure(NegFailureCode(value))
            })
        }
        // No block, or one of a type we do not know: skipped, not an error.
        _ => None,
    };
    Ok((after, ConnectionConfirm { neg }))
}

/// Reads the TPKT length when `i` starts with version 3, reserved 0. Never panics.
fn sniff_tpkt_len(i: &[u8]) -> Option<u16> {
    match i {
        [3, 0, hi, lo, ..] => Some(u16::from_be_bytes([*hi, *lo])),
        _ => None,
    }
}

/// Cheap check that `i` starts like a TPKT carrying an X.224 TPDU (needs only 4 bytes, or
/// 5 to also check that LI fits inside the length). Never panics.
pub fn looks_like_tpkt(i: &[u8]) -> bool {
    let Some(len) = sniff_tpkt_len(i) else {
        return false;
    };
    len >= TPKT_MIN_LEN && i.get(4).is_none_or(|&li| u16::from(li) + 5 <= len)
}

/// Cheap content sniff for an X.224 Connection Request, used to spot RDP on any port.
/// Needs the first 6 bytes, not the whole PDU. Never panics.
pub fn looks_like_connection_request(i: &[u8]) -> bool {
    let Some(len) = sniff_tpkt_len(i) else {
        return false;
    };
    let (Some(&li), Some(&code)) = (i.get(4), i.get(5)) else {
        return false;
    };
    (SNIFF_MIN_CR_LEN..=SNIFF_MAX_CR_LEN).contains(&len) && code & 0xF0 == 0xE0 && u16::from(li) + 5 <= len
}

#[cfg(test)]
mod tests {
    // Expected values are read off the spec byte layouts (T.123 §8 TPKT; MS-RDPBCGR 2.2.1.1,
    // 2.2.1.1.1, 2.2.1.1.2, 2.2.1.2, 2.2.1.2.1, 2.2.1.2.2), not from this parser's output.
    use super::*;

    // Offsets from the start of the TPKT header.
    const TPKT_VERSION: usize = 0;
    const TPKT_LEN: usize = 2;
    const X224_LI: usize = 4;
    const X224_CODE: usize = 5;
    const X224_VAR: usize = 11;
    // Offsets inside an 8-byte negotiation block.
    const NEG_TYPE: usize = 0;
    const NEG_LEN: usize = 2;

    /// mstsc-style CR: TPKT length 0x2f = 4 + 7 + 28 ("Cookie: mstshash=Administr\r\n") + 8,
    /// LI 0x2a = 0x2f - 5; RDP_NEG_REQ flags 0, requestedProtocols 0x0000000B.
    const CR_COOKIE: [u8; 47] = [
        0x03, 0x00, 0x00, 0x2f, 0x2a, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, // TPKT + X.224
        b'C', b'o', b'o', b'k', b'i', b'e', b':', b' ', b'm', b's', b't', b's', b'h', b'a', b's', b'h', b'=', b'A',
        b'd', b'm', b'i', b'n', b'i', b's', b't', b'r', b'\r', b'\n', 0x01, 0x00, 0x08, 0x00, 0x0b, 0x00, 0x00,
        0x00, // RDP_NEG_REQ
    ];
    const NEG_REQ_AT: usize = 39;

    /// CC selecting HYBRID (2) with RDP_NEG_RSP flags 0x1f (MS-RDPBCGR example).
    const CC_HYBRID: [u8; 19] = [
        0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34, 0x00, // TPKT + X.224
        0x02, 0x1f, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00, // RDP_NEG_RSP
    ];

    /// CC refusing with RDP_NEG_FAILURE code 5 (HYBRID_REQUIRED_BY_SERVER).
    const CC_FAILURE: [u8; 19] = [
        0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34, 0x00, // TPKT + X.224
        0x03, 0x00, 0x08, 0x00, 0x05, 0x00, 0x00, 0x00, // RDP_NEG_FAILURE
    ];

    /// Builds a CR around `var` (the variable part), with consistent TPKT length and LI.
    fn cr_with(var: &[u8]) -> Vec<u8> {
        let total = X224_VAR + var.len();
        let mut v = vec![0x03, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00];
        v[TPKT_LEN..TPKT_LEN + 2].copy_from_slice(&(total as u16).to_be_bytes());
        v[X224_LI] = (total - 5) as u8;
        v.extend_from_slice(var);
        v
    }

    fn is_invalid<T: fmt::Debug>(r: XResult<'_, T>) -> bool {
        matches!(r, Err(nom::Err::Error(X224Error::Invalid(_))))
    }

    #[test]
    fn tpkt_splits_off_one_packet() {
        let mut two = CC_HYBRID.to_vec();
        two.extend_from_slice(&[0x03, 0x00]);
        let (rest, tpdu) = parse_tpkt(&two).unwrap();
        assert_eq!(tpdu, &CC_HYBRID[X224_LI..]);
        assert_eq!(rest, &[0x03, 0x00]);
    }

    #[test]
    fn tpkt_truncated_is_incomplete() {
        for cut in 0..CC_HYBRID.len() {
            assert!(matches!(parse_tpkt(&CC_HYBRID[..cut]), Err(nom::Err::Incomplete(_))), "prefix of {cut} bytes");
        }
    }

    #[test]
    fn tpkt_malformed() {
        let mut bad = CC_HYBRID;
        bad[TPKT_VERSION] = 0x16; // a TLS record, not TPKT
        assert!(is_invalid(parse_tpkt(&bad)));
        let mut short = CC_HYBRID;
        short[TPKT_LEN..TPKT_LEN + 2].copy_from_slice(&6u16.to_be_bytes());
        assert!(is_invalid(parse_tpkt(&short)));
    }

    #[test]
    fn cr_with_cookie_and_neg_req() {
        let (rest, cr) = parse_connection_request(&CR_COOKIE).unwrap();
        assert!(rest.is_empty());
        assert_eq!(cr.cookie.as_deref(), Some("Administr"));
        assert_eq!(cr.routing_token, None);
        let neg = cr.neg_req.unwrap();
        assert_eq!(neg.flags, 0);
        assert_eq!(neg.requested, Protocols(0x0b));
        assert_eq!(neg.correlation_id, None);
    }

    #[test]
    fn cr_legacy_cookie_only() {
        let cr_bytes = cr_with(b"Cookie: mstshash=bob\r\n");
        let (_, cr) = parse_connection_request(&cr_bytes).unwrap();
        assert_eq!(cr.cookie.as_deref(), Some("bob"));
        assert_eq!(cr.neg_req, None);
    }

    #[test]
    fn cr_bare_header() {
        let cr_bytes = cr_with(&[]);
        assert_eq!(cr_bytes.len(), 11);
        let (_, cr) = parse_connection_request(&cr_bytes).unwrap();
        assert_eq!(cr, ConnectionRequest::default());
    }

    #[test]
    fn cr_routing_token_and_correlation_info() {
        let mut var = b"Cookie: msts=3640205228.15629.0000\r\n".to_vec();
        var.extend_from_slice(&[0x01, 0x08, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00]);
        // RDP_NEG_CORRELATION_INFO: type 6, flags 0, length 0x0024, id 0x10..0x1f, 16 zeros.
        var.extend_from_slice(&[0x06, 0x00, 0x24, 0x00]);
        var.extend(0x10u8..0x20);
        var.extend_from_slice(&[0u8; 16]);
        let (_, cr) = parse_connection_request(&cr_with(&var)).unwrap();
        assert_eq!(cr.cookie, None);
        assert_eq!(cr.routing_token.as_deref(), Some("Cookie: msts=3640205228.15629.0000"));
        let neg = cr.neg_req.unwrap();
        assert_eq!(neg.flags, 0x08);
        assert_eq!(neg.requested, Protocols(Protocols::SSL | Protocols::HYBRID));
        let expected: Vec<u8> = (0x10u8..0x20).collect();
        assert_eq!(neg.correlation_id.map(|id| id.to_vec()), Some(expected));
    }

    #[test]
    fn cr_unknown_neg_type_is_skipped() {
        let (_, cr) = parse_connection_request(&cr_with(&[0x09, 0x00, 0x08, 0x00, 1, 2, 3, 4])).unwrap();
        assert_eq!(cr, ConnectionRequest::default());
    }

    #[test]
    fn cr_truncated_is_incomplete() {
        for cut in 0..CR_COOKIE.len() {
            assert!(
                matches!(parse_connection_request(&CR_COOKIE[..cut]), Err(nom::Err::Incomplete(_))),
                "prefix of {cut} bytes"
            );
        }
    }

    #[test]
    fn cr_malformed() {
        // LI claims more than the TPKT holds.
        let mut li = CR_COOKIE;
        li[X224_LI] = 0x2b;
        assert!(is_invalid(parse_connection_request(&li)));
        // LI too small for the fixed part.
        let mut tiny = CR_COOKIE;
        tiny[X224_LI] = 5;
        assert!(is_invalid(parse_connection_request(&tiny)));
        // Cookie whose CRLF is missing.
        assert!(is_invalid(parse_connection_request(&cr_with(b"Cookie: mstshash=bob"))));
        // RDP_NEG_REQ with a wrong length field.
        let mut len = CR_COOKIE;
        len[NEG_REQ_AT + NEG_LEN] = 0x09;
        assert!(is_invalid(parse_connection_request(&len)));
        // RDP_NEG_REQ cut short inside a complete TPDU.
        assert!(is_invalid(parse_connection_request(&cr_with(&[0x01, 0x00, 0x08]))));
        // A Connection Confirm is not a Connection Request.
        assert!(is_invalid(parse_connection_request(&CC_HYBRID)));
    }

    #[test]
    fn cookie_is_capped_by_li_and_lossy() {
        let mut var = b"Cookie: mstshash=".to_vec();
        var.extend_from_slice(&[0xe9; 200]); // ANSI 'é', not UTF-8
        var.extend_from_slice(b"\r\n");
        let (_, cr) = parse_connection_request(&cr_with(&var)).unwrap();
        assert_eq!(cr.cookie.map(|c| c.chars().count()), Some(200));
    }

    #[test]
    fn cc_selects_hybrid() {
        let (rest, cc) = parse_connection_confirm(&CC_HYBRID).unwrap();
        assert!(rest.is_empty());
        let expected = NegOutcome::Selected { flags: 0x1f, protocol: Protocols(Protocols::HYBRID) };
        assert_eq!(cc.neg, Some(expected));
    }

    #[test]
    fn cc_failure_code() {
        let (_, cc) = parse_connection_confirm(&CC_FAILURE).unwrap();
        assert_eq!(cc.neg, Some(NegOutcome::Failure(NegFailureCode(5))));
    }

    #[test]
    fn cc_without_negotiation() {
        let bare = [0x03, 0x00, 0x00, 0x0b, 0x06, 0xd0, 0x00, 0x00, 0x12, 0x34, 0x00];
        let (_, cc) = parse_connection_confirm(&bare).unwrap();
        assert_eq!(cc.neg, None);
        // Unknown negotiation type: skipped.
        let mut unknown = CC_HYBRID;
        unknown[X224_VAR + NEG_TYPE] = 0x07;
        assert_eq!(parse_connection_confirm(&unknown).unwrap().1.neg, None);
    }

    #[test]
    fn cc_truncated_is_incomplete() {
        for cut in 0..CC_HYBRID.len() {
            assert!(
                matches!(parse_connection_confirm(&CC_HYBRID[..cut]), Err(nom::Err::Incomplete(_))),
                "prefix of {cut} bytes"
            );
        }
    }

    #[test]
    fn cc_malformed() {
        let mut li = CC_HYBRID;
        li[X224_LI] = 0x0f;
        assert!(is_invalid(parse_connection_confirm(&li)));
        let mut len = CC_FAILURE;
        len[X224_VAR + NEG_LEN] = 0x0c;
        assert!(is_invalid(parse_connection_confirm(&len)));
        // Negotiation block cut to 4 bytes, TPKT length and LI kept consistent.
        let mut cut = CC_HYBRID[..15].to_vec();
        cut[TPKT_LEN + 1] = 15;
        cut[X224_LI] = 10;
        assert!(is_invalid(parse_connection_confirm(&cut)));
        assert!(is_invalid(parse_connection_confirm(&CR_COOKIE)));
    }

    #[test]
    fn sniffers() {
        assert!(looks_like_connection_request(&CR_COOKIE));
        assert!(looks_like_connection_request(&CR_COOKIE[..6]));
        assert!(!looks_like_connection_request(&CC_HYBRID));
        assert!(looks_like_tpkt(&CC_HYBRID));
        assert!(looks_like_tpkt(&CR_COOKIE));
        let tls = [0x16, 0x03, 0x01, 0x00, 0xc8, 0x01];
        assert!(!looks_like_tpkt(&tls));
        assert!(!looks_like_connection_request(&tls));
        let mut huge = CR_COOKIE;
        huge[TPKT_LEN..TPKT_LEN + 2].copy_from_slice(&3000u16.to_be_bytes());
        assert!(!looks_like_connection_request(&huge));
        let mut li = CR_COOKIE;
        li[X224_LI] = 0xff;
        assert!(!looks_like_connection_request(&li));
        assert!(!looks_like_tpkt(&li));
        let mut code = CR_COOKIE;
        code[X224_CODE] = 0xf0;
        assert!(!looks_like_connection_request(&code));
    }

    #[test]
    fn sniffers_never_panic_on_short_input() {
        for cut in 0..6 {
            assert!(!looks_like_connection_request(&CR_COOKIE[..cut]));
        }
        for cut in 0..4 {
            assert!(!looks_like_tpkt(&CR_COOKIE[..cut]));
        }
        assert!(looks_like_tpkt(&CR_COOKIE[..4]));
    }

    #[test]
    fn error_display() {
        assert_eq!(X224Error::Invalid("TPKT version is not 3").to_string(), "invalid X.224: TPKT version is not 3");
    }

    #[test]
    fn serialises_outcome() {
        let (_, cc) = parse_connection_confirm(&CC_FAILURE).unwrap();
        let json = serde_json::to_string(&cc).unwrap();
        assert_eq!(json, r#"{"neg":{"failure":5}}"#);
        let (_, cc) = parse_connection_confirm(&CC_HYBRID).unwrap();
        let json = serde_json::to_string(&cc).unwrap();
        assert_eq!(json, r#"{"neg":{"selected":{"flags":31,"protocol":2}}}"#);
    }
}
