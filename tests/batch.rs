//! `rdplog batch` over copies of the bundled samples, one of them zipped, plus damaged cases made
//! here: a truncated capture, a folder of junk, a corrupt archive and an archive whose member
//! names try to climb out of the extraction folder.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::util::{rdplog, rdplog_env, stderr};

/// Samples copied as folder cases.
const FOLDER_SAMPLES: [&str; 5] = ["certificate", "none", "udp-blocked", "service-down", "nla-auth"];
/// The sample zipped into an archive case, and the case's name.
const ZIPPED_SAMPLE: (&str, &str) = ("tls-mismatch", "tls-zipped");

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples").join(name)
}

fn expected_cause(name: &str) -> String {
    let text = std::fs::read_to_string(sample(name).join("expected.json")).expect("expected.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("expected.json is JSON");
    v["cause"].as_str().expect("cause").to_string()
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every file under `dir`, relative, with `/` separators, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn zip_members(path: &Path, members: &[(String, Vec<u8>)]) {
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in members {
        w.start_file(name.as_str(), opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap();
}

pub fn zip_dir(dir: &Path, path: &Path) {
    let members: Vec<(String, Vec<u8>)> =
        files_under(dir).into_iter().map(|rel| (rel.clone(), std::fs::read(dir.join(&rel)).unwrap())).collect();
    zip_members(path, &members);
}

/// The cases folder: five sample folders, one zipped sample, and the damaged cases.
fn make_cases(root: &Path) -> PathBuf {
    let cases = root.join("cases");
    for name in FOLDER_SAMPLES {
        copy_dir(&sample(name), &cases.join(name));
    }
    zip_dir(&sample(ZIPPED_SAMPLE.0), &cases.join(format!("{}.zip", ZIPPED_SAMPLE.1)));

    // A capture cut off in the middle of a packet, and a file that is not evidence at all.
    let capture = std::fs::read(sample("firewall-block").join("capture.pcap")).unwrap();
    std::fs::create_dir_all(cases.join("truncated")).unwrap();
    std::fs::write(cases.join("truncated/capture.pcap"), &capture[..capture.len() * 2 / 3 + 1]).unwrap();
    std::fs::write(cases.join("truncated/junk.bin"), b"\x00\x01garbage, not a capture").unwrap();
    // Nothing usable at all.
    std::fs::create_dir_all(cases.join("garbage")).unwrap();
    std::fs::write(cases.join("garbage/capture.pcap"), b"this is not a capture file at all").unwrap();
    // An archive that is not one.
    std::fs::write(cases.join("broken.zip"), b"PK\x03\x04 then nothing that makes sense").unwrap();
    // An archive whose members try to escape; their content is a real capture.
    let members = vec![
        ("../../escaped.pcap".to_string(), capture.clone()),
        ("/abs/escaped2.pcap".to_string(), capture.clone()),
        ("C:\\escaped3.pcap".to_string(), capture),
    ];
    zip_members(&cases.join("hostile.zip"), &members);
    // Loose files are not cases.
    std::fs::write(cases.join("notes.txt"), b"ticket list").unwrap();
    cases
}

/// A small CSV reader (quoted fields, doubled quotes, line breaks inside quotes).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field, mut quoted) = (Vec::new(), Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

/// Summary rows by case name, each a column → value map.
pub fn summary_rows(csv: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let text = std::fs::read_to_string(csv).expect("summary written");
    let mut rows = parse_csv(&text).into_iter();
    let header = rows.next().expect("header");
    rows.map(|r| {
        assert_eq!(r.len(), header.len(), "{r:?}");
        let map: BTreeMap<String, String> = header.iter().cloned().zip(r).collect();
        (map["case"].clone(), map)
    })
    .collect()
}

fn batch(args: &[&str], threads: &str) -> std::process::Output {
    let mut all = vec!["batch", "--quiet"];
    all.extend_from_slice(args);
    rdplog_env(&all, &[("RAYON_NUM_THREADS", threads)])
}

#[test]
fn batch_over_samples_and_damaged_cases() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = make_cases(tmp.path());
    let cases_arg = cases.to_str().unwrap();
    let (one, two) = (tmp.path().join("one.csv"), tmp.path().join("two.csv"));

    let out1 = batch(&[cases_arg, "--summary", one.to_str().unwrap()], "1");
    assert_eq!(out1.status.code(), Some(1), "a failure was diagnosed: {}", stderr(&out1));
    let out2 = batch(&[cases_arg, "--summary", two.to_str().unwrap()], "2");
    assert_eq!(out2.status.code(), Some(1), "{}", stderr(&out2));

    // Same content whatever the number of threads (the overview too, but for the file name).
    assert_eq!(std::fs::read_to_string(&one).unwrap(), std::fs::read_to_string(&two).unwrap());
    let overview = |o: &std::process::Output| {
        String::from_utf8_lossy(&o.stdout).lines().filter(|l| !l.starts_with("Summary:")).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(overview(&out1), overview(&out2));

    let rows = summary_rows(&one);
    let names: Vec<&str> = rows.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "broken",
            "certificate",
            "garbage",
            "hostile",
            "nla-auth",
            "none",
            "service-down",
            "tls-zipped",
            "truncated",
            "udp-blocked"
        ]
    );
    for name in FOLDER_SAMPLES {
        let row = &rows[name];
        assert_eq!(row["cause"], expected_cause(name), "{name}: {row:?}");
        assert_eq!(row["error"], "", "{name}");
        assert!(cases.join(name).join("rdplog-report.json").is_file(), "{name}: JSON report");
        assert!(cases.join(name).join("rdplog-report.txt").is_file(), "{name}: text report");
    }
    let zipped = &rows[ZIPPED_SAMPLE.1];
    assert_eq!(zipped["cause"], expected_cause(ZIPPED_SAMPLE.0), "{zipped:?}");
    let zipped_report = cases.join(format!("{}.rdplog-report.json", ZIPPED_SAMPLE.1));
    let report = std::fs::read_to_string(&zipped_report).expect("report beside the archive");
    assert!(!report.contains("rdplog-batch-"), "the temporary folder leaks into the report");
    assert!(report.contains("tls-zipped.zip/capture.pcap.gz"), "inputs are named inside the archive");

    let certificate = &rows["certificate"];
    assert_eq!(certificate["phase"], "tls");
    assert_eq!(certificate["user"], "jdoe");
    assert!(certificate["first_failure"].starts_with("2026-03-02T"), "{certificate:?}");
    assert!(certificate["first_failure"] <= certificate["last_failure"]);
    assert!(certificate["failed_attempts"].parse::<u64>().unwrap() > 0);
    assert_eq!(rows["none"]["failed_attempts"], "0");

    // Damage: warnings for the truncated capture, errors for the unusable cases.
    let truncated = &rows["truncated"];
    assert!(truncated["warnings"].parse::<u64>().unwrap() > 0 || !truncated["error"].is_empty(), "{truncated:?}");
    assert_eq!(truncated["skipped"], "1", "the junk file is skipped");
    assert!(rows["garbage"]["error"].contains("no capture"), "{:?}", rows["garbage"]);
    assert!(rows["broken"]["error"].contains("zip archive"), "{:?}", rows["broken"]);
    assert_eq!(rows["broken"]["cause"], "");

    // The hostile archive was analysed from inside its temporary folder and nothing escaped.
    assert_eq!(rows["hostile"]["error"], "", "{:?}", rows["hostile"]);
    assert_eq!(rows["hostile"]["inputs"], "3");
    for escaped in ["escaped.pcap", "escaped2.pcap", "escaped3.pcap"] {
        assert!(!tmp.path().join(escaped).exists() && !cases.join(escaped).exists(), "{escaped}");
    }
    assert!(!Path::new("/abs/escaped2.pcap").exists());

    let text = String::from_utf8_lossy(&out1.stdout);
    assert!(text.starts_with("10 case(s)"), "{text}");
    for table in ["Cases per cause", "Cases per server", "Cases per day"] {
        assert!(text.contains(table), "{table}: {text}");
    }
    assert!(text.contains("Cases with an error"), "{text}");

    // A second run does not take the first run's reports for evidence.
    let three = tmp.path().join("three.csv");
    let out3 = batch(&[cases_arg, "--summary", three.to_str().unwrap()], "2");
    assert_eq!(out3.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&one).unwrap(), std::fs::read_to_string(&three).unwrap());
}

#[test]
fn out_dir_markdown_and_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = make_cases(tmp.path());
    let before = files_under(&cases);
    let reports = tmp.path().join("reports");
    let md = tmp.path().join("summary.md");
    let out = batch(
        &[
            cases.to_str().unwrap(),
            "--out",
            reports.to_str().unwrap(),
            "--format",
            "json,md",
            "--summary",
            md.to_str().unwrap(),
        ],
        "2",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(files_under(&cases), before, "with --out nothing is written beside the cases");
    let written = files_under(&reports);
    for case in ["certificate", "hostile", "none", "tls-zipped", "truncated"] {
        for ext in ["json", "md"] {
            let report = format!("{case}/rdplog-report.{ext}");
            assert!(written.contains(&report), "{report} in {written:?}");
        }
    }
    assert!(!written.iter().any(|f| f.starts_with("broken/") || f.ends_with(".txt")), "{written:?}");
    let table = std::fs::read_to_string(&md).unwrap();
    assert!(table.starts_with("| case | cause | confidence |"), "{table}");
    assert_eq!(table.lines().count(), 2 + 10);

    // Two shards cover every case once.
    let mut seen = Vec::new();
    for k in ["1/2", "2/2"] {
        let csv = tmp.path().join(format!("shard-{}.csv", &k[..1]));
        let o = batch(&[cases.to_str().unwrap(), "--shard", k, "--summary", csv.to_str().unwrap()], "1");
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains(&format!("(shard {k} of 10 cases)")));
        seen.extend(summary_rows(&csv).into_keys());
    }
    seen.sort();
    assert_eq!(seen.len(), 10);
    seen.dedup();
    assert_eq!(seen.len(), 10);
}

