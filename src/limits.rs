//! Limits that hold whatever an input says: their defaults, the flags that change them, and the
//! per-input deadline.
//!
//! Inputs come from customers' machines, so no length, count or nesting read from a file decides
//! how much memory or time rdplog spends. The limits an analyst may need to move are `Limits`
//! fields with `analyze`/`batch` flags; when one truncates the analysis a warning says so, naming
//! the input and the flag. Fixed limits (not flags) are constants next to the code they guard:
//!
//! | limit | value | where |
//! |---|---|---|
//! | pcap record / pcapng block | 256 KiB / 16 MiB, larger ones are damage | `input::pcap` |
//! | resynchronisation scan after damage | 64 MiB | `input::pcap` |
//! | TLS record / handshake message | 18 KiB / 64 KiB | `rdp::tls` |
//! | BinXML nesting / tokens per fragment | 64 levels / 32,768 | `events::binxml` |
//! | nested EventData fragments / fields visited per record | 8 / 20,000 | `events::evtx::fields` |
//! | one XML event | 8 MiB | `events::xml` |
//! | folder depth when inputs are folders | 8 | `input` |
//! | warnings listed per input (the rest are counted) | 200 | `error` |
//! | zip archives (batch): members, unpacked total, ratio | 10,000, 4 GiB, 250:1 | `batch::archive` |

use std::time::{Duration, Instant};

/// The movable limits, with `Default` the values documented on each field.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Stream bytes per TCP direction handed to the RDP parsers (`--flow-payload`, default 64 KiB:
    /// the negotiation, TLS handshake and NLA fit in a few KiB; the rest of a session is
    /// encrypted and only counted).
    pub flow_payload: usize,
    /// Live flows tracked at once (`--max-flows`, default 200,000); later new flows are counted.
    pub max_flows: usize,
    /// Events kept per provider/event id and log (`--max-events-per-id`, default 5,000, the
    /// latest); the rest are counted.
    pub events_per_id: usize,
    /// Bytes a gzip-compressed event log may unpack to in memory (`--max-unpacked`, default
    /// 2 GiB; captures are unpacked as a stream and need no such limit).
    pub max_unpacked: u64,
    /// Wall time spent reading one input (`--input-timeout`, default none); what was read when
    /// it runs out is analysed, with a warning.
    pub input_time: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            flow_payload: 64 * 1024,
            max_flows: 200_000,
            events_per_id: 5_000,
            max_unpacked: 2 << 30,
            input_time: None,
        }
    }
}

impl Limits {
    /// The deadline for an input whose reading starts now.
    pub fn deadline(&self) -> Deadline {
        Deadline { at: self.input_time.map(|d| Instant::now() + d), limit: self.input_time }
    }
}

/// When reading one input must stop (`--input-timeout`). Readers ask `expired` every few
/// thousand records, so the check costs nothing measurable.
#[derive(Clone, Copy, Debug, Default)]
pub struct Deadline {
    at: Option<Instant>,
    limit: Option<Duration>,
}

impl Deadline {
    /// No deadline.
    pub fn none() -> Deadline {
        Deadline::default()
    }

    pub fn expired(&self) -> bool {
        self.at.is_some_and(|at| Instant::now() >= at)
    }

    /// The warning for an input cut short, `rest` saying what was not read.
    pub fn message(&self, rest: &str) -> String {
        let secs = self.limit.map_or(0.0, |d| d.as_secs_f64());
        format!("reading stopped after {secs} s (--input-timeout): {rest} not read; what was read is analysed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_expires_only_when_set() {
        assert!(!Limits::default().deadline().expired());
        let zero = Limits { input_time: Some(Duration::ZERO), ..Limits::default() };
        assert!(zero.deadline().expired());
        assert!(zero.deadline().message("packets after offset 24").contains("--input-timeout"));
    }
}
