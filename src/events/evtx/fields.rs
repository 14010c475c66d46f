//! EventData/UserData → `WinEvent.fields`, for wanted events only.
//!
//! Takes template entries (from `binxml`) and a record's substitution values. A `FieldPlan` is
//! worked out once per template and parent path (cached per chunk): which entries are fields and
//! under which name — `<Data Name="X">` → "X", unnamed `<Data>` → "Data1", "Data2"… in document
//! order, `<Binary>` → "Binary" (lower-case hex), UserData leaves (`UserData/EventXML/Param1`) →
//! "Param1". Per record the values are then rendered straight into the field strings; BinXml
//! values (nested fragments, where Windows puts EventData/UserData) are followed down to
//! `MAX_NESTING` levels, array values give one element per item, and an optional substitution
//! whose value is NULL leaves its element out, as Windows renders it.
//! Does not read System fields (see `record.rs`).

use std::rc::Rc;

use rustc_hash::FxHashMap;

use super::record::Fail;
use crate::events::binxml::{self, BinXmlError, Entry, Source, ValueRef, vtype};
use crate::events::fields::{Fields, FieldsBuilder};

/// Nested fragments followed inside one record (Windows uses one level).
const MAX_NESTING: usize = 8;
/// Template entries visited for one record's fields, nested fragments included: a bound on the
/// work a crafted chunk can cause (real records visit a few dozen).
const MAX_ENTRIES: usize = 20_000;

/// A field's name as the plan knows it.
#[derive(Clone, Debug)]
struct Key {
    /// The name; unused for unnamed `<Data>`.
    name: String,
    /// Unnamed `<Data>`: numbered per record.
    unnamed: bool,
}

#[derive(Debug)]
enum Kind {
    /// Literal text of the template.
    Text { key: Key, text: String },
    /// Substitution `index`; `key` is `None` where its text is no field (its value may still be
    /// a nested fragment, whose elements sit below `path`).
    Value { key: Option<Key>, index: usize, optional: bool, path: String },
}

#[derive(Debug)]
struct Item {
    element: u32,
    kind: Kind,
}

/// What a template's entries give, below one parent path.
#[derive(Debug, Default)]
pub(super) struct FieldPlan {
    items: Vec<Item>,
}

/// The field name for element content at `path`, if it is a field.
fn key_of(path: &str) -> Option<Key> {
    let named = |name: &str| Some(Key { name: name.to_string(), unnamed: false });
    if let Some(rest) = path.strip_prefix("Event/EventData/") {
        if let Some(name) = rest.strip_prefix("Data[@Name=").and_then(|r| r.strip_suffix(']')) {
            return named(name);
        }
        if rest == "Data" {
            return Some(Key { name: String::new(), unnamed: true });
        }
        return named(leaf(rest));
    }
    path.strip_prefix("Event/UserData/").and_then(|rest| named(leaf(rest)))
}

/// The last path segment without a `[@Name=..]` predicate.
fn leaf(path: &str) -> &str {
    let last = path.rsplit('/').next().unwrap_or(path);
    last.split('[').next().unwrap_or(last)
}

impl FieldPlan {
    /// The plan for `entries` of a fragment whose root sits below `prefix` ("" for the record).
    pub fn new(entries: &[Entry], prefix: &str) -> FieldPlan {
        let mut items = Vec::new();
        for e in entries.iter().filter(|e| e.attr.is_none()) {
            let path = if prefix.is_empty() { e.path.clone() } else { format!("{prefix}/{}", e.path) };
            let key = key_of(&path);
            let kind = match &e.source {
                Source::Text(text) => {
                    // An empty element directly under UserData (`<EventXML/>`) is no field.
                    let direct_user = path.strip_prefix("Event/UserData/").is_some_and(|r| !r.contains('/'));
                    match key {
                        Some(key) if !(text.is_empty() && direct_user) => Kind::Text { key, text: text.clone() },
                        _ => continue,
                    }
                }
                Source::Subst { index, optional, .. } => {
                    Kind::Value { key, index: usize::from(*index), optional: *optional, path }
                }
            };
            items.push(Item { element: e.element, kind });
        }
        FieldPlan { items }
    }
}

/// Names and collects the fields of one record; reused from record to record (`reset`).
#[derive(Default)]
pub(super) struct Namer {
    fragments: u32,
    visited: usize,
    unnamed: u32,
    /// The element (fragment, ordinal, array item) the last text came from.
    last: Option<(u32, u32, u32)>,
    fields: FieldsBuilder,
}

impl Namer {
    pub fn reset(&mut self) {
        (self.fragments, self.visited, self.unnamed, self.last) = (0, 0, 0, None);
        self.fields.clear();
    }

