//! Pieces of one capture read as one stream (issue 17): corpus captures and bundled samples cut
//! with `editcap -c N` at several points, given as their pieces, give the same connections and
//! verdicts as the whole file. Oracles: the whole file's own result (connections with their
//! phases, verdicts and counters; the case diagnosis) and editcap's numbering of the pieces
//! (piece k holds frames k·N+1 .. (k+1)·N of the whole, in order). Skipped, with a notice, when
//! editcap or the corpus is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::batch::summary_rows;
use crate::util::{corpus, rdplog, stderr};

/// Corpus captures with RDP connections, and where to cut them. zeek_rdp-to-ssl's second
/// connection has its ClientHello in frame 26 and its first encrypted records in 28-29: pieces of
/// 26 and 27 cut inside its TLS handshake; wswiki_rdp-ssl is cut inside it by 1, 2 and 3.
/// Third: the frames that follow a silence of more than 600 s, where a piece starts a stream of
/// its own (tshark `frame.time_delta`: ndpi_rdp2 joins three captures months apart).
const CORPUS: [(&str, &[usize], &[u64]); 8] = [
    ("zeek_rdp-to-ssl.pcap", &[26, 27, 100, 400], &[]),
    ("wswiki_rdp-ssl.pcap", &[1, 2, 3, 40], &[]),
    ("wswiki_RDP-002.pcap", &[7, 150], &[]),
    ("suricata-verify_RDP-003.pcap", &[5, 200], &[]),
    ("wswiki_SASP.pcap", &[3, 1000], &[]),
    ("zeek_rdp-rdpeudp-handshake-success_full.pcap", &[4, 800], &[]),
    ("ndpi_tcp_scan.pcapng", &[1, 7], &[]),
    ("ndpi_rdp2.pcap", &[1, 3, 13], &[7, 33]),
];

/// `editcap`, or `None` with a printed notice.
fn editcap() -> Option<&'static str> {
    let found = Command::new("editcap").arg("-v").output().is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("editcap not found: skipping the pieces tests (install wireshark-common / tshark)");
    }
    found.then_some("editcap")
}

/// Cuts `file` into pieces of `every` packets under `dir`, as pcapng (editcap's default, which
/// keeps nanosecond times) or, with `legacy`, as (microsecond) pcap like `tcpdump -C` writes;
/// the pieces in order (editcap numbers them in their names).
fn split(editcap: &str, file: &Path, every: usize, dir: &Path, legacy: bool) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    let (format, ext) = if legacy { ("pcap", "pcap") } else { ("pcapng", "pcapng") };
    edit(editcap, &["-F", format, "-c", &every.to_string()], file, &dir.join(format!("piece.{ext}")), &[]);
    let mut pieces: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    pieces.sort();
    pieces
}

/// editcap, the corpus capture zeek_rdp-to-ssl.pcap (two connections, 658 frames) and a
/// temporary folder; `None`, with a notice, when either is missing.
fn with_rdp_to_ssl() -> Option<(&'static str, PathBuf, tempfile::TempDir)> {
    Some((editcap()?, corpus("pcap", "zeek_rdp-to-ssl.pcap")?, tempfile::tempdir().unwrap()))
}

/// Runs `editcap OPTIONS FROM TO RANGES`.
fn edit(editcap: &str, options: &[&str], from: &Path, to: &Path, ranges: &[&str]) {
    let out = Command::new(editcap).args(options).arg(from).arg(to).args(ranges).output().expect("editcap runs");
    assert!(out.status.success(), "editcap: {}", String::from_utf8_lossy(&out.stderr));
}

