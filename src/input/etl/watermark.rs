//! How far every processor of a trace has got: the time before which no event still to come
//! can lie, so that packets held back for reordering can go out early and in order.
//!
//! ETW keeps one set of buffers per processor; each buffer's records are in time order, and a
//! processor's buffers reach the file in the order it filled them. So once every processor has
//! shown an event at or after time T, nothing later in the file is earlier than the smallest
//! such T: the mark. It needs the processor count from the logfile header, per-processor
//! buffering, and every processor's stream in order; a trace that breaks any of these has no
//! mark (held packets then go out only when the hold is full, `mod.rs`). It decides nothing
//! about packets; that is the extractor's.

use crate::time::Ts;

/// A ProcessorNumber is one byte (WMI_BUFFER_HEADER): more processors cannot be told apart.
const MAX_CPUS: u32 = 256;
/// A processor's event this much earlier than its previous one is taken as in order (its
/// time stays the later one): timestamps taken just before a buffer slot is reserved can cross
/// by a little. Users of the mark keep a margin far wider than this. Further back, the stream
/// is out of order and there is no mark.
const STEP_BACK_NS: i64 = 10_000_000;

#[derive(Default)]
pub(super) struct Watermark {
    /// Latest event time per processor (`None`: none yet); empty until the first event.
    last: Vec<Option<Ts>>,
    /// Processors without an event yet.
    unseen: usize,
    /// The smallest of `last` once none is unseen, and which processor holds it.
    min: Option<(Ts, usize)>,
    /// The trace cannot be merged this way (see the module doc).
    off: bool,
}

impl Watermark {
    /// An event of `processor` at `ts`, in a trace of `cpus` processors (`Event::cpus`).
    pub fn see(&mut self, cpus: u32, processor: u8, ts: Ts) {
        if self.off {
            return;
        }
        if self.last.is_empty() {
            if cpus == 0 || cpus > MAX_CPUS {
                self.off = true;
                return;
            }
            self.last = vec![None; cpus as usize];
            self.unseen = cpus as usize;
        }
        let c = usize::from(processor);
        let Some(slot) = self.last.get_mut(c) else {
            // A processor the header did not count.
            self.off = true;
            return;
        };
        match *slot {
            Some(prev) if ts.0 < prev.0.saturating_sub(STEP_BACK_NS) => {
                // This processor's stream is not in time order: no mark can be trusted.
                self.off = true;
                return;
            }
            Some(prev) if ts <= prev => return,
            Some(_) => {}
            None => self.unseen -= 1,
        }
        *slot = Some(ts);
        if self.unseen == 0 && self.min.is_none_or(|(_, at)| at == c) {
            self.min = self.last.iter().enumerate().filter_map(|(i, t)| t.map(|t| (t, i))).min();
        }
    }

    /// The time no event still to come can precede, once every processor has been seen.
    pub fn get(&self) -> Option<Ts> {
        if self.off { None } else { self.min.map(|(t, _)| t) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Oracle: the module's reasoning — the mark is the least of the processors' latest times,
    // only once all of them have been seen, and never for a stream out of order or a processor
    // the header did not count.
    #[test]
    fn mark_is_the_slowest_processor() {
        let mut w = Watermark::default();
        w.see(2, 0, Ts(10));
        w.see(2, 0, Ts(20));
        assert_eq!(w.get(), None, "processor 1 not seen yet");
        w.see(2, 1, Ts(5));
        assert_eq!(w.get(), Some(Ts(5)));
        w.see(2, 1, Ts(30));
        assert_eq!(w.get(), Some(Ts(20)));
        w.see(2, 0, Ts(40));
        assert_eq!(w.get(), Some(Ts(30)));
        w.see(2, 0, Ts(39));
        assert_eq!(w.get(), Some(Ts(30)), "a step back within STEP_BACK_NS");
        w.see(2, 1, Ts(50));
        assert_eq!(w.get(), Some(Ts(40)), "processor 0 keeps its later time");
        w.see(2, 0, Ts(40 - STEP_BACK_NS - 1));
        assert_eq!(w.get(), None, "processor 0 went back in time");

        let mut w = Watermark::default();
        w.see(1, 3, Ts(1));
        assert_eq!(w.get(), None);
        let mut w = Watermark::default();
        w.see(0, 0, Ts(1));
        assert_eq!(w.get(), None, "no per-processor buffering");
    }
}