#[cfg(feature = "timeline")]
#[test]
fn parquet_shards_concatenate_with_polars() {
    use polars::prelude::*;
    let tmp = tempfile::tempdir().unwrap();
    let cases = tmp.path().join("cases");
    for name in FOLDER_SAMPLES {
        copy_dir(&sample(name), &cases.join(name));
    }
    let mut frames = Vec::new();
    for k in ["1/2", "2/2"] {
        let file = tmp.path().join(format!("shard-{}.parquet", &k[..1]));
        let o = batch(&[cases.to_str().unwrap(), "--shard", k, "--summary", file.to_str().unwrap()], "2");
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
        frames.push(ParquetReader::new(std::fs::File::open(&file).unwrap()).finish().unwrap());
    }
    let mut all = frames[0].clone();
    all.vstack_mut(&frames[1]).unwrap();
    assert_eq!(all.height(), FOLDER_SAMPLES.len());
    assert!(matches!(all.column("first_failure").unwrap().dtype(), DataType::Datetime(_, _)));
    let cause = all.column("cause").unwrap().str().unwrap().clone();
    let mut causes: Vec<String> = (0..cause.len()).map(|i| cause.get(i).unwrap_or("").to_string()).collect();
    causes.sort();
    let mut expected: Vec<String> = FOLDER_SAMPLES.iter().map(|s| expected_cause(s)).collect();
    expected.sort();
    assert_eq!(causes, expected);
}

#[test]
fn unusable_cases_folder_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing");
    let o = rdplog(&["batch", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing"), "{}", stderr(&o));

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("loose.pcap"), b"x").unwrap();
    let o = rdplog(&["batch", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no case found"), "{}", stderr(&o));

    // The summary's format is checked before any case runs.
    let cases = tmp.path().join("cases");
    copy_dir(&sample("none"), &cases.join("none"));
    let o = rdplog(&["batch", cases.to_str().unwrap(), "--summary", tmp.path().join("s.xlsx").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains(".csv, .parquet or .md"), "{}", stderr(&o));
    assert!(!cases.join("none/rdplog-report.json").exists());

    let o = rdplog(&["batch", cases.to_str().unwrap(), "--shard", "3/2"]);
    assert_eq!(o.status.code(), Some(2));

    // Only healthy cases: exit 0.
    let o = rdplog(&["batch", cases.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