/// The report's only warning.
fn the_warning(r: &Value) -> String {
    let warnings = r["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    warnings[0]["message"].as_str().unwrap().to_string()
}

/// `analyze --format json` over these inputs.
fn analyze(inputs: &[&Path]) -> Value {
    let mut args = vec!["analyze", "--no-hash", "--format", "json"];
    args.extend(inputs.iter().map(|p| p.to_str().expect("utf-8 path")));
    let out = rdplog(&args);
    assert!(matches!(out.status.code(), Some(0 | 1)), "exit {:?}: {}", out.status.code(), stderr(&out));
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

/// What must not change when a capture is cut: the diagnosis, and per connection its ends,
/// times, phases, verdict and counters, without frame references (those name the pieces).
fn view(r: &Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for key in ["frame", "file", "ref", "input"] {
                    m.remove(key);
                }
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let keys =
        ["client", "server", "transport", "start", "end", "phases", "failed_phase", "mid_stream", "tcp", "tls", "udp"];
    let conns: Vec<Value> = r["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .map(|c| {
            let mut kept: serde_json::Map<String, Value> =
                keys.iter().map(|k| (k.to_string(), c[*k].clone())).collect();
            kept.insert("cause".into(), c["verdict"]["cause"].clone());
            let mut v = Value::Object(kept);
            strip(&mut v);
            v
        })
        .collect();
    serde_json::json!({"diagnosis": r["diagnosis"]["cause"], "connections": conns})
}

/// Every evidence reference of every connection, in order.
fn refs(r: &Value) -> Vec<Vec<String>> {
    let conns = r["connections"].as_array().expect("connections");
    conns
        .iter()
        .map(|c| c["evidence"].as_array().unwrap().iter().map(|e| e["ref"].as_str().unwrap().into()).collect())
        .collect()
}

/// The whole file's `frame N`, as it reads in pieces of `every` (editcap's numbering).
fn in_pieces(whole_ref: &str, every: u64, pieces: &[PathBuf]) -> String {
    let Some(n) = whole_ref.strip_prefix("frame ").and_then(|n| n.parse::<u64>().ok()) else {
        return whole_ref.to_string();
    };
    let piece = &pieces[((n - 1) / every) as usize];
    format!("frame {} of {}", (n - 1) % every + 1, piece.file_name().unwrap().to_string_lossy())
}

#[test]
fn corpus_captures_cut_into_pieces_read_as_the_whole() {
    let Some(editcap) = editcap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for (name, cuts, silences) in CORPUS {
        let Some(file) = corpus("pcap", name) else { continue };
        let whole = analyze(&[&file]);
        assert!(!whole["connections"].as_array().unwrap().is_empty(), "{name} has connections");
        for &every in cuts {
            // The legacy pcaps of the corpus (all in microseconds) are cut as pcap, the rest as pcapng.
            let legacy = name.ends_with(".pcap");
            let pieces = split(editcap, &file, every, &tmp.path().join(format!("{name}-{every}")), legacy);
            assert!(pieces.len() > 1, "{name} -c {every}: cut into pieces");
            let inputs: Vec<&Path> = pieces.iter().map(PathBuf::as_path).collect();
            let cut = analyze(&inputs);
            assert_eq!(view(&cut), view(&whole), "{name} cut every {every} packets");
            let expected: Vec<Vec<String>> =
                refs(&whole).iter().map(|c| c.iter().map(|r| in_pieces(r, every as u64, &pieces)).collect()).collect();
            assert_eq!(refs(&cut), expected, "{name} -c {every}: evidence names the piece and its frame");
            // The inventory lists every piece with its own packets (editcap's count).
            let records: Vec<u64> =
                cut["inputs"].as_array().unwrap().iter().map(|i| i["records"].as_u64().unwrap()).collect();
            assert_eq!(records.len(), pieces.len());
            let total = whole["inputs"][0]["records"].as_u64().unwrap();
            assert_eq!(records.iter().sum::<u64>(), total, "{name} -c {every}");
            assert!(records.iter().all(|&n| n <= every as u64));
            assert!(cut["warnings"].as_array().unwrap().is_empty(), "{name} -c {every}: {}", cut["warnings"]);
            // Each piece says which one it continues, unless it starts after a silence.
            let continues: Vec<Option<&str>> =
                cut["inputs"].as_array().unwrap().iter().map(|i| i["continues"].as_str()).collect();
            let starts = |k: usize| k == 0 || silences.contains(&(k as u64 * every as u64 + 1));
            let before: Vec<Option<&str>> =
                (0..pieces.len()).map(|k| if starts(k) { None } else { pieces[k - 1].to_str() }).collect();
            assert_eq!(continues, before, "{name} -c {every}");
        }
    }
}

#[test]
fn a_teardown_in_a_later_piece_names_its_file_in_the_detail_views() {
    let Some((editcap, file, tmp)) = with_rdp_to_ssl() else { return };
    let pieces = split(editcap, &file, 200, tmp.path(), true);
    let inputs: Vec<&Path> = pieces.iter().map(PathBuf::as_path).collect();
    let r = analyze(&inputs);
    // tshark on the whole file: the server's RST closing the second connection is frame 658, the
    // client's FIN frame 656; editcap -c 200 puts them in the fourth piece as frames 58 and 56.
    let c2 = &r["connections"][1];
    let fourth = pieces[3].file_name().unwrap().to_str().unwrap();
    let rst = &c2["tcp"]["server_to_client"]["rst"];
    assert_eq!((rst["frame"].as_u64(), rst["file"].as_str()), (Some(58), Some(fourth)), "{rst}");
    let fin = &c2["tcp"]["client_to_server"]["fin"];
    assert_eq!((fin["frame"].as_u64(), fin["file"].as_str()), (Some(56), Some(fourth)), "{fin}");
    // The connection is named after the piece it starts in.
    assert_eq!(c2["input"].as_str(), pieces[0].to_str());
    // A single file's views carry no `file`.
    let whole = analyze(&[&file]);
    assert_eq!(whole["connections"][1]["tcp"]["server_to_client"]["rst"]["file"], Value::Null);
}

#[test]
fn bundled_samples_cut_into_pieces_keep_their_verdicts() {
    let Some(editcap) = editcap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&samples).unwrap().map(|e| e.unwrap().path()).collect();
    folders.retain(|p| p.is_dir());
    folders.sort();
    for folder in folders {
        let Some(capture) = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("capture.pcap")))
        else {
            continue;
        };
        let name = folder.file_name().unwrap().to_string_lossy().into_owned();
        let whole = analyze(&[&folder]);
        for every in [2, 9] {
            // The case as the analyst would have it: the logs, and the capture in pieces.
            let case = tmp.path().join(format!("{name}-{every}"));
            crate::batch::copy_dir(&folder, &case);
            std::fs::remove_file(case.join(capture.file_name().unwrap())).unwrap();
            split(editcap, &capture, every, &case.join("capture"), false);
            assert_eq!(view(&analyze(&[&case])), view(&whole), "{name} cut every {every} packets");
        }
    }
}

