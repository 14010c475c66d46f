//! The view of a connection's `tls` value: the negotiated names, what each side's TLS stream
//! showed (`rdp::tls::TlsSummary`), and the alerts with who sent them.

use std::sync::Arc;

use serde::Serialize;

use crate::connection::{TlsFacts, fmt_ts};
use crate::evidence::Frames;
use crate::rdp::analyzer::SentAlert;
use crate::rdp::tls::{Alert, CertSummary, ClientHello, ServerHello, TlsSummary};
use crate::vocab::Side;

#[derive(Serialize)]
pub struct TlsOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cipher_suite: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sni: Option<&'a str>,
    client: SummaryOut<'a>,
    server: SummaryOut<'a>,
    alerts: Vec<SentAlertOut>,
    certificate_expired: bool,
}

impl<'a> TlsOut<'a> {
    pub fn new(t: &'a TlsFacts, frames: &Frames) -> Self {
        TlsOut {
            version: t.version.as_deref(),
            cipher_suite: t.cipher_suite.as_deref(),
            sni: t.sni.as_deref(),
            client: SummaryOut::from(&t.client),
            server: SummaryOut::from(&t.server),
            alerts: t.alerts.iter().map(|a| SentAlertOut::new(a, frames)).collect(),
            certificate_expired: t.certificate_expired,
        }
    }
}

/// One direction of the TLS stream; `rdp::tls::TlsSummary` documents each field.
#[derive(Serialize)]
struct SummaryOut<'a> {
    records: u32,
    client_hello: Option<ClientHelloOut<'a>>,
    server_hello: Option<ServerHelloOut>,
    certificates: Vec<CertOut<'a>>,
    alerts: Vec<AlertOut>,
    change_cipher_spec: bool,
    encrypted_records: u32,
    encrypted_bytes: u64,
    encrypted_sizes: &'a [u32],
    handshake_messages: &'a [u8],
    unknown_records: u32,
}

impl<'a> From<&'a TlsSummary> for SummaryOut<'a> {
    fn from(s: &'a TlsSummary) -> Self {
        SummaryOut {
            records: s.records,
            client_hello: s.client_hello.as_ref().map(ClientHelloOut::from),
            server_hello: s.server_hello.as_ref().map(ServerHelloOut::from),
            certificates: s.certificates.iter().map(CertOut::from).collect(),
            alerts: s.alerts.iter().map(AlertOut::from).collect(),
            change_cipher_spec: s.change_cipher_spec,
            encrypted_records: s.encrypted_records,
            encrypted_bytes: s.encrypted_bytes,
            encrypted_sizes: &s.encrypted_sizes,
            handshake_messages: &s.handshake_messages,
            unknown_records: s.unknown_records,
        }
    }
}

#[derive(Serialize)]
struct ClientHelloOut<'a> {
    legacy_version: u16,
    supported_versions: &'a [u16],
    cipher_suites: &'a [u16],
    sni: Option<&'a str>,
    alpn: &'a [String],
}

impl<'a> From<&'a ClientHello> for ClientHelloOut<'a> {
    fn from(h: &'a ClientHello) -> Self {
        ClientHelloOut {
            legacy_version: h.legacy_version,
            supported_versions: &h.supported_versions,
            cipher_suites: &h.cipher_suites,
            sni: h.sni.as_deref(),
            alpn: &h.alpn,
        }
    }
}

#[derive(Serialize)]
struct ServerHelloOut {
    legacy_version: u16,
    selected_version: u16,
    cipher_suite: u16,
}

impl From<&ServerHello> for ServerHelloOut {
    fn from(h: &ServerHello) -> Self {
        ServerHelloOut {
            legacy_version: h.legacy_version,
            selected_version: h.selected_version,
            cipher_suite: h.cipher_suite,
        }
    }
}

#[derive(Serialize)]
struct CertOut<'a> {
    subject: &'a str,
    issuer: &'a str,
    /// Unix seconds.
    not_before: i64,
    not_after: i64,
    self_signed: bool,
    key_algorithm: &'a str,
    key_bits: Option<u32>,
    serial: &'a str,
    error: Option<&'a str>,
}

impl<'a> From<&'a CertSummary> for CertOut<'a> {
    fn from(c: &'a CertSummary) -> Self {
        CertOut {
            subject: &c.subject,
            issuer: &c.issuer,
            not_before: c.not_before,
            not_after: c.not_after,
            self_signed: c.self_signed,
            key_algorithm: &c.key_algorithm,
            key_bits: c.key_bits,
            serial: &c.serial,
            error: c.error.as_deref(),
        }
    }
}

/// A TLS alert as one direction's stream showed it.
#[derive(Serialize)]
struct AlertOut {
    level: u8,
    description: u8,
    encrypted: bool,
    stream_offset: u64,
}

impl From<&Alert> for AlertOut {
    fn from(a: &Alert) -> Self {
        AlertOut { level: a.level, description: a.description, encrypted: a.encrypted, stream_offset: a.stream_offset }
    }
}

/// An alert in the connection's list: frame reference, sender, then the alert's fields.
#[derive(Serialize)]
struct SentAlertOut {
    frame: u64,
    /// The file, when the connection was read from the pieces of a capture (`Frames::place`).
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<Arc<str>>,
    ts: String,
    sender: Side,
    level: u8,
    description: u8,
    encrypted: bool,
    stream_offset: u64,
}

impl SentAlertOut {
    fn new(s: &SentAlert, frames: &Frames) -> Self {
        let (frame, file) = frames.place(s.at.frame);
        SentAlertOut {
            frame,
            file,
            ts: fmt_ts(s.at.ts),
            sender: s.sender,
            level: s.alert.level,
            description: s.alert.description,
            encrypted: s.alert.encrypted,
            stream_offset: s.alert.stream_offset,
        }
    }
}
