//! Per-flow RDP analyzer: drives the X.224 and TLS parsers over one connection's in-order
//! payload and notes the frame at which each milestone happened.
//!
//! Phases, in wire order (MS-RDPBCGR 1.3.1.1): X.224 Connection Request/Confirm with RDP_NEG,
//! then either TLS (selected protocol SSL/HYBRID/HYBRID_EX/...) or Standard RDP Security
//! (selected protocol 0, or a legacy server without RDP_NEG), where TPKT-wrapped MCS follows.
//! A flow captured mid-stream is recognised by its first bytes (TLS record, TPKT, fast-path).
//! It keeps at most one TPKT per direction while waiting for it to complete, then only counts.

use super::tls::{Alert, TlsStream, TlsSummary, looks_like_tls_record};
use super::x224::{
    ConnectionConfirm, ConnectionRequest, NegOutcome, parse_connection_confirm, parse_connection_request,
};
use crate::flow::tcp::At;

/// Bytes buffered per direction while a TPKT is incomplete (X.224 CR/CC are < 300 bytes).
const MAX_TPKT_BUFFER: usize = 4096;
/// Encrypted records per direction after which the handshake picture is complete.
const ENOUGH_ENCRYPTED: u32 = 24;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    ToServer,
    ToClient,
}

impl Dir {
    fn idx(self) -> usize {
        match self {
            Dir::ToServer => 0,
            Dir::ToClient => 1,
        }
    }
}

/// What follows the X.224 exchange on this connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Security {
    /// Not known yet (no X.224 exchange seen and no telling bytes).
    #[default]
    Unknown,
    /// TLS on the same stream (PROTOCOL_SSL, HYBRID, HYBRID_EX, RDSTLS, ...).
    Tls,
    /// Standard RDP Security: RC4 inside MCS, no TLS (selected protocol 0 or no RDP_NEG).
    StandardRdp,
    /// The server refused with RDP_NEG_FAILURE.
    Refused,
}

/// A TLS alert with who sent it and where.
#[derive(Clone, Debug)]
pub struct SentAlert {
    pub at: At,
    pub sender: crate::vocab::Side,
    pub alert: Alert,
}

/// Everything the analyzer learned about one connection.
#[derive(Clone, Debug, Default)]
pub struct RdpSummary {
    pub request: Option<(At, ConnectionRequest)>,
    pub confirm: Option<(At, ConnectionConfirm)>,
    pub security: Security,
    /// TLS as sent by the client and by the server.
    pub tls_client: TlsSummary,
    pub tls_server: TlsSummary,
    pub client_hello: Option<At>,
    pub server_hello: Option<At>,
    pub certificate: Option<At>,
    pub alerts: Vec<SentAlert>,
    /// First and last encrypted record per direction (client→server, server→client).
    pub first_encrypted: [Option<At>; 2],
    pub last_encrypted: [Option<At>; 2],
    /// TPKT PDUs after the X.224 exchange (Standard RDP Security shows MCS in clear).
    pub tpkt_pdus: [u32; 2],
    /// The first bytes of a mid-stream flow were fast-path PDUs (an established session).
    pub fast_path_seen: bool,
    /// The server answered the Connection Request with something that is not TPKT/X.224.
    pub non_x224_reply: Option<(At, super::other::Reply)>,
    pub oddities: Vec<String>,
}

#[derive(Default)]
struct Side {
    buf: Vec<u8>,
    tls: Option<TlsStream>,
    stopped: bool,
}

#[derive(Default)]
pub struct RdpAnalyzer {
    sides: [Side; 2],
    pub summary: RdpSummary,
    done: bool,
}

impl std::fmt::Debug for RdpAnalyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RdpAnalyzer").field("summary", &self.summary).finish()
    }
}

impl RdpAnalyzer {
    pub fn new() -> Self {
        Self::default()
    }

    /// True once nothing more will be learned from payload: the caller may stop feeding.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Feeds the next in-order bytes of one direction, seen in the packet at `at`.
    pub fn feed(&mut self, dir: Dir, data: &[u8], at: At, warnings: &mut Vec<String>) {
        if self.done || data.is_empty() {
            return;
        }
        let i = dir.idx();
        if self.sides[i].stopped {
            return;
        }
        if self.sides[i].tls.is_some() {
            self.feed_tls(dir, data, at, warnings);
        } else {
            self.feed_tpkt(dir, data, at, warnings);
        }
        self.update_done();
    }

