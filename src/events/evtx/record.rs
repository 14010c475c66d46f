//! One `.evtx` record → counted in `LogStats`, and a `WinEvent` when the catalogue wants it.
//!
//! Takes the chunk bytes and a record's position (found by `evtx.rs`' walk or the crate's record
//! iterator). The record's BinXML is one template instance; the slot → meaning map comes from the
//! root template's definition (read once per chunk and definition offset with `binxml`): the
//! substitution inside `<EventID>` is the event id, the one in `<Provider Name=..>` the provider,
//! `<Computer>` is usually literal text in the definition, and so on. EventData/UserData, a
//! nested fragment in real logs, is only decoded for wanted events.
//! Produces the counts, events and warnings of one chunk in an `Acc`. When our reader cannot type
//! a record, the caller renders it with the crate instead and hands the JSON to `record_json`.
//! Does not read chunk or record headers (see `evtx.rs`).

use std::borrow::Cow;
use std::rc::Rc;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::fields::{FieldCache, FieldPlan, Namer};
use super::{EvtxCounters, Wanted, json};
use crate::error::MAX_WARNINGS;
use crate::events::binxml::{self, BinXmlError, Source, Template, ValueRef, vtype};
use crate::events::{LogStats, WinEvent, filetime_to_ts};
use crate::time::Ts;

/// TimeCreated may differ from the record header's time by this much (100 ns ticks) unreported.
const TIME_SLACK: u64 = 10_000_000;

/// Why our reader could not type a record (the caller falls back to the crate's rendering).
#[derive(Debug)]
pub(super) struct Fail(pub String);

impl From<BinXmlError> for Fail {
    fn from(e: BinXmlError) -> Self {
        Fail(e.to_string())
    }
}

impl From<&'static str> for Fail {
    fn from(e: &'static str) -> Self {
        Fail(e.to_string())
    }
}

/// Per-chunk counts, kept cheap per record (no formatting, no allocation) and turned into a
/// `LogStats` once per chunk, with the same meaning as `LogStats::count` on every record.
#[derive(Default)]
pub(super) struct Tally {
    records: u64,
    first: Option<Ts>,
    last: Option<Ts>,
    providers: Vec<String>,
    last_provider: usize,
    per_event: FxHashMap<(usize, u16), u64>,
    computers: Vec<String>,
}

impl Tally {
    fn add(&mut self, provider: &str, event_id: u16, ts: Ts, computer: &str) {
        self.records += 1;
        self.first = Some(self.first.map_or(ts, |f| f.min(ts)));
        self.last = Some(self.last.map_or(ts, |l| l.max(ts)));
        if self.providers.get(self.last_provider).is_none_or(|p| p != provider) {
            self.last_provider = match self.providers.iter().position(|p| p == provider) {
                Some(i) => i,
                None => {
                    self.providers.push(provider.to_string());
                    self.providers.len() - 1
                }
            };
        }
        *self.per_event.entry((self.last_provider, event_id)).or_insert(0) += 1;
        if !computer.is_empty() && self.computers.len() < 64 && !self.computers.iter().any(|c| c == computer) {
            self.computers.push(computer.to_string());
        }
    }

    pub fn into_stats(self) -> LogStats {
        let mut stats = LogStats { records: self.records, first: self.first, last: self.last, ..LogStats::default() };
        for ((provider, event_id), n) in self.per_event {
            let provider = self.providers.get(provider).map(String::as_str).unwrap_or_default();
            *stats.per_event.entry(format!("{provider}/{event_id}")).or_insert(0) += n;
        }
        stats.computers = self.computers;
        stats.computers.sort();
        stats
    }
}

/// What one chunk yields, merged in chunk order by `evtx.rs`.
#[derive(Default)]
pub(super) struct Acc {
    /// Counts while the chunk is read...
    pub tally: Tally,
    /// ...and as `LogStats` once it is done.
    pub stats: LogStats,
    pub events: Vec<WinEvent>,
    /// (file offset, message), bounded like `WarningSink`.
    pub warnings: Vec<(u64, String)>,
    pub dropped: u64,
    pub counters: EvtxCounters,
}

