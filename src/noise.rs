//! Background noise among the verdicts: password guessing and spraying. An internet-facing
//! server's logs drown the user's failure in attackers' failures; this module finds the storms
//! so that the case diagnosis answers the analyst's question and the report states the storm
//! once ("password guessing: 126 failures from 63 addresses over 5 days, then 2 logons
//! succeeded").
//!
//! Input: the connections and their verdicts (index-aligned). Output: the storms, each with its
//! member connections and the successes inside it. Does not change a verdict.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::Serialize;

use crate::connection::Connection;
use crate::diagnose::Verdict;
use crate::events::catalog::TypedEvent;
use crate::time::Ts;
use crate::vocab::{Cause, Severity};

/// Failures from one source that make it a guesser.
const FROM_ONE: usize = 10;
/// Distinct internet sources, and failures from them, that make a spray.
const SPRAY_SOURCES: usize = 5;
const SPRAY_FAILURES: usize = 10;

/// One storm of failures that is not a user's problem.
#[derive(Clone, Debug)]
pub struct Storm {
    /// `password-guessing` (authentication failures dominate) or `connection-flood`.
    pub kind: &'static str,
    /// Failures per cause, most first.
    pub causes: Vec<(Cause, usize)>,
    pub failures: usize,
    pub sources: BTreeSet<IpAddr>,
    pub first: Ts,
    pub last: Ts,
    /// Connections of the storm (indices into the analysis' connections).
    pub members: Vec<usize>,
    /// Connections that logged on from a storm source, or from an unknown internet address
    /// during the storm: an analyst wants these flagged.
    pub succeeded: Vec<String>,
}

impl Storm {
    /// One sentence for the report.
    pub fn sentence(&self) -> String {
        let secs = self.last.since(self.first);
        let span = if secs > 86_400.0 {
            format!("{:.0} days", (secs / 86_400.0).ceil())
        } else if secs > 3600.0 {
            format!("{:.1} h", secs / 3600.0)
        } else {
            format!("{secs:.0} s")
        };
        let end = match self.succeeded.len() {
            0 => "none succeeded".to_string(),
            n => format!("then {n} logon(s) succeeded ({}): check them", self.succeeded.join(", ")),
        };
        let causes: Vec<String> = self.causes.iter().map(|(c, n)| format!("{n} {c}")).collect();
        let what = self.kind.replace('-', " ");
        format!(
            "{what}: {} failure(s) ({}) from {} address(es) over {span}, {end}",
            self.failures,
            causes.join(", "),
            self.sources.len()
        )
    }
}

fn public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => !(v.is_private() || v.is_loopback() || v.is_link_local() || v.is_unspecified()),
        IpAddr::V6(v) => !(v.is_loopback() || v.is_unspecified() || (v.segments()[0] & 0xfe00) == 0xfc00),
    }
}

