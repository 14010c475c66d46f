//! `rdplog timeline`: the merged table in CSV, JSONL and Parquet, sorted and complete.

use std::path::Path;

use crate::util::{rdplog, stderr};

fn sample(folder: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples").join(folder).display().to_string()
}

#[test]
fn csv_rows_are_time_sorted_with_timesketch_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("t.csv");
    let o = rdplog(&["timeline", &sample("certificate"), "-o", out.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).expect("csv written");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("datetime,timestamp,source,input,host,kind,ref,timestamp_desc,message,fields"));
    let stamps: Vec<i64> =
        lines.map(|l| l.split(',').nth(1).and_then(|t| t.parse().ok()).expect("timestamp")).collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "sorted");
    // certificate sample: 4 RDP connections; the 3 failing ones have 6 milestones each
    // (SYN, SYN+ACK, CR, CC, ClientHello, RST) and the analyst's session more.
    assert!(stamps.len() > 18);
}

#[test]
fn jsonl_to_stdout_and_parquet_needs_a_file() {
    // A capture-only sample: its first row is a packet milestone.
    let o = rdplog(&["timeline", &sample("undetermined"), "--format", "jsonl"]);
    assert_eq!(o.status.code(), Some(0));
    let first = String::from_utf8_lossy(&o.stdout).lines().next().map(str::to_string).unwrap_or_default();
    let row: serde_json::Value = serde_json::from_str(&first).expect("json line");
    assert_eq!(row["source"], "packet");
    assert_eq!(row["timestamp_desc"], "Packet captured");
    let p = rdplog(&["timeline", &sample("none"), "--format", "parquet"]);
    assert_eq!(p.status.code(), Some(2));
    assert!(stderr(&p).contains("-o FILE.parquet"));
}

#[cfg(feature = "timeline")]
#[test]
fn parquet_reads_back_with_polars() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("t.parquet");
    let o = rdplog(&["timeline", &sample("mtu-blackhole"), "-o", out.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let file = std::fs::File::open(&out).expect("parquet written");
    let df = ParquetReader::new(file).finish().expect("parquet reads");
    assert_eq!(df.width(), 11);
    let time = df.column("time").expect("time column");
    assert!(matches!(time.dtype(), DataType::Datetime(TimeUnit::Nanoseconds, _)));
    let csv = rdplog(&["timeline", &sample("mtu-blackhole")]);
    assert_eq!(df.height(), String::from_utf8_lossy(&csv.stdout).lines().count() - 1, "same rows as CSV");
}
