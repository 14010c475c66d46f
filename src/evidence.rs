//! Typed evidence: one fact with its time, where it comes from (a frame of a capture or a record
//! of a log), the side that produced it, and what kind of fact it is. The sentence is only for
//! people; rules and reports work from `kind`, `side` and `origin`.
//!
//! Built by `connection` (packets) and `analyze` (events joined by `correlate`); read by
//! `diagnose` and the report. The JSON keeps schema_version 1's `time`, `source`, `ref` and
//! `text`, and adds `side` and `kind`.

use std::sync::Arc;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::time::Ts;
use crate::vocab::{CloseKind, Side};

/// Where a piece of evidence can be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A packet: its number in its own file (1-based, as Wireshark numbers frames; an ETW trace
    /// numbers its events), and that file's name when the number alone does not find it (an
    /// `.etl` trace, or a capture read in pieces).
    Packet { n: u64, unit: Unit, file: Option<Arc<str>> },
    /// A record of an event log: the input's file name and the record id.
    Record { file: Arc<str>, record: u64 },
}

/// What a capture's packet numbers count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// pcap and pcapng records (Wireshark's frame numbers).
    Frame,
    /// ETW events of an `.etl` trace, in file order (`pktmon etl2txt`, `tracerpt`).
    Event,
}

impl Unit {
    /// What the packet numbers of a capture read with `stats` count.
    pub fn of(stats: &crate::input::pcap::CaptureStats) -> Unit {
        if stats.format == "etl" { Unit::Event } else { Unit::Frame }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Frame => "frame",
            Unit::Event => "event",
        }
    }
}

/// One file of a capture stream: the stream number of the packet before its first, its name
/// and what its numbers count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub before: u64,
    pub file: Arc<str>,
    pub unit: Unit,
}

/// How the packet numbers of one capture stream map back to its files: one file (numbers are
/// the file's own), or the pieces of a rotated capture read as one stream (numbers run on
/// across the pieces; each maps back to its file and its number there).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frames {
    /// In stream order; never empty.
    parts: Vec<Part>,
}

impl Frames {
    /// A single file, `file` being how reports name it.
    pub fn single(file: &str, unit: Unit) -> Frames {
        Frames::pieces(vec![Part { before: 0, file: base_name(file).into(), unit }])
    }

    /// Pieces of one capture, in stream order (`parts` must not be empty: a single unnamed part
    /// is used instead).
    pub fn pieces(mut parts: Vec<Part>) -> Frames {
        if parts.is_empty() {
            parts.push(Part { before: 0, file: "".into(), unit: Unit::Frame });
        }
        Frames { parts }
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The part a stream number falls in, and the number within that part.
    pub fn locate(&self, n: u64) -> (&Part, u64) {
        let i = self.parts.partition_point(|p| p.before < n).saturating_sub(1);
        let p = &self.parts[i.min(self.parts.len() - 1)];
        (p, n.saturating_sub(p.before))
    }

    /// The origin of stream packet `n`: the file is named for pieces and for `.etl` events.
    pub fn origin(&self, n: u64) -> Origin {
        let (p, local) = self.locate(n);
        let named = self.parts.len() > 1 || p.unit != Unit::Frame;
        Origin::Packet { n: local, unit: p.unit, file: named.then(|| p.file.clone()) }
    }

    /// Stream packet `n` as the detail views write it: the number within its file, and that
    /// file's name only when the stream is made of pieces (a single file's numbers are its own).
    pub fn place(&self, n: u64) -> (u64, Option<Arc<str>>) {
        let (p, local) = self.locate(n);
        (local, (self.parts.len() > 1).then(|| p.file.clone()))
    }

    /// Maps evidence built from stream numbers (`Evidence::packet`) to its files' numbers.
    pub fn resolve(&self, ev: &mut [Evidence]) {
        for e in ev {
            if let Origin::Packet { n, file: None, unit: Unit::Frame } = e.origin {
                e.origin = self.origin(n);
            }
        }
    }
}

impl Default for Frames {
    fn default() -> Self {
        Frames::pieces(Vec::new())
    }
}

/// The file name part of a path.
fn base_name(path: &str) -> &str {
    std::path::Path::new(path).file_name().and_then(|f| f.to_str()).unwrap_or(path)
}

/// Where evidence comes from: a capture or a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Packet,
    Event,
}

impl Source {
    /// `packet` or `event` (DESIGN.md JSON `evidence[].source`).
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Packet => "packet",
            Source::Event => "event",
        }
    }
}

impl Origin {
    pub fn source(&self) -> Source {
        match self {
            Origin::Packet { .. } => Source::Packet,
            Origin::Record { .. } => Source::Event,
        }
    }

    /// `frame 12`, `frame 12 of part2.pcap`, `event 40 of trace.etl` or `System.evtx#4711`
    /// (DESIGN.md JSON `evidence[].ref`).
    pub fn reference(&self) -> String {
        match self {
            Origin::Packet { n, unit, file: None } => format!("{} {n}", unit.as_str()),
            Origin::Packet { n, unit, file: Some(f) } => format!("{} {n} of {f}", unit.as_str()),
            Origin::Record { file, record } => format!("{file}#{record}"),
        }
    }

