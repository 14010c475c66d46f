//! `rdplog batch`: many cases at once, reduced to one summary row each.
//!
//! A case is a sub-folder or a `.zip` archive of the cases directory (hidden entries and loose
//! files are ignored). Cases are the unit of parallelism: each runs as one task on the caller's
//! rayon pool (`rdplog batch -j N` installs one of N workers; default one per core), and
//! `analyze` fans out across the case's files and event-log chunks on the same pool (never a
//! nested one). A finished case writes its reports, becomes a `Row`, and its `Analysis` is
//! dropped, so memory is bounded by the cases in flight (one per worker), never by the batch.
//!
//! A case that cannot be analysed (unreadable, corrupt archive, nothing usable, even a panic)
//! becomes a row with an error; the batch goes on. Only an unusable cases directory is an error.
//!
//! `archive` unpacks zip cases safely; `summary` holds the row type, the table writers (CSV,
//! Parquet, Markdown) and the cross-case tallies.

pub mod archive;
pub mod summary;

use std::collections::BTreeSet;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::analyze::{self, Analysis};
use crate::error::{Error, Result};
use crate::report::{self, Format};

pub use summary::{Row, SummaryFormat};

/// File name stem of the reports a case gets (`rdplog-report.json`, `.txt`, `.md`, `.html`).
pub const REPORT_STEM: &str = "rdplog-report";

/// Extensions of every report format, for recognising our own files on a second run.
const REPORT_EXTENSIONS: [&str; 4] = ["json", "txt", "md", "html"];

/// The file extension a report format is written with.
pub fn report_extension(format: Format) -> &'static str {
    match format {
        Format::Json => "json",
        Format::Text => "txt",
        Format::Md => "md",
        Format::Html => "html",
    }
}

/// What a case is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaseKind {
    Folder,
    Zip,
}

/// One case of the batch.
#[derive(Clone, Debug)]
pub struct Case {
    /// One safe path component, unique in the batch (case-insensitively): the summary's `case`
    /// column and the folder name under `--out`.
    pub name: String,
    pub path: PathBuf,
    pub kind: CaseKind,
}

