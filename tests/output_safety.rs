//! Output safety (issue 9, item 4): no input can make rdplog write outside `--out` (hostile
//! archive member names and case names), output names are sanitised, `analyze -o` writes where it
//! is told, and input-derived text stays inert in every output format and on the terminal.
//!
//! `tests/report.rs` already covers hostile text from inside the inputs (cookie, SNI, certificate
//! subject, event host and user names) in the four report formats; this module adds the vectors
//! it leaves out: file names (a folder's file names reach the reports, warnings, skipped-file
//! lists and stderr), the HTML attribute context, the batch overview on stdout and the batch
//! summary table.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use rdplog::synth::conversation::{Host, Link, TcpConversation};
use rdplog::synth::rdp;
use rdplog::synth::writer::CaptureWriter;
use rdplog::time::Ts;

use crate::util::stderr;

fn sample(rel: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("samples").join(rel)).expect("sample")
}

/// Every entry under `root` (files and folders), relative, sorted; file entries carry their size.
fn tree(root: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let p = entry.expect("entry").path();
            let rel = p.strip_prefix(root).expect("under root").to_string_lossy().into_owned();
            let meta = std::fs::symlink_metadata(&p).expect("metadata");
            if meta.is_dir() {
                out.insert(format!("{rel}/"));
                walk(root, &p, out);
            } else {
                out.insert(format!("{rel} ({} bytes)", meta.len()));
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

/// Every file under `dir`, as paths relative to it.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let p = entry.expect("entry").path();
        if p.is_dir() {
            out.extend(files(&p).into_iter().map(|f| p.strip_prefix(dir).expect("under dir").join(f)));
        } else {
            out.push(p.strip_prefix(dir).expect("under dir").to_path_buf());
        }
    }
    out.sort();
    out
}

fn zip_members(path: &Path, members: &[(&str, &[u8])]) {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).expect("create zip"));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in members {
        w.start_file(*name, opts).expect("member");
        w.write_all(data).expect("member data");
    }
    w.finish().expect("zip");
}

/// `rdplog` with `TMPDIR` pointing into the test's own folder, so that the archive extraction
/// folders are visible to the tree comparison (and must be gone afterwards).
fn rdplog_in(tmpdir: &Path, args: &[&str]) -> std::process::Output {
    crate::util::rdplog_env(args, &[("TMPDIR", tmpdir.to_str().expect("utf-8"))])
}

/// Hostile member names: climbing out, absolute (POSIX and Windows), control characters, names
/// far past the 255-byte limit of file systems in ASCII and in 3-byte UTF-8, and names that are
/// duplicates before or after sanitising.
fn hostile_members(abs: &str) -> Vec<String> {
    vec![
        "../../evil.pcap".into(),
        format!("{abs}/abs.pcap"),
        "..\\..\\win.pcap".into(),
        "C:\\Windows\\drive.pcap".into(),
        "ctl\x1b[31m\x07\nname.pcap".into(),
        format!("{}.pcap", "L".repeat(300)),
        format!("{}.pcap", "漢".repeat(150)),
        "dup.pcap".into(),
        "./dup.pcap".into(),
        "same.pcap".into(),
        "SAMX.pcap".into(), // renamed to a second "same.pcap" in the archive bytes below
    ]
}

