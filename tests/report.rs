//! Report renderers: insta snapshots of every format for the bundled samples (generated-at line
//! and tool version redacted), hostile inputs that must come out inert in every format (built at
//! test time with our capture and evtx writers), `--redact` consistency, format choice from
//! `-o FILE`, and the HTML report loaded in headless Chromium when it is installed.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use rdplog::analyze::{Analysis, analyze};
use rdplog::report::{Format, Options, render_with};
use rdplog::synth::conversation::{Host, Link, TcpConversation};
use rdplog::synth::evtx_writer::{EventSpec, Payload, Value, write_evtx};
use rdplog::synth::rdp;
use rdplog::synth::writer::CaptureWriter;
use rdplog::time::Ts;

use crate::util::{rdplog, stderr};

const FORMATS: [(Format, &str); 4] =
    [(Format::Text, "txt"), (Format::Md, "md"), (Format::Html, "html"), (Format::Json, "json")];

fn analysis(paths: &[PathBuf]) -> Analysis {
    let mut skipped = Vec::new();
    let inputs = rdplog::input::resolve(paths, &mut skipped).expect("inputs resolve");
    let mut a = analyze(&inputs).expect("analysis runs");
    a.skipped_files = skipped;
    a
}

fn render(a: &Analysis, format: Format, redact: bool) -> String {
    let opts = Options { redact, ..Options::new(format) };
    let mut out = Vec::new();
    render_with(a, &opts, &mut out).expect("render");
    String::from_utf8(out).expect("UTF-8 report")
}

// ---------------------------------------------------------------- snapshots of the samples