#[test]
fn the_same_capture_given_twice_counts_once_and_warns() {
    let Some(file) = corpus("pcap", "zeek_rdp-to-ssl.pcap") else { return };
    let whole = analyze(&[&file]);
    let twice = analyze(&[&file, &file]);
    assert_eq!(view(&twice), view(&whole), "packets are not counted twice");
    let inputs = twice["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 2, "both inputs are listed");
    assert!(inputs.iter().all(|i| i["records"] == 658), "each with its own packets (capinfos: 658)");
    let message = the_warning(&twice);
    let path = file.to_str().unwrap();
    assert_eq!(message.matches(path).count(), 2, "names both files: {message}");
    assert!(message.contains("counted once"), "{message}");
}

#[test]
fn an_overlapping_piece_is_read_once_and_named() {
    let Some((editcap, file, tmp)) = with_rdp_to_ssl() else { return };
    let (a, b) = (tmp.path().join("a.pcap"), tmp.path().join("b.pcap"));
    // Frames 1-400 and 301-658 of the whole (editcap -r keeps the listed frames).
    edit(editcap, &["-r"], &file, &a, &["1-400"]);
    edit(editcap, &["-r"], &file, &b, &["301-658"]);
    let whole = analyze(&[&file]);
    let both = analyze(&[&a, &b]);
    assert_eq!(view(&both), view(&whole));
    let message = the_warning(&both);
    assert!(message.contains(a.to_str().unwrap()) && message.contains(b.to_str().unwrap()), "{message}");
    assert!(message.contains("its 100 packets"), "frames 301-400 are in both: {message}");
}

#[test]
fn a_capture_at_another_point_at_the_same_time_is_not_chained() {
    let Some((editcap, file, tmp)) = with_rdp_to_ssl() else { return };
    // The same traffic seen 5 ms later elsewhere: overlapping times, no packet in common.
    let later = tmp.path().join("other-point.pcap");
    edit(editcap, &["-t", "0.005"], &file, &later, &[]);
    let whole = analyze(&[&file]);
    let two = analyze(&[&file, &later]);
    // Not pieces: each file stays an input of its own, and `twopoint` pairs the connections
    // they share, so each attempt counts once and shows both points.
    let n = whole["connections"].as_array().unwrap().len();
    let conns = two["connections"].as_array().unwrap();
    assert_eq!(conns.len(), n, "one attempt per conversation");
    assert!(conns.iter().all(|c| c["views"].as_array().is_some_and(|v| v.len() == 2)), "{conns:?}");
    assert!(two["inputs"].as_array().unwrap().iter().all(|i| i.get("continues").is_none()));
    assert!(two["warnings"].as_array().unwrap().is_empty(), "{}", two["warnings"]);
}

#[test]
fn a_batch_case_holding_pieces_keeps_its_verdict() {
    let Some(editcap) = editcap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/certificate");
    let case = tmp.path().join("cases/certificate");
    crate::batch::copy_dir(&sample, &case);
    std::fs::remove_file(case.join("capture.pcapng")).unwrap();
    split(editcap, &sample.join("capture.pcapng"), 10, &case.join("capture"), false);
    let summary = tmp.path().join("summary.csv");
    let out = rdplog(&[
        "batch",
        "--quiet",
        tmp.path().join("cases").to_str().unwrap(),
        "--summary",
        summary.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // Oracle: the sample's expected.json.
    let expected: Value = serde_json::from_slice(&std::fs::read(sample.join("expected.json")).unwrap()).unwrap();
    assert_eq!(summary_rows(&summary)["certificate"]["cause"], expected["cause"].as_str().unwrap());
}

/// The capture point a piece is matched by. Oracle: capinfos (interface names, encapsulations,
/// capture lengths; `-l` for a pcap's file-header snaplen) and the IDBs' link-type fields read
/// from the bytes (28: 1 Ethernet; 68: 101 raw IP, which capinfos shows as "Raw IP").
#[test]
fn the_capture_point_is_read_from_file_headers_and_interface_blocks() {
    use rdplog::input::pcap::{Link, read_packets};
    let links = |path: &Path| {
        let file = std::fs::File::open(path).unwrap();
        let mut sink = rdplog::error::WarningSink::new("t");
        read_packets(file, "t", &mut sink, |_, _| {}).unwrap().links
    };
    let link = |linktype, snaplen, name: Option<&str>| Link { linktype, snaplen, name: name.map(String::from) };
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/certificate/capture.pcapng");
    assert_eq!(links(&sample), [link(1, 262144, Some("Ethernet0")), link(101, 262144, Some("VPN"))]);
    if let Some(pcap) = corpus("pcap", "zeek_rdp-to-ssl.pcap") {
        assert_eq!(links(&pcap), [link(1, 65535, None)]);
    }
}

/// Damage in a piece is reported in that piece: its file, its own frame number and byte offset.
/// Oracle: editcap's numbering and the record offset found by walking the piece's pcap record
/// headers (24-byte file header, 16-byte record headers, captured length at +8).
#[test]
fn damage_in_a_piece_names_the_piece_and_its_frame() {
    let Some((editcap, file, tmp)) = with_rdp_to_ssl() else { return };
    let pieces = split(editcap, &file, 200, tmp.path(), true);
    let third = &pieces[2];
    let mut bytes = std::fs::read(third).unwrap();
    let mut at = 24;
    for _ in 1..10 {
        at += 16 + u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
    }
    // Frame 10's IPv4 version nibble (after the 14-byte Ethernet header) becomes 0.
    assert_eq!(bytes[at + 16 + 14], 0x45);
    bytes[at + 16 + 14] = 0x05;
    std::fs::write(third, bytes).unwrap();
    let inputs: Vec<&Path> = pieces.iter().map(PathBuf::as_path).collect();
    let r = analyze(&inputs);
    let w = &r["warnings"][0];
    assert_eq!(w["input"].as_str(), third.to_str());
    assert_eq!((w["frame"].as_u64(), w["offset"].as_u64()), (Some(10), Some(at as u64)), "{w}");
    assert!(w["message"].as_str().unwrap().starts_with("malformed packet skipped"), "{w}");
    let counts: Vec<u64> = r["inputs"].as_array().unwrap().iter().map(|i| i["warnings"].as_u64().unwrap()).collect();
    assert_eq!(counts, [0, 0, 1, 0]);
}

// Oracle: the two-points sample read whole (its path facts are checked against tshark's packet
// counts in `expected` and `twopoint` tests): both points' captures cut into pieces give one
// connection with two views and the same located loss, because the far point's coverage is that
// of its whole stream, not of its first piece.
#[test]
fn two_points_each_in_pieces_locate_the_same_loss() {
    let Some(editcap) = editcap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/two-points");
    for point in ["client", "server"] {
        let dir = tmp.path().join(point);
        split(editcap, &sample.join(format!("{point}.pcap")), 9, &dir, true);
    }
    let whole = analyze(&[&sample]);
    let cut = analyze(&[tmp.path()]);
    let path = |r: &Value| {
        let mut p = r["connections"][0]["path"].clone();
        if let Value::Object(m) = &mut p {
            m.remove("client_point");
            m.remove("server_point");
        }
        p
    };
    assert_eq!(whole["connections"].as_array().map(Vec::len), Some(1));
    assert_eq!(cut["connections"].as_array().map(Vec::len), Some(1));
    assert_eq!(cut["connections"][0]["views"].as_array().map(Vec::len), Some(2));
    assert_eq!(path(&cut), path(&whole));
    assert_eq!(path(&whole)["lost_to_server"], 7);
    assert_eq!(cut["diagnosis"]["cause"], whole["diagnosis"]["cause"]);
}
