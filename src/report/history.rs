//! A long history read like a history: per day, client and user, the attempts, successes and
//! failures by cause. Thousands of identical connection rows are not a report; this table is
//! (the JSON report keeps every connection).
//!
//! Takes the `Analysis` and the redactor; produces rows of plain strings and counts, sorted by
//! day, client and user. Shown when the case has many attempts or spans days. Does not escape.

use std::collections::BTreeMap;

use super::model::EventIndex;
use super::redact::Redactor;
use crate::analyze::Analysis;
use crate::vocab::{Cause, Severity};

/// Attempts from which the history table is shown.
pub const MIN_ATTEMPTS: usize = 50;
/// Attempts from which the table is shown when they span more than a day.
pub const MIN_ATTEMPTS_OVER_DAYS: usize = 10;
/// Connections still listed one by one when the history is shown.
pub const LISTED_WITH_HISTORY: usize = 20;

/// The history table's column titles.
pub const COLUMNS: [&str; 7] =
    ["day (UTC)", "client", "user", "attempts", "succeeded", "failed, by cause", "probes / other"];

/// One day, client and user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryRow {
    /// UTC date, `2026-03-01`.
    pub day: String,
    pub client: String,
    pub user: String,
    pub attempts: usize,
    pub succeeded: usize,
    /// Failures per cause (errors), most first.
    pub failures: Vec<(Cause, usize)>,
    /// Probes and other services.
    pub background: usize,
}

impl HistoryRow {
    /// "12 nla-auth, 3 service-down", or "none".
    pub fn failures_text(&self) -> String {
        if self.failures.is_empty() {
            return "none".into();
        }
        self.failures.iter().map(|(c, n)| format!("{n} {c}")).collect::<Vec<_>>().join(", ")
    }

    /// The table's cells, in `COLUMNS` order (the renderers escape them).
    pub fn cells(&self) -> [String; 7] {
        [
            self.day.clone(),
            self.client.clone(),
            self.user.clone(),
            self.attempts.to_string(),
            self.succeeded.to_string(),
            self.failures_text(),
            self.background.to_string(),
        ]
    }

    pub fn failed(&self) -> usize {
        self.failures.iter().map(|(_, n)| n).sum()
    }
}

/// Whether the case needs a history table.
pub fn wanted(a: &Analysis) -> bool {
    let n = a.connections.len();
    let span = match (a.connections.iter().map(|c| c.start).min(), a.connections.iter().map(|c| c.end).max()) {
        (Some(first), Some(last)) => last.since(first),
        _ => 0.0,
    };
    n >= MIN_ATTEMPTS || (n >= MIN_ATTEMPTS_OVER_DAYS && span > 86_400.0)
}

/// The history rows (empty when the case is short).
pub fn history(a: &Analysis, index: &EventIndex, r: &Redactor) -> Vec<HistoryRow> {
    if !wanted(a) {
        return Vec::new();
    }
    let mut rows: BTreeMap<(String, String, String), HistoryRow> = BTreeMap::new();
    for t in a.attempts() {
        let c = t.conn;
        let day = c.start.rfc3339(0).get(..10).unwrap_or("").to_string();
        let client = r.text(&c.client.host());
        let user = c
            .negotiation
            .cookie
            .clone()
            .or_else(|| t.joined.iter().find_map(|e| index.get(&e.origin).and_then(|x| x.facts.user.clone())))
            .map(|u| r.text(&u))
            .unwrap_or_else(|| "-".into());
        let row = rows.entry((day.clone(), client.clone(), user.clone())).or_insert_with(|| HistoryRow {
            day,
            client,
            user,
            attempts: 0,
            succeeded: 0,
            failures: Vec::new(),
            background: 0,
        });
        row.attempts += 1;
        match t.verdict {
            Some(v) if v.cause == Cause::None => row.succeeded += 1,
            Some(v) if v.cause.is_background() => row.background += 1,
            Some(v) if v.severity == Severity::Error => match row.failures.iter_mut().find(|(c, _)| *c == v.cause) {
                Some((_, n)) => *n += 1,
                None => row.failures.push((v.cause, 1)),
            },
            _ => {}
        }
    }
    let mut out: Vec<HistoryRow> = rows.into_values().collect();
    for r in &mut out {
        r.failures.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    }
    out
}

/// Attempts and failures per day, for the HTML bar chart.
pub fn per_day(rows: &[HistoryRow]) -> Vec<(String, usize, usize)> {
    let mut days: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for r in rows {
        let d = days.entry(r.day.as_str()).or_default();
        d.0 += r.attempts;
        d.1 += r.failed();
    }
    days.into_iter().map(|(d, (n, f))| (d.to_string(), n, f)).collect()
}