/// Renders one sample (a path relative to the crate, so snapshots do not depend on where the
/// repository lives) in every format and compares with the stored snapshots.
fn snapshot_sample(name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples").join(name);
    if !dir.is_dir() {
        eprintln!("sample {name} not found: skipping");
        return;
    }
    // Relative path: the input inventory prints paths as given.
    let rel = PathBuf::from("samples").join(name);
    // (cargo runs integration tests from the crate root)
    let a = analysis(&[rel]);
    let filters = vec![
        (r"Generated \S+ by rdplog \S+", "Generated [generated-at] by rdplog [version]"),
        (r#"content="rdplog [^"]+""#, r#"content="rdplog [version]""#),
    ];
    for (format, ext) in FORMATS {
        let out = render(&a, format, false);
        let snap = format!("{name}.{ext}");
        if format == Format::Json {
            let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
            insta::assert_json_snapshot!(snap, v, {".generated_at" => "[generated-at]", ".tool.version" => "[version]"});
        } else {
            insta::with_settings!({ filters => filters.clone() }, { insta::assert_snapshot!(snap, out) });
        }
    }
}

#[test]
fn snapshot_certificate() {
    snapshot_sample("certificate");
}

#[test]
fn snapshot_none() {
    snapshot_sample("none");
}

#[test]
fn snapshot_udp_blocked() {
    snapshot_sample("udp-blocked");
}

#[test]
fn snapshot_security_negotiation() {
    snapshot_sample("security-negotiation");
}

#[test]
fn snapshot_tls_mismatch() {
    snapshot_sample("tls-mismatch");
}

#[test]
fn text_fits_100_columns_and_has_no_colour_by_default() {
    for name in ["certificate", "udp-blocked", "middlebox-reset", "mtu-blackhole"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples").join(name);
        if !dir.is_dir() {
            continue;
        }
        let out = render(&analysis(&[dir]), Format::Text, false);
        for line in out.lines() {
            assert!(line.chars().count() <= 100, "{name}: {} columns: {line}", line.chars().count());
        }
        assert!(!out.contains('\x1b'), "{name}: colour without a terminal");
        assert!(out.lines().nth(2).is_some_and(|l| l.is_empty()), "{name}: verdict comes right after the header");
        assert!(out.contains("\nVERDICT"), "{name}");
    }
}

// ---------------------------------------------------------------- hostile inputs

const COOKIE: &str = "<script>alert(1)</script>";
const HOST: &str = "RDSH\x1b[2J01";
const USER_4625: &str = "<img src=x onerror=alert(2)>|`x`";
/// Same length as "RDSH01.corp.example" so the certificate DER keeps its lengths.
const CN: &str = "x](javascript:a(1))";
const SNI: &str = "evil\x1b]8;;http://x\x07.example";

const SEC: i64 = 1_000_000_000;
const MS: i64 = 1_000_000;
const T0: i64 = 1_772_442_900 * SEC;

fn host(a: u8, b: u8, c: u8, d: u8) -> Host {
    Host::new(IpAddr::V4(Ipv4Addr::new(a, b, c, d)), 128)
}

/// Our sample certificate with its subject and issuer CN replaced (UTF8String, same length).
fn hostile_cert() -> Vec<u8> {
    let mut der = rdp::SERVER_CERT_DER.to_vec();
    let from = b"RDSH01.corp.example";
    assert_eq!(from.len(), CN.len());
    let mut i = 0;
    while let Some(pos) = der[i..].windows(from.len()).position(|w| w == from) {
        der[i + pos..i + pos + from.len()].copy_from_slice(CN.as_bytes());
        i += pos + from.len();
    }
    der
}

fn str_field(name: &str, v: &str) -> (String, Value) {
    (name.to_string(), Value::Str(v.to_string()))
}

/// A case folder: a capture whose client sends a hostile cookie and SNI and whose server shows
/// a certificate with a Markdown-link subject, then resets; and a System/Security log from a
/// host whose name holds a terminal escape, 47 s ahead of the capture clock.
fn hostile_case(dir: &Path) -> PathBuf {
    let client = host(10, 20, 30, 41);
    let server = host(10, 20, 1, 15);
    let mut c = TcpConversation::new(Link::Ethernet, client, 50_999, server, 3389, Ts(T0), 2 * MS, 1460, 77);
    let cert = hostile_cert();
    c.handshake()
        .client_send(&rdp::connection_request(Some(COOKIE), 0xb))
        .server_send(&rdp::connection_confirm(Ok(0x8)))
        .client_send(&rdp::client_hello(Some(SNI), [0x42; 32]))
        .server_send(&rdp::server_hello_flight(0xc030, [0x24; 32], &[cert.as_slice()]))
        .rst_from_server();
    let frames = c.frames();
    let cap = dir.join("capture.pcap");
    let mut w = CaptureWriter::pcap(Vec::new(), Link::Ethernet.linktype(), false, false, 262_144).expect("pcap");
    w.frames(0, &frames).expect("frames");
    std::fs::write(&cap, w.into_inner()).expect("write capture");

    let skew = 47 * SEC;
    let at = |ms: i64| Ts(T0 + skew + ms * MS);
    let base = EventSpec { computer: HOST.into(), level: 4, ..Default::default() };
    let events = vec![
        EventSpec {
            provider: "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS".into(),
            event_id: 131,
            ts: at(0),
            record_id: 900,
            channel: "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational".into(),
            payload: Payload::EventData {
                data: vec![str_field("ConnType", "TCP"), str_field("ClientIP", "10.20.30.41:50999")],
                binary: None,
            },
            ..base.clone()
        },
        EventSpec {
            provider: "Schannel".into(),
            event_id: 36870,
            ts: at(9),
            record_id: 901,
            level: 2,
            channel: "System".into(),
            payload: Payload::EventData {
                data: vec![
                    str_field("Type", "server"),
                    str_field("ErrorCode", "0x8009030D"),
                    str_field("ErrorStatus", "10001"),
                ],
                binary: None,
            },
            ..base.clone()
        },
        EventSpec {
            provider: "Microsoft-Windows-Security-Auditing".into(),
            event_id: 4625,
            ts: at(10),
            record_id: 902,
            level: 0,
            channel: "Security".into(),
            payload: Payload::EventData {
                data: vec![
                    str_field("TargetUserName", USER_4625),
                    str_field("TargetDomainName", "CORP"),
                    ("Status".into(), Value::HexU32(0xC000_006D)),
                    ("SubStatus".into(), Value::HexU32(0xC000_006A)),
                    ("LogonType".into(), Value::U32(3)),
                    str_field("IpAddress", "10.20.30.41"),
                    str_field("IpPort", "50999"),
                ],
                binary: None,
            },
            ..base
        },
    ];
    let log = dir.join("Server.evtx");
    let mut f = std::fs::File::create(&log).expect("create evtx");
    write_evtx(&events, &mut f).expect("write evtx");
    f.flush().expect("flush");
    dir.to_path_buf()
}

/// Every `<` of an HTML report opens one of our own tags: nothing from an input became markup.
fn only_our_tags(html: &str) {
    const TAGS: &str = "!DOCTYPE html head meta title style body main header section h1 h2 h3 p span b a ul ol li \
                        table thead tbody tr th td code br wbr figure figcaption svg rect text line g circle";
    for (i, _) in html.match_indices('<') {
        let rest = &html[i + 1..];
        let name: String =
            rest.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '!').collect();
        assert!(
            TAGS.split_whitespace().any(|t| t == name),
            "unexpected tag <{name}> at {i}: {}",
            &rest[..rest.len().min(60)]
        );
    }
}