    fn feed_tpkt(&mut self, dir: Dir, data: &[u8], at: At, warnings: &mut Vec<String>) {
        let i = dir.idx();
        // The first bytes of a flow with no X.224 exchange tell what we joined in the middle of.
        let fresh = self.summary.request.is_none() && self.summary.confirm.is_none() && self.sides[i].buf.is_empty();
        if fresh && self.summary.security == Security::Unknown && !is_tpkt_start(data) {
            if looks_like_tls_record(data) {
                self.summary.security = Security::Tls;
                self.start_tls_both();
                self.feed_tls(dir, data, at, warnings);
            } else if data[0] & 0x03 == 0 {
                // Fast-path PDU header: action bits 0 (MS-RDPBCGR 2.2.8.1.2 / 2.2.9.1.2).
                self.summary.fast_path_seen = true;
                self.sides[i].stopped = true;
            } else {
                self.summary.oddities.push(format!("{} stream does not start with TPKT or TLS", side_name(dir)));
                self.sides[i].stopped = true;
            }
            return;
        }
        if self.summary.security == Security::StandardRdp {
            self.count_tpkts(dir, data);
            return;
        }
        let side = &mut self.sides[i];
        let room = MAX_TPKT_BUFFER.saturating_sub(side.buf.len());
        side.buf.extend_from_slice(&data[..data.len().min(room)]);
        let rest_start = data.len().min(room);
        let buf = std::mem::take(&mut side.buf);
        let consumed = match dir {
            Dir::ToServer if self.summary.request.is_none() => match parse_connection_request(&buf) {
                Ok((rest, cr)) => {
                    self.summary.request = Some((at, cr));
                    Some(buf.len() - rest.len())
                }
                Err(nom::Err::Incomplete(_)) => None,
                Err(e) => {
                    warnings.push(format!("X.224 Connection Request does not parse: {}", describe(&e)));
                    self.sides[i].stopped = true;
                    return;
                }
            },
            Dir::ToClient if self.summary.confirm.is_none() && not_x224_reply(&buf) => {
                // Another service on the port (MS-RDPBCGR 2.2.1.2: the answer must be TPKT).
                self.summary.non_x224_reply = Some((at, super::other::Reply::of(&buf)));
                self.sides[i].stopped = true;
                return;
            }
            Dir::ToClient if self.summary.confirm.is_none() => match parse_connection_confirm(&buf) {
                Ok((rest, cc)) => {
                    self.summary.security = match &cc.neg {
                        Some(NegOutcome::Selected { protocol, .. }) if protocol.0 != 0 => Security::Tls,
                        Some(NegOutcome::Failure(_)) => Security::Refused,
                        _ => Security::StandardRdp,
                    };
                    self.summary.confirm = Some((at, cc));
                    if self.summary.security == Security::Tls {
                        self.start_tls_both();
                    }
                    Some(buf.len() - rest.len())
                }
                Err(nom::Err::Incomplete(_)) => None,
                Err(e) => {
                    warnings.push(format!("X.224 Connection Confirm does not parse: {}", describe(&e)));
                    self.sides[i].stopped = true;
                    return;
                }
            },
            _ => {
                // The client speaks again before the server confirmed: keep the bytes for TLS.
                self.sides[i].buf = buf;
                if self.sides[i].buf.len() >= MAX_TPKT_BUFFER {
                    self.sides[i].stopped = true;
                }
                return;
            }
        };
        match consumed {
            None => {
                if buf.len() >= MAX_TPKT_BUFFER {
                    warnings
                        .push(format!("{} X.224 PDU larger than {MAX_TPKT_BUFFER} bytes; not parsed", side_name(dir)));
                    self.sides[i].stopped = true;
                } else {
                    self.sides[i].buf = buf;
                }
            }
            Some(n) => {
                let mut rest = buf.get(n..).unwrap_or_default().to_vec();
                rest.extend_from_slice(data.get(rest_start..).unwrap_or_default());
                self.after_x224(dir, &rest, at, warnings);
            }
        }
    }

