//! TLS record walker for one direction of an RDP connection's TCP byte stream.
//!
//! RDP (PROTOCOL_SSL, HYBRID, HYBRID_EX) switches to TLS on the same TCP connection right after the
//! X.224 Connection Confirm, and from then on bare TLS records follow, with no TPKT around them.
//! The caller reassembles one TCP direction in order and hands its bytes to a [`TlsStream`] in
//! pieces of any size. The stream walks the record layer and fills a [`TlsSummary`]: record
//! counts, the cleartext handshake (ClientHello, ServerHello, Certificate), plaintext and encrypted
//! alerts, the ChangeCipherSpec marker, and the sizes of encrypted records (from which the caller
//! estimates how much CredSSP/NLA traffic went by).
//!
//! Memory stays bounded whatever the input: at most 5 header bytes and 2 alert bytes are held for a
//! record, the bodies of ApplicationData and encrypted records are skipped without copying, and the
//! handshake reassembly buffer never exceeds 64 KiB. Malformed input becomes warnings that name the
//! stream offset; a broken record header stops the walk for good (`is_done`).
//!
//! Deliberately not done: decryption, certificate chain or signature checks, the TLS 1.3 handshake
//! after ServerHello (it is encrypted), SSLv2-style ClientHello, DTLS, TPKT handling.
//!
//! References: RFC 5246 §6.2, §7.2, §7.4; RFC 8446 §4, §5, §6.

use tls_parser::{
    TlsCipherSuite, TlsExtension, TlsMessageHandshake, parse_tls_client_hello_extension,
    parse_tls_handshake_client_hello, parse_tls_handshake_msg_certificate, parse_tls_handshake_server_hello,
    parse_tls_server_hello_extension,
};
use x509_parser::objects::{oid_registry, oid2sn};
use x509_parser::oid_registry::{OID_EC_P256, OID_NIST_EC_P384, OID_NIST_EC_P521};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

const HEADER_LEN: usize = 5;
/// Largest TLSCiphertext fragment allowed by RFC 5246 §6.2.3 (2^14 + 2048).
const MAX_RECORD_LEN: u16 = 16384 + 2048;
/// Cap on one reassembled handshake message, its 4-byte header included.
const MAX_HANDSHAKE_LEN: usize = 64 * 1024;
const MAX_CIPHER_SUITES: usize = 128;
const MAX_LIST: usize = 32;
const MAX_CERTS: usize = 8;
const MAX_ALERTS: usize = 16;
const MAX_ENCRYPTED_SIZES: usize = 16;
const MAX_HANDSHAKE_TYPES: usize = 32;
const MAX_WARNINGS: u32 = 16;
const MAX_TEXT: usize = 255;

const CT_CHANGE_CIPHER_SPEC: u8 = 20;
const CT_ALERT: u8 = 21;
const CT_HANDSHAKE: u8 = 22;
const CT_APPLICATION_DATA: u8 = 23;
const HS_CLIENT_HELLO: u8 = 1;
const HS_SERVER_HELLO: u8 = 2;
const HS_CERTIFICATE: u8 = 11;