    pub fn is_packet(&self) -> bool {
        matches!(self, Origin::Packet { .. })
    }

    /// The reference names its file (`reference` is enough to find it).
    pub fn names_file(&self) -> bool {
        !matches!(self, Origin::Packet { file: None, .. })
    }
}

/// What a piece of evidence is. Each packet kind names one wire fact; events carry their
/// provider and id.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// The client's SYN, sent `sends` times.
    Syn {
        sends: usize,
    },
    SynAck,
    /// The server answered the SYN with RST.
    SynRefused,
    /// The SYN was never answered after `sends` tries.
    SynUnanswered {
        sends: usize,
    },
    X224Request,
    X224Confirm,
    /// RDP_NEG_FAILURE in the Connection Confirm (MS-RDPBCGR 2.2.1.2.2).
    NegFailure {
        code: u32,
    },
    /// A reply to the Connection Request that is not X.224 (another service on the port).
    NotX224,
    ClientHello,
    ServerHello,
    Certificate {
        expired: bool,
    },
    /// A TLS alert (RFC 8446 §6); `encrypted` alerts hide level and description.
    TlsAlert {
        level: u8,
        description: u8,
        encrypted: bool,
    },
    FirstEncrypted,
    /// One segment retransmitted `times` times; `acked` once the peer acknowledged it.
    Retransmitted {
        times: usize,
        acked: bool,
    },
    /// An ICMP error about the connection (RFC 792 / RFC 4443); `mtu` for frag-needed / too big.
    Icmp {
        admin: bool,
        mtu: Option<u32>,
    },
    /// The first FIN or RST; `ttl_mismatch` when a RST's TTL does not fit its claimed sender.
    Close {
        how: CloseKind,
        ttl_mismatch: bool,
    },
    /// A T.125 Disconnect Provider Ultimatum (ITU-T T.125 §11.15), readable without TLS.
    DisconnectUltimatum,
    /// The capturing host dropped a packet inside its own stack (pktmon event 170): `reason`
    /// is pktmon's code; `firewall` when it names a filter or policy (the Windows Filtering
    /// Platform, IPsec, a blocked port); `syn` when the packet was the client's SYN.
    HostDrop {
        reason: u32,
        firewall: bool,
        syn: bool,
    },
    RdpUdpSyn,
    RdpUdpSynAck,
    /// A Windows event joined to the connection.
    Event {
        provider: Arc<str>,
        id: u16,
    },
}

impl Kind {
    /// A short stable name for JSON (`evidence[].kind`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Syn { .. } => "syn",
            Kind::SynAck => "syn-ack",
            Kind::SynRefused => "syn-refused",
            Kind::SynUnanswered { .. } => "syn-unanswered",
            Kind::X224Request => "x224-request",
            Kind::X224Confirm => "x224-confirm",
            Kind::NegFailure { .. } => "rdp-neg-failure",
            Kind::NotX224 => "not-x224",
            Kind::ClientHello => "tls-client-hello",
            Kind::ServerHello => "tls-server-hello",
            Kind::Certificate { .. } => "tls-certificate",
            Kind::TlsAlert { .. } => "tls-alert",
            Kind::FirstEncrypted => "first-encrypted",
            Kind::Retransmitted { .. } => "retransmitted",
            Kind::Icmp { .. } => "icmp",
            Kind::Close { .. } => "close",
            Kind::DisconnectUltimatum => "disconnect-ultimatum",
            Kind::HostDrop { .. } => "host-drop",
            Kind::RdpUdpSyn => "rdp-udp-syn",
            Kind::RdpUdpSynAck => "rdp-udp-syn-ack",
            Kind::Event { .. } => "event",
        }
    }
}

/// One piece of evidence.
#[derive(Clone, Debug)]
pub struct Evidence {
    /// On the capture clock (events: their host's offset removed).
    pub time: Ts,
    pub origin: Origin,
    pub side: Side,
    pub kind: Kind,
    /// The sentence for people. Nothing but renderers reads it.
    pub text: String,
}

impl Evidence {
    /// Evidence from stream packet `n`; `Frames::resolve` later maps the number to its file.
    pub fn packet(time: Ts, n: u64, side: Side, kind: Kind, text: String) -> Evidence {
        Evidence { time, origin: Origin::Packet { n, unit: Unit::Frame, file: None }, side, kind, text }
    }

    /// The event's provider and id, for event evidence.
    pub fn event(&self) -> Option<(&str, u16)> {
        match &self.kind {
            Kind::Event { provider, id } => Some((provider, *id)),
            _ => None,
        }
    }
}