/// `--shard K/N`: this run takes the cases at positions K, K+N, K+2N, … (1-based) of the sorted
/// case list, so N machines given 1/N … N/N cover every case exactly once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Whether the case at `position` (0-based, in the sorted list) belongs to this shard.
    pub fn takes(&self, position: usize) -> bool {
        position % self.count == self.index - 1
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Shard, String> {
        let usage = || format!("expected K/N with 1 ≤ K ≤ N, e.g. 2/5; got {s:?}");
        let (k, n) = s.split_once('/').ok_or_else(usage)?;
        let index: usize = k.trim().parse().map_err(|_| usage())?;
        let count: usize = n.trim().parse().map_err(|_| usage())?;
        if index == 0 || count == 0 || index > count {
            return Err(usage());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// How to run a batch.
#[derive(Clone, Debug)]
pub struct Options {
    pub cases_dir: PathBuf,
    /// Write reports to `out/<case>/` instead of next to each case.
    pub out: Option<PathBuf>,
    /// Report formats per case; none writes no report.
    pub formats: Vec<Format>,
    pub shard: Option<Shard>,
    /// Where to write the summary table (format from the extension).
    pub summary: Option<PathBuf>,
    /// Draw a progress bar on stderr (the caller checks that stderr is a terminal).
    pub progress: bool,
    /// Zip archive limits (members, unpacked size, ratio).
    pub archive: archive::Limits,
    /// Analysis limits for every case (`crate::limits`).
    pub limits: crate::limits::Limits,
    /// The attempts each case's diagnosis answers about (`--client`, `--user`, ...).
    pub filter: crate::filter::Filter,
    /// Skip each input's SHA-256 (`--no-hash`).
    pub no_hash: bool,
}

impl Options {
    /// JSON and text reports next to each case, no summary file, no progress bar.
    pub fn new(cases_dir: impl Into<PathBuf>) -> Options {
        Options {
            cases_dir: cases_dir.into(),
            out: None,
            formats: vec![Format::Json, Format::Text],
            shard: None,
            summary: None,
            progress: false,
            archive: archive::Limits::default(),
            limits: crate::limits::Limits::default(),
            filter: crate::filter::Filter::default(),
            no_hash: false,
        }
    }
}

/// A finished batch: one row per case of this shard, in case-name order.
#[derive(Clone, Debug)]
pub struct Batch {
    pub rows: Vec<Row>,
    /// Cases in the whole directory (before sharding).
    pub total_cases: usize,
    pub shard: Option<Shard>,
    /// The summary file written, with its format.
    pub summary: Option<(PathBuf, SummaryFormat)>,
}

impl Batch {
    /// At least one case diagnosed a failed connection (the exit-code-1 rule of `analyze`).
    pub fn any_failure(&self) -> bool {
        self.rows.iter().any(Row::failed)
    }
}

/// Runs every case of the shard in parallel and writes the summary file.
///
/// Errors only for what makes the whole batch impossible: the cases directory cannot be read or
/// holds no case, `--out` cannot be created, the summary format is unknown or cannot be written.
pub fn run(opts: &Options) -> Result<Batch> {
    // Check the summary's format before spending time on the cases.
    let summary_format = opts.summary.as_deref().map(SummaryFormat::from_path).transpose()?;
    let all = discover(&opts.cases_dir, opts.out.as_deref())?;
    if all.is_empty() {
        return Err(Error::input(
            &opts.cases_dir,
            "no case found: the cases folder should hold one sub-folder or .zip archive per case",
        ));
    }
    if let Some(out) = &opts.out {
        std::fs::create_dir_all(out).map_err(|source| Error::Io { path: out.clone(), source })?;
    }
    let cases: Vec<&Case> =
        all.iter().enumerate().filter(|(i, _)| opts.shard.is_none_or(|s| s.takes(*i))).map(|(_, c)| c).collect();

    let bar = progress_bar(opts.progress, cases.len());
    let rows: Vec<Row> = cases
        .par_iter()
        .map(|case| {
            let row = run_guarded(case, opts);
            bar.set_message(case.name.clone());
            bar.inc(1);
            row
        })
        .collect();
    bar.finish_and_clear();

    let summary = match (&opts.summary, summary_format) {
        (Some(path), Some(format)) => {
            summary::write_file(&rows, path, format)?;
            Some((path.clone(), format))
        }
        _ => None,
    };
    Ok(Batch { rows, total_cases: all.len(), shard: opts.shard, summary })
}

fn progress_bar(visible: bool, len: usize) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{elapsed_precise} {wide_bar} {pos}/{len} cases, {eta} left  {msg}")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(250));
    bar
}

/// The cases of a directory, sorted by file name, with safe unique names. `exclude` (the
/// `--out` folder) is never a case, even when it sits inside the cases directory.
pub fn discover(dir: &Path, exclude: Option<&Path>) -> Result<Vec<Case>> {
    let io = |source| Error::Io { path: dir.to_path_buf(), source };
    let meta = std::fs::metadata(dir).map_err(io)?;
    if !meta.is_dir() {
        return Err(Error::input(dir, "not a folder: give the folder that holds one sub-folder or .zip per case"));
    }
    let excluded = exclude.and_then(|p| std::fs::canonicalize(p).ok());
    let mut entries: Vec<(std::ffi::OsString, PathBuf)> =
        std::fs::read_dir(dir).map_err(io)?.filter_map(|e| e.ok()).map(|e| (e.file_name(), e.path())).collect();
    entries.sort();
    let mut taken = BTreeSet::new();
    let mut cases = Vec::new();
    for (file_name, path) in entries {
        let file_name = file_name.to_string_lossy().into_owned();
        if file_name.starts_with('.') {
            continue;
        }
        // `metadata` follows a link: a linked case folder is a case.
        let Ok(meta) = std::fs::metadata(&path) else { continue };
        let (kind, base) = if meta.is_dir() {
            (CaseKind::Folder, file_name.as_str())
        } else if meta.is_file() && has_zip_extension(&file_name) {
            (CaseKind::Zip, file_name.get(..file_name.len() - 4).unwrap_or(&file_name))
        } else {
            continue;
        };
        if excluded.is_some() && std::fs::canonicalize(&path).ok() == excluded {
            continue;
        }
        let name = unique_name(safe_name(base).unwrap_or_else(|| "case".to_string()), &mut taken);
        cases.push(Case { name, path, kind });
    }
    Ok(cases)
}

fn has_zip_extension(name: &str) -> bool {
    name.len() > 4 && name.get(name.len() - 4..).is_some_and(|e| e.eq_ignore_ascii_case(".zip"))
}

/// `name`, or `name~2`, `name~3`, … when a case already has it (compared case-insensitively, as
/// on Windows and macOS file systems).
fn unique_name(name: String, taken: &mut BTreeSet<String>) -> String {
    let mut candidate = name.clone();
    let mut n = 2;
    while !taken.insert(candidate.to_lowercase()) {
        candidate = format!("{name}~{n}");
        n += 1;
    }
    candidate
}

/// Longest name kept for a case or an unpacked file, in characters.
const MAX_NAME_CHARS: usize = 120;
/// …and in bytes: file systems limit a name to 255 bytes, and the name must leave room for a
/// `~N` suffix and `.rdplog-report.html` (120 characters of CJK text are 360 bytes, and an
/// archive member named so made its whole case fail with "File name too long").
const MAX_NAME_BYTES: usize = 200;

/// Turns an untrusted name into one harmless path component, or `None` when nothing is left.
///
/// Keeps letters, digits, spaces and `-_.%+@#,=~()[]`; anything else (separators, `:`, control
/// characters, quotes) becomes `_`. Leading spaces and trailing dots and spaces are dropped (Windows
/// drops them too), which also turns `.` and `..` into nothing. Device names reserved on
/// Windows (`CON`, `NUL`, `COM1`, …) get a leading `_`.
pub fn safe_name(raw: &str) -> Option<String> {
    let mut bytes = 0;
    let mapped: String = raw
        .chars()
        .map(|c| if c.is_alphanumeric() || "-_. %+@#,=~()[]".contains(c) { c } else { '_' })
        .take(MAX_NAME_CHARS)
        .take_while(|c| {
            bytes += c.len_utf8();
            bytes <= MAX_NAME_BYTES
        })
        .collect();
    let trimmed = mapped.trim_start_matches(' ').trim_end_matches(['.', ' ']);
    if trimmed.is_empty() {
        return None;
    }
    let stem = trimmed.split('.').next().unwrap_or(trimmed).trim_end().to_ascii_uppercase();
    let reserved = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes().get(3).is_some_and(u8::is_ascii_digit));
    Some(if reserved { format!("_{trimmed}") } else { trimmed.to_string() })
}

/// Runs one case; a panic inside the analysis becomes the case's error instead of ending the
/// batch.
fn run_guarded(case: &Case, opts: &Options) -> Row {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_case(case, opts))) {
        Ok(row) => row,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Row::error(&case.name, format!("internal error while analysing the case (please report it): {what}"))
        }
    }
}