/// What one direction of the TLS stream showed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSummary {
    /// Records whose header was valid.
    pub records: u32,
    pub client_hello: Option<ClientHello>,
    pub server_hello: Option<ServerHello>,
    pub certificates: Vec<CertSummary>,
    pub alerts: Vec<Alert>,
    pub change_cipher_spec: bool,
    pub encrypted_records: u32,
    pub encrypted_bytes: u64,
    /// Lengths of the first 16 encrypted records, in order. With TLS ≤ 1.2 the first one after
    /// ChangeCipherSpec is the encrypted Finished (a type-22 record), not application data.
    pub encrypted_sizes: Vec<u32>,
    /// Handshake message types in the order seen (at most 32), e.g. `[2, 11, 14]`.
    pub handshake_messages: Vec<u8>,
    /// Records of a content type this module does not interpret (24, heartbeat).
    pub unknown_records: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHello {
    pub legacy_version: u16,
    pub supported_versions: Vec<u16>,
    /// The first 128 offered suites, GREASE values included.
    pub cipher_suites: Vec<u16>,
    pub sni: Option<String>,
    pub alpn: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerHello {
    pub legacy_version: u16,
    /// From the supported_versions extension when present (TLS 1.3), else `legacy_version`.
    pub selected_version: u16,
    pub cipher_suite: u16,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    pub self_signed: bool,
    pub key_algorithm: String,
    pub key_bits: Option<u32>,
    /// Serial number as lowercase hex of its DER bytes.
    pub serial: String,
    /// Set when the DER could not be parsed; the other fields are then empty.
    pub error: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Alert {
    /// 1 warning, 2 fatal; 0 when encrypted.
    pub level: u8,
    /// RFC 5246 §7.2 / RFC 8446 §6 description code; 0 when encrypted.
    pub description: u8,
    pub encrypted: bool,
    /// Offset of the alert record's header in this direction's stream.
    pub stream_offset: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sink {
    Skip,
    Alert,
    Handshake,
}

#[derive(Clone, Copy, Debug)]
struct Record {
    start: u64,
    remaining: usize,
    sink: Sink,
}

/// Incremental parser for one direction's TLS records.
#[derive(Clone, Debug, Default)]
pub struct TlsStream {
    summary: TlsSummary,
    offset: u64,
    done: bool,
    header: [u8; HEADER_LEN],
    header_len: usize,
    record: Option<Record>,
    alert: [u8; 2],
    alert_len: usize,
    handshake: Vec<u8>,
    handshake_start: u64,
    handshake_stopped: bool,
    unknown_warned: bool,
    warned: u32,
}

impl TlsStream {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed the next in-order bytes of this direction. Malformed input becomes messages pushed to
    /// `warnings`, each naming the stream offset (bytes since the first byte fed).
    pub fn feed(&mut self, mut data: &[u8], warnings: &mut Vec<String>) {
        while !data.is_empty() && !self.done {
            let Some(mut rec) = self.record else {
                let take = (HEADER_LEN - self.header_len).min(data.len());
                let (Some(dst), Some((src, rest))) =
                    (self.header.get_mut(self.header_len..self.header_len + take), data.split_at_checked(take))
                else {
                    return;
                };
                dst.copy_from_slice(src);
                data = rest;
                self.header_len += take;
                self.offset += take as u64;
                if self.header_len == HEADER_LEN {
                    self.header_len = 0;
                    self.start_record(warnings);
                }
                continue;
            };
            let take = rec.remaining.min(data.len());
            let Some((chunk, rest)) = data.split_at_checked(take) else {
                return;
            };
            match rec.sink {
                Sink::Skip => {}
                Sink::Alert => {
                    for &b in chunk {
                        if let Some(slot) = self.alert.get_mut(self.alert_len) {
                            *slot = b;
                            self.alert_len += 1;
                        }
                    }
                }
                Sink::Handshake => self.push_handshake(chunk, self.offset, warnings),
            }
            data = rest;
            self.offset += take as u64;
            rec.remaining -= take;
            if rec.remaining > 0 {
                self.record = Some(rec);
                continue;
            }
            self.record = None;
            if rec.sink == Sink::Alert && self.alert_len == 2 {
                let [level, description] = self.alert;
                self.push_alert(level, description, false, rec.start);
            }
        }
    }

    pub fn summary(&self) -> &TlsSummary {
        &self.summary
    }

    /// True once parsing stopped (fatal format error) — the caller then stops feeding.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Bytes consumed so far.
    pub fn stream_offset(&self) -> u64 {
        self.offset
    }

    /// `at` is the stream offset the message names. The suppression notice names it too, not
    /// `self.offset`: that is where the current chunk started, so it would depend on how TCP
    /// happened to segment the stream (found by the `tls` fuzz target).
    fn warn(&mut self, at: u64, warnings: &mut Vec<String>, message: String) {
        self.warned = self.warned.saturating_add(1);
        if self.warned < MAX_WARNINGS {
            warnings.push(message);
        } else if self.warned == MAX_WARNINGS {
            warnings.push(format!("TLS offset {at}: further TLS warnings for this direction suppressed"));
        }
    }

    /// Reports a broken record header (always, past the warning cap) and stops the walk.
    fn fatal(&mut self, warnings: &mut Vec<String>, message: String) {
        warnings.push(format!("{message}; stopped parsing this direction"));
        self.done = true;
        self.handshake = Vec::new();
    }

    /// Checks a complete 5-byte header and decides what to do with the body.
    fn start_record(&mut self, warnings: &mut Vec<String>) {
        let [ctype, major, _minor, len_hi, len_lo] = self.header;
        let len = u16::from_be_bytes([len_hi, len_lo]);
        let start = self.offset.saturating_sub(HEADER_LEN as u64);
        if major != 3 {
            let msg = format!("TLS offset {start}: record version major byte {major:#04x} is not 3");
            return self.fatal(warnings, msg);
        }
        if !(20..=24).contains(&ctype) {
            return self.fatal(warnings, format!("TLS offset {start}: record type {ctype} is not 20..=24"));
        }
        if len > MAX_RECORD_LEN {
            let msg = format!("TLS offset {start}: record length {len} exceeds {MAX_RECORD_LEN}");
            return self.fatal(warnings, msg);
        }
        let s = &mut self.summary;
        s.records = s.records.saturating_add(1);
        let encrypted = ctype == CT_APPLICATION_DATA || (s.change_cipher_spec && ctype != CT_CHANGE_CIPHER_SPEC);
        if encrypted {
            s.encrypted_records = s.encrypted_records.saturating_add(1);
            s.encrypted_bytes = s.encrypted_bytes.saturating_add(u64::from(len));
            if s.encrypted_sizes.len() < MAX_ENCRYPTED_SIZES {
                s.encrypted_sizes.push(u32::from(len));
            }
        }
        let sink = match ctype {
            CT_CHANGE_CIPHER_SPEC => {
                if !self.handshake.is_empty() {
                    let (at, n) = (self.handshake_start, self.handshake.len());
                    let msg = format!(
                        "TLS offset {start}: ChangeCipherSpec cut off the handshake message \
                         started at offset {at} after {n} bytes"
                    );
                    self.warn(start, warnings, msg);
                }
                // Nothing after this is cleartext handshake: give the buffer back.
                self.handshake = Vec::new();
                self.summary.change_cipher_spec = true;
                Sink::Skip
            }
            CT_ALERT if encrypted => {
                self.push_alert(0, 0, true, start);
                Sink::Skip
            }
            CT_ALERT if len == 2 => Sink::Alert,
            CT_ALERT => {
                let msg = format!(
                    "TLS offset {start}: alert record of {len} bytes is not a plain 2-byte alert; \
                     kept as encrypted"
                );
                self.warn(start, warnings, msg);
                self.push_alert(0, 0, true, start);
                Sink::Skip
            }
            CT_HANDSHAKE if !encrypted && !self.handshake_stopped => Sink::Handshake,
            CT_HANDSHAKE | CT_APPLICATION_DATA => Sink::Skip,
            _ => {
                self.summary.unknown_records = self.summary.unknown_records.saturating_add(1);
                if !self.unknown_warned {
                    self.unknown_warned = true;
                    let msg = format!("TLS offset {start}: record type {ctype} is not interpreted");
                    self.warn(start, warnings, msg);
                }
                Sink::Skip
            }
        };
        self.alert_len = 0;
        if len > 0 {
            self.record = Some(Record { start, remaining: usize::from(len), sink });
        }
    }

    fn push_alert(&mut self, level: u8, description: u8, encrypted: bool, stream_offset: u64) {
        if self.summary.alerts.len() < MAX_ALERTS {
            let alert = Alert { level, description, encrypted, stream_offset };
            self.summary.alerts.push(alert);
        }
    }

    /// Appends handshake-record body bytes, never holding more than one capped message.
    fn push_handshake(&mut self, mut chunk: &[u8], mut pos: u64, warnings: &mut Vec<String>) {
        while !chunk.is_empty() && !self.handshake_stopped {
            if self.handshake.is_empty() {
                self.handshake_start = pos;
            }
            let want = match declared_len(&self.handshake) {
                None => 4usize.saturating_sub(self.handshake.len()),
                Some(body) => (4 + body).saturating_sub(self.handshake.len()),
            };
            let Some((head, rest)) = chunk.split_at_checked(want.min(chunk.len())) else {
                return;
            };
            self.handshake.extend_from_slice(head);
            chunk = rest;
            pos += head.len() as u64;
            let Some(body) = declared_len(&self.handshake) else {
                continue;
            };
            if 4 + body > MAX_HANDSHAKE_LEN {
                let at = self.handshake_start;
                let msg = format!(
                    "TLS offset {at}: handshake message declares {body} bytes, over the \
                     {MAX_HANDSHAKE_LEN}-byte cap; handshake parsing stopped"
                );
                self.warn(at, warnings, msg);
                self.handshake_stopped = true;
                self.handshake = Vec::new();
                return;
            }
            if self.handshake.len() == 4 {
                self.handshake.reserve_exact(body);
            }
            if self.handshake.len() == 4 + body {
                let msg = std::mem::take(&mut self.handshake);
                self.handle_message(&msg, warnings);
                self.handshake = msg;
                self.handshake.clear();
            }
        }
    }

    /// One complete handshake message, header included.
    fn handle_message(&mut self, msg: &[u8], warnings: &mut Vec<String>) {
        let (Some(&kind), Some(body)) = (msg.first(), msg.get(4..)) else {
            return;
        };
        if self.summary.handshake_messages.len() < MAX_HANDSHAKE_TYPES {
            self.summary.handshake_messages.push(kind);
        }
        let parsed = match kind {
            HS_CLIENT_HELLO => self.client_hello(body),
            HS_SERVER_HELLO => self.server_hello(body),
            HS_CERTIFICATE => self.certificates(body),
            _ => true,
        };
        if !parsed {
            let at = self.handshake_start;
            self.warn(at, warnings, format!("TLS offset {at}: handshake message type {kind} could not be parsed"));
        }
    }

    fn client_hello(&mut self, body: &[u8]) -> bool {
        let Ok((_, ch)) = parse_tls_handshake_client_hello(body) else {
            return false;
        };
        let mut out = ClientHello {
            legacy_version: ch.version.0,
            cipher_suites: ch.ciphers.iter().take(MAX_CIPHER_SUITES).map(|c| c.0).collect(),
            ..ClientHello::default()
        };
        for ext in extensions(ch.ext.unwrap_or_default(), true) {
            match ext {
                TlsExtension::SNI(names) => {
                    let host = names.iter().find(|(kind, _)| kind.0 == 0);
                    out.sni = host.map(|(_, name)| text(name));
                }
                TlsExtension::SupportedVersions(list) => {
                    out.supported_versions = list.iter().take(MAX_LIST).map(|v| v.0).collect();
                }
                TlsExtension::ALPN(list) => {
                    out.alpn = list.iter().take(MAX_LIST).map(|p| text(p)).collect();
                }
                _ => {}
            }
        }
        self.summary.client_hello = Some(out);
        true
    }

    fn server_hello(&mut self, body: &[u8]) -> bool {
        let Ok((_, sh)) = parse_tls_handshake_server_hello(body) else {
            return false;
        };
        let selected_version = extensions(sh.ext.unwrap_or_default(), false)
            .iter()
            .find_map(|ext| match ext {
                TlsExtension::SupportedVersions(list) => list.first().map(|v| v.0),
                _ => None,
            })
            .unwrap_or(sh.version.0);
        // A HelloRetryRequest (TLS 1.3) is followed by a second ServerHello: keep the last one.
        self.summary.server_hello =
            Some(ServerHello { legacy_version: sh.version.0, selected_version, cipher_suite: sh.cipher.0 });
        true
    }

    fn certificates(&mut self, body: &[u8]) -> bool {
        let Ok((_, TlsMessageHandshake::Certificate(chain))) = parse_tls_handshake_msg_certificate(body) else {
            return false;
        };
        for raw in chain.cert_chain {
            if self.summary.certificates.len() >= MAX_CERTS {
                break;
            }
            self.summary.certificates.push(summarize_cert(raw.data));
        }
        true
    }
}

/// Cheap sniff: 5 bytes of a plausible TLS record header (type 20..=24, major version 3,
/// minor 0..=4, length ≤ 18432).
pub fn looks_like_tls_record(data: &[u8]) -> bool {
    match data {
        [kind, 3, minor, hi, lo, ..] => {
            (20..=24).contains(kind) && *minor <= 4 && u16::from_be_bytes([*hi, *lo]) <= MAX_RECORD_LEN
        }
        _ => false,
    }
}

/// IANA name of a cipher suite, e.g. `0x1301` → `TLS_AES_128_GCM_SHA256`.
pub fn cipher_suite_name(id: u16) -> Option<&'static str> {
    TlsCipherSuite::from_id(id).map(|suite| suite.name)
}

/// Body length from a handshake header (type, u24 length), once 4 bytes are present.
fn declared_len(buf: &[u8]) -> Option<usize> {
    match buf {
        [_, a, b, c, ..] => usize::try_from(u32::from_be_bytes([0, *a, *b, *c])).ok(),
        _ => None,
    }
}

/// Splits an extensions block and parses each entry on its own, so that one malformed extension
/// does not hide the ones after it.
fn extensions(mut raw: &[u8], client: bool) -> Vec<TlsExtension<'_>> {
    let mut out = Vec::new();
    while let [_, _, hi, lo, ..] = raw {
        let len = 4 + usize::from(u16::from_be_bytes([*hi, *lo]));
        let Some((one, rest)) = raw.split_at_checked(len) else {
            break;
        };
        let parsed = if client { parse_tls_client_hello_extension(one) } else { parse_tls_server_hello_extension(one) };
        if let Ok((_, ext)) = parsed {
            out.push(ext);
        }
        raw = rest;
    }
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes.get(..MAX_TEXT).unwrap_or(bytes)).into_owned()
}

