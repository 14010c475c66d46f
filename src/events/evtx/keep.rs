//! Which wanted events of one log stay in memory: the time window and the per-id cap.
//!
//! `read_evtx_kept` reads a log's batches of chunks newest first, so that the cap ("the latest
//! N of each provider/event id", Remote Desktop's logons counted apart: `events::cap_share`) is
//! settled as early as possible: once an id has its N events,
//! the typer stops building events for it (`Kept::is_full`), and a log flooded with one
//! catalogued event costs little more than counting it. Events outside the window are never
//! built either (`Keep::window`, checked by the typer). Batches are put back in file order at
//! the end (`Kept::finish`).

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::events::WinEvent;
use crate::limits::Deadline;
use crate::time::Ts;

/// What `read_evtx_kept` keeps in memory; every record is counted regardless.
#[derive(Clone, Copy, Debug)]
pub struct Keep {
    /// Only events whose time is within this span (inclusive), e.g. an hour around a capture.
    pub window: Option<(Ts, Ts)>,
    /// At most this many events per provider/event id: the latest in file order.
    pub per_event: usize,
    /// When to stop reading (`--input-timeout`).
    pub deadline: Deadline,
}

impl Keep {
    /// Every wanted event, no deadline.
    pub fn all() -> Keep {
        Keep { window: None, per_event: usize::MAX, deadline: Deadline::none() }
    }

    pub fn in_window(&self, ts: Ts) -> bool {
        self.window.is_none_or(|(a, b)| ts >= a && ts <= b)
    }
}

/// The events kept so far, batch by batch, newest batch first.
#[derive(Default)]
pub(super) struct Kept {
    batches: Vec<Vec<WinEvent>>,
    counts: FxHashMap<(Arc<str>, u16, u8), usize>,
    /// Ids and shares (`events::cap_share`) whose cap is reached, by event id (few providers
    /// share an id).
    full: FxHashMap<u16, Vec<(Arc<str>, u8)>>,
}

impl Kept {
    /// Whether `provider`/`event_id` already has its `per_event` events from later batches (in
    /// each of its shares, when it has two: which one a record is in is known only once built).
    pub fn is_full(&self, provider: &str, event_id: u16) -> bool {
        let full = |share: u8| {
            self.full.get(&event_id).is_some_and(|p| p.iter().any(|(p, s)| **p == *provider && *s == share))
        };
        full(0) && (!crate::events::shared_cap(provider, event_id) || full(1))
    }

    /// Adds one batch's events (in file order; the batch is older than every batch added
    /// before), keeping per id only the latest that still fit under `per_event`.
    pub fn add(&mut self, mut events: Vec<WinEvent>, per_event: usize) {
        if per_event != usize::MAX {
            let mut keep = vec![false; events.len()];
            for (i, e) in events.iter().enumerate().rev() {
                let share = crate::events::cap_share(e);
                let n = self.counts.entry((e.provider.clone(), e.event_id, share)).or_insert(0);
                if *n < per_event {
                    *n += 1;
                    keep[i] = true;
                    if *n == per_event {
                        self.full.entry(e.event_id).or_default().push((e.provider.clone(), share));
                    }
                }
            }
            let mut flags = keep.into_iter();
            events.retain(|_| flags.next().unwrap_or(false));
            // A batch of a flood (built to learn each logon's share) keeps a few of its events:
            // not the room for all of them.
            events.shrink_to_fit();
        }
        self.batches.push(events);
    }

    /// All kept events in file order.
    pub fn finish(self) -> Vec<WinEvent> {
        let mut out = Vec::with_capacity(self.batches.iter().map(Vec::len).sum());
        for batch in self.batches.into_iter().rev() {
            out.extend(batch);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(provider: &str, id: u16, record_id: u64) -> WinEvent {
        WinEvent { provider: provider.into(), event_id: id, record_id, ..Default::default() }
    }

    #[test]
    fn newest_batches_first_keep_the_latest_per_id_in_file_order() {
        let mut kept = Kept::default();
        // The file holds records 1..=6; the newer batch (4..=6) arrives first.
        kept.add(vec![ev("S", 1, 4), ev("T", 2, 5), ev("S", 1, 6)], 2);
        assert!(kept.is_full("S", 1) && !kept.is_full("T", 2) && !kept.is_full("S", 2));
        kept.add(vec![ev("S", 1, 1), ev("T", 2, 2), ev("T", 2, 3)], 2);
        let ids: Vec<u64> = kept.finish().iter().map(|e| e.record_id).collect();
        assert_eq!(ids, vec![3, 4, 5, 6], "S/1: 4 and 6; T/2: 3 and 5");
    }

    // Oracle: `events::cap_share` — Security 4624 of LogonType 10 counts apart from the other
    // logon types, and the id is full (the typer may skip it) only once both shares are.
    #[test]
    fn rdp_logons_have_a_share_of_their_own() {
        let logon = |record_id: u64, kind: &str| WinEvent {
            provider: crate::events::catalog::SECURITY.into(),
            event_id: 4624,
            record_id,
            fields: [("LogonType", kind)].into_iter().collect(),
            ..Default::default()
        };
        let mut kept = Kept::default();
        kept.add(vec![logon(3, "3"), logon(4, "3"), logon(5, "3")], 2);
        assert!(!kept.is_full(crate::events::catalog::SECURITY, 4624), "no RemoteInteractive logon yet");
        kept.add(vec![logon(1, "10"), logon(2, "3")], 2);
        let ids: Vec<u64> = kept.finish().iter().map(|e| e.record_id).collect();
        assert_eq!(ids, vec![1, 4, 5], "the older RDP logon stays; the network logons keep their newest two");
    }

    #[test]
    fn window_is_inclusive() {
        let k = Keep { window: Some((Ts(10), Ts(20))), ..Keep::all() };
        assert!(k.in_window(Ts(10)) && k.in_window(Ts(20)) && !k.in_window(Ts(21)) && !k.in_window(Ts(9)));
        assert!(Keep::all().in_window(Ts(i64::MIN)));
    }
}
