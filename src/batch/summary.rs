//! The cross-case summary: one `Row` per case, the table writers and the tallies.
//!
//! CSV goes through the `csv` crate in every build (quoted only where needed, two decimals,
//! RFC 3339 times to the microsecond: the text polars used to write); Markdown is written here.
//! With the `timeline` feature the rows also become a polars DataFrame (typed columns: UTC
//! datetimes, unsigned counts) for Parquet. Cells are written as they are: no spreadsheet
//! formula guard (a cell starting with `=` stays as it is).
//! Tallies per cause, server and day are computed from the rows in plain Rust, sorted by count
//! then name, so that both builds print the same thing.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::analyze::{Analysis, Attempt};
use crate::error::{Error, Result};
use crate::time::Ts;
use crate::vocab::Severity;

/// One case in the summary. `None` is an empty cell (e.g. every analysis column of a case that
/// could not be analysed).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    pub case: String,
    /// The case-level cause (DESIGN.md vocabulary).
    pub cause: Option<String>,
    pub confidence: Option<f64>,
    /// The first failed phase of the representative connection.
    pub phase: Option<String>,
    /// The client-side code the cause usually shows as (e.g. 0x904).
    pub client_code: Option<String>,
    pub server: Option<String>,
    pub client: Option<String>,
    /// The user name from the client's RDP cookie (`mstshash`), when sent.
    pub user: Option<String>,
    /// Start of the first and the last failed connection.
    pub first_failure: Option<Ts>,
    pub last_failure: Option<Ts>,
    /// Connection attempts found, and how many of them failed.
    pub attempts: Option<u64>,
    pub failed_attempts: Option<u64>,
    /// Inputs analysed, their warnings (damage recovered from), files skipped as unusable.
    pub inputs: Option<u64>,
    pub warnings: Option<u64>,
    pub skipped: Option<u64>,
    /// Why the case could not be analysed, or its reports not written.
    pub error: Option<String>,
}

/// Column names, in order.
pub const COLUMNS: [&str; 16] = [
    "case",
    "cause",
    "confidence",
    "phase",
    "client_code",
    "server",
    "client",
    "user",
    "first_failure",
    "last_failure",
    "attempts",
    "failed_attempts",
    "inputs",
    "warnings",
    "skipped",
    "error",
];

/// Digits after the second in summary times.
const TIME_DIGITS: u8 = 6;

impl Row {
    /// A case that could not be analysed.
    pub fn error(case: &str, message: impl Into<String>) -> Row {
        Row { case: case.to_string(), error: Some(message.into()), ..Row::default() }
    }

    /// Reduces a finished analysis to its row.
    pub fn from_analysis(case: &str, a: &Analysis) -> Row {
        let d = a.diagnosis.as_ref();
        // The connection the verdict rests on; without one (nothing failed), the first attempt
        // with the case's cause (the healthy session), preferring those seen in a capture.
        let cause = d.map(|d| d.cause);
        let has_cause = |t: &Attempt| t.verdict.is_some_and(|v| Some(v.cause) == cause);
        let captured = |t: &Attempt| t.conn.tcp.is_some() || t.conn.udp.is_some();
        let shown = d
            .and_then(|d| d.connection.as_deref())
            .and_then(|id| a.attempt_by_id(id))
            .or_else(|| a.attempts().find(|t| has_cause(t) && captured(t)))
            .or_else(|| a.attempts().find(has_cause))
            .or_else(|| a.attempts().find(captured))
            .or_else(|| a.attempt(0))
            .map(|t| t.conn);
        let failing: Vec<Ts> = a
            .attempts()
            .filter(|t| t.verdict.is_some_and(|v| v.severity == Severity::Error))
            .map(|t| t.conn.start)
            .collect();
        let text = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
        Row {
            case: case.to_string(),
            cause: d.and_then(|d| text(d.cause.as_str())),
            confidence: d.map(|d| d.confidence),
            phase: shown.and_then(|c| c.failed_phase).and_then(|p| text(p.as_str())),
            client_code: d.and_then(|d| text(d.client_code.text)),
            server: shown.and_then(|c| text(&c.server.to_string())),
            client: shown.and_then(|c| text(&c.client.to_string())),
            user: shown.and_then(|c| c.negotiation.cookie.as_deref()).and_then(text),
            first_failure: failing.iter().min().copied(),
            last_failure: failing.iter().max().copied(),
            attempts: Some(a.connections.len() as u64),
            failed_attempts: Some(d.map_or(failing.len(), |d| d.failed_attempts) as u64),
            inputs: Some(a.inputs.len() as u64),
            warnings: Some(a.inputs.iter().map(|i| i.warnings).sum()),
            skipped: Some(a.skipped_files.len() as u64),
            error: None,
        }
    }

