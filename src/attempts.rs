//! RDP attempts known only from the logs: which events prove an RDP connection, and how they
//! group into one attempt per client connection.
//!
//! An attempt is built only from RDP-specific events that name a client: RdpCoreTS 131/140,
//! RCM 1149, TermDD 50/56, LocalSessionManager 21–25 with a remote address, Security
//! 4624/4625 with LogonType 10, 4778/4779, 4825, WFP 5152/5157 drops, and the RD Gateway's
//! events. A type 3 (network) logon is any network logon (SMB, WinRM, IIS, or RDP's NLA step):
//! it never makes an attempt on its own; `correlate` joins it to an attempt when one on the same
//! host names its client within seconds. Events with a port group by client `ip:port`; events
//! with only an IP join the attempt of the same host and IP within `JOIN_S`. A firewall drop
//! followed by a connection that reached the server is the same client retrying: one attempt.
//!
//! Input: the catalogued events in time order. Output: connection records (`from_events`),
//! packet-free, sorted by the caller. Does not judge outcomes (that is `diagnose`).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use crate::connection::{self, Connection};
use crate::events::catalog::{CORE, GATEWAY, LSM, RCM, SECURITY, TERMDD, TypedEvent};
use crate::time::Ts;
use crate::vocab::Endpoint;

/// Seconds within which events naming the same client IP on one host belong to one attempt
/// (the accept, the NLA logon and the session logon follow each other by seconds).
const JOIN_S: i64 = 30;
/// A firewall drop followed this soon by a connection from the same client that reached the
/// server is a retry, not a block.
const RETRY_S: i64 = 10;
const S: i64 = 1_000_000_000;

/// Whether an event proves an RDP connection from the client it names.
pub fn is_rdp_specific(e: &TypedEvent) -> bool {
    match (e.provider.as_str(), e.event_id) {
        (CORE, 131 | 140) | (RCM, 1149) | (TERMDD, 50 | 56) | (LSM, 21..=25) => true,
        (SECURITY, 4624 | 4625) => e.facts.logon_type == Some(10),
        (SECURITY, 4778 | 4779 | 4825 | 5152 | 5157) => true,
        (GATEWAY, _) => true,
        _ => false,
    }
}

/// A firewall drop event.
fn is_drop(e: &TypedEvent) -> bool {
    e.provider == SECURITY && matches!(e.event_id, 5152 | 5157)
}

/// One attempt while it is being grouped.
struct Draft {
    host: String,
    ip: IpAddr,
    port: Option<u16>,
    start: Ts,
    end: Ts,
    input: String,
    /// Only firewall drops so far.
    drops_only: bool,
}

/// Groups the RDP-specific events that name a client into attempts. `seen` are client
/// addresses the capture already has (they are not made twice); with a capture, only attempts
/// from a client IP it saw, or outside its time span, are added (`keep`).
pub fn from_logs(events: &[TypedEvent], keep: impl Fn(&TypedEvent, IpAddr) -> bool) -> Vec<Connection> {
    let mut drafts: Vec<Draft> = Vec::new();
    // (host, ip) → indices of drafts, newest last.
    let mut by_client: BTreeMap<(&str, IpAddr), Vec<usize>> = BTreeMap::new();
    for e in events.iter().filter(|e| is_rdp_specific(e)) {
        let Some(client) = e.client else { continue };
        if !keep(e, client.ip) {
            continue;
        }
        let list = by_client.entry((e.host.as_str(), client.ip)).or_default();
        let near = |d: &Draft| e.ts.0.saturating_sub(d.end.0) <= JOIN_S * S;
        let found = list.iter().rev().copied().find(|&i| {
            let d = &drafts[i];
            match (client.port, d.port) {
                // One TCP connection: its events share the client port, however far apart.
                (Some(p), Some(q)) => p == q,
                _ => near(d),
            }
        });
        match found {
            Some(i) => {
                let d = &mut drafts[i];
                d.end = d.end.max(e.ts);
                d.port = d.port.or(client.port);
                d.drops_only &= is_drop(e);
            }
            None => {
                list.push(drafts.len());
                drafts.push(Draft {
                    host: e.host.to_string(),
                    ip: client.ip,
                    port: client.port,
                    start: e.ts,
                    end: e.ts,
                    input: e.input.clone(),
                    drops_only: is_drop(e),
                });
            }
        }
    }
    // A drop followed by an attempt that reached the server: the client retried.
    let mut absorbed = vec![false; drafts.len()];
    for list in by_client.values() {
        for w in list.windows(2) {
            let (a, b) = (&drafts[w[0]], &drafts[w[1]]);
            if a.drops_only && !b.drops_only && b.start.0.saturating_sub(a.end.0) <= RETRY_S * S {
                absorbed[w[0]] = true;
            }
        }
    }
    let mut out = Vec::new();
    for (i, d) in drafts.into_iter().enumerate() {
        if absorbed[i] {
            continue;
        }
        let client = match d.port {
            Some(p) => Endpoint::Addr(SocketAddr::new(d.ip, p)),
            None => Endpoint::Ip(d.ip),
        };
        out.push(connection::from_events(client, Endpoint::Host(d.host), d.start, d.end, d.input));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::catalog::typed_for_test;

    fn at(s: i64, provider: &str, id: u16, fields: &[(&str, &str)]) -> TypedEvent {
        typed_for_test(provider, id, Ts(s * S), fields)
    }

    #[test]
    fn network_logons_alone_make_no_attempt() {
        // 4625 type 3 from an SMB client: no RDP event names it (issue: SMB guessing as RDP).
        let smb = |s| at(s, SECURITY, 4625, &[("LogonType", "3"), ("IpAddress", "10.0.0.66"), ("IpPort", "50000")]);
        let events: Vec<TypedEvent> = (0..50).map(smb).collect();
        assert!(from_logs(&events, |_, _| true).is_empty());
    }

    #[test]
    fn one_attempt_per_client_connection() {
        // The accept (ip:port), the NLA-less authentication (ip), the session logon (ip:port).
        let events = vec![
            at(0, CORE, 131, &[("ClientIP", "10.0.0.5:50123")]),
            at(2, RCM, 1149, &[("Param1", "alice"), ("Param3", "10.0.0.5")]),
            at(3, SECURITY, 4624, &[("LogonType", "10"), ("IpAddress", "10.0.0.5"), ("IpPort", "50123")]),
            // A second connection from the same client: another port.
            at(4, CORE, 131, &[("ClientIP", "10.0.0.5:50124")]),
        ];
        let got: Vec<String> = from_logs(&events, |_, _| true).iter().map(|c| c.client.to_string()).collect();
        assert_eq!(got, ["10.0.0.5:50123", "10.0.0.5:50124"]);
    }

    #[test]
    fn a_drop_followed_by_a_logon_is_a_retry() {
        // Security 5152 from one port, then a type 10 logon from another 2 s later (the
        // omerbenamram short_selected pattern, records 319457771 / 319457831).
        let events = vec![
            at(0, SECURITY, 5152, &[("SourceAddress", "23.94.153.202"), ("SourcePort", "59639"), ("DestPort", "3389")]),
            at(2, SECURITY, 4625, &[("LogonType", "10"), ("IpAddress", "23.94.153.202"), ("IpPort", "60167")]),
        ];
        let got: Vec<String> = from_logs(&events, |_, _| true).iter().map(|c| c.client.to_string()).collect();
        assert_eq!(got, ["23.94.153.202:60167"]);
    }
}
