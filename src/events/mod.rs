//! Windows events: exported `.evtx` logs and `wevtutil qe /f:xml` / Event Viewer XML exports in,
//! `WinEvent` records out, with the catalogue that says which ones matter for Remote Desktop.
//!
//! `evtx` reads the binary format (chunks in parallel), `xml` reads XML exports, `binxml` is our
//! small reader for the nested BinXML fragments the evtx crate leaves unexpanded, and `catalog`
//! types the events we know (provider + event id → kind, meaning, fields, client address).
//! Only catalogued events keep their fields; every other event is only counted.

pub mod binxml;
pub mod catalog;
pub mod evtx;
pub mod fields;
pub mod xml;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

pub use fields::Fields;

use crate::time::Ts;

/// One Windows event as the log stores it, before typing.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct WinEvent {
    /// `System/TimeCreated@SystemTime` (UTC).
    #[serde(serialize_with = "crate::connection::ser_ts")]
    pub ts: Ts,
    /// The file it came from.
    #[serde(serialize_with = "ser_str")]
    pub input: Arc<str>,
    /// `System/EventRecordID`.
    pub record_id: u64,
    /// `System/Provider@Name`, e.g. "Microsoft-Windows-Security-Auditing".
    #[serde(serialize_with = "ser_str")]
    pub provider: Arc<str>,
    /// `System/EventID` (without the Qualifiers).
    pub event_id: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qualifiers: Option<u16>,
    pub level: u8,
    /// `System/Channel`, e.g. "Security" (a hint only: match on provider + event id).
    #[serde(serialize_with = "ser_str")]
    pub channel: Arc<str>,
    /// `System/Computer`: the host that logged the event.
    #[serde(serialize_with = "ser_str")]
    pub computer: Arc<str>,
    /// `System/Correlation@ActivityID` as `{lower-case-guid}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_id: Option<String>,
    /// EventData `<Data Name="X">` and UserData child elements, by name; unnamed `<Data>` as
    /// "Data1", "Data2", ...; `<Binary>` as lower-case hex under "Binary". Only filled for
    /// catalogued events.
    pub fields: Fields,
}

/// What one event log contained: counts for the input inventory.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LogStats {
    pub records: u64,
    pub chunks: u64,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_opt_ts")]
    pub first: Option<Ts>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_opt_ts")]
    pub last: Option<Ts>,
    /// Events per "provider/event id", catalogued or not.
    pub per_event: BTreeMap<String, u64>,
    /// Distinct `Computer` values seen.
    pub computers: Vec<String>,
}

fn ser_str<S: serde::Serializer>(text: &Arc<str>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(text)
}

fn ser_opt_ts<S: serde::Serializer>(ts: &Option<Ts>, s: S) -> Result<S::Ok, S::Error> {
    match ts {
        Some(t) => crate::connection::ser_ts(t, s),
        None => s.serialize_none(),
    }
}

impl LogStats {
    /// Counts one record (every record, catalogued or not).
    pub fn count(&mut self, provider: &str, event_id: u16, ts: Ts, computer: &str) {
        self.records += 1;
        *self.per_event.entry(format!("{provider}/{event_id}")).or_insert(0) += 1;
        if self.first.is_none_or(|f| ts < f) {
            self.first = Some(ts);
        }
        if self.last.is_none_or(|l| ts > l) {
            self.last = Some(ts);
        }
        if !computer.is_empty() && !self.computers.iter().any(|c| c == computer) && self.computers.len() < 64 {
            self.computers.push(computer.to_string());
            self.computers.sort();
        }
    }