impl Acc {
    pub fn warn(&mut self, offset: u64, message: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push((offset, message));
        } else {
            self.dropped += 1;
        }
    }
}

/// A record's place: chunk offsets of its header and BinXML, and its header fields.
pub(super) struct RecordAt {
    pub offset: usize,
    pub bin_start: usize,
    pub bin_end: usize,
    pub id: u64,
    pub filetime: u64,
}

/// A value slot of the root template: a substitution index, literal text, or nothing.
#[derive(Clone, Debug, Default)]
enum Slot {
    #[default]
    Absent,
    Subst(usize),
    Text(Arc<str>),
}

/// What the root template definition says about the System fields, plus the entries that can
/// carry EventData/UserData.
#[derive(Debug, Default)]
struct RootPlan {
    event_id: Slot,
    qualifiers: Slot,
    level: Slot,
    time: Slot,
    record_id: Slot,
    provider: Slot,
    channel: Slot,
    computer: Slot,
    activity: Slot,
    /// EventData/UserData: their entries, or the substitutions that hold them.
    body: FieldPlan,
}

impl RootPlan {
    fn new(template: &Template) -> RootPlan {
        let mut plan = RootPlan::default();
        let mut body = Vec::new();
        for e in &template.entries {
            let slot = match (e.path.as_str(), e.attr.as_deref()) {
                ("Event/System/EventID", None) => &mut plan.event_id,
                ("Event/System/EventID", Some("Qualifiers")) => &mut plan.qualifiers,
                ("Event/System/Level", None) => &mut plan.level,
                ("Event/System/TimeCreated", Some("SystemTime")) => &mut plan.time,
                ("Event/System/EventRecordID", None) => &mut plan.record_id,
                ("Event/System/Provider", Some("Name")) => &mut plan.provider,
                ("Event/System/Channel", None) => &mut plan.channel,
                ("Event/System/Computer", None) => &mut plan.computer,
                ("Event/System/Correlation", Some("ActivityID")) => &mut plan.activity,
                (path, None) if path.starts_with("Event") && !path.starts_with("Event/System") => {
                    body.push(e.clone());
                    continue;
                }
                _ => continue,
            };
            if matches!(slot, Slot::Absent) {
                *slot = match &e.source {
                    Source::Subst { index, .. } => Slot::Subst(usize::from(*index)),
                    Source::Text(t) => Slot::Text(Arc::from(t.as_str())),
                };
            }
        }
        plan.body = FieldPlan::new(&body, "");
        plan
    }
}

/// Per-chunk state: caches keyed by definition offset, reused buffers.
pub(super) struct Typer<'w> {
    pub number: u64,
    pub base: u64,
    input: Arc<str>,
    wanted: &'w Wanted<'w>,
    /// Wanted events outside this span are only counted.
    window: Option<(Ts, Ts)>,
    plans: FxHashMap<usize, Result<Rc<RootPlan>, BinXmlError>>,
    fields: FieldCache,
    namer: Namer,
    values: Vec<ValueRef>,
    /// The provider, computer and channel names of the last record: most records of a chunk
    /// repeat them, and their events share one string.
    provider: Recent,
    computer: Recent,
    channel: Recent,
    /// `wanted`'s answers for the provider of the last record, by event id: the catalogue is
    /// asked once per provider and id in a chunk, not once per record.
    answers: (Arc<str>, FxHashMap<u16, bool>),
}

/// The text of one System slot in the last record, with the value bytes it came from (`None`:
/// literal text of the template), so that a record repeating them costs a comparison.
#[derive(Default)]
struct Recent {
    raw: Option<Vec<u8>>,
    text: Arc<str>,
}