/// Finds storms among the failures: one source with many failures of any cause, or many
/// internet sources failing authentication (spraying).
pub fn storms(conns: &[Connection], verdicts: &[Verdict]) -> Vec<Storm> {
    let failing: Vec<(usize, IpAddr, Cause)> = conns
        .iter()
        .zip(verdicts)
        .enumerate()
        .filter(|(_, (_, v))| v.severity == Severity::Error && v.cause != Cause::Undetermined)
        .filter_map(|(i, (c, v))| c.client.ip().map(|ip| (i, ip, v.cause)))
        .collect();
    let mut per_source: BTreeMap<IpAddr, usize> = BTreeMap::new();
    let mut auth_per_source: BTreeMap<IpAddr, usize> = BTreeMap::new();
    for &(_, ip, cause) in &failing {
        *per_source.entry(ip).or_default() += 1;
        if cause == Cause::NlaAuth {
            *auth_per_source.entry(ip).or_default() += 1;
        }
    }
    let mut sources: BTreeSet<IpAddr> = per_source.iter().filter(|(_, n)| **n >= FROM_ONE).map(|(ip, _)| *ip).collect();
    let internet: BTreeSet<IpAddr> = auth_per_source.keys().copied().filter(|ip| public(*ip)).collect();
    let sprayed: usize = internet.iter().filter_map(|ip| auth_per_source.get(ip)).sum();
    if internet.len() >= SPRAY_SOURCES && sprayed >= SPRAY_FAILURES {
        sources.extend(internet);
    }
    if sources.is_empty() {
        return Vec::new();
    }
    let members: Vec<usize> = failing.iter().filter(|(_, ip, _)| sources.contains(ip)).map(|(i, _, _)| *i).collect();
    let mut causes: BTreeMap<Cause, usize> = BTreeMap::new();
    for &(_, ip, cause) in &failing {
        if sources.contains(&ip) {
            *causes.entry(cause).or_default() += 1;
        }
    }
    let mut causes: Vec<(Cause, usize)> = causes.into_iter().collect();
    causes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let auth = causes.iter().find(|(c, _)| *c == Cause::NlaAuth).map_or(0, |(_, n)| *n);
    let first = members.iter().map(|&i| conns[i].start).min().unwrap_or(Ts(0));
    let last = members.iter().map(|&i| conns[i].end).max().unwrap_or(Ts(0));
    // Successes from a storm source, or from an internet address first seen during the storm.
    let known: BTreeSet<IpAddr> = conns.iter().filter(|c| c.start < first).filter_map(|c| c.client.ip()).collect();
    let succeeded = conns
        .iter()
        .zip(verdicts)
        .filter(|(_, v)| v.cause == Cause::None)
        .filter(|(c, _)| {
            c.client.ip().is_some_and(|ip| {
                sources.contains(&ip) || (public(ip) && !known.contains(&ip) && c.start >= first && c.start <= last)
            })
        })
        .map(|(c, _)| c.id.clone())
        .collect();
    vec![Storm {
        kind: if auth * 2 >= members.len() { "password-guessing" } else { "connection-flood" },
        causes,
        failures: members.len(),
        sources,
        first,
        last,
        members,
        succeeded,
    }]
}

/// Network logon failures (Security 4625, LogonType 3) that no RDP attempt accounts for: SMB,
/// WinRM, IIS or other network logons, not RDP (DESIGN.md's `not-rdp`).
#[derive(Clone, Debug, Serialize)]
pub struct OtherLogons {
    pub failures: usize,
    pub sources: usize,
    pub users: usize,
}

impl OtherLogons {
    pub fn sentence(&self) -> String {
        format!(
            "not RDP: {} network logon failure(s) (LogonType 3: SMB, WinRM, IIS…) from {} source(s) for {} user name(s); \
             no RDP event names their clients",
            self.failures, self.sources, self.users
        )
    }
}

/// The 4625 type 3 events no connection joined.
pub fn other_logons(events: &[TypedEvent], joined: &BTreeSet<usize>) -> Option<OtherLogons> {
    use crate::events::catalog::SECURITY;
    let mut sources = BTreeSet::new();
    let mut users = BTreeSet::new();
    let mut failures = 0;
    for (i, e) in events.iter().enumerate() {
        if e.provider == SECURITY && e.event_id == 4625 && e.facts.logon_type == Some(3) && !joined.contains(&i) {
            failures += 1;
            sources.insert(e.client.map(|c| c.ip));
            users.insert(e.facts.user.clone());
        }
    }
    (failures > 0).then_some(OtherLogons { failures, sources: sources.len(), users: users.len() })
}

/// Seconds around a shutdown marker within which a service stop is part of the shutdown (the
/// service stops before EventLog 6006; User32 1074 can come up to ~20 s earlier).
const SHUTDOWN_S: i64 = 60;

/// Whether an event happened while its host was shutting down or restarting: a shutdown marker
/// (User32 1074, EventLog 6006/6008, Kernel-General 13) on the same host within `SHUTDOWN_S`.
/// `events` are in time order.
pub fn during_shutdown(e: &TypedEvent, events: &[TypedEvent]) -> bool {
    let w = SHUTDOWN_S * 1_000_000_000;
    let lo = events.partition_point(|x| x.ts.0 < e.ts.0.saturating_sub(w));
    let hi = events.partition_point(|x| x.ts.0 <= e.ts.0.saturating_add(w));
    events.get(lo..hi).unwrap_or_default().iter().any(|x| x.host == e.host && x.facts.shutdown.is_some())
}

/// Remote Desktop Services stops (SCM 7036 stopped, 7031/7034) that happened inside a planned
/// shutdown or restart: not service-down, and the report says so.
pub fn planned_stops(events: &[TypedEvent]) -> usize {
    events
        .iter()
        .filter(|e| e.kind == crate::events::catalog::Kind::Service && e.facts.service_down())
        .filter(|e| during_shutdown(e, events))
        .count()
}
