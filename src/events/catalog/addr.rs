//! Client addresses in catalogued events: which field holds the client's IP (and port) for each
//! provider and event id, and how the forms Windows writes are parsed. Stops at the address:
//! matching it to a capture's connections is `correlate`'s job.

use std::net::{IpAddr, SocketAddr};

use serde::Serialize;

use super::{CORE, GATEWAY, LSM, RCM, SECURITY, TERMDD};
use crate::events::Fields;

/// A client address as events write it: IP, and the TCP source port when the event has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ClientAddr {
    pub ip: IpAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}", SocketAddr::new(self.ip, p)),
            None => write!(f, "{}", self.ip),
        }
    }
}

/// Parses "a.b.c.d", "a.b.c.d:port", "[v6]:port", "[a.b.c.d]:port" and a bare IPv6 address.
/// "-", "LOCAL" and host names are not addresses.
pub fn parse_addr(s: &str) -> Option<ClientAddr> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ClientAddr { ip, port: None });
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(ClientAddr { ip: sa.ip(), port: Some(sa.port()) });
    }
    // "[10.0.0.5]:50123": bracketed IPv4 (seen in RdpCoreTS 131), which SocketAddr rejects.
    let rest = s.strip_prefix('[')?;
    let (ip, port) = rest.split_once("]:")?;
    Some(ClientAddr { ip: ip.parse().ok()?, port: port.parse().ok() })
}

/// An address with the port from a separate field; port 0 ("IpPort" of a local logon) is none.
fn with_port(ip: Option<&str>, port: Option<&str>) -> Option<ClientAddr> {
    let mut a = parse_addr(ip?)?;
    a.port = port.and_then(|p| p.trim().parse::<u16>().ok()).filter(|p| *p != 0).or(a.port);
    Some(a)
}

/// The client address of a catalogued event, from the field its provider and id keep it in.
pub(super) fn client_addr(provider: &str, id: u16, f: &Fields) -> Option<ClientAddr> {
    let get = |k: &str| f.get(k);
    match (provider, id) {
        (CORE, 131) => parse_addr(get("ClientIP")?),
        (CORE, 139 | 140) => parse_addr(get("IPString")?),
        (RCM, 1149) => parse_addr(get("Param3")?),
        (RCM, 1158) => parse_addr(get("Param1")?),
        // TermDD's Data are unnamed: Data2 is the client IP in 56; in 50 it is the component,
        // and builds that add the client IP put it after (Data3), so take what parses.
        (TERMDD, 56) => parse_addr(get("Data2")?),
        (TERMDD, 50) => ["Data3", "Data2"].iter().find_map(|k| parse_addr(get(k)?)),
        (LSM, 21..=25) => parse_addr(get("Address")?),
        (SECURITY, 4624 | 4625) => with_port(get("IpAddress"), get("IpPort")),
        (SECURITY, 4778 | 4779 | 4825) => parse_addr(get("ClientAddress")?),
        (GATEWAY, _) => parse_addr(get("IpAddress")?),
        (SECURITY, 5152 | 5156 | 5157) => {
            // WFP: Source is the local side, Dest the remote one; for an inbound RDP connection
            // the client is the Dest side. Take whichever side is not the RDP port.
            let src = with_port(get("SourceAddress"), get("SourcePort"));
            let dst = with_port(get("DestAddress"), get("DestPort"));
            match (src, dst) {
                (Some(s), Some(d)) if s.port == Some(3389) => Some(d),
                (Some(s), Some(d)) if d.port == Some(3389) => Some(s),
                (_, d) => d,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().copied().collect()
    }

    #[test]
    fn address_forms() {
        // RdpCoreTS 131 ClientIP forms seen in real logs (rdp-facts §4.6)
        assert_eq!(parse_addr("10.0.0.5:50123").map(|a| a.to_string()).as_deref(), Some("10.0.0.5:50123"));
        assert_eq!(parse_addr("[fe80::1]:3390").map(|a| a.to_string()).as_deref(), Some("[fe80::1]:3390"));
        assert_eq!(parse_addr("[10.0.0.5]:50123").map(|a| a.to_string()).as_deref(), Some("10.0.0.5:50123"));
        assert_eq!(parse_addr("-"), None);
        // LSM 21 Address of a console logon (RathbunVM LSM record 24)
        assert_eq!(parse_addr("LOCAL"), None);
    }

    #[test]
    fn new_event_addresses() {
        let a = |p: &str, id: u16, f: &[(&str, &str)]| client_addr(p, id, &fields(f)).map(|c| c.to_string());
        assert_eq!(a(SECURITY, 4825, &[("ClientAddress", "10.10.10.10")]).as_deref(), Some("10.10.10.10"));
        assert_eq!(a(GATEWAY, 302, &[("IpAddress", "198.51.100.1")]).as_deref(), Some("198.51.100.1"));
        assert_eq!(
            a(TERMDD, 56, &[("Data1", "\\Device\\Termdd"), ("Data2", "203.0.113.9")]).as_deref(),
            Some("203.0.113.9")
        );
        assert_eq!(a(TERMDD, 50, &[("Data1", "\\Device\\Termdd"), ("Data2", "X.224")]), None);
        // IpPort 0 is no port (4625 of the mitre account-restriction file, record 90907)
        assert_eq!(a(SECURITY, 4625, &[("IpAddress", "10.23.23.9"), ("IpPort", "0")]).as_deref(), Some("10.23.23.9"));
    }
}