#[test]
fn batch_writes_nothing_outside_out_whatever_the_names() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("root");
    let (cases, out, systmp) = (root.join("cases"), root.join("out"), tmp.path().join("systmp"));
    for d in [&cases, &systmp] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    let capture = sample("none/capture.pcap");
    // An absolute member path that must not be created (unique to this run).
    let abs_dir = std::env::temp_dir().join(format!("rdplog-output-safety-{}", std::process::id()));
    let abs = abs_dir.to_str().expect("utf-8").to_string();
    let names = hostile_members(&abs);
    let members: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), capture.as_slice())).collect();
    let archive = cases.join("hostile.zip");
    zip_members(&archive, &members);
    // A true duplicate: the zip writer refuses one, so the second name is patched in place
    // (same length, in the local header and the central directory).
    let mut bytes = std::fs::read(&archive).expect("zip");
    let spots: Vec<usize> = (0..bytes.len() - 9).filter(|&i| &bytes[i..i + 9] == b"SAMX.pcap").collect();
    assert_eq!(spots.len(), 2, "local header and central directory");
    for i in spots {
        bytes[i..i + 9].copy_from_slice(b"same.pcap");
    }
    std::fs::write(&archive, &bytes).expect("patch zip");
    // Hostile case names: folders, and an archive whose name is 249 bytes of UTF-8.
    let mut folders: Vec<String> =
        ["evil\x1b]8;;x\x07name", "new\nline", "CON", "$(touch pwned)", "a:b", " spaced "].map(String::from).to_vec();
    folders.extend(["Y".repeat(255), "漢".repeat(85)]); // 255 bytes: the longest name allowed
    for f in &folders {
        std::fs::create_dir(cases.join(f)).expect("case folder");
        std::fs::write(cases.join(f).join("capture.pcap"), &capture).expect("capture");
    }
    std::fs::copy(&archive, cases.join(format!("{}.zip", "漢".repeat(83)))).expect("copy zip");

    let before = tree(tmp.path());
    let summary = out.join("summary.md");
    let o = rdplog_in(
        &systmp,
        &[
            "batch",
            "--quiet",
            cases.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
            "--format",
            "json,text,md,html",
            "--summary",
            summary.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let overview = String::from_utf8_lossy(&o.stdout);
    assert!(overview.starts_with("10 case(s): 0 with a failed connection, 0 with an error"), "{overview}");

    // Outside `--out` nothing changed: not the cases, not the parent of --out, not the temporary
    // folder (the extraction folders are removed), not the absolute path of a member.
    let outside: BTreeSet<String> =
        tree(tmp.path()).into_iter().filter(|e| e == "root/out/" || !e.starts_with("root/out/")).collect();
    let mut expected = before.clone();
    expected.insert("root/out/".to_string());
    assert_eq!(outside, expected, "only --out was written to");
    assert!(!abs_dir.exists(), "{abs_dir:?} created from a member name");

    // Under --out: one folder per case with a safe name (one component of at most 200 bytes,
    // no control characters, separators or reserved device names), four reports each.
    let dirs: BTreeSet<String> = std::fs::read_dir(&out)
        .expect("out")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != "summary.md")
        .collect();
    let kanji66 = "漢".repeat(66); // 200 bytes / 3 bytes a character
    let expected: BTreeSet<String> = [
        "evil_]8__x_name",
        "new_line",
        "_CON",
        "_(touch pwned)",
        "a_b",
        "spaced",
        &"Y".repeat(120),
        "hostile",
        &kanji66,                // the archive sorts first ("." < "漢")…
        &format!("{kanji66}~2"), // …so the folder, cut to the same name, gets the suffix
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(dirs, expected);
    for d in &dirs {
        assert!(d.len() <= 204 && !d.chars().any(|c| c.is_control() || "/\\:".contains(c)), "{d:?}");
        let reports: Vec<PathBuf> = files(&out.join(d));
        let names: Vec<String> = reports.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["rdplog-report.html", "rdplog-report.json", "rdplog-report.md", "rdplog-report.txt"], "{d}");
    }

    // Inside the archive every member was unpacked under a rebuilt name and analysed (80 packets
    // each): the reports name them inside the archive, never the temporary folder.
    let report = std::fs::read_to_string(out.join("hostile/rdplog-report.json")).expect("report");
    assert!(!report.contains("rdplog-batch-") && !report.contains("systmp"), "temporary folder in the report");
    let json: serde_json::Value = serde_json::from_str(&report).expect("JSON");
    let inputs: BTreeSet<String> = json["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|i| {
            assert_eq!(i["records"].as_u64(), Some(80), "{i}");
            let path = i["path"].as_str().expect("path");
            path.split_once("hostile.zip/").expect("named inside the archive").1.to_string()
        })
        .collect();
    let abs_rel = abs.trim_start_matches('/');
    let expected: BTreeSet<String> = [
        "evil.pcap",
        &format!("{abs_rel}/abs.pcap"),
        "win.pcap",
        "Windows/drive.pcap",
        "ctl_[31m__name.pcap",
        &"L".repeat(120),
        &kanji66,
        "dup.pcap",
        "dup.pcap~2",
        // Two members named "same.pcap": the zip reader indexes members by name and yields one.
        "same.pcap",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(inputs, expected);
    assert_eq!(std::fs::read_dir(&systmp).expect("systmp").count(), 0, "extraction folders removed");
}