impl Recent {
    /// The slot's text in this record. `name`: the value must be a string (a provider name);
    /// otherwise any value is rendered as text.
    fn update(&mut self, slot: &Slot, values: &[ValueRef], chunk: &[u8], name: bool) -> Result<Arc<str>, Fail> {
        match (slot, subst(slot, values, chunk)) {
            (_, Some((_, b))) if self.raw.as_deref() == Some(b) => {}
            (_, Some((t, b))) => {
                let text = if name {
                    binxml::value_string(t, b).ok_or("provider name is not a string")?
                } else {
                    let mut s = String::new();
                    let _ = binxml::render_value(t, b, &mut s);
                    s
                };
                (self.raw, self.text) = (Some(b.to_vec()), Arc::from(text));
            }
            (Slot::Text(t), None) => (self.raw, self.text) = (None, t.clone()),
            (_, None) if self.raw.is_none() && self.text.is_empty() => {}
            (_, None) => (self.raw, self.text) = (None, Arc::from("")),
        }
        Ok(self.text.clone())
    }
}

/// A value slot's (type, bytes), when the slot is a substitution with a value.
fn subst<'c>(slot: &Slot, values: &[ValueRef], chunk: &'c [u8]) -> Option<(u8, &'c [u8])> {
    match slot {
        Slot::Subst(i) => values.get(*i).map(|v| (v.vtype, v.bytes(chunk))).filter(|(t, _)| *t != vtype::NULL),
        _ => None,
    }
}

fn slot_uint(slot: &Slot, values: &[ValueRef], chunk: &[u8]) -> Option<u64> {
    match slot {
        Slot::Text(t) => t.trim().parse().ok(),
        _ => subst(slot, values, chunk).and_then(|(t, b)| binxml::value_uint(t, b)),
    }
}

fn slot_text<'p>(slot: &'p Slot, values: &[ValueRef], chunk: &[u8]) -> Cow<'p, str> {
    match slot {
        Slot::Text(t) => Cow::Borrowed(t),
        _ => match subst(slot, values, chunk) {
            Some((t, b)) => {
                let mut s = String::new();
                let _ = binxml::render_value(t, b, &mut s);
                Cow::Owned(s)
            }
            None => Cow::Borrowed(""),
        },
    }
}

impl<'w> Typer<'w> {
    pub fn new(number: u64, base: u64, input: Arc<str>, wanted: &'w Wanted<'w>, window: Option<(Ts, Ts)>) -> Self {
        Typer {
            number,
            base,
            input,
            wanted,
            window,
            plans: FxHashMap::default(),
            fields: FieldCache::default(),
            namer: Namer::default(),
            values: Vec::new(),
            provider: Recent::default(),
            computer: Recent::default(),
            channel: Recent::default(),
            answers: Default::default(),
        }
    }

    fn plan(&mut self, chunk: &[u8], def: usize) -> Result<Rc<RootPlan>, Fail> {
        let plan = self
            .plans
            .entry(def)
            .or_insert_with(|| binxml::read_template(chunk, def).map(|t| Rc::new(RootPlan::new(&t))));
        Ok(plan.clone()?)
    }

    /// Types one record from its substitution values and commits it to `acc`. On `Err` nothing
    /// was committed.
    pub fn record(&mut self, chunk: &[u8], r: &RecordAt, acc: &mut Acc) -> Result<(), Fail> {
        let mut values = std::mem::take(&mut self.values);
        let result = self.record_with(chunk, r, acc, &mut values);
        self.values = values;
        result
    }

