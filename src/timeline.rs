//! The merged timeline: packet milestones and catalogued Windows events on one UTC clock,
//! sorted, as rows and as a polars DataFrame written to CSV, JSONL or Parquet.
//!
//! Columns follow Timesketch's names where they overlap (`datetime`, `timestamp` in µs,
//! `timestamp_desc`, `message`), plus `source` (packet or event), `input` (file), `host`,
//! `kind`, `ref` (frame number or record id) and `fields` (the ids and fields, as JSON).
//! Ties are broken by source, input and reference, so the order never depends on input order.

use serde::Serialize;

use crate::analyze::Analysis;
use crate::time::Ts;

/// One line of the timeline.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Row {
    #[serde(skip)]
    pub ts: Ts,
    pub datetime: String,
    /// Microseconds since the Unix epoch (Timesketch `timestamp`).
    pub timestamp: i64,
    pub source: &'static str,
    pub input: String,
    pub host: String,
    pub kind: String,
    #[serde(rename = "ref")]
    pub reference: String,
    pub timestamp_desc: String,
    pub message: String,
    pub fields: String,
}

/// Builds the sorted timeline of an analysis.
pub fn rows(a: &Analysis) -> Vec<Row> {
    let mut out = Vec::new();
    for c in &a.connections {
        // Joined events appear once, as event rows below.
        for e in c.evidence.iter().filter(|e| e.origin.is_packet()) {
            out.push(Row {
                ts: e.time,
                datetime: e.time.rfc3339(9),
                timestamp: e.time.0.div_euclid(1000),
                source: "packet",
                input: c.input.clone(),
                host: c.server.to_string(),
                kind: format!("rdp-{}", c.transport),
                reference: e.origin.reference(),
                timestamp_desc: "Packet captured".into(),
                message: format!("{} {} -> {}: {}", c.id, c.client, c.server, e.text),
                fields: serde_json::json!({"connection": c.id, "client": c.client, "server": c.server}).to_string(),
            });
        }
    }
    for e in a.events.iter().filter(|e| a.filter.keeps_event(e)) {
        let mut fields = serde_json::Map::new();
        fields.insert("provider".into(), e.provider.clone().into());
        fields.insert("event_id".into(), e.event_id.into());
        if let Some(c) = e.client {
            fields.insert("client".into(), c.to_string().into());
        }
        if let Some(id) = &e.activity_id {
            fields.insert("activity_id".into(), id.clone().into());
        }
        for (k, v) in &e.fields {
            fields.insert(k.clone(), v.clone().into());
        }
        out.push(Row {
            ts: e.ts,
            datetime: e.ts.rfc3339(7),
            timestamp: e.ts.0.div_euclid(1000),
            source: "event",
            input: e.input.clone(),
            host: e.host.clone(),
            kind: serde_json::to_value(e.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
            reference: format!("record {}", e.record_id),
            timestamp_desc: "Event logged".into(),
            message: format!("{} {}: {}", short_provider(&e.provider), e.event_id, e.summary),
            fields: serde_json::Value::Object(fields).to_string(),
        });
    }
    out.sort();
    out
}

/// "Microsoft-Windows-TerminalServices-RemoteConnectionManager" → "RemoteConnectionManager";
/// "Microsoft-Windows-Security-Auditing" → "Security".
pub fn short_provider(p: &str) -> &str {
    if p.ends_with("Security-Auditing") {
        return "Security";
    }
    p.rsplit('-').next().filter(|s| !s.is_empty()).unwrap_or(p)
}

/// Timeline output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TableFormat {
    Csv,
    Jsonl,
    Parquet,
}

impl TableFormat {
    pub fn from_extension(path: &std::path::Path) -> Option<TableFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(TableFormat::Csv),
            "jsonl" | "ndjson" => Some(TableFormat::Jsonl),
            "parquet" => Some(TableFormat::Parquet),
            _ => None,
        }
    }
}

#[cfg(feature = "timeline")]
mod table {
    use polars::prelude::*;

    use super::{Row, TableFormat};

    /// The timeline as a DataFrame: the table later reports and batch summaries build on.
    pub fn to_dataframe(rows: &[Row]) -> PolarsResult<DataFrame> {
        let s = |name: &str, f: &dyn Fn(&Row) -> String| {
            Column::new(name.into(), rows.iter().map(f).collect::<Vec<String>>())
        };
        let time = Column::new("time".into(), rows.iter().map(|r| r.ts.0).collect::<Vec<i64>>())
            .cast(&DataType::Datetime(TimeUnit::Nanoseconds, None))?;
        DataFrame::new(
            rows.len(),
            vec![
                time,
                s("datetime", &|r| r.datetime.clone()),
                Column::new("timestamp".into(), rows.iter().map(|r| r.timestamp).collect::<Vec<i64>>()),
                s("source", &|r| r.source.to_string()),
                s("input", &|r| r.input.clone()),
                s("host", &|r| r.host.clone()),
                s("kind", &|r| r.kind.clone()),
                s("ref", &|r| r.reference.clone()),
                s("timestamp_desc", &|r| r.timestamp_desc.clone()),
                s("message", &|r| r.message.clone()),
                s("fields", &|r| r.fields.clone()),
            ],
        )
    }

    /// Writes the timeline in the chosen format.
    pub fn write(rows: &[Row], format: TableFormat, out: &mut dyn std::io::Write) -> PolarsResult<()> {
        let mut df = to_dataframe(rows)?;
        match format {
            TableFormat::Csv => {
                // CSV carries the ISO `datetime` column; the typed `time` column is for Parquet.
                let mut df = df.drop("time")?;
                CsvWriter::new(out).include_header(true).finish(&mut df)
            }
            TableFormat::Jsonl => {
                let mut df = df.drop("time")?;
                JsonWriter::new(out).with_json_format(JsonFormat::JsonLines).finish(&mut df)
            }
            TableFormat::Parquet => ParquetWriter::new(out).finish(&mut df).map(|_| ()),
        }
    }
}

#[cfg(feature = "timeline")]
pub use table::{to_dataframe, write};