fn run_case(case: &Case, opts: &Options) -> Row {
    let mut analysis = match analyse_case(case, opts) {
        Ok(a) => a,
        Err(message) => return Row::error(&case.name, message),
    };
    let mut row = Row::from_analysis(&case.name, &analysis);
    if let Err(message) = write_reports(case, opts, &mut analysis) {
        row.error = Some(message);
    }
    row
}

/// Unpacks (for an archive), resolves and analyses one case.
fn analyse_case(case: &Case, opts: &Options) -> std::result::Result<Analysis, String> {
    match case.kind {
        CaseKind::Folder => analyse_folder(&case.path, &case.path, None, opts),
        CaseKind::Zip => {
            let unpacked = archive::extract(&case.path, &opts.archive).map_err(|e| e.to_string())?;
            // Reports and messages name `cases/x.zip/member`, never the temporary folder.
            let temp = unpacked.dir().display().to_string();
            let shown = case.path.display().to_string();
            let mut analysis = analyse_folder(unpacked.dir(), unpacked.dir(), Some((&temp, &shown)), opts)
                .map_err(|message| message.replace(&temp, &shown))?;
            analysis.skipped_files.extend(unpacked.notes.iter().cloned());
            Ok(analysis)
        }
    }
}

/// Resolves and analyses a folder. `rename` = (prefix, replacement) renames the inputs (and the
/// skipped-file notes) before analysis, so every stage names them the way the report should.
fn analyse_folder(
    dir: &Path,
    case_root: &Path,
    rename: Option<(&str, &str)>,
    opts: &Options,
) -> std::result::Result<Analysis, String> {
    let mut skipped = Vec::new();
    let mut inputs = crate::input::resolve(&[dir.to_path_buf()], &mut skipped).map_err(|e| e.to_string())?;
    // Reports of an earlier run sit in the case folder: they are ours, not evidence.
    let own: Vec<String> = REPORT_EXTENSIONS
        .iter()
        .map(|ext| format!("{}: ", case_root.join(format!("{REPORT_STEM}.{ext}")).display()))
        .collect();
    skipped.retain(|s| !own.iter().any(|prefix| s.starts_with(prefix.as_str())));
    if let Some((from, to)) = rename {
        for i in &mut inputs {
            i.name = i.name.replace(from, to);
        }
        for s in &mut skipped {
            *s = s.replace(from, to);
        }
    }
    let mut analysis = analyze::analyze_with(
        &inputs,
        &analyze::Options { skew: None, limits: opts.limits, filter: opts.filter.clone(), no_hash: opts.no_hash },
    )
    .map_err(|e| e.to_string())?;
    // The pool the batch runs in (`-j`): cases and their files share its workers.
    analysis.threads = Some(rayon::current_num_threads());
    analysis.skipped_files = skipped;
    Ok(analysis)
}

