//! The analyst's question as a filter (DESIGN.md: `--client`, `--user`, `--server`,
//! `--since`/`--until`): which attempts the diagnosis should answer about. A server that logs
//! thousands of attackers' failures still answers "why can't alice connect from 10.1.2.3?".
//!
//! Input: connections after correlation (their joined events name users). Output: which of
//! them are selected. Times parse as RFC 3339 (`2026-03-01T10:00:00Z`) or a date (UTC day).

use std::net::IpAddr;

use crate::connection::Connection;
use crate::events::catalog::TypedEvent;
use crate::time::Ts;

/// What the analyst asks about; every part that is set must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// The client's IP address (any port).
    pub client: Option<IpAddr>,
    /// A user name, case-insensitive, with or without the domain (`alice`, `CORP\alice`).
    pub user: Option<String>,
    /// The server: its IP address, or a host name as its logs or certificate name it.
    pub server: Option<String>,
    pub since: Option<Ts>,
    pub until: Option<Ts>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// Whether a connection, with the events joined to it, is one the analyst asks about.
    pub fn selects(&self, c: &Connection, events: &[&TypedEvent]) -> bool {
        if self.since.is_some_and(|t| c.end < t) || self.until.is_some_and(|t| c.start > t) {
            return false;
        }
        if self.client.is_some_and(|ip| c.client.ip() != Some(ip)) {
            return false;
        }
        if let Some(s) = &self.server {
            let names = c.tls.iter().flat_map(|t| t.sni.iter()).chain(events.iter().map(|e| &e.host));
            let hit = c.server.host().eq_ignore_ascii_case(s) || names.into_iter().any(|n| same_host(n, s));
            if !hit {
                return false;
            }
        }
        if let Some(u) = &self.user {
            let cookie = c.negotiation.cookie.iter();
            let users = events.iter().filter_map(|e| e.facts.user.as_ref());
            if !cookie.chain(users).any(|name| same_user(name, u)) {
                return false;
            }
        }
        true
    }
}

impl Filter {
    /// Whether an event falls inside the filter's time range and, when it names a client, is
    /// about the filter's client (for the timeline; the diagnosis filters attempts).
    pub fn keeps_event(&self, e: &TypedEvent) -> bool {
        let in_time = self.since.is_none_or(|t| e.ts >= t) && self.until.is_none_or(|t| e.ts <= t);
        let client = self.client.is_none_or(|ip| e.client.is_none_or(|c| c.ip == ip));
        in_time && client
    }
}

/// `RDSH01` matches `RDSH01.corp.example`, case-insensitively.
fn same_host(name: &str, wanted: &str) -> bool {
    name.eq_ignore_ascii_case(wanted)
        || name.split('.').next().is_some_and(|short| short.eq_ignore_ascii_case(wanted))
        || wanted.split('.').next().is_some_and(|short| short.eq_ignore_ascii_case(name))
}

/// `CORP\alice` matches `alice`; `alice@corp` matches `alice`; case-insensitive.
fn same_user(name: &str, wanted: &str) -> bool {
    let bare = |s: &str| {
        let s = s.rsplit('\\').next().unwrap_or(s);
        s.split('@').next().unwrap_or(s).to_ascii_lowercase()
    };
    name.eq_ignore_ascii_case(wanted) || bare(name) == bare(wanted)
}

/// Parses `--since`/`--until`: RFC 3339, or a date meaning the start of that UTC day.
pub fn parse_time(s: &str) -> Result<Ts, String> {
    let s = s.trim();
    let full = if s.len() == 10 { format!("{s}T00:00:00Z") } else { s.to_string() };
    Ts::parse_rfc3339(&full)
        .ok_or_else(|| format!("'{s}' is not a time: use RFC 3339 (2026-03-01T10:00:00Z) or a date (2026-03-01)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_loosely_but_not_wrongly() {
        assert!(same_user("CORP\\alice", "alice"));
        assert!(same_user("alice@corp.example", "ALICE"));
        assert!(!same_user("CORP\\alicia", "alice"));
        assert!(same_host("RDSH01.corp.example", "rdsh01"));
        assert!(!same_host("RDSH02.corp.example", "rdsh01"));
    }

    #[test]
    fn times_parse_as_rfc3339_or_a_day() {
        // date -u -d 2026-03-01T10:00:00Z +%s → 1772359200
        assert_eq!(parse_time("2026-03-01T10:00:00Z"), Ok(Ts(1_772_359_200_000_000_000)));
        assert_eq!(parse_time("2026-03-01"), Ok(Ts(1_772_323_200_000_000_000)));
        assert!(parse_time("yesterday").is_err());
    }
}