#[test]
fn hostile_inputs_come_out_inert_in_every_format() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = analysis(&[hostile_case(tmp.path())]);
    // The hostile strings did reach the model.
    let t = a.attempts().find(|t| t.conn.transport.as_str() == "tcp").expect("a connection");
    let c = t.conn;
    assert_eq!(c.negotiation.cookie.as_deref(), Some(COOKIE));
    let subject = c.tls.as_ref().and_then(|t| t.server.certificates.first()).map(|x| x.subject.clone());
    assert_eq!(subject.as_deref(), Some(format!("CN={CN}").as_str()));
    assert!(a.events.iter().any(|e| e.host == HOST), "the evtx host name");
    assert!(
        t.evidence().iter().any(|e| e.origin.source().as_str() == "event"),
        "events joined to the connection: {:?}",
        t.joined
    );

    let text = render(&a, Format::Text, false);
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "raw control characters in the text report");
    assert!(text.contains("RDSH\\x1b[2J01"), "the host name is shown escaped");
    assert!(text.contains(COOKIE), "terminal text shows the cookie literally");

    let md = render(&a, Format::Md, false);
    assert!(!md.contains('\x1b'));
    crate::util::assert_markdown_inert(&md);
    assert!(md.contains("\\<script\\>alert(1)\\</script\\>"), "cookie escaped");
    assert!(!md.replace("\\]", "").contains("](javascript"), "a link can form");
    assert!(md.contains("x\\](javascript:a(1))"), "certificate subject escaped");

    let html = render(&a, Format::Html, false);
    only_our_tags(&html);
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"), "4625 TargetUserName escaped");
    assert!(!html.contains('\x1b') && !html.contains('\x07'));
    assert!(!html.contains("<img") && !html.contains("<script") && !html.contains("href=\"javascript"));
    assert!(html.contains("Content-Security-Policy"));

    let json = render(&a, Format::Json, false);
    assert!(!json.contains('\x1b'), "JSON escapes control characters");
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let cookie = v["connections"].as_array().and_then(|cs| cs.iter().find_map(|c| c["negotiation"]["cookie"].as_str()));
    assert_eq!(cookie, Some(COOKIE), "JSON keeps the exact value");
}

