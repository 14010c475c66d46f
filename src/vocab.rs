//! The shared vocabulary between stages: causes, severities, sides, transports, closes, phases
//! and endpoints, each a typed value with exactly one spelling (`as_str`) for JSON and text.
//!
//! The cause ids are a public contract (DESIGN.md "Cause vocabulary"): they appear in JSON, in
//! exit codes and in the batch summary. Nothing outside this module spells them as strings;
//! renderers call `as_str`. Serialisation writes `as_str`, so the JSON stays schema_version 1.

use std::fmt;
use std::net::SocketAddr;

use serde::{Serialize, Serializer};

/// Implements `Display` and `Serialize` through `as_str`.
macro_rules! spelled {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

/// A cause from DESIGN.md's vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cause {
    None,
    Certificate,
    TlsMismatch,
    SecurityNegotiation,
    NlaAuth,
    ServerDenied,
    Licensing,
    ServiceDown,
    FirewallBlock,
    NetworkLoss,
    MtuBlackhole,
    MiddleboxReset,
    UdpBlocked,
    /// A scanner, health check or tool that never tried to log on (info, not a failure).
    Probe,
    /// What looked like RDP is not: another service on the port, or non-RDP network logons.
    NotRdp,
    Undetermined,
}

impl Cause {
    pub const ALL: [Cause; 16] = [
        Cause::None,
        Cause::Certificate,
        Cause::TlsMismatch,
        Cause::SecurityNegotiation,
        Cause::NlaAuth,
        Cause::ServerDenied,
        Cause::Licensing,
        Cause::ServiceDown,
        Cause::FirewallBlock,
        Cause::NetworkLoss,
        Cause::MtuBlackhole,
        Cause::MiddleboxReset,
        Cause::UdpBlocked,
        Cause::Probe,
        Cause::NotRdp,
        Cause::Undetermined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Cause::None => "none",
            Cause::Certificate => "certificate",
            Cause::TlsMismatch => "tls-mismatch",
            Cause::SecurityNegotiation => "security-negotiation",
            Cause::NlaAuth => "nla-auth",
            Cause::ServerDenied => "server-denied",
            Cause::Licensing => "licensing",
            Cause::ServiceDown => "service-down",
            Cause::FirewallBlock => "firewall-block",
            Cause::NetworkLoss => "network-loss",
            Cause::MtuBlackhole => "mtu-blackhole",
            Cause::MiddleboxReset => "middlebox-reset",
            Cause::UdpBlocked => "udp-blocked",
            Cause::Probe => "probe",
            Cause::NotRdp => "not-rdp",
            Cause::Undetermined => "undetermined",
        }
    }

    /// The cause with this id, if it is one.
    pub fn parse(s: &str) -> Option<Cause> {
        Cause::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Background outcomes: never somebody's failed logon, never the case diagnosis over a
    /// real failure (DESIGN.md "Not every connection is somebody's failed logon").
    pub fn is_background(self) -> bool {
        matches!(self, Cause::Probe | Cause::NotRdp)
    }
}
spelled!(Cause);

/// How much a verdict matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Explains a failure.
    Error,
    /// Degrades a session that otherwise works (e.g. UDP fell back to TCP), or a doubt.
    Warning,
    /// Neither: a healthy session, a probe, nothing to go on.
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}
spelled!(Severity);

/// Who sent a packet or logged an event, or where on the path something happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    Client,
    Server,
    /// A device between them (a forged RST, an ICMP error from a router).
    Path,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
            Side::Path => "path",
        }
    }

    /// The other end of the connection (the path has none).
    pub fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
            Side::Path => Side::Path,
        }
    }
}
spelled!(Side);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Transport {
    Tcp,
    Udp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}
spelled!(Transport);

/// How a TCP connection ended (`teardown.how`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CloseKind {
    Rst,
    Fin,
    /// Still open when the capture ended.
    Open,
    /// Never established (or not a TCP connection).
    None,
}

impl CloseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseKind::Rst => "rst",
            CloseKind::Fin => "fin",
            CloseKind::Open => "open",
            CloseKind::None => "none",
        }
    }

    /// A FIN or a RST was seen.
    pub fn is_close(self) -> bool {
        matches!(self, CloseKind::Rst | CloseKind::Fin)
    }
}
spelled!(CloseKind);

/// The phases of an RDP connection, in wire order (DESIGN.md JSON `phases`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Tcp,
    Negotiation,
    Tls,
    Nla,
    Session,
    Udp,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Tcp => "tcp",
            Stage::Negotiation => "negotiation",
            Stage::Tls => "tls",
            Stage::Nla => "nla",
            Stage::Session => "session",
            Stage::Udp => "udp",
        }
    }
}
spelled!(Stage);

/// One end of a connection: an address from the capture or an event, or a host known only
/// by name from its logs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    Addr(SocketAddr),
    /// An address whose port the events do not give.
    Ip(std::net::IpAddr),
    /// The `Computer` of the logs that saw the connection (no address known).
    Host(String),
}

impl Endpoint {
    pub fn addr(&self) -> Option<SocketAddr> {
        match self {
            Endpoint::Addr(a) => Some(*a),
            Endpoint::Ip(_) | Endpoint::Host(_) => None,
        }
    }

    pub fn ip(&self) -> Option<std::net::IpAddr> {
        match self {
            Endpoint::Addr(a) => Some(a.ip()),
            Endpoint::Ip(ip) => Some(*ip),
            Endpoint::Host(_) => None,
        }
    }

    /// The IP address, or the host name, without the port.
    pub fn host(&self) -> String {
        match self {
            Endpoint::Addr(a) => a.ip().to_string(),
            Endpoint::Ip(ip) => ip.to_string(),
            Endpoint::Host(h) => h.clone(),
        }
    }
}

impl fmt::Display for Endpoint {
    /// `a.b.c.d:port`, `[v6]:port` (DESIGN.md), or `HOST (from its logs)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Addr(a) => write!(f, "{a}"),
            Endpoint::Ip(ip) => write!(f, "{ip}"),
            Endpoint::Host(h) => write!(f, "{h} (from its logs)"),
        }
    }
}

impl Serialize for Endpoint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cause_ids_round_trip_and_match_design() {
        // DESIGN.md "Cause vocabulary": the ids, in the table's order.
        let ids: Vec<&str> = Cause::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            ids,
            [
                "none",
                "certificate",
                "tls-mismatch",
                "security-negotiation",
                "nla-auth",
                "server-denied",
                "licensing",
                "service-down",
                "firewall-block",
                "network-loss",
                "mtu-blackhole",
                "middlebox-reset",
                "udp-blocked",
                "probe",
                "not-rdp",
                "undetermined"
            ]
        );
        for c in Cause::ALL {
            assert_eq!(Cause::parse(c.as_str()), Some(c));
        }
        assert_eq!(Cause::parse("nope"), None);
    }

    #[test]
    fn endpoints_print_as_the_contract_says() {
        let v4: SocketAddr = "10.0.0.5:50001".parse().unwrap();
        let v6: SocketAddr = "[fe80::1]:3389".parse().unwrap();
        assert_eq!(Endpoint::Addr(v4).to_string(), "10.0.0.5:50001");
        assert_eq!(Endpoint::Addr(v6).to_string(), "[fe80::1]:3389");
        assert_eq!(Endpoint::Host("RDSH01".into()).to_string(), "RDSH01 (from its logs)");
        assert_eq!(serde_json::to_string(&Endpoint::Addr(v4)).unwrap(), "\"10.0.0.5:50001\"");
    }
}
