//! The fallback for records our BinXML reader cannot type: the evtx crate's JSON rendering of the
//! record (the shape `evtx_dump -o jsonl` prints) → the same System fields and EventData/UserData
//! fields that `record.rs` reads from substitution values.
//!
//! Takes a `serde_json::Value` of one record (`{"Event":{"System":{..},"EventData":{..}}}`).
//! Produces a `JsonTyped`, or `None` when there is no `System/EventID`. Field names follow the
//! rules of `WinEvent.fields` (unnamed `<Data>` → Data1.., `Binary` as lower-case hex, UserData
//! leaves by element name). Does not render anything itself.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::events::binxml;

/// A record's System fields and named fields, from JSON.
pub(super) struct JsonTyped {
    pub provider: String,
    pub event_id: u16,
    pub qualifiers: Option<u16>,
    pub level: u8,
    pub filetime: Option<u64>,
    pub record_id: Option<u64>,
    pub channel: String,
    pub computer: String,
    pub activity_id: Option<String>,
    pub fields: BTreeMap<String, String>,
}

/// An element's text: `#text` when it has attributes, arrays joined by `,`, null as "".
fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(","),
        Value::Object(o) => o.get("#text").map(text).unwrap_or_default(),
    }
}

fn attr<'v>(v: &'v Value, name: &str) -> Option<&'v Value> {
    v.get("#attributes").and_then(|a| a.get(name))
}

pub(super) fn typed(record: &Value) -> Option<JsonTyped> {
    let event = record.get("Event")?;
    let system = event.get("System")?;
    let id = system.get("EventID")?;
    let event_id: u64 = text(id).trim().parse().ok()?;
    let mut fields = BTreeMap::new();
    if let Some(Value::Object(data)) = event.get("EventData") {
        let mut unnamed = 0;
        for (name, v) in data.iter().filter(|(n, _)| *n != "#attributes") {
            match (name.as_str(), v.get("#text").unwrap_or(v)) {
                ("Data", Value::Array(items)) => {
                    for item in items {
                        unnamed += 1;
                        fields.insert(format!("Data{unnamed}"), text(item));
                    }
                }
                ("Data", item) => {
                    unnamed += 1;
                    fields.insert(format!("Data{unnamed}"), text(item));
                }
                ("Binary", item) => {
                    fields.insert("Binary".to_string(), text(item).to_lowercase());
                }
                (_, _) => {
                    fields.insert(name.clone(), text(v));
                }
            }
        }
    }
    if let Some(Value::Object(user)) = event.get("UserData") {
        for child in user.values() {
            leaves(child, &mut fields);
        }
    }
    Some(JsonTyped {
        provider: system.get("Provider").and_then(|p| attr(p, "Name")).map(text).unwrap_or_default(),
        event_id: u16::try_from(event_id).ok()?,
        qualifiers: attr(id, "Qualifiers").and_then(|q| text(q).trim().parse().ok()),
        level: system.get("Level").map(text).and_then(|l| l.parse().ok()).unwrap_or(0),
        filetime: system
            .get("TimeCreated")
            .and_then(|t| attr(t, "SystemTime"))
            .and_then(Value::as_str)
            .and_then(binxml::parse_time_text),
        record_id: system.get("EventRecordID").map(text).and_then(|r| r.parse().ok()),
        channel: system.get("Channel").map(text).unwrap_or_default(),
        computer: system.get("Computer").map(text).unwrap_or_default(),
        activity_id: system
            .get("Correlation")
            .and_then(|c| attr(c, "ActivityID"))
            .map(|a| text(a).to_lowercase())
            .filter(|a| !a.is_empty()),
        fields,
    })
}

/// UserData: the leaf elements under the UserData child, by element name.
fn leaves(v: &Value, fields: &mut BTreeMap<String, String>) {
    let Value::Object(o) = v else { return };
    for (name, child) in o.iter().filter(|(n, _)| !n.starts_with('#')) {
        match child {
            Value::Object(inner) if inner.keys().any(|k| !k.starts_with('#')) => leaves(child, fields),
            _ => {
                fields.insert(name.clone(), text(child));
            }
        }
    }
}