    /// A failed connection was diagnosed in this case.
    pub fn failed(&self) -> bool {
        self.failed_attempts.is_some_and(|n| n > 0)
    }

    /// The cells as text, in `COLUMNS` order (`None` for an empty cell).
    pub fn cells(&self) -> [Option<String>; 16] {
        let n = |v: Option<u64>| v.map(|v| v.to_string());
        let t = |v: Option<Ts>| v.map(|t| t.rfc3339(TIME_DIGITS));
        [
            Some(self.case.clone()),
            self.cause.clone(),
            self.confidence.map(|c| format!("{c:.2}")),
            self.phase.clone(),
            self.client_code.clone(),
            self.server.clone(),
            self.client.clone(),
            self.user.clone(),
            t(self.first_failure),
            t(self.last_failure),
            n(self.attempts),
            n(self.failed_attempts),
            n(self.inputs),
            n(self.warnings),
            n(self.skipped),
            self.error.clone(),
        ]
    }
}

/// Summary file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SummaryFormat {
    Csv,
    Parquet,
    Markdown,
}

impl SummaryFormat {
    /// The format named by a file's extension; an error names the supported ones, and Parquet is
    /// an error in a build without polars.
    pub fn from_path(path: &Path) -> Result<SummaryFormat> {
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
        let format = match ext.as_str() {
            "csv" => SummaryFormat::Csv,
            "parquet" | "pq" => SummaryFormat::Parquet,
            "md" | "markdown" => SummaryFormat::Markdown,
            _ => {
                return Err(Error::input(
                    path,
                    "unknown summary format: the file name should end in .csv, .parquet or .md",
                ));
            }
        };
        if format == SummaryFormat::Parquet && !cfg!(feature = "timeline") {
            return Err(Error::input(
                path,
                "Parquet needs polars, and this rdplog was built without the `timeline` feature; \
                 write .csv or .md, or rebuild with default features",
            ));
        }
        Ok(format)
    }

    pub fn name(self) -> &'static str {
        match self {
            SummaryFormat::Csv => "CSV",
            SummaryFormat::Parquet => "Parquet",
            SummaryFormat::Markdown => "Markdown",
        }
    }
}

/// Writes the summary table to `path`.
pub fn write_file(rows: &[Row], path: &Path, format: SummaryFormat) -> Result<()> {
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let file = std::fs::File::create(path).map_err(io)?;
    let mut w = BufWriter::new(file);
    write(rows, format, &mut w).map_err(|e| Error::input(path, format!("cannot write the summary: {e}")))?;
    w.flush().map_err(io)
}

/// Writes the summary table in `format`.
pub fn write(rows: &[Row], format: SummaryFormat, w: &mut dyn Write) -> std::result::Result<(), String> {
    match format {
        SummaryFormat::Markdown => write_markdown(rows, w).map_err(|e| e.to_string()),
        SummaryFormat::Csv => write_csv(rows, w).map_err(|e| e.to_string()),
        #[cfg(feature = "timeline")]
        SummaryFormat::Parquet => table::write_parquet(rows, w).map_err(|e| e.to_string()),
        #[cfg(not(feature = "timeline"))]
        SummaryFormat::Parquet => Err("Parquet needs the `timeline` feature (polars)".to_string()),
    }
}

/// CSV through the `csv` crate: a field is quoted when it holds a comma, a quote or a line break
/// (quotes doubled); a missing value and an empty string are both an empty cell.
pub fn write_csv(rows: &[Row], w: &mut dyn Write) -> std::io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(COLUMNS)?;
    for row in rows {
        out.write_record(row.cells().iter().map(|c| c.as_deref().unwrap_or_default()))?;
    }
    out.flush()
}

/// A Markdown (GitHub) table; `|` is escaped and line breaks become spaces.
pub fn write_markdown(rows: &[Row], w: &mut dyn Write) -> std::io::Result<()> {
    writeln!(w, "| {} |", COLUMNS.join(" | "))?;
    writeln!(w, "|{}", COLUMNS.map(|_| "---|").concat())?;
    for row in rows {
        let cells: Vec<String> = row.cells().into_iter().map(|c| markdown_cell(c.as_deref().unwrap_or(""))).collect();
        writeln!(w, "| {} |", cells.join(" | "))?;
    }
    Ok(())
}

/// One table cell: line breaks and other control characters become spaces (a cell is one line),
/// and the text is escaped as the reports escape Markdown prose, so that an input-derived value
/// (a user name from a cookie, a host name from a log) cannot open a link, raw HTML, emphasis or
/// a new cell. (Escaping only `|` and `\` let `<img onerror=…>` and `[x](javascript:…)` through.)
fn markdown_cell(s: &str) -> String {
    let flat: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    crate::report::escape::markdown(&flat)
}

