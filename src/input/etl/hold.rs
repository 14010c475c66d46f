//! The packets an `.etl` reader holds back: for de-duplication (a pktmon packet appears once
//! per component it crosses) and to merge the per-CPU buffers into time order.
//!
//! Held packets live in a slab; an index maps each key to its slot, and a release list records
//! (time, event, slot) in the order packets were held. Each CPU's buffer is a time-ordered run
//! of that list, so a stable sort merges a few runs. Releasing reads the slot straight from the
//! list: index entries of released packets are left behind and recognised as stale (their slot
//! is empty or holds another key), and the index is pruned when they outnumber the live ones.
//! It decides nothing about which appearance wins (that is the parent module's `pktmon`).

use rustc_hash::FxHashMap;

use super::{Held, Key};
use crate::time::Ts;

#[derive(Default)]
pub(super) struct Hold {
    slab: Vec<Option<(Key, Held)>>,
    free: Vec<u32>,
    index: FxHashMap<Key, u32>,
    order: Vec<(Ts, u64, u32)>,
    live: usize,
}

impl Hold {
    /// Held packets.
    pub fn len(&self) -> usize {
        self.live
    }

    fn slot(&self, key: &Key) -> Option<u32> {
        let s = *self.index.get(key)?;
        matches!(self.slab.get(s as usize), Some(Some((k, _))) if k == key).then_some(s)
    }

    pub fn get_mut(&mut self, key: &Key) -> Option<&mut Held> {
        let s = self.slot(key)?;
        self.slab.get_mut(s as usize).and_then(|e| e.as_mut()).map(|(_, h)| h)
    }

    /// Holds `h` under `key` (which must not be held).
    pub fn insert(&mut self, key: Key, h: Held) {
        let entry = (h.ts, h.event);
        let s = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = Some((key, h));
                s
            }
            None => {
                self.slab.push(Some((key, h)));
                (self.slab.len() - 1) as u32
            }
        };
        self.index.insert(key, s);
        self.order.push((entry.0, entry.1, s));
        self.live += 1;
        if self.index.len() > 2 * self.live + 4096 {
            let slab = &self.slab;
            self.index.retain(|k, s| matches!(slab.get(*s as usize), Some(Some((held, _))) if held == k));
        }
    }

    /// The packet under `key` changed its time (a closer appearance replaced it): release it by
    /// its new time.
    pub fn requeue(&mut self, key: &Key) {
        if let Some(s) = self.slot(key)
            && let Some(Some((_, h))) = self.slab.get(s as usize)
        {
            self.order.push((h.ts, h.event, s));
        }
    }

    /// Moves the packet under `key` to `to` (its key is reused by a later packet).
    pub fn rekey(&mut self, key: &Key, to: Key) {
        if let Some(s) = self.slot(key)
            && let Some(Some((k, _))) = self.slab.get_mut(s as usize)
        {
            *k = to;
            self.index.insert(to, s);
        }
    }

    /// Hands `take` the held packets of the `n` oldest release entries, in time order.
    pub fn oldest(&mut self, n: usize, take: impl FnMut(Key, Held)) {
        self.order.sort();
        self.take_first(n, take);
    }

    /// Hands `take` the held packets older than `cutoff`, in time order.
    pub fn before(&mut self, cutoff: Ts, take: impl FnMut(Key, Held)) {
        self.order.sort();
        let n = self.order.partition_point(|e| e.0 < cutoff);
        self.take_first(n, take);
    }

    /// The packets of the first `n` entries of the sorted release list.
    fn take_first(&mut self, n: usize, mut take: impl FnMut(Key, Held)) {
        let n = n.min(self.order.len());
        for (ts, event, s) in self.order.drain(..n) {
            let Some(entry) = self.slab.get_mut(s as usize) else { continue };
            if entry.as_ref().is_some_and(|(_, h)| h.ts == ts && h.event == event)
                && let Some(taken) = entry.take()
            {
                self.free.push(s);
                self.live -= 1;
                take(taken.0, taken.1);
            }
        }
    }

    /// Release entries (for the hold's limit: stale ones count too, which only releases sooner).
    pub fn entries(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(ts: i64, event: u64) -> Held {
        Held {
            ts: Ts(ts),
            event,
            offset: 0,
            linktype: 1,
            orig_len: 0,
            data: Vec::new(),
            rank: (0, 0, 0),
            component: None,
            dropped: None,
        }
    }

    fn oldest(h: &mut Hold, n: usize) -> Vec<i64> {
        let mut out = Vec::new();
        h.oldest(n, |_, p| out.push(p.ts.0));
        out
    }

    // Oracle: the module's contract — two CPUs' runs come out merged in time order; a packet
    // whose time changed is released once, at its new time; a re-keyed packet is found under
    // its new key only; released slots are reused without resurrecting their old keys.
    #[test]
    fn releases_in_time_order_once() {
        let mut h = Hold::default();
        for (i, t) in [10, 30, 50, 20, 40, 60].into_iter().enumerate() {
            h.insert(Key::Single(i as u64), held(t, i as u64));
        }
        if let Some(p) = h.get_mut(&Key::Single(0)) {
            p.ts = Ts(45);
        }
        h.requeue(&Key::Single(0));
        h.rekey(&Key::Single(1), Key::Pktmon(7, 1));
        assert!(h.get_mut(&Key::Single(1)).is_none());
        assert!(h.get_mut(&Key::Pktmon(7, 1)).is_some());
        assert_eq!(oldest(&mut h, 3), [20, 30]);
        assert_eq!(h.len(), 4);
        h.insert(Key::Single(9), held(55, 9));
        assert!(h.get_mut(&Key::Single(3)).is_none(), "a released key stays released");
        assert_eq!(oldest(&mut h, usize::MAX), [40, 45, 50, 55, 60]);
        assert_eq!(h.len(), 0);
    }
}