/// Where a case's report in `format` goes: `out/<case>/rdplog-report.<ext>` with `--out`, else
/// `<case>/rdplog-report.<ext>` for a folder and `<cases-dir>/<case>.rdplog-report.<ext>` beside
/// an archive (a folder there would become a case of the next run).
pub fn report_path(case: &Case, out: Option<&Path>, format: Format) -> PathBuf {
    let ext = report_extension(format);
    match (out, case.kind) {
        (Some(out), _) => out.join(&case.name).join(format!("{REPORT_STEM}.{ext}")),
        (None, CaseKind::Folder) => case.path.join(format!("{REPORT_STEM}.{ext}")),
        (None, CaseKind::Zip) => {
            let dir = case.path.parent().unwrap_or(Path::new("."));
            dir.join(format!("{}.{REPORT_STEM}.{ext}", case.name))
        }
    }
}

fn write_reports(case: &Case, opts: &Options, analysis: &mut Analysis) -> std::result::Result<(), String> {
    if let (Some(out), false) = (&opts.out, opts.formats.is_empty()) {
        let dir = out.join(&case.name);
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    for &format in &opts.formats {
        let path = report_path(case, opts.out.as_deref(), format);
        let write = || -> std::io::Result<()> {
            let mut w = BufWriter::new(std::fs::File::create(&path)?);
            report::render_with(analysis, &report::Options::new(format), &mut w)?;
            w.flush()
        };
        write().map_err(|e| format!("cannot write the report {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Prints the batch overview: counts, the tallies per cause, server and day, the cases that
/// could not be analysed, and where the summary went.
pub fn print_overview(b: &Batch, w: &mut dyn Write) -> std::io::Result<()> {
    let failed = b.rows.iter().filter(|r| r.failed()).count();
    let errors: Vec<&Row> = b.rows.iter().filter(|r| r.error.is_some()).collect();
    let scope = match b.shard {
        Some(s) => format!(" (shard {s} of {} cases)", b.total_cases),
        None => String::new(),
    };
    writeln!(w, "{} case(s){scope}: {failed} with a failed connection, {} with an error", b.rows.len(), errors.len())?;
    for tally in summary::tallies(&b.rows) {
        writeln!(w)?;
        tally.render(w)?;
    }
    if !errors.is_empty() {
        writeln!(w, "\nCases with an error")?;
        for r in errors {
            let message = r.error.as_deref().unwrap_or_default();
            writeln!(w, "  {}: {}", summary::printable(&r.case), summary::printable(message))?;
        }
    }
    if let Some((path, format)) = &b.summary {
        writeln!(w, "\nSummary: {} ({}, {} row(s))", path.display(), format.name(), b.rows.len())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_parses_and_partitions() {
        assert_eq!("2/5".parse::<Shard>(), Ok(Shard { index: 2, count: 5 }));
        for bad in ["0/3", "4/3", "1/0", "x/2", "2", "", "1/2/3", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let shards: Vec<Shard> = (1..=3).map(|k| Shard { index: k, count: 3 }).collect();
        for position in 0..10 {
            assert_eq!(shards.iter().filter(|s| s.takes(position)).count(), 1, "position {position}");
        }
    }

    #[test]
    fn names_are_single_harmless_components() {
        assert_eq!(safe_name("ticket 4711").as_deref(), Some("ticket 4711"));
        assert_eq!(safe_name("a/b\\c:d").as_deref(), Some("a_b_c_d"));
        assert_eq!(safe_name("..").as_deref(), None);
        assert_eq!(safe_name(".").as_deref(), None);
        assert_eq!(safe_name(" . ").as_deref(), None);
        assert_eq!(safe_name("../x").as_deref(), Some(".._x"));
        assert_eq!(safe_name("evil\nname\u{7}").as_deref(), Some("evil_name_"));
        assert_eq!(safe_name("CON").as_deref(), Some("_CON"));
        assert_eq!(safe_name("com1.txt").as_deref(), Some("_com1.txt"));
        assert_eq!(safe_name("COM10").as_deref(), Some("COM10"));
        assert_eq!(safe_name(&"x".repeat(500)).map(|s| s.len()), Some(MAX_NAME_CHARS));
        assert_eq!(safe_name(&"漢".repeat(150)).map(|s| s.len()), Some(MAX_NAME_BYTES / 3 * 3));
        for raw in ["../../etc/x", "/abs/path", "C:\\x", "..\\..", "a\0b"] {
            if let Some(n) = safe_name(raw) {
                assert!(!n.contains(['/', '\\', '\0', ':']) && n != ".." && n != ".", "{raw} -> {n}");
            }
        }
    }

    #[test]
    fn duplicate_names_get_a_suffix() {
        let mut taken = BTreeSet::new();
        assert_eq!(unique_name("case".into(), &mut taken), "case");
        assert_eq!(unique_name("Case".into(), &mut taken), "Case~2");
        assert_eq!(unique_name("case".into(), &mut taken), "case~3");
    }

    #[test]
    fn discovers_folders_and_archives_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("b-case")).unwrap();
        std::fs::create_dir(root.join("a-case")).unwrap();
        std::fs::create_dir(root.join(".hidden")).unwrap();
        std::fs::create_dir(root.join("reports")).unwrap();
        std::fs::write(root.join("c.ZIP"), b"PK").unwrap();
        std::fs::write(root.join("a-case.zip"), b"PK").unwrap();
        std::fs::write(root.join("notes.txt"), b"x").unwrap();
        let cases = discover(root, Some(&root.join("reports"))).unwrap();
        let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a-case", "a-case~2", "b-case", "c"]);
        assert_eq!(cases[1].kind, CaseKind::Zip);
        assert!(discover(&root.join("notes.txt"), None).is_err());
        assert!(discover(&root.join("missing"), None).is_err());
    }

    #[test]
    fn report_paths_stay_under_out() {
        let case = Case { name: "x".into(), path: PathBuf::from("cases/x.zip"), kind: CaseKind::Zip };
        assert_eq!(report_path(&case, None, Format::Json), PathBuf::from("cases/x.rdplog-report.json"));
        assert_eq!(report_path(&case, Some(Path::new("out")), Format::Text), PathBuf::from("out/x/rdplog-report.txt"));
        let folder = Case { name: "y".into(), path: PathBuf::from("cases/y"), kind: CaseKind::Folder };
        assert_eq!(report_path(&folder, None, Format::Html), PathBuf::from("cases/y/rdplog-report.html"));
    }
}