    /// Bytes that followed an X.224 PDU in the same direction.
    fn after_x224(&mut self, dir: Dir, rest: &[u8], at: At, warnings: &mut Vec<String>) {
        if rest.is_empty() {
            return;
        }
        match self.summary.security {
            Security::Tls => self.feed_tls(dir, rest, at, warnings),
            Security::StandardRdp => self.count_tpkts(dir, rest),
            // Client bytes before the server's answer: hold them until we know the protocol.
            Security::Unknown => {
                let side = &mut self.sides[dir.idx()];
                let room = MAX_TPKT_BUFFER.saturating_sub(side.buf.len());
                side.buf.extend_from_slice(&rest[..rest.len().min(room)]);
            }
            Security::Refused => {
                self.summary.oddities.push(format!("{} sent data after RDP_NEG_FAILURE", side_name(dir)))
            }
        }
    }

    fn start_tls_both(&mut self) {
        for side in &mut self.sides {
            if side.tls.is_none() {
                side.tls = Some(TlsStream::new());
            }
        }
        // Client bytes that arrived before the Connection Confirm are its ClientHello.
        let held = std::mem::take(&mut self.sides[0].buf);
        if !held.is_empty() {
            if let Some(t) = self.sides[0].tls.as_mut() {
                t.feed(&held, &mut Vec::new());
            }
        }
    }

    fn feed_tls(&mut self, dir: Dir, data: &[u8], at: At, warnings: &mut Vec<String>) {
        let i = dir.idx();
        let Some(tls) = self.sides[i].tls.as_mut() else { return };
        let before_alerts = tls.summary().alerts.len();
        let before_enc = tls.summary().encrypted_records;
        tls.feed(data, warnings);
        let s = tls.summary();
        if s.client_hello.is_some() && self.summary.client_hello.is_none() {
            self.summary.client_hello = Some(at);
        }
        if s.server_hello.is_some() && self.summary.server_hello.is_none() {
            self.summary.server_hello = Some(at);
        }
        if !s.certificates.is_empty() && self.summary.certificate.is_none() {
            self.summary.certificate = Some(at);
        }
        for a in s.alerts.iter().skip(before_alerts) {
            let sender = if dir == Dir::ToServer { crate::vocab::Side::Client } else { crate::vocab::Side::Server };
            self.summary.alerts.push(SentAlert { at, sender, alert: a.clone() });
        }
        if s.encrypted_records > before_enc {
            self.summary.first_encrypted[i].get_or_insert(at);
            self.summary.last_encrypted[i] = Some(at);
        }
        let summary = s.clone();
        let stopped = tls.is_done();
        match dir {
            Dir::ToServer => self.summary.tls_client = summary,
            Dir::ToClient => self.summary.tls_server = summary,
        }
        if stopped || summary_enough(&self.summary, i) {
            self.sides[i].stopped = true;
            self.sides[i].tls = None;
        }
    }

    fn count_tpkts(&mut self, dir: Dir, data: &[u8]) {
        // Only the PDU count matters here; the first PDU start in each segment is enough to
        // tell slow-path (TPKT) from fast-path traffic without buffering.
        if is_tpkt_start(data) {
            self.summary.tpkt_pdus[dir.idx()] += 1;
        }
    }

    fn update_done(&mut self) {
        self.done = self.sides.iter().all(|s| s.stopped)
            || (self.summary.security == Security::Refused)
            || (self.summary.security == Security::StandardRdp && self.summary.tpkt_pdus.iter().all(|n| *n >= 8));
    }
}

fn summary_enough(s: &RdpSummary, i: usize) -> bool {
    let t = if i == 0 { &s.tls_client } else { &s.tls_server };
    t.encrypted_records >= ENOUGH_ENCRYPTED
}

fn is_tpkt_start(data: &[u8]) -> bool {
    data.len() >= 4 && data[0] == 3 && data[1] == 0
}

/// Whether a reply to the Connection Request cannot be an X.224 Connection Confirm: not TPKT
/// version 3, or a TPKT length below the 11 bytes of the smallest Confirm (RFC 1006 §6,
/// X.224 CC header 7 bytes).
fn not_x224_reply(data: &[u8]) -> bool {
    match data {
        [v, ..] if *v != 3 => true,
        [_, r, hi, lo, ..] => *r != 0 || u16::from_be_bytes([*hi, *lo]) < 11,
        _ => false,
    }
}

fn side_name(dir: Dir) -> &'static str {
    match dir {
        Dir::ToServer => "client",
        Dir::ToClient => "server",
    }
}

fn describe<E: std::fmt::Display>(e: &nom::Err<E>) -> String {
    match e {
        nom::Err::Incomplete(_) => "incomplete".into(),
        nom::Err::Error(e) | nom::Err::Failure(e) => e.to_string(),
    }
}
