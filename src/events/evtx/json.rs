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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> JsonTyped {
        typed(&serde_json::from_str(s).expect("JSON")).expect("typed")
    }

    #[test]
    fn evtx_dump_shapes() {
        // EventLog 6009 as evtx_dump prints it (unnamed Data as a list), plus a Binary.
        let j = parse(
            r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"EventLog"}},
            "EventID":{"#attributes":{"Qualifiers":32768},"#text":6009},"Level":4,
            "TimeCreated":{"#attributes":{"SystemTime":"2021-02-12T12:33:10.5744631Z"}},
            "EventRecordID":15426,"Channel":"System","Computer":"dc","Correlation":null},
            "EventData":{"Data":{"#text":["10.00.","",7]},"Binary":"0A0B"}}}"##,
        );
        assert_eq!((j.provider.as_str(), j.event_id, j.qualifiers, j.level), ("EventLog", 6009, Some(32768), 4));
        assert_eq!((j.record_id, j.filetime), (Some(15426), binxml::parse_time_text("2021-02-12T12:33:10.5744631Z")));
        assert_eq!((j.channel.as_str(), j.computer.as_str(), j.activity_id), ("System", "dc", None));
        let f: Vec<(&str, &str)> = j.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(f, vec![("Binary", "0a0b"), ("Data1", "10.00."), ("Data2", ""), ("Data3", "7")]);

        // RCM 1149 written by another tool: everything is text, UserData leaves by name.
        let j = parse(
            r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"RCM"}},"EventID":"1149","Level":"4",
            "EventRecordID":"6433","Correlation":{"#attributes":{"ActivityID":"{F4208CEC-4DF9-4D54-882A-4C115ABC0000}"}},
            "TimeCreated":{"#attributes":{"SystemTime":"2021-12-16T10:25:32.351835800Z"}}},
            "UserData":{"EventXML":{"#attributes":{"xmlns":"Event_NS"},"Param1":"admmig","Param2":null}}}}"##,
        );
        assert_eq!((j.event_id, j.level, j.record_id, j.qualifiers), (1149, 4, Some(6433), None));
        assert_eq!(j.activity_id.as_deref(), Some("{f4208cec-4df9-4d54-882a-4c115abc0000}"));
        assert_eq!(j.fields.get("Param1").map(String::as_str), Some("admmig"));
        assert_eq!(j.fields.get("Param2").map(String::as_str), Some(""));

        // No EventID: not typed.
        assert!(typed(&serde_json::json!({"Event":{"System":{}}})).is_none());
        assert!(typed(&serde_json::json!([])).is_none());
    }
}