#[test]
fn batch_without_out_writes_only_the_reports_beside_each_case() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (cases, systmp) = (tmp.path().join("cases"), tmp.path().join("systmp"));
    std::fs::create_dir_all(cases.join("folder case")).expect("mkdir");
    std::fs::create_dir_all(&systmp).expect("mkdir");
    let capture = sample("none/capture.pcap");
    std::fs::write(cases.join("folder case/capture.pcap"), &capture).expect("capture");
    // The longest archive name a file system allows in 3-byte characters (83 × 3 + 4 = 253
    // bytes): its report beside it must still fit in 255 bytes.
    let long = "漢".repeat(83);
    zip_members(&cases.join(format!("{long}.zip")), &[("../../x/capture.pcap", &capture)]);
    let before = tree(tmp.path());
    let o = rdplog_in(&systmp, &["batch", "--quiet", cases.to_str().expect("utf-8"), "--format", "json,html"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let added: Vec<String> =
        tree(tmp.path()).difference(&before).map(|e| e.split(" (").next().unwrap_or(e).to_string()).collect();
    let kanji66 = "漢".repeat(66);
    let mut expected = vec![
        "cases/folder case/rdplog-report.html".to_string(),
        "cases/folder case/rdplog-report.json".to_string(),
        format!("cases/{kanji66}.rdplog-report.html"),
        format!("cases/{kanji66}.rdplog-report.json"),
    ];
    expected.sort();
    assert_eq!(added, expected);
}

#[test]
fn analyze_writes_exactly_the_output_path_given() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("in.pcap");
    std::fs::write(&input, sample("none/capture.pcap")).expect("input");
    std::fs::create_dir_all(tmp.path().join("a/b")).expect("mkdir");
    std::fs::create_dir_all(tmp.path().join("reports dir")).expect("mkdir");
    let before = tree(tmp.path());
    // `-o` is the user's own choice: used as given, `..` and spaces included, nothing else
    // written.
    let target = tmp.path().join("a/b/../../reports dir/rapport été.html");
    let o = crate::util::rdplog(&["analyze", input.to_str().expect("utf-8"), "-o", target.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let added: Vec<String> = tree(tmp.path()).difference(&before).cloned().collect();
    assert_eq!(added.len(), 1, "{added:?}");
    assert!(added[0].starts_with("reports dir/rapport été.html ("), "{added:?}");
    let html = std::fs::read_to_string(tmp.path().join("reports dir/rapport été.html")).expect("report");
    assert!(html.starts_with("<!DOCTYPE html>"), "format from the extension");
    // Into a folder that does not exist: exit 2 naming it, and nothing created.
    let missing = tmp.path().join("missing/report.json");
    let o = crate::util::rdplog(&["analyze", input.to_str().expect("utf-8"), "-o", missing.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot create") && stderr(&o).contains("missing/report.json"), "{}", stderr(&o));
    assert_eq!(tree(tmp.path()).difference(&before).count(), 1, "nothing else was created");
}

// ------------------------------------------------------------------------------------ escaping

/// File names that try each output format: HTML elements and attribute breakouts, Markdown
/// links, code spans, emphasis and table cells, terminal control sequences (CSI, OSC 8
/// hyperlink, BEL, carriage return, backspace) and a bidirectional override.
const NAMES: [&str; 5] = [
    "x<img src=x onerror=alert(1)>.pcap",
    "q\" onmouseover=\"alert(3)\" '&amp;.pcap",
    "pipe|`tick`*star*_u_.pcap",
    "esc\x1b[2J\x1b]8;;x\x07\r\x08\u{202e}.pcap",
    "[link](javascript:alert(4)).pcap",
];
const JUNK: &str = "junk<b>|\x1b[31m\u{202e}.bin";

/// A case folder with one capture under each hostile name (the first cut short, so that a
/// warning names it) and an unusable file, also hostile, that is listed as skipped.
fn hostile_names_case(dir: &Path) {
    let capture = sample("firewall-block/capture.pcap");
    for (i, name) in NAMES.iter().enumerate() {
        let bytes = if i == 0 { &capture[..capture.len() - 7] } else { &capture[..] };
        std::fs::write(dir.join(name), bytes).expect("capture");
    }
    std::fs::write(dir.join(JUNK), b"not a capture at all").expect("junk");
}

fn analyze_stdout(dir: &Path, format: &str) -> String {
    let o = crate::util::rdplog(&["analyze", dir.to_str().expect("utf-8"), "--format", format]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    String::from_utf8(o.stdout).expect("UTF-8 report")
}

/// No raw control character (but line breaks and tabs) nor bidirectional override.
fn assert_no_raw_controls(what: &str, text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| (c.is_control() && c != '\n' && c != '\t') || ('\u{202a}'..='\u{202e}').contains(&c))
        .collect();
    assert!(bad.is_empty(), "{what}: raw {bad:?}");
}

#[test]
fn hostile_file_names_are_inert_in_every_format() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("case");
    std::fs::create_dir(&dir).expect("mkdir");
    hostile_names_case(&dir);

    // Text, to a pipe: no colour and no control sequence; the names are shown escaped.
    let text = analyze_stdout(&dir, "text");
    assert_no_raw_controls("text", &text);
    assert!(text.contains("esc\\x1b[2J\\x1b]8;;x\\x07\\x0d\\x08\\u{202e}.pcap"), "escaped name in the text report");
    assert!(text.contains("junk<b>|\\x1b[31m\\u{202e}.bin"), "the skipped file, escaped");

    // Markdown: every table row keeps its header's cell count (a `|` in a name is escaped), and
    // outside code spans no `<`, `[` or `]` is left unescaped (`*` is: the report's own bold).
    let md = analyze_stdout(&dir, "md");
    assert_no_raw_controls("md", &md);
    crate::util::assert_markdown_inert(&md);
    assert!(md.contains("x\\<img src=x onerror=alert(1)\\>.pcap"), "{md}");
    assert!(md.contains("pipe\\|\\`tick\\`\\*star\\*\\_u\\_.pcap"), "{md}");
    assert!(md.contains("\\[link\\](javascript:alert(4)).pcap"), "{md}");

    // HTML: no tag or attribute comes from a name (every tag is one of ours and none carries an
    // event handler or a script URL); quotes are encoded, so no attribute value can be closed.
    let html = analyze_stdout(&dir, "html");
    assert_no_raw_controls("html", &html);
    for (i, _) in html.match_indices('<') {
        let tag = &html[i..i + html[i..].find('>').expect("tag end")];
        for bad in ["onerror", "onmouseover", "javascript:", "<img", "<b>", "<b "] {
            assert!(!tag.contains(bad), "{bad} inside the tag {tag}");
        }
    }
    assert!(html.contains("x&lt;img src=x onerror=alert(1)&gt;.pcap"));
    // In the inventory the name is shown whole, apostrophe included (a line-break opportunity
    // used to split its `&#39;`).
    assert!(html.contains("case/<wbr>q&quot; onmouseover=&quot;alert(3)&quot; &#39;&amp;amp;.pcap</td>"), "{html}");
    assert!(!html.contains("&#<wbr>"), "a break inside a character reference");
    assert!(html.contains("junk&lt;b&gt;|\\x1b[31m\\u{202e}.bin"));

    // JSON keeps the exact names, as data: it escapes the C0 controls itself, and leaves the
    // bidirectional override as it is (a JSON consumer is not a terminal).
    let json = analyze_stdout(&dir, "json");
    assert!(!json.chars().any(|c| c < ' ' && c != '\n'), "raw C0 control in the JSON");
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let paths: BTreeSet<String> = v["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|i| Path::new(i["path"].as_str().expect("path")).file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    assert_eq!(paths, NAMES.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>());
    let warned = v["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .any(|w| w["input"].as_str().is_some_and(|p| p.ends_with(NAMES[0])));
    assert!(warned, "the cut capture has a warning naming it");
}

#[test]
fn terminal_messages_escape_file_names() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("case");
    std::fs::create_dir(&dir).expect("mkdir");
    hostile_names_case(&dir);
    // `timeline` lists the skipped files on stderr.
    let o = crate::util::rdplog(&["timeline", dir.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert_no_raw_controls("timeline stderr", &err);
    assert!(err.contains("rdplog: skipped ") && err.contains("junk<b>|\\x1b[31m\\u{202e}.bin"), "{err}");

    // An error naming a file found in a folder (its only input cannot be read).
    let only = tmp.path().join("only");
    std::fs::create_dir(&only).expect("mkdir");
    std::fs::write(only.join("evil\x1b[2J\u{202e}.pcap"), &sample("none/capture.pcap")[..10]).expect("stub");
    let o = crate::util::rdplog(&["analyze", only.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_no_raw_controls("analyze stderr", &err);
    assert!(err.contains("evil\\x1b[2J\\u{202e}.pcap: file ends inside the 24-byte pcap header"), "{err}");

    // The batch overview on stdout: a case whose error message quotes a hostile file name.
    let cases = tmp.path().join("cases");
    std::fs::create_dir_all(cases.join("bad")).expect("mkdir");
    std::fs::write(cases.join("bad").join("evil\x1b[2J\u{202e}.pcap"), &sample("none/capture.pcap")[..10])
        .expect("stub");
    let o = crate::util::rdplog(&["batch", "--quiet", cases.to_str().expect("utf-8"), "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let overview = String::from_utf8_lossy(&o.stdout);
    assert_no_raw_controls("batch overview", &overview);
    assert!(overview.contains("evil?[2J?.pcap: file ends inside the 24-byte pcap header"), "{overview}");
}

/// A capture of one attempt whose client sends `cookie` as its mstshash user name.
fn capture_with_cookie(cookie: &str) -> Vec<u8> {
    let host = |d: u8| Host::new(IpAddr::V4(Ipv4Addr::new(10, 20, 30, d)), 128);
    let t0 = Ts(1_772_442_900_000_000_000);
    let mut c = TcpConversation::new(Link::Ethernet, host(41), 50_999, host(15), 3389, t0, 2_000_000, 1460, 7);
    c.handshake().client_send(&rdp::connection_request(Some(cookie), 0xb)).rst_from_server();
    let mut w = CaptureWriter::pcap(Vec::new(), Link::Ethernet.linktype(), false, false, 262_144).expect("pcap");
    w.frames(0, &c.frames()).expect("frames");
    w.into_inner()
}

#[test]
fn batch_summary_cells_are_inert() {
    let cookie = "<img src=x onerror=alert(1)>|`x`[y](javascript:z)*e*";
    let tmp = tempfile::tempdir().expect("tempdir");
    let cases = tmp.path().join("cases");
    std::fs::create_dir_all(cases.join("[c](javascript_x)")).expect("mkdir");
    std::fs::write(cases.join("[c](javascript_x)/capture.pcap"), capture_with_cookie(cookie)).expect("capture");
    let (md, csv) = (tmp.path().join("s.md"), tmp.path().join("s.csv"));
    for summary in [&md, &csv] {
        let o = crate::util::rdplog(&[
            "batch",
            "--quiet",
            cases.to_str().expect("utf-8"),
            "--format",
            "json",
            "--summary",
            summary.to_str().expect("utf-8"),
        ]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    }
    // CSV keeps the exact value (quoted).
    let text = std::fs::read_to_string(&csv).expect("csv");
    assert!(text.contains(cookie), "{text}");
    // Markdown: the user name cannot become HTML, a link, emphasis or extra cells.
    let table = std::fs::read_to_string(&md).expect("md");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    let header_cells = lines[0].matches('|').count();
    assert_eq!(lines[2].replace("\\|", "").matches('|').count(), header_cells, "{table}");
    assert!(lines[2].contains("\\<img src=x onerror=alert(1)\\>\\|\\`x\\`\\[y\\](javascript:z)\\*e\\*"), "{table}");
    // The case name too (`_` between letters cannot open emphasis and stays as it is).
    assert!(lines[2].starts_with("| \\[c\\](javascript_x) |"), "{table}");
}