#[test]
fn redact_replaces_names_and_addresses_consistently() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = analysis(&[hostile_case(tmp.path())]);
    let secrets = ["10.20.30.41", "10.20.1.15", "RDSH", "alert(1)", "alert(2)", "javascript", "evil", "CORP"];
    let mut client_pseudonym = None;
    for (format, _) in FORMATS {
        let out = render(&a, format, true);
        for s in secrets {
            assert!(!out.contains(s), "{format:?} still contains {s:?}");
        }
        assert!(out.contains("user-1") && out.contains("host-1") && out.contains("10.255.0.1"), "{format:?}");
        // The client is the first address of the JSON report, in every format.
        let p = if out.contains("10.255.0.1:50999") { Some("10.255.0.1") } else { None };
        assert!(p.is_some(), "{format:?}: client address pseudonym");
        assert_eq!(*client_pseudonym.get_or_insert(p), p, "{format:?}");
    }
    let json: serde_json::Value = serde_json::from_str(&render(&a, Format::Json, true)).expect("JSON");
    assert_eq!(json["redacted"], true);
    assert_eq!(json.as_object().and_then(|o| o.keys().next()).map(String::as_str), Some("schema_version"));
    let c = json["connections"].as_array().and_then(|c| c.first()).expect("a connection");
    assert_eq!(c["client"], "10.255.0.1:50999");
    assert_eq!(c["negotiation"]["cookie"].as_str().map(|s| s.starts_with("user-")), Some(true));
    let host = json["events"][0]["host"].as_str().unwrap_or_default();
    assert!(host.starts_with("host-"), "{host}");
    assert_eq!(json["clock_skew"][0]["source"].as_str(), Some(host), "same pseudonym for the same host");
}

// ---------------------------------------------------------------- command line

#[test]
fn output_extension_picks_the_format_and_redact_flag_works() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/certificate");
    let sample = sample.to_str().expect("utf-8");
    for (ext, starts) in
        [("md", "# rdplog report"), ("html", "<!DOCTYPE html>"), ("json", "{"), ("txt", "rdplog report")]
    {
        let out = tmp.path().join(format!("report.{ext}"));
        let o = rdplog(&["analyze", sample, "-o", out.to_str().expect("utf-8"), "--redact"]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let body = std::fs::read_to_string(&out).expect("report written");
        assert!(body.starts_with(starts), "{ext}: {}", &body[..body.len().min(80)]);
        assert!(!body.contains("10.20.30.41") && !body.contains("jdoe"), "{ext}: redacted");
    }
    let o = rdplog(&["analyze", sample, "--format", "md"]);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("# rdplog report"));
    let o = rdplog(&["analyze", sample]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.starts_with("rdplog report") && !text.contains('\x1b'), "no colour into a pipe");
}

// ---------------------------------------------------------------- headless Chromium

fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|name| {
        std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join(name)).find(|p| p.is_file())
    });
    if found.is_none() {
        eprintln!("chromium not installed: skipping the HTML rendering check (apt-get install chromium)");
    }
    found
}

#[test]
fn html_report_loads_in_chromium_without_errors() {
    let Some(browser) = chromium() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("case");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let case = hostile_case(&dir);
    let html = render(&analysis(&[case]), Format::Html, false);
    let page = tmp.path().join("report.html");
    std::fs::write(&page, &html).expect("write html");
    let profile = tmp.path().join("profile");
    let shot = tmp.path().join("report.png");
    let url = format!("file://{}", page.display());
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
    ];
    let run = |extra: &[String]| {
        std::process::Command::new(&browser)
            .args(common)
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(&url)
            .output()
            .expect("chromium runs")
    };
    let dom = run(&["--dump-dom".to_string()]);
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    assert!(dom_text.contains("id=\"verdict\"") && dom_text.contains("Verdict: "), "the verdict is in the page");
    assert!(dom_text.contains("<svg class=\"swimlane\""), "the swim-lane picture is in the page");
    assert!(!dom_text.contains("<script") && !dom_text.contains("<img"), "an input became an element");
    let log = String::from_utf8_lossy(&dom.stderr);
    for bad in ["Uncaught", "Refused to", "CONSOLE", "Failed to load"] {
        assert!(!log.contains(bad), "browser reported {bad:?}: {log}");
    }
    let shot_arg = format!("--screenshot={}", shot.display());
    let o = run(&[shot_arg, "--window-size=1280,2000".to_string()]);
    let png = std::fs::read(&shot).unwrap_or_default();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "screenshot: {}", String::from_utf8_lossy(&o.stderr));
}