impl Serialize for Evidence {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Evidence", 6)?;
        st.serialize_field("time", &crate::connection::fmt_ts(self.time))?;
        st.serialize_field("source", self.origin.source().as_str())?;
        st.serialize_field("ref", &self.origin.reference())?;
        st.serialize_field("text", &self.text)?;
        st.serialize_field("side", &self.side)?;
        st.serialize_field("kind", self.kind.as_str())?;
        st.end()
    }
}

/// A kind of evidence a rule reads, without its values: what the report marks as decisive and
/// what a fix step answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sig {
    Syn,
    SynAck,
    SynRefused,
    SynUnanswered,
    X224Request,
    X224Confirm,
    NegFailure,
    NotX224,
    ClientHello,
    ServerHello,
    ExpiredCertificate,
    TlsAlert,
    /// The first encrypted record (from the side the rule names).
    FirstEncrypted,
    Retransmitted,
    Icmp,
    /// A close by the side the rule names.
    Close,
    ForgedRst,
    DisconnectUltimatum,
    /// A packet a host's filter or policy dropped inside its own stack (pktmon).
    FirewallDrop,
    RdpUdpSyn,
    RdpUdpSynAck,
    /// An event of this provider (the catalogue's full name) with one of these ids.
    Event(&'static str, &'static [u16]),
}

impl Sig {
    /// Whether `e` carries this signature (and comes from `side`, when one is given).
    pub fn matches(self, e: &Evidence, side: Option<Side>) -> bool {
        if side.is_some_and(|s| s != e.side) {
            return false;
        }
        match (self, &e.kind) {
            (Sig::Syn, Kind::Syn { .. })
            | (Sig::SynAck, Kind::SynAck)
            | (Sig::SynRefused, Kind::SynRefused)
            | (Sig::SynUnanswered, Kind::SynUnanswered { .. })
            | (Sig::X224Request, Kind::X224Request)
            | (Sig::X224Confirm, Kind::X224Confirm)
            | (Sig::NegFailure, Kind::NegFailure { .. })
            | (Sig::NotX224, Kind::NotX224)
            | (Sig::ClientHello, Kind::ClientHello)
            | (Sig::ServerHello, Kind::ServerHello)
            | (Sig::ExpiredCertificate, Kind::Certificate { expired: true })
            | (Sig::TlsAlert, Kind::TlsAlert { .. })
            | (Sig::FirstEncrypted, Kind::FirstEncrypted)
            | (Sig::Retransmitted, Kind::Retransmitted { .. })
            | (Sig::Icmp, Kind::Icmp { .. })
            | (Sig::Close, Kind::Close { .. })
            | (Sig::ForgedRst, Kind::Close { ttl_mismatch: true, .. })
            | (Sig::DisconnectUltimatum, Kind::DisconnectUltimatum)
            | (Sig::FirewallDrop, Kind::HostDrop { firewall: true, .. })
            | (Sig::RdpUdpSyn, Kind::RdpUdpSyn)
            | (Sig::RdpUdpSynAck, Kind::RdpUdpSynAck) => true,
            (Sig::Event(p, ids), Kind::Event { provider, id }) => &**provider == p && ids.contains(id),
            _ => false,
        }
    }
}

/// An anomaly that did not end the connection (DESIGN.md "Phase consistency"): shown in every
/// report, never the verdict.
#[derive(Clone, Debug)]
pub struct Observation {
    pub time: Ts,
    pub origin: Option<Origin>,
    pub text: String,
}

impl Serialize for Observation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Observation", 3)?;
        st.serialize_field("time", &crate::connection::fmt_ts(self.time))?;
        st.serialize_field("ref", &self.origin.as_ref().map(Origin::reference).unwrap_or_default())?;
        st.serialize_field("text", &self.text)?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Numbers as `editcap -c 200` cuts a capture: stream packet 200 is the first piece's last,
    // 201 the second piece's first.
    #[test]
    fn stream_numbers_map_to_pieces_and_their_frames() {
        let part = |before, file: &str| Part { before, file: file.into(), unit: Unit::Frame };
        let frames = Frames::pieces(vec![part(0, "a.pcap"), part(200, "b.pcap"), part(400, "c.pcap")]);
        assert_eq!(frames.place(1), (1, Some("a.pcap".into())));
        assert_eq!(frames.place(200), (200, Some("a.pcap".into())));
        assert_eq!(frames.place(201), (1, Some("b.pcap".into())));
        assert_eq!(frames.place(458), (58, Some("c.pcap".into())));
        assert_eq!(frames.origin(201).reference(), "frame 1 of b.pcap");
        // A single file keeps its own numbers and names no file in the detail views.
        let single = Frames::single("/cases/x/capture.pcap", Unit::Frame);
        assert_eq!(single.place(658), (658, None));
        assert_eq!(single.origin(658).reference(), "frame 658");
        // Out of range (a damaged count) stays in the last part instead of failing.
        assert_eq!(frames.place(u64::MAX).1, Some("c.pcap".into()));
        assert_eq!(frames.place(0), (0, Some("a.pcap".into())));
    }
}