    /// The string the text of element `at` goes to: texts of one element are concatenated,
    /// texts of two elements with the same name joined by `,` (by `FieldsBuilder::finish`).
    fn slot(&mut self, key: &Key, at: (u32, u32, u32)) -> &mut String {
        if self.last != Some(at) {
            self.last = Some(at);
            if key.unnamed {
                self.unnamed += 1;
                self.fields.start_numbered("Data", self.unnamed);
            } else {
                self.fields.start(&key.name);
            }
        }
        self.fields.value()
    }

    /// The record's fields, `Binary` lower-cased (evtx_dump prints upper-case hex).
    pub fn finish(&mut self) -> Fields {
        self.fields.finish("Binary")
    }
}

/// A plan for one parent path, or why the template could not be read.
type PlanFor = (String, Result<Rc<FieldPlan>, BinXmlError>);

/// Per-chunk caches: plans by definition offset and parent path, spare value buffers.
#[derive(Default)]
pub(super) struct FieldCache {
    plans: FxHashMap<usize, Vec<PlanFor>>,
    buffers: Vec<Vec<ValueRef>>,
}

impl FieldCache {
    fn plan(&mut self, chunk: &[u8], def: usize, prefix: &str) -> Result<Rc<FieldPlan>, Fail> {
        let known = self.plans.entry(def).or_default();
        if let Some((_, plan)) = known.iter().find(|(p, _)| p == prefix) {
            return Ok(plan.clone()?);
        }
        let plan = binxml::read_template(chunk, def).map(|t| Rc::new(FieldPlan::new(&t.entries, prefix)));
        known.push((prefix.to_string(), plan.clone()));
        Ok(plan?)
    }

    /// Renders the fields of `plan` with `values` into `namer`, following nested fragments.
    pub fn collect(
        &mut self,
        chunk: &[u8],
        plan: &FieldPlan,
        values: &[ValueRef],
        namer: &mut Namer,
        depth: usize,
    ) -> Result<(), Fail> {
        if depth > MAX_NESTING {
            return Err("fragments nested too deep".into());
        }
        namer.visited += plan.items.len();
        if namer.visited > MAX_ENTRIES {
            return Err("record has too many fields".into());
        }
        namer.fragments += 1;
        let fragment = namer.fragments;
        for item in &plan.items {
            let at = (fragment, item.element, 0);
            let (key, index, optional, path) = match &item.kind {
                Kind::Text { key, text } => {
                    namer.slot(key, at).push_str(text);
                    continue;
                }
                Kind::Value { key, index, optional, path } => (key, *index, *optional, path),
            };
            // A NULL value of an optional substitution leaves its element out.
            let v = match values.get(index) {
                Some(v) if v.vtype != vtype::NULL => *v,
                _ if optional => continue,
                _ => {
                    if let Some(key) = key {
                        namer.slot(key, at);
                    }
                    continue;
                }
            };
            if v.vtype == vtype::BINXML {
                if v.len > 0 {
                    self.nested(chunk, v, path, namer, depth)?;
                } else if let Some(key) = key {
                    namer.slot(key, at);
                }
                continue;
            }
            let Some(key) = key else { continue };
            if v.vtype & vtype::ARRAY != 0 {
                // An array repeats its element once per item ([MS-EVEN6] §3.1.4.7.5).
                let items = binxml::render_items(v.vtype, v.bytes(chunk))?;
                if items.is_empty() {
                    namer.slot(key, at);
                }
                for (i, text) in items.iter().enumerate() {
                    namer.slot(key, (fragment, item.element, i as u32)).push_str(text);
                }
            } else {
                binxml::render_value(v.vtype, v.bytes(chunk), namer.slot(key, at))?;
            }
        }
        Ok(())
    }

    /// A BinXml value: a template instance (or plain elements) whose elements sit below `path`.
    fn nested(&mut self, chunk: &[u8], v: ValueRef, path: &str, namer: &mut Namer, depth: usize) -> Result<(), Fail> {
        let end = v.start + v.len;
        let mut inner = self.buffers.pop().unwrap_or_default();
        let result = match binxml::read_instance(chunk, v.start, end, &mut inner) {
            Ok(Some(head)) => self
                .plan(chunk, head.def_offset, path)
                .and_then(|plan| self.collect(chunk, &plan, &inner, namer, depth + 1)),
            Ok(None) => binxml::read_plain(chunk, v.start, end)
                .map_err(Fail::from)
                .and_then(|t| self.collect(chunk, &FieldPlan::new(&t.entries, path), &[], namer, depth + 1)),
            Err(e) => Err(e.into()),
        };
        self.buffers.push(inner);
        result
    }
}