/// Makes a message safe for a terminal: control and bidirectional-override characters become `?`.
pub fn printable(s: &str) -> String {
    s.chars().map(|c| if c.is_control() || crate::report::escape::is_bidi_control(c) { '?' } else { c }).collect()
}

#[cfg(feature = "timeline")]
mod table {
    use polars::prelude::*;

    use super::Row;

    /// The summary as a DataFrame: strings, `f64` confidence, UTC datetimes (ns), `u64` counts.
    pub fn to_dataframe(rows: &[Row]) -> PolarsResult<DataFrame> {
        let text = |name: &str, f: &dyn Fn(&Row) -> Option<&str>| {
            Column::new(name.into(), rows.iter().map(f).collect::<Vec<Option<&str>>>())
        };
        let count = |name: &str, f: &dyn Fn(&Row) -> Option<u64>| {
            Column::new(name.into(), rows.iter().map(f).collect::<Vec<Option<u64>>>())
        };
        let time = |name: &str, f: &dyn Fn(&Row) -> Option<crate::time::Ts>| {
            Column::new(name.into(), rows.iter().map(|r| f(r).map(|t| t.0)).collect::<Vec<Option<i64>>>())
                .cast(&DataType::Datetime(TimeUnit::Nanoseconds, None))
        };
        DataFrame::new(
            rows.len(),
            vec![
                text("case", &|r| Some(r.case.as_str())),
                text("cause", &|r| r.cause.as_deref()),
                Column::new("confidence".into(), rows.iter().map(|r| r.confidence).collect::<Vec<Option<f64>>>()),
                text("phase", &|r| r.phase.as_deref()),
                text("client_code", &|r| r.client_code.as_deref()),
                text("server", &|r| r.server.as_deref()),
                text("client", &|r| r.client.as_deref()),
                text("user", &|r| r.user.as_deref()),
                time("first_failure", &|r| r.first_failure)?,
                time("last_failure", &|r| r.last_failure)?,
                count("attempts", &|r| r.attempts),
                count("failed_attempts", &|r| r.failed_attempts),
                count("inputs", &|r| r.inputs),
                count("warnings", &|r| r.warnings),
                count("skipped", &|r| r.skipped),
                text("error", &|r| r.error.as_deref()),
            ],
        )
    }

    pub fn write_parquet(rows: &[Row], w: &mut dyn std::io::Write) -> PolarsResult<()> {
        let mut df = to_dataframe(rows)?;
        ParquetWriter::new(w).finish(&mut df).map(|_| ())
    }
}

#[cfg(feature = "timeline")]
pub use table::to_dataframe;

/// A count of cases by one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    pub title: &'static str,
    pub key: &'static str,
    /// (key, cases, cases with a failed connection), most cases first, then by key.
    pub lines: Vec<(String, u64, u64)>,
}

impl Tally {
    fn of(title: &'static str, key: &'static str, rows: &[Row], f: impl Fn(&Row) -> String) -> Tally {
        let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for row in rows {
            let entry = counts.entry(f(row)).or_default();
            entry.0 += 1;
            entry.1 += u64::from(row.failed());
        }
        let mut lines: Vec<(String, u64, u64)> = counts.into_iter().map(|(k, (n, f))| (k, n, f)).collect();
        lines.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Tally { title, key, lines }
    }

    /// An aligned text table under its title.
    pub fn render(&self, w: &mut dyn Write) -> std::io::Result<()> {
        writeln!(w, "{}", self.title)?;
        let width = self.lines.iter().map(|l| l.0.chars().count()).chain([self.key.len()]).max().unwrap_or(0).min(60);
        writeln!(w, "  {:<width$}  {:>5}  {:>6}", self.key, "cases", "failed")?;
        for (key, cases, failed) in &self.lines {
            writeln!(w, "  {:<width$}  {cases:>5}  {failed:>6}", printable(key))?;
        }
        Ok(())
    }
}