fn summarize_cert(der: &[u8]) -> CertSummary {
    let cert = match X509Certificate::from_der(der) {
        Ok((_, cert)) => cert,
        Err(e) => {
            let error = Some(format!("certificate of {} bytes not parsed: {e}", der.len()));
            return CertSummary { error, ..CertSummary::default() };
        }
    };
    let (key_algorithm, key_bits) = key_info(cert.public_key());
    let serial = cert.raw_serial().iter().take(64).map(|b| format!("{b:02x}")).collect();
    CertSummary {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
        key_algorithm,
        key_bits,
        serial,
        error: None,
    }
}

fn key_info(spki: &SubjectPublicKeyInfo<'_>) -> (String, Option<u32>) {
    let oid = &spki.algorithm.algorithm;
    let registry_name = || oid2sn(oid, oid_registry()).map_or_else(|_| oid.to_id_string(), str::to_owned);
    let nonzero = |bits: usize| u32::try_from(bits).ok().filter(|&b| b > 0);
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => ("RSA".to_owned(), rsa_bits(rsa.modulus)),
        Ok(PublicKey::EC(point)) => {
            let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok());
            let bits = match curve {
                Some(c) if c == OID_EC_P256 => Some(256),
                Some(c) if c == OID_NIST_EC_P384 => Some(384),
                Some(c) if c == OID_NIST_EC_P521 => Some(521),
                _ => nonzero(point.key_size()),
            };
            ("EC".to_owned(), bits)
        }
        Ok(PublicKey::DSA(y)) => ("DSA".to_owned(), nonzero(y.len() * 8)),
        Ok(_) | Err(_) => (registry_name(), None),
    }
}

