//! `Fields`: the EventData/UserData fields of one event, packed into two allocations.
//!
//! A log flooded with one catalogued event (an internet-facing server's Schannel alerts) can hold
//! hundreds of thousands of events; a map of owned strings costs one allocation per name and per
//! value, and allocation then dominates reading the log. `Fields` keeps all names and values in
//! one string and their ends in one vector, sorted by name with unique names, and reads like the
//! map it replaces (`get`, `iter`, `values`, `len`). Readers collect a record's fields in a
//! reused `FieldsBuilder` (or a `BTreeMap`) and pack them once.

use std::collections::BTreeMap;
use std::fmt;

use serde::ser::{Serialize, SerializeMap, Serializer};

/// Names and values, sorted by name, names unique.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Fields {
    /// name₀ value₀ name₁ value₁ ... concatenated.
    text: String,
    /// (end of name, end of value) in `text`; each name starts where the previous value ended.
    ends: Vec<(u32, u32)>,
}

impl Fields {
    /// The value of field `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        let (mut lo, mut hi) = (0, self.ends.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (key, value) = self.pair(mid);
            match key.cmp(name) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(value),
            }
        }
        None
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// (name, value) in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        (0..self.ends.len()).map(|i| self.pair(i))
    }

    pub fn values(&self) -> impl Iterator<Item = &str> + '_ {
        self.iter().map(|(_, v)| v)
    }

    fn start(&self, i: usize) -> usize {
        if i == 0 { 0 } else { self.ends[i - 1].1 as usize }
    }

    fn pair(&self, i: usize) -> (&str, &str) {
        let (n, v) = self.ends[i];
        (&self.text[self.start(i)..n as usize], &self.text[n as usize..v as usize])
    }

    /// Packs pairs already sorted by name with unique names. Fields longer than 4 GiB in all
    /// cannot occur (a record is at most one 64 KiB chunk, an XML event at most a few MiB) and
    /// are cut.
    fn pack<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> Fields {
        let (count, bytes) = pairs.clone().fold((0, 0), |(c, b), (n, v)| (c + 1, b + n.len() + v.len()));
        let mut f = Fields { text: String::with_capacity(bytes), ends: Vec::with_capacity(count) };
        for (n, v) in pairs {
            if f.text.len() + n.len() + v.len() > u32::MAX as usize {
                break;
            }
            f.text.push_str(n);
            let name_end = f.text.len() as u32;
            f.text.push_str(v);
            f.ends.push((name_end, f.text.len() as u32));
        }
        f
    }
}

impl From<BTreeMap<String, String>> for Fields {
    fn from(map: BTreeMap<String, String>) -> Fields {
        Fields::pack(map.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

/// Later duplicates of a name replace earlier ones, as inserting into a map would.
impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Fields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Fields {
        iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect::<BTreeMap<String, String>>().into()
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Collects the fields of one record in document order without allocating per field, then
/// packs them: text written after `start(name)` is that field's value, and two fields with the
/// same name are joined by `,`. Reused from record to record.
#[derive(Default)]
pub struct FieldsBuilder {
    /// name₀ value₀ name₁ value₁ ... in document order; the last value runs to the end.
    text: String,
    /// (start, end) of each name; a value runs to the next name's start.
    names: Vec<(usize, usize)>,
    order: Vec<usize>,
}

impl FieldsBuilder {
    pub fn clear(&mut self) {
        self.text.clear();
        self.names.clear();
    }

    /// Starts a new field `name`.
    pub fn start(&mut self, name: &str) {
        let start = self.text.len();
        self.text.push_str(name);
        self.names.push((start, self.text.len()));
    }

    /// Starts a new field named `prefix` followed by `n` ("Data3").
    pub fn start_numbered(&mut self, prefix: &str, n: u32) {
        use std::fmt::Write;
        let start = self.text.len();
        let _ = write!(self.text, "{prefix}{n}");
        self.names.push((start, self.text.len()));
    }

    /// The value of the last field started, to append to (a field named "" when none was).
    pub fn value(&mut self) -> &mut String {
        if self.names.is_empty() {
            self.start("");
        }
        &mut self.text
    }

    /// The fields, sorted by name, repeated names joined by `,` in document order;
    /// `lower` names a field whose value is lower-cased.
    pub fn finish(&mut self, lower: &str) -> Fields {
        let mut order = std::mem::take(&mut self.order);
        order.clear();
        order.extend(0..self.names.len());
        let name = |i: usize| &self.text[self.names[i].0..self.names[i].1];
        order.sort_by(|&a, &b| name(a).cmp(name(b)));
        let mut f = Fields {
            text: String::with_capacity(self.text.len() + self.names.len()),
            ends: Vec::with_capacity(self.names.len()),
        };
        let mut last: Option<&str> = None;
        for &i in &order {
            let (s, n) = self.names[i];
            let v = self.names.get(i + 1).map_or(self.text.len(), |next| next.0);
            let (key, value) = (&self.text[s..n], &self.text[n..v]);
            if f.text.len() + key.len() + value.len() >= u32::MAX as usize {
                break;
            }
            if last == Some(key) {
                f.text.push(',');
            } else {
                f.text.push_str(key);
                f.ends.push((f.text.len() as u32, 0));
                last = Some(key);
            }
            let at = f.text.len();
            f.text.push_str(value);
            if key == lower {
                f.text[at..].make_ascii_lowercase();
            }
            if let Some(end) = f.ends.last_mut() {
                end.1 = f.text.len() as u32;
            }
        }
        self.order = order;
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_the_map_it_packs() {
        let map: BTreeMap<String, String> =
            [("b", "2"), ("a", ""), ("Binary", "00ff"), ("c", "three")].map(|(k, v)| (k.into(), v.into())).into();
        let f = Fields::from(map.clone());
        assert_eq!(f.len(), 4);
        for (k, v) in &map {
            assert_eq!(f.get(k), Some(v.as_str()), "{k}");
        }
        assert_eq!(f.get("d"), None);
        assert_eq!(f.get(""), None);
        assert!(f.iter().map(|(k, v)| (k.to_string(), v.to_string())).eq(map.clone()));
        assert_eq!(serde_json::to_string(&f).unwrap(), serde_json::to_string(&map).unwrap());
        assert_eq!(format!("{f:?}"), format!("{map:?}"));
        assert!(Fields::default().is_empty() && Fields::default().get("a").is_none());
    }

    #[test]
    fn builder_joins_repeated_names_in_document_order() {
        let mut b = FieldsBuilder::default();
        for round in 0..2 {
            b.clear();
            b.start("Z");
            b.value().push_str("zz");
            b.start("Data");
            b.value().push_str("one");
            b.start("Binary");
            b.value().push_str("ABcd");
            b.start("Data");
            b.value().push_str("tw");
            b.value().push('o');
            b.start("Data");
            b.start_numbered("Data", 12);
            b.value().push_str("xy");
            let f = b.finish("Binary");
            let want: Fields =
                [("Binary", "abcd"), ("Data", "one,two,"), ("Data12", "xy"), ("Z", "zz")].into_iter().collect();
            assert_eq!(f, want, "round {round}");
        }
    }
}