/// Cases per cause, per server and per day of the first failure.
pub fn tallies(rows: &[Row]) -> Vec<Tally> {
    let or = |v: &Option<String>, missing: &str| v.clone().unwrap_or_else(|| missing.to_string());
    vec![
        Tally::of("Cases per cause", "cause", rows, |r| {
            if r.cause.is_none() && r.error.is_some() { "(error)".to_string() } else { or(&r.cause, "(none)") }
        }),
        Tally::of("Cases per server", "server", rows, |r| or(&r.server, "(unknown)")),
        Tally::of("Cases per day of the first failure (UTC)", "day", rows, |r| match r.first_failure {
            Some(t) => t.rfc3339(0).get(..10).unwrap_or_default().to_string(),
            None => "(no failure)".to_string(),
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Row> {
        let day = 1_772_442_000_000_000_000; // 2026-03-02T09:00:00Z
        vec![
            Row {
                case: "a".into(),
                cause: Some("certificate".into()),
                confidence: Some(0.9),
                phase: Some("tls".into()),
                client_code: Some("0x904 (2308), or \"0x1\"".into()),
                server: Some("10.0.0.1:3389".into()),
                client: Some("10.0.0.2:50000".into()),
                user: Some("jdoe".into()),
                first_failure: Some(Ts(day + 123_456_789)),
                last_failure: Some(Ts(day + 60_000_000_000)),
                attempts: Some(3),
                failed_attempts: Some(2),
                inputs: Some(5),
                warnings: Some(0),
                skipped: Some(1),
                error: None,
            },
            Row {
                case: "b".into(),
                cause: Some("none".into()),
                confidence: Some(1.0),
                server: Some("10.0.0.1:3389".into()),
                attempts: Some(1),
                failed_attempts: Some(0),
                inputs: Some(1),
                warnings: Some(0),
                skipped: Some(0),
                ..Row::default()
            },
            Row::error("c|d", "x.zip: not a readable zip archive: invalid\nheader"),
        ]
    }

    /// The exact text polars wrote for these rows before the summary switched to the csv crate.
    #[test]
    fn csv_quotes_fields() {
        let mut out = Vec::new();
        write_csv(&rows(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], COLUMNS.join(","));
        assert_eq!(
            lines[1],
            "a,certificate,0.90,tls,\"0x904 (2308), or \"\"0x1\"\"\",10.0.0.1:3389,10.0.0.2:50000,jdoe,\
             2026-03-02T09:00:00.123456Z,2026-03-02T09:01:00.000000Z,3,2,5,0,1,"
        );
        assert_eq!(lines[2], "b,none,1.00,,,10.0.0.1:3389,,,,,1,0,1,0,0,");
        assert!(text.ends_with("c|d,,,,,,,,,,,,,,,\"x.zip: not a readable zip archive: invalid\nheader\"\n"));
    }

    #[test]
    fn hostile_cells_read_back_unchanged() {
        let hostile = ["a,b", "say \"hi\"", "two\nlines", "cr\ronly", "\"", "=cmd|' /C calc'!A0", " padded "];
        let rows: Vec<Row> =
            hostile.iter().map(|h| Row { case: h.to_string(), user: Some(h.to_string()), ..Row::default() }).collect();
        let mut out = Vec::new();
        write_csv(&rows, &mut out).unwrap();
        let mut back = csv::Reader::from_reader(out.as_slice());
        assert_eq!(back.headers().unwrap(), COLUMNS.as_slice());
        let read: Vec<csv::StringRecord> = back.records().collect::<std::result::Result<_, _>>().unwrap();
        assert_eq!(read.len(), hostile.len());
        for (record, h) in read.iter().zip(hostile) {
            assert_eq!((record.len(), &record[0], &record[7], &record[8]), (16, h, h, ""));
        }
    }

    #[cfg(feature = "timeline")]
    #[test]
    fn dataframe_has_typed_columns() {
        use polars::prelude::DataType;
        let df = to_dataframe(&rows()).unwrap();
        assert_eq!(df.height(), 3);
        assert_eq!(df.get_column_names().iter().map(|c| c.as_str()).collect::<Vec<_>>(), COLUMNS);
        assert!(matches!(df.column("first_failure").unwrap().dtype(), DataType::Datetime(_, _)));
        assert_eq!(df.column("attempts").unwrap().dtype(), &DataType::UInt64);
    }

    #[test]
    fn markdown_escapes_cells() {
        let mut out = Vec::new();
        write_markdown(&rows(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 5);
        assert!(text.contains("| c\\|d |"), "{text}");
        assert!(text.contains("invalid header"), "{text}");
    }

    #[test]
    fn tallies_are_sorted_by_count_then_name() {
        let t = tallies(&rows());
        assert_eq!(
            t[0].lines,
            [("(error)".to_string(), 1, 0), ("certificate".to_string(), 1, 1), ("none".to_string(), 1, 0)]
        );
        assert_eq!(t[1].lines, [("10.0.0.1:3389".to_string(), 2, 1), ("(unknown)".to_string(), 1, 0)]);
        assert_eq!(t[2].lines, [("(no failure)".to_string(), 2, 0), ("2026-03-02".to_string(), 1, 1)]);
    }

    #[test]
    fn formats_from_extension() {
        assert_eq!(SummaryFormat::from_path(Path::new("s.CSV")).unwrap(), SummaryFormat::Csv);
        assert_eq!(SummaryFormat::from_path(Path::new("s.md")).unwrap(), SummaryFormat::Markdown);
        assert!(SummaryFormat::from_path(Path::new("s.xlsx")).is_err());
        assert!(SummaryFormat::from_path(Path::new("summary")).is_err());
        assert_eq!(SummaryFormat::from_path(Path::new("s.parquet")).is_ok(), cfg!(feature = "timeline"));
    }
}