/// Bit length of a big-endian unsigned modulus, ignoring leading zero bytes.
fn rsa_bits(modulus: &[u8]) -> Option<u32> {
    let start = modulus.iter().position(|&b| b != 0)?;
    let rest = modulus.get(start..)?;
    let top = rest.first()?;
    let bits = (rest.len() - 1) * 8 + (8 - top.leading_zeros() as usize);
    u32::try_from(bits).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Record header: content type at 0, legacy version at 1..3, body length at 3..5.
    const REC_TYPE: usize = 0;
    const REC_VERSION: usize = 1;
    const REC_LEN: usize = 3;
    // Handshake header: message type at 0, u24 body length at 1..4.
    const HS_TYPE: usize = 0;
    const HS_LEN: usize = 1;
    const HS_HEADER: usize = 4;

    fn record(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut r = vec![0u8; HEADER_LEN];
        r[REC_TYPE] = kind;
        r[REC_VERSION..REC_VERSION + 2].copy_from_slice(&[3, 3]);
        r[REC_LEN..REC_LEN + 2].copy_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }

    fn handshake(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![0u8; HS_HEADER];
        m[HS_TYPE] = kind;
        m[HS_LEN..HS_HEADER].copy_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        m.extend_from_slice(body);
        m
    }

    fn ext(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut e = kind.to_be_bytes().to_vec();
        e.extend_from_slice(&(data.len() as u16).to_be_bytes());
        e.extend_from_slice(data);
        e
    }

    /// ClientHello body: version 0..2, random 2..34, session id length at 34, then cipher suites,
    /// compression methods and extensions (SNI, supported_versions, ALPN), each length-prefixed.
    fn client_hello_body(sni: &str) -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend_from_slice(&[0xab; 32]);
        b.push(0);
        b.extend_from_slice(&[0, 6, 0x13, 0x01, 0xc0, 0x30, 0x00, 0x9d]);
        b.extend_from_slice(&[1, 0]);
        let mut sni_data = ((sni.len() + 3) as u16).to_be_bytes().to_vec();
        sni_data.push(0);
        sni_data.extend_from_slice(&(sni.len() as u16).to_be_bytes());
        sni_data.extend_from_slice(sni.as_bytes());
        let mut exts = ext(0, &sni_data);
        exts.extend(ext(43, &[4, 3, 4, 3, 3]));
        exts.extend(ext(16, &[0, 9, 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1']));
        b.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        b.extend(exts);
        b
    }

    /// ServerHello body: version, random, empty session id, suite 0x1301, compression 0,
    /// extensions holding supported_versions = TLS 1.3.
    fn server_hello_body() -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend_from_slice(&[0x11; 32]);
        b.extend_from_slice(&[0, 0x13, 0x01, 0]);
        let exts = ext(43, &[3, 4]);
        b.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        b.extend(exts);
        b
    }

    fn feed_split(s: &mut TlsStream, data: &[u8], splits: &[usize]) -> Vec<String> {
        let mut warnings = Vec::new();
        let mut from = 0;
        for &at in splits.iter().chain([&data.len()]) {
            s.feed(&data[from..at], &mut warnings);
            from = at;
        }
        warnings
    }

    #[test]
    fn client_hello_split_across_three_feeds() {
        let bytes = record(22, &handshake(1, &client_hello_body("rdp.example.test")));
        let sni_pos = bytes.len() - 30; // inside the host name
        let mut s = TlsStream::new();
        let warnings = feed_split(&mut s, &bytes, &[3, sni_pos]);
        assert!(warnings.is_empty(), "{warnings:?}");
        let ch = s.summary().client_hello.clone().unwrap();
        assert_eq!(ch.legacy_version, 0x0303);
        assert_eq!(ch.cipher_suites, vec![0x1301, 0xc030, 0x009d]);
        assert_eq!(ch.sni.as_deref(), Some("rdp.example.test"));
        assert_eq!(ch.supported_versions, vec![0x0304, 0x0303]);
        assert_eq!(ch.alpn, vec!["http/1.1".to_owned()]);
        assert_eq!(s.summary().records, 1);
        assert_eq!(s.summary().handshake_messages, vec![1]);
        assert_eq!(s.stream_offset(), bytes.len() as u64);
    }

    #[test]
    fn two_handshake_messages_in_one_record() {
        let mut body = handshake(2, &server_hello_body());
        body.extend(handshake(14, &[]));
        let mut s = TlsStream::new();
        assert!(feed_split(&mut s, &record(22, &body), &[]).is_empty());
        assert_eq!(s.summary().handshake_messages, vec![2, 14]);
        let sh = s.summary().server_hello.clone().unwrap();
        assert_eq!(sh, ServerHello { legacy_version: 0x0303, selected_version: 0x0304, cipher_suite: 0x1301 });
        assert_eq!(cipher_suite_name(sh.cipher_suite), Some("TLS_AES_128_GCM_SHA256"));
    }

    #[test]
    fn one_handshake_message_across_two_records() {
        let msg = handshake(1, &client_hello_body("a.b"));
        let mut bytes = record(22, &msg[..10]);
        bytes.extend(record(22, &msg[10..]));
        let mut s = TlsStream::new();
        assert!(feed_split(&mut s, &bytes, &[]).is_empty());
        assert_eq!(s.summary().records, 2);
        assert_eq!(s.summary().client_hello.as_ref().unwrap().sni.as_deref(), Some("a.b"));
    }

    #[test]
    fn plaintext_fatal_alert() {
        let hello = record(22, &handshake(1, &client_hello_body("x")));
        let mut bytes = hello.clone();
        bytes.extend(record(21, &[2, 40]));
        let mut s = TlsStream::new();
        assert!(feed_split(&mut s, &bytes, &[hello.len() + 6]).is_empty());
        let expected = Alert { level: 2, description: 40, encrypted: false, stream_offset: hello.len() as u64 };
        assert_eq!(s.summary().alerts, vec![expected]);
        assert_eq!(s.summary().encrypted_records, 0);
    }

    #[test]
    fn alert_after_change_cipher_spec_is_encrypted() {
        let mut bytes = record(20, &[1]);
        bytes.extend(record(21, &[0x5a; 26]));
        let mut s = TlsStream::new();
        assert!(feed_split(&mut s, &bytes, &[]).is_empty());
        let sum = s.summary();
        assert!(sum.change_cipher_spec);
        assert_eq!(sum.alerts, vec![Alert { level: 0, description: 0, encrypted: true, stream_offset: 6 }]);
        assert_eq!((sum.encrypted_records, sum.encrypted_bytes, sum.encrypted_sizes.clone()), (1, 26, vec![26]));
    }

    #[test]
    fn application_data_counted_with_sizes() {
        let sizes = [100usize, 2000, 18432, 1, 0];
        let mut bytes = Vec::new();
        for n in sizes {
            bytes.extend(record(23, &vec![0x77; n]));
        }
        for _ in 0..20 {
            bytes.extend(record(23, &[1, 2, 3]));
        }
        let mut s = TlsStream::new();
        let splits: Vec<usize> = (1..bytes.len()).step_by(7).collect();
        assert!(feed_split(&mut s, &bytes, &splits).is_empty());
        let sum = s.summary();
        assert_eq!(sum.records, 25);
        assert_eq!(sum.encrypted_records, 25);
        assert_eq!(sum.encrypted_bytes, 20533 + 60);
        assert_eq!(sum.encrypted_sizes.len(), MAX_ENCRYPTED_SIZES);
        assert_eq!(sum.encrypted_sizes[..6], [100, 2000, 18432, 1, 0, 3]);
        assert!(s.handshake.capacity() == 0);
    }

    #[test]
    fn oversized_lengths_warn_without_allocating() {
        // Record length 0xffff is over the ciphertext limit: fatal for the direction.
        let mut s = TlsStream::new();
        let mut bytes = record(22, &handshake(1, &client_hello_body("x")));
        let bad_at = bytes.len();
        bytes.extend_from_slice(&[23, 3, 3, 0xff, 0xff, 0, 0, 0]);
        let warnings = feed_split(&mut s, &bytes, &[]);
        assert!(s.is_done());
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains(&format!("offset {bad_at}")) && warnings[0].contains("65535"));
        assert_eq!(s.stream_offset(), bad_at as u64 + 5);
        s.feed(&[1, 2, 3], &mut Vec::new());
        assert_eq!(s.stream_offset(), bad_at as u64 + 5);

        // A handshake message declaring 16 MB stops handshake parsing only.
        let mut s = TlsStream::new();
        let mut bytes = record(22, &[11, 0xff, 0xff, 0xff, 0, 0, 0]);
        bytes.extend(record(22, &handshake(1, &client_hello_body("x"))));
        bytes.extend(record(23, &[0; 40]));
        let warnings = feed_split(&mut s, &bytes, &[7]);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("offset 5") && warnings[0].contains("16777215"));
        assert!(!s.is_done());
        assert!(s.handshake.capacity() <= MAX_HANDSHAKE_LEN);
        assert_eq!(s.summary().client_hello, None);
        assert_eq!((s.summary().records, s.summary().encrypted_sizes.clone()), (3, vec![40]));
    }

    #[test]
    fn bad_header_fields_stop_parsing() {
        for (header, needle) in [([22u8, 2, 0, 0, 4], "0x02"), ([25, 3, 3, 0, 4], "type 25")] {
            let mut bytes = record(23, &[9; 9]);
            bytes.extend_from_slice(&header);
            let mut s = TlsStream::new();
            let warnings = feed_split(&mut s, &bytes, &[16]);
            assert!(s.is_done());
            assert!(warnings[0].contains("offset 14") && warnings[0].contains(needle), "{warnings:?}");
        }
    }

    #[test]
    fn truncated_input_leaves_state_consistent() {
        let bytes = record(22, &handshake(1, &client_hello_body("host")));
        let cut = bytes.len() - 10;
        let mut s = TlsStream::new();
        assert!(feed_split(&mut s, &bytes[..cut], &[2]).is_empty());
        assert_eq!(s.stream_offset(), cut as u64);
        assert!(!s.is_done());
        assert_eq!(s.summary().records, 1);
        assert_eq!(s.summary().client_hello, None);
        assert!(s.handshake.len() == cut - HEADER_LEN);
        assert!(feed_split(&mut s, &bytes[cut..], &[]).is_empty());
        assert_eq!(s.summary().client_hello.as_ref().unwrap().sni.as_deref(), Some("host"));
        assert!(s.handshake.is_empty());
    }

    #[test]
    fn random_input_never_panics() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..4000 {
            let mut buf: Vec<u8> = (0..next() % 700).map(|_| next() as u8).collect();
            if round % 2 == 0 {
                // Plausible framing with random contents, so the deeper parsers get exercised.
                let kind = [1, 2, 11, 14, 0xff][(next() % 5) as usize];
                let mut framed = record(22, &handshake(kind, &buf));
                let len_at = HEADER_LEN + HS_LEN + (next() % 3) as usize;
                if next() % 4 == 0 {
                    framed[len_at] = next() as u8;
                }
                framed.extend(record((20 + next() % 5) as u8, &buf[..buf.len() % 40]));
                buf = framed;
            } else if round % 4 == 1 {
                // The real certificate message with a few bytes flipped: corrupt DER for x509-parser.
                let mut framed = record(22, &certificate_message());
                for _ in 0..1 + next() % 4 {
                    let at = HEADER_LEN + (next() as usize) % (framed.len() - HEADER_LEN);
                    framed[at] ^= 1 << (next() % 8);
                }
                buf = framed;
            }
            let mut splits: Vec<usize> = (0..next() % 6).map(|_| (next() as usize) % (buf.len() + 1)).collect();
            splits.sort_unstable();
            let mut s = TlsStream::new();
            let warnings = feed_split(&mut s, &buf, &splits);
            assert!(warnings.len() <= MAX_WARNINGS as usize + 1);
            assert!(s.stream_offset() <= buf.len() as u64);
            assert!(s.handshake.capacity() <= MAX_HANDSHAKE_LEN);
        }
    }

    // Self-signed RSA certificate made once with
    // `openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=RDPSRV01 -days 365 -outform DER`.
    // The expected subject, validity, serial and key size were read with
    // `openssl x509 -inform DER -noout -subject -dates -serial -text`:
    // notBefore Nov 21 11:08:46 2026 GMT (1795259326), notAfter Nov 21 11:08:46 2027 GMT (1826795326).
    const CERT_HEX: &str = concat!(
        "30820307308201efa00302010202144fb90020ec25a3e06539a3cbabd2cffd85d64739300d06092a864886f70d01010b",
        "050030133111300f06035504030c085244505352563031301e170d3236313132313131303834365a170d323731313231",
        "3131303834365a30133111300f06035504030c08524450535256303130820122300d06092a864886f70d010101050003",
        "82010f003082010a02820101009eddf3e71dcb914b9491556b03caacd7bdf931b1e41956567267e7c4b91b7ade00ad44",
        "4038484a647a8fc13245a0a7dc7fb145f2cceeaa6f85f98c283d7a5c2b13a56e3ed9cf9fefa2648550d8d4a04f6369b7",
        "4ea3df217c353c21e6a4a0d04f9c8d2c4bcde24bbaa10b74d4b81b689d229b2269cbd80a22395a19118ff89ec4734d2d",
        "65a88b9979ce4bbcac59af3e6c46b7fca3217d96533fe5ea7ab3436b94b167566d9ed8420e62320e87cbf00b33f26867",
        "570286b896f33b3f7a46f38eb87989493b34c3a515535bc2b313876eee4d1aae50d4fc082bfff177c207cae27f869424",
        "8a1140f3f31b3dc21db11cb4e50df979f4100d966f4e5fb3a84469439d0203010001a3533051301d0603551d0e041604",
        "14d88f4e25292d01dbc19b14c100bbdbb38a1393f6301f0603551d23041830168014d88f4e25292d01dbc19b14c100bb",
        "dbb38a1393f6300f0603551d130101ff040530030101ff300d06092a864886f70d01010b050003820101000138fb1a19",
        "1228cfac7742b599e9775ae8675adddbcf6f56839528c47200f6fb064d7dd1af1550a6429746f9f1de58bef711e55a91",
        "f61131545983ec221040f3fa5a95f5c6ee7e3a2e7d4d82e427a345bb8a00ceb5c7b1ecf94907efaf4a16c54751568993",
        "92d91e7101d502f6c4cc9a2f28e6d266f1d7f2f793c0353dfe383828812ed4c94a81cd6cbc0890d7ef96ff18985db70e",
        "2d5bf1e55c69a93468df2c8c90b905f223e8824e0beb20b842439bd7dc3f04b060c56112ebf646441f0bd26c78ce8f2b",
        "ad4d136d293e429c0cc969cc5e6b26e65452cd4a469ee10cf8dc0b3640fba16e2a15e5e29be37bb7243ca5c7b94438be",
        "a3bece0c202d166a545723",
    );

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// Certificate message: u24 list length, then per certificate a u24 length and the DER.
    /// Holds the real certificate followed by 5 bytes that are not a certificate.
    fn certificate_message() -> Vec<u8> {
        let der = unhex(CERT_HEX);
        let junk = [0x30u8, 0x03, 1, 2, 3];
        let mut list = Vec::new();
        for cert in [&der[..], &junk[..]] {
            list.extend_from_slice(&(cert.len() as u32).to_be_bytes()[1..]);
            list.extend_from_slice(cert);
        }
        let mut body = (list.len() as u32).to_be_bytes()[1..].to_vec();
        body.extend(list);
        handshake(11, &body)
    }

    #[test]
    fn certificate_message_summarized() {
        let msg = certificate_message();
        let mut bytes = record(22, &msg[..300]);
        bytes.extend(record(22, &msg[300..]));
        let mut s = TlsStream::new();
        let splits: Vec<usize> = (1..bytes.len()).collect();
        assert!(feed_split(&mut s, &bytes, &splits).is_empty());
        let certs = &s.summary().certificates;
        assert_eq!(certs.len(), 2);
        let expected = CertSummary {
            subject: "CN=RDPSRV01".to_owned(),
            issuer: "CN=RDPSRV01".to_owned(),
            not_before: 1_795_259_326,
            not_after: 1_826_795_326,
            self_signed: true,
            key_algorithm: "RSA".to_owned(),
            key_bits: Some(2048),
            serial: "4fb90020ec25a3e06539a3cbabd2cffd85d64739".to_owned(),
            error: None,
        };
        assert_eq!(certs[0], expected);
        assert!(certs[1].error.is_some() && certs[1].subject.is_empty());
    }

    #[test]
    fn sniff_and_names() {
        assert!(looks_like_tls_record(&[22, 3, 1, 0, 0x40]));
        assert!(!looks_like_tls_record(&[22, 3, 5, 0, 0x40]));
        assert!(!looks_like_tls_record(&[3, 0, 0, 19, 0x0e]));
        assert!(!looks_like_tls_record(&[23, 3, 3, 0x48, 0x01]));
        assert!(!looks_like_tls_record(&[22, 3]));
        assert_eq!(cipher_suite_name(0xc030), Some("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"));
        assert_eq!(cipher_suite_name(0x0a0a), None);
    }
}