    fn record_with(
        &mut self,
        chunk: &[u8],
        r: &RecordAt,
        acc: &mut Acc,
        values: &mut Vec<ValueRef>,
    ) -> Result<(), Fail> {
        // Windows writes one template instance per record; other writers may write plain elements.
        let plan = match binxml::read_instance(chunk, r.bin_start, r.bin_end, values)? {
            Some(head) => self.plan(chunk, head.def_offset)?,
            None => Rc::new(RootPlan::new(&binxml::read_plain(chunk, r.bin_start, r.bin_end)?)),
        };
        let event_id = slot_uint(&plan.event_id, values, chunk).ok_or("no EventID value")?;
        let event_id = u16::try_from(event_id).map_err(|_| "EventID out of range")?;
        let filetime = match &plan.time {
            Slot::Text(t) => binxml::parse_time_text(t),
            slot => subst(slot, values, chunk).and_then(|(t, b)| binxml::value_filetime(t, b)),
        };
        let provider = self.provider.update(&plan.provider, values, chunk, true)?;
        let computer = self.computer.update(&plan.computer, values, chunk, false)?;
        let mut event = None;
        let ts = filetime_to_ts(filetime.unwrap_or(r.filetime));
        if self.keeps(ts) && self.is_wanted(&provider, event_id) {
            self.namer.reset();
            self.fields.collect(chunk, &plan.body, values, &mut self.namer, 0)?;
            let activity = slot_text(&plan.activity, values, chunk).to_ascii_lowercase();
            event = Some(WinEvent {
                ts,
                input: self.input.clone(),
                record_id: slot_uint(&plan.record_id, values, chunk).unwrap_or(r.id),
                provider: provider.clone(),
                event_id,
                qualifiers: slot_uint(&plan.qualifiers, values, chunk).and_then(|q| u16::try_from(q).ok()),
                level: slot_uint(&plan.level, values, chunk).and_then(|l| u8::try_from(l).ok()).unwrap_or(0),
                channel: self.channel.update(&plan.channel, values, chunk, false)?,
                computer: computer.clone(),
                activity_id: Some(activity).filter(|a| !a.is_empty()),
                fields: self.namer.finish(),
            });
        }
        self.commit(acc, r, &provider, event_id, filetime, &computer, event);
        acc.counters.typed += 1;
        Ok(())
    }

    fn is_wanted(&mut self, provider: &Arc<str>, event_id: u16) -> bool {
        if !Arc::ptr_eq(&self.answers.0, provider) {
            self.answers = (provider.clone(), FxHashMap::default());
        }
        let wanted = self.wanted;
        *self.answers.1.entry(event_id).or_insert_with(|| wanted(provider, event_id))
    }

    fn keeps(&self, ts: Ts) -> bool {
        self.window.is_none_or(|(a, b)| ts >= a && ts <= b)
    }

    /// Types one record from the crate's JSON rendering (the fallback) and commits it.
    pub fn record_json(&mut self, value: &serde_json::Value, r: &RecordAt, acc: &mut Acc) -> Result<(), Fail> {
        let j = json::typed(value).ok_or("JSON rendering has no System/EventID")?;
        let ts = filetime_to_ts(j.filetime.unwrap_or(r.filetime));
        let event = (self.keeps(ts) && (self.wanted)(&j.provider, j.event_id)).then(|| WinEvent {
            ts,
            input: self.input.clone(),
            record_id: j.record_id.unwrap_or(r.id),
            provider: j.provider.as_str().into(),
            event_id: j.event_id,
            qualifiers: j.qualifiers,
            level: j.level,
            channel: j.channel.into(),
            computer: j.computer.as_str().into(),
            activity_id: j.activity_id,
            fields: j.fields.into(),
        });
        self.commit(acc, r, &j.provider, j.event_id, j.filetime, &j.computer, event);
        acc.counters.rendered += 1;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn commit(
        &self,
        acc: &mut Acc,
        r: &RecordAt,
        provider: &str,
        event_id: u16,
        filetime: Option<u64>,
        computer: &str,
        event: Option<WinEvent>,
    ) {
        let created = filetime.unwrap_or(r.filetime);
        if created.abs_diff(r.filetime) > TIME_SLACK {
            acc.warn(
                self.base + r.offset as u64,
                format!(
                    "chunk {}, record id {}: TimeCreated {} differs from the record header time {} by more than 1 s; \
                     using TimeCreated",
                    self.number,
                    r.id,
                    binxml::filetime_text(created),
                    binxml::filetime_text(r.filetime)
                ),
            );
        }
        acc.tally.add(provider, event_id, filetime_to_ts(created), computer);
        acc.events.extend(event);
    }
}