    /// Adds another file's or chunk's counts.
    pub fn merge(&mut self, other: LogStats) {
        self.records += other.records;
        self.chunks += other.chunks;
        for (k, v) in other.per_event {
            *self.per_event.entry(k).or_insert(0) += v;
        }
        self.first = match (self.first, other.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last = match (self.last, other.last) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        for c in other.computers {
            if !self.computers.contains(&c) && self.computers.len() < 64 {
                self.computers.push(c);
            }
        }
        self.computers.sort();
    }
}

/// Security logon events whose cap is split by logon kind (`cap_share`).
const SHARED_CAP_IDS: [u16; 3] = [4624, 4625, 4634];

/// Which share of its provider/event id's cap an event counts against (`keep_latest`): logons,
/// failed logons and logoffs (Security 4624, 4625, 4634) of the kinds Remote Desktop makes for
/// its sessions (RemoteInteractive 10, Unlock 7, CachedRemoteInteractive 12) have a share of
/// their own, so that the network and service logons a busy server logs by the thousand an hour
/// cannot push its few Remote Desktop sessions out of the newest N. Every other event: 0.
pub fn cap_share(e: &WinEvent) -> u8 {
    if shared_cap(&e.provider, e.event_id) {
        u8::from(matches!(e.fields.get("LogonType").map(str::trim), Some("10" | "7" | "12")))
    } else {
        0
    }
}

/// Whether `provider`/`id` has two shares (`cap_share`): only a built event says which it is in.
pub fn shared_cap(provider: &str, id: u16) -> bool {
    provider == catalog::SECURITY && SHARED_CAP_IDS.contains(&id)
}

/// Keeps, for each provider/event id (and share, `cap_share`), only the last `cap` events (in
/// file order, which for a log is roughly time order: the failure being investigated is usually
/// the most recent).
pub fn keep_latest(events: &mut Vec<WinEvent>, cap: usize) {
    if events.len() <= cap {
        return;
    }
    let mut seen: std::collections::HashMap<(&str, u16, u8), usize> = std::collections::HashMap::new();
    let mut keep = vec![false; events.len()];
    for (i, e) in events.iter().enumerate().rev() {
        let n = seen.entry((&*e.provider, e.event_id, cap_share(e))).or_insert(0);
        if *n < cap {
            keep[i] = true;
            *n += 1;
        }
    }
    let mut flags = keep.into_iter();
    events.retain(|_| flags.next().unwrap_or(false));
}

/// One warning per provider/event id whose events were cut by `keep_latest`.
pub fn warn_trimmed(events: &[WinEvent], stats: &LogStats, cap: usize, sink: &mut crate::error::WarningSink) {
    if cap == usize::MAX {
        return;
    }
    let mut kept: BTreeMap<String, u64> = BTreeMap::new();
    for e in events {
        *kept.entry(format!("{}/{}", e.provider, e.event_id)).or_insert(0) += 1;
    }
    for (key, n) in kept.into_iter().filter(|(_, n)| *n as usize >= cap) {
        let total = stats.per_event.get(&key).copied().unwrap_or(n);
        if total > n {
            let kinds = if n as usize > cap { " of each logon kind (Remote Desktop's, others)" } else { "" };
            sink.push(0, None, format!("{key}: {total} events; the latest {n}{kinds} are analysed (all are counted)"));
        }
    }
}

/// Windows FILETIME (100 ns ticks since 1601-01-01 UTC) to `Ts`.
pub fn filetime_to_ts(ft: u64) -> Ts {
    // 11_644_473_600 s separate 1601-01-01 from 1970-01-01.
    Ts((ft as i64).saturating_sub(116_444_736_000_000_000).saturating_mul(100))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_latest_caps_each_event_id() {
        let ev = |provider: &str, id: u16, record_id: u64| WinEvent {
            provider: provider.into(),
            event_id: id,
            record_id,
            ..Default::default()
        };
        let mut events =
            vec![ev("Schannel", 36888, 1), ev("TermDD", 56, 2), ev("Schannel", 36888, 3), ev("Schannel", 36888, 4)];
        keep_latest(&mut events, 2);
        let kept: Vec<u64> = events.iter().map(|e| e.record_id).collect();
        assert_eq!(kept, vec![2, 3, 4], "the two latest Schannel events and the lone TermDD one");
        let mut stats = LogStats::default();
        for _ in 0..3 {
            stats.count("Schannel", 36888, Ts(0), "");
        }
        let mut sink = crate::error::WarningSink::new("t");
        warn_trimmed(&events, &stats, 2, &mut sink);
        assert_eq!(sink.list.len(), 1);
        assert!(sink.list[0].message.contains("Schannel/36888: 3 events; the latest 2"));
    }

    #[test]
    fn filetime_epoch_and_known_instant() {
        assert_eq!(filetime_to_ts(116_444_736_000_000_000), Ts(0));
        // rdp-facts §7.3: ft = unix·10^7 + 116444736000000000; 2021-02-12T12:33:11Z = 1613133191
        let ft = 1_613_133_191u64 * 10_000_000 + 116_444_736_000_000_000 + 1234;
        assert_eq!(filetime_to_ts(ft).rfc3339(7), "2021-02-12T12:33:11.0001234Z");
    }
}
