//! Windows ETW traces (`.etl`) read as captures: the real pktmon and netsh traces of the shared
//! corpus against their authors' own `pktmon etl2txt` and `tracerpt` output, every other corpus
//! trace read without a warning it does not deserve, and our own pktmon trace of a sample
//! against the sample's pcapng.

use std::collections::BTreeMap;
use std::path::Path;

use rdplog::error::WarningSink;
use rdplog::input::etl::walk::{self, HeaderKind};
use rdplog::input::read_capture;

use crate::util::{analyze_json, corpus, rdplog, stderr};

/// UTC+05:30, the local time of the machines that wrote the corpus' etl2txt files (their
/// logfile header StartTime, a UTC FILETIME, prints 5 h 30 min later).
const IST_NS: i64 = (5 * 3600 + 30 * 60) * 1_000_000_000;

/// Decodes a UTF-16LE text file (with BOM) into lines.
fn utf16_lines(p: &Path) -> Vec<String> {
    let b = std::fs::read(p).expect("read text");
    let units: Vec<u16> = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    String::from_utf16_lossy(&units).trim_start_matches('\u{feff}').lines().map(str::to_string).collect()
}

/// One `etl2txt` event line: `[cpu]pid.tid::YYYY-MM-DD HH:MM:SS.fffffffff [Provider] text`.
struct TxtEvent {
    ns: i64,
    provider: String,
    text: String,
}

fn parse_etl2txt(p: &Path) -> Vec<TxtEvent> {
    let mut out = Vec::new();
    for line in utf16_lines(p) {
        let Some(rest) = line.strip_prefix('[').and_then(|l| l.split_once("::")).map(|(_, r)| r) else { continue };
        let (date, rest) = rest.split_at(29);
        let local = rdplog::time::Ts::parse_rfc3339(&format!("{}T{}Z", &date[..10], &date[11..]))
            .unwrap_or_else(|| panic!("time in {line}"));
        let (provider, text) = rest.trim_start().trim_start_matches('[').split_once("] ").expect("provider");
        out.push(TxtEvent { ns: local.0 - IST_NS, provider: provider.to_string(), text: text.to_string() });
    }
    out
}

/// A `name value,` field of an etl2txt packet line.
fn field(text: &str, name: &str) -> u64 {
    let at = text.find(&format!("{name} ")).unwrap_or_else(|| panic!("{name} in {text}"));
    text[at + name.len() + 1..].split([',', ' ']).next().and_then(|v| v.parse().ok()).expect("number")
}

struct Walked {
    /// (provider, id as tracerpt counts it: 0 for non-manifest records) → count.
    counts: BTreeMap<(String, u16), u64>,
    /// PktMon events: (UTC ns, id, data).
    pktmon: Vec<(i64, u16, Vec<u8>)>,
    warnings: Vec<String>,
}

fn walk_file(p: &Path) -> Walked {
    let mut sink = WarningSink::new("t");
    let mut w = Walked { counts: BTreeMap::new(), pktmon: Vec::new(), warnings: Vec::new() };
    let file = std::fs::File::open(p).expect("open");
    walk::walk(std::io::BufReader::new(file), "t", &mut sink, |e, _| {
        let id = if e.kind == HeaderKind::Event { e.id } else { 0 };
        *w.counts.entry((e.provider.to_string(), id)).or_default() += 1;
        if e.provider == rdplog::input::etl::pktmon::PKTMON {
            w.pktmon.push((e.ts.0, e.id, e.data.to_vec()));
        }
    })
    .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    w.warnings = sink.list.iter().map(|w| w.message.clone()).collect();
    w
}

/// A packet as `analyze` receives it: (frame, UTC ns, linktype, length).
type Pkt = (u64, i64, u32, usize);

/// Packets, warnings and stats of one trace read as a capture.
fn packets(p: &Path) -> (Vec<Pkt>, Vec<String>, rdplog::input::pcap::CaptureStats) {
    let mut sink = WarningSink::new("t");
    let mut out = Vec::new();
    let file = std::fs::File::open(p).expect("open");
    let stats =
        read_capture(file, "t", &mut sink, |pkt, _| out.push((pkt.frame, pkt.ts.0, pkt.linktype, pkt.data.len())))
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (out, sink.list.iter().map(|w| w.message.clone()).collect(), stats)
}

// Oracle: nsvpn_summary.txt, Windows `tracerpt` of nsvpn_PktMon_7119f51.etl — 5 buffers, 4601
// events, and the per (GUID, event id) counts of its second table.
#[test]
fn nsvpn_event_counts_equal_tracerpt() {
    let (Some(etl), Some(summary)) = (corpus("etl", "nsvpn_PktMon_7119f51.etl"), corpus("etl", "nsvpn_summary.txt"))
    else {
        return;
    };
    let text = std::fs::read_to_string(summary).expect("summary");
    let mut expected: BTreeMap<(String, u16), u64> = BTreeMap::new();
    let second = text.split("Event ID").nth(1).expect("per-id table");
    for line in second.lines().filter(|l| l.starts_with("|") && l.contains('{')) {
        let t: Vec<&str> = line.trim_matches('|').split_whitespace().collect();
        let (count, id, guid): (u64, u16, &str) =
            (t[0].parse().expect("count"), t[t.len() - 3].parse().expect("id"), t[t.len() - 1]);
        *expected.entry((guid.trim_end_matches('|').to_string(), id)).or_default() += count;
    }
    let w = walk_file(&etl);
    assert_eq!(w.counts, expected);
    assert_eq!(w.counts.values().sum::<u64>(), 4601);
    assert!(w.warnings.is_empty(), "{:?}", w.warnings);
}

/// Walks `etl` and checks that its PktMon events sit at the same 100-ns ticks as the
/// `pktmon etl2txt` listing `txt` (`count` of them); returns the listing and the walk.
fn pktmon_ticks_match(etl: &Path, txt: &Path, count: usize) -> (Vec<TxtEvent>, Walked) {
    let want = parse_etl2txt(txt);
    let w = walk_file(etl);
    let mut ours: Vec<i64> = w.pktmon.iter().map(|e| e.0).collect();
    let mut theirs: Vec<i64> = want.iter().filter(|e| e.provider == "Microsoft-Windows-PktMon").map(|e| e.ns).collect();
    ours.sort_unstable();
    theirs.sort_unstable();
    assert_eq!(ours.len(), count);
    assert_eq!(ours, theirs);
    (want, w)
}

// Oracle: nsvpn_PktMon_7119f51.txt, the author's `pktmon etl2txt` of the same file: every
// PktMon event at the same 100-ns tick, and every packet line's PktGroupId, PktNumber,
// Appearance and Component; the distinct (PktGroupId, PktNumber) pairs are the packets (345,
// NOTES.md).
#[test]
fn nsvpn_matches_etl2txt_to_the_tick() {
    let (Some(etl), Some(txt)) = (corpus("etl", "nsvpn_PktMon_7119f51.etl"), corpus("etl", "nsvpn_PktMon_7119f51.txt"))
    else {
        return;
    };
    let (want, w) = pktmon_ticks_match(&etl, &txt, 4514);

    let key = |ns: i64, g: u64, n: u64, a: u64, c: u64| (ns, g, n, a, c);
    let mut theirs: Vec<_> = want
        .iter()
        .filter(|e| e.text.starts_with("PktGroupId"))
        .map(|e| {
            let t = &e.text;
            key(e.ns, field(t, "PktGroupId"), field(t, "PktNumber"), field(t, "Appearance"), field(t, "Component"))
        })
        .collect();
    let mut ours: Vec<_> = w
        .pktmon
        .iter()
        .filter(|e| e.1 == 160)
        .map(|(ns, _, d)| {
            let a = rdplog::input::etl::pktmon::appearance(d).expect("packet event");
            key(*ns, a.group, a.number.into(), a.appearance.into(), a.component.into())
        })
        .collect();
    theirs.sort_unstable();
    ours.sort_unstable();
    assert_eq!(ours.len(), 3646);
    assert_eq!(ours, theirs);

    let distinct: std::collections::BTreeSet<(u64, u64)> = theirs.iter().map(|k| (k.1, k.2)).collect();
    assert_eq!(distinct.len(), 345);
    let (pkts, warnings, stats) = packets(&etl);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(pkts.len(), distinct.len());
    assert_eq!(stats.packets, 345);
    // Each packet is dated by one of its own appearances, and delivered in time order.
    let times: std::collections::BTreeSet<i64> = theirs.iter().map(|k| k.0).collect();
    assert!(pkts.iter().all(|p| times.contains(&p.1)));
    assert!(pkts.windows(2).all(|w| w[0].1 <= w[1].1));
    assert_eq!(stats.first.map(|t| t.rfc3339(7)).as_deref(), Some("2021-06-01T16:10:57.9762397Z"));
}

// Oracle: finalproject_packets.txt, `pktmon etl2txt` of finalproject_PktMon.etl: its 657
// PktMon lines at the same ticks; no packet line, so no packet.
#[test]
fn finalproject_matches_etl2txt_and_has_no_packets() {
    let (Some(etl), Some(txt)) = (corpus("etl", "finalproject_PktMon.etl"), corpus("etl", "finalproject_packets.txt"))
    else {
        return;
    };
    let (_, w) = pktmon_ticks_match(&etl, &txt, 657);
    assert!(w.warnings.is_empty(), "{:?}", w.warnings);
    assert!(!w.pktmon.iter().any(|e| e.1 == 160 || e.1 == 170));
    let (pkts, warnings, _) = packets(&etl);
    assert!(pkts.is_empty());
    assert_eq!(warnings.len(), 1, "only the no-packets note: {warnings:?}");
    assert!(warnings[0].contains("without packet events"));
}

// Oracle: NOTES.md — demikernel: 160×114 = 38 ICMP echo packets; wswiki: 43 NDIS-PacketCapture
// 1001 events, each a whole Ethernet frame (PacketStart|PacketEnd); finguard: 160×378 and
// 170×28 (build 26200, each appearance with its own PktGroupId).
#[test]
fn other_packet_traces_read_without_warnings() {
    for (name, events, packets_expected) in [
        ("demikernel_PktMon.etl", 114, Some(38)),
        ("wswiki_small-system-misc-ping.etl", 43, Some(43)),
        ("finguard_PktMon.etl", 406, None),
    ] {
        let Some(etl) = corpus("etl", name) else { continue };
        let w = walk_file(&etl);
        assert!(w.warnings.is_empty(), "{name}: {:?}", w.warnings);
        let (pkts, warnings, stats) = packets(&etl);
        assert!(warnings.is_empty(), "{name}: {warnings:?}");
        let detail = stats.detail.clone().unwrap_or_default();
        assert!(detail.contains(&format!("{events} packet events")), "{name}: {detail}");
        if let Some(n) = packets_expected {
            assert_eq!(pkts.len(), n, "{name}");
        }
        assert!(pkts.len() <= events, "{name}");
        assert!(pkts.windows(2).all(|w| w[0].1 <= w[1].1), "{name}: time order");
    }
    if let Some(etl) = corpus("etl", "wswiki_small-system-misc-ping.etl") {
        let (pkts, _, _) = packets(&etl);
        assert!(pkts.iter().all(|p| p.2 == rdplog::input::link::LINKTYPE_ETHERNET));
    }
    if let Some(etl) = corpus("etl", "finguard_PktMon.etl") {
        let (_, _, stats) = packets(&etl);
        let detail = stats.detail.unwrap_or_default();
        assert_eq!(detail.matches(" dropped by ").count(), 5, "{detail}");
        // Every packet pktmon saw dropped is delivered once, with where and why.
        let mut sink = WarningSink::new("t");
        let mut drops = Vec::new();
        let file = std::fs::File::open(&etl).expect("open");
        read_capture(file, "t", &mut sink, |p, _| {
            drops.extend(p.dropped.map(|d| format!("{}: {}", d.component, d.reason)))
        })
        .expect("reads");
        assert!(!drops.is_empty() && drops.len() <= 28, "{drops:?}");
        assert!(drops.iter().any(|d| d.starts_with("tcpip.sys")), "{drops:?}");
    }
}

// Oracle: NOTES.md section C — these traces hold no PktMon or NDIS-PacketCapture event; the
// error names what they hold (AMSI {8e805eb3…}, PowerShell {a0c1853b…}).
#[test]
fn traces_without_packets_name_their_providers() {
    for (name, provider) in [
        ("etlparser_AMSITrace.etl", "{8e805eb3-6a8f-4a1e-90fa-a831d94e54a1}"),
        ("etlparser_lxcore_kernel.etl", "{0cd1c309-0878-4515-83db-749843b3f5c9}"),
        ("krabsetw_powershell.etl", "Microsoft-Windows-PowerShell {a0c1853b-5c40-4b15-8766-3cf1c58f985a}"),
        ("perfview_SelfDescribingSingleEvent.etl", "{a61ea624-4944-55fc-c2a8-37838829438d}"),
    ] {
        let Some(etl) = corpus("etl", name) else { continue };
        let w = walk_file(&etl);
        assert!(w.warnings.is_empty(), "{name}: {:?}", w.warnings);
        let out = rdplog(&["analyze", etl.to_str().expect("utf-8")]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = stderr(&out);
        assert!(err.contains("ETW trace without packets") && err.contains(provider), "{name}: {err}");
        assert!(err.contains("{4d4f80d9-c8bd-4d73-bb5b-19c90402c5ac}"), "names PktMon: {err}");
    }
}

/// The `analyze` inventory line of one corpus trace, read from a folder that also holds a
/// file that is not an input (detection by content inside directories).
#[test]
fn etl_in_a_directory_is_found_by_content() {
    let Some(etl) = corpus("etl", "demikernel_PktMon.etl") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(&etl, dir.path().join("trace.bin")).expect("copy");
    std::fs::write(dir.path().join("notes.txt"), "hello").expect("write");
    let r = analyze_json(dir.path());
    let inputs = r["inputs"].as_array().expect("inputs");
    assert_eq!(inputs.len(), 1);
    assert_eq!(inputs[0]["kind"], "etl");
    assert_eq!(inputs[0]["records"], 38);
    assert_eq!(inputs[0]["warnings"], 0);
}

/// Damage: every cut and a few overwritten spans of a real compressed trace give warnings or
/// an error, never a panic, and never more packets than the intact file.
#[test]
fn damaged_traces_never_panic() {
    let Some(etl) = corpus("etl", "nsvpn_PktMon_7119f51.etl") else { return };
    let bytes = std::fs::read(etl).expect("read");
    let run = |b: &[u8]| {
        let mut sink = WarningSink::new("t");
        let mut n = 0usize;
        let r = read_capture(b, "t", &mut sink, |_, _| n += 1);
        (r.is_ok(), n, sink.total())
    };
    for cut in (0..bytes.len()).step_by(997) {
        let (ok, n, warnings) = run(&bytes[..cut]);
        assert!(n <= 345);
        if ok && cut > 2000 {
            assert!(warnings > 0, "a cut at {cut} is reported");
        }
    }
    for at in (0x500..bytes.len()).step_by(4099) {
        let mut b = bytes.clone();
        for x in &mut b[at..(at + 64).min(bytes.len())] {
            *x ^= 0x5a;
        }
        let (_, n, _) = run(&b);
        assert!(n <= 400);
    }
}

/// Reads a whole (small) file, for the twin test.
#[cfg(feature = "samples")]
fn read_all(p: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut b = Vec::new();
    std::fs::File::open(p).and_then(|mut f| f.read_to_end(&mut b)).expect("read");
    b
}

/// The pktmon twin of a pcap/pcapng capture: its packets as a host logs what it receives
/// (`synth::etl_writer::received`: at the NIC, then at tcpip.sys).
#[cfg(feature = "samples")]
fn pktmon_from_capture(capture: &[u8]) -> Vec<u8> {
    let mut pkts = Vec::new();
    let mut sink = rdplog::error::WarningSink::new("twin");
    rdplog::input::read_capture(capture, "twin", &mut sink, |p, _| pkts.push((p.ts, p.linktype, p.data.to_vec())))
        .expect("capture reads");
    rdplog::synth::etl_writer::received(&pkts)
}

// Oracle: the certificate sample's own pcapng (samples/certificate): its pktmon twin, written
// by `synth::etl_writer` with every packet logged at two components, gives the same
// connections (client, server, start, end) and the same verdicts.
#[cfg(feature = "samples")]
#[test]
fn pktmon_twin_of_a_sample_gives_the_same_verdict() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/certificate");
    let dir = tempfile::tempdir().expect("tempdir");
    let etl = pktmon_from_capture(&read_all(&root.join("capture.pcapng")));
    let twin = twin_of(&root, dir.path(), "capture.pcapng", "capture.etl", &etl);
    let a = analyze_json(&root);
    let b = analyze_json(&twin);
    assert_eq!(connections(&a), connections(&b));
    assert_eq!(a["diagnosis"]["cause"], b["diagnosis"]["cause"]);
    assert_eq!(a["diagnosis"]["cause"], "certificate");
    let kinds: Vec<&str> = b["inputs"].as_array().expect("inputs").iter().filter_map(|i| i["kind"].as_str()).collect();
    assert!(kinds.contains(&"etl"), "{kinds:?}");
}

#[cfg(feature = "samples")]
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

/// A copy of the sample folder `root` under `dir`, with its capture `capture` replaced by the
/// trace `etl` named `etl_name`: the copy's path.
#[cfg(feature = "samples")]
fn twin_of(root: &Path, dir: &Path, capture: &str, etl_name: &str, etl: &[u8]) -> std::path::PathBuf {
    let twin = dir.join(root.file_name().expect("folder name"));
    copy_dir(root, &twin);
    std::fs::remove_file(twin.join(capture)).expect("remove the capture");
    std::fs::write(twin.join(etl_name), etl).expect("write the trace");
    twin
}

/// Each connection of a JSON report as "client server start end cause".
#[cfg(feature = "samples")]
fn connections(r: &serde_json::Value) -> Vec<String> {
    r["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .map(|c| format!("{} {} {} {} {}", c["client"], c["server"], c["start"], c["end"], c["verdict"]["cause"]))
        .collect()
}

// Oracle: the twin pcapng of the same packets (`synth::scenarios::host_firewall_pcapng`) and the
// writer's layout: the bundled pktmon sample gives the same connection and cause as its pcapng,
// and only the .etl proves where the SYNs died: each SYN's evidence points at the pktmon 160
// event (by the walker's file-order numbering) whose payload is that SYN, and pktmon's drops
// (170, reason 1231) are evidence from the server's side.
#[cfg(feature = "samples")]
#[test]
fn pktmon_sample_matches_its_pcapng_twin_and_names_the_host_firewall() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/host-firewall");
    let dir = tempfile::tempdir().expect("tempdir");
    let twin = dir.path().join("capture.pcapng");
    std::fs::write(&twin, rdplog::synth::scenarios::host_firewall_pcapng().expect("twin")).expect("write twin");
    let a = analyze_json(&root);
    let b = analyze_json(&twin);
    let conns = |r: &serde_json::Value| -> Vec<String> {
        r["connections"]
            .as_array()
            .expect("connections")
            .iter()
            .map(|c| {
                format!(
                    "{} {} {} {} {}",
                    c["client"], c["server"], c["start"], c["failed_phase"], c["verdict"]["cause"]
                )
            })
            .collect()
    };
    assert_eq!(conns(&a), conns(&b));
    assert_eq!(
        conns(&a),
        ["\"10.20.30.41:55101\" \"10.20.1.15:3389\" \"2026-03-02T09:15:01.000000Z\" \"tcp\" \"firewall-block\""]
    );
    assert_eq!(a["diagnosis"]["cause"], b["diagnosis"]["cause"]);
    let ev = |r: &serde_json::Value, kind: &str| -> Vec<(String, String)> {
        r["connections"][0]["evidence"]
            .as_array()
            .expect("evidence")
            .iter()
            .filter(|e| e["kind"] == kind)
            .map(|e| (e["ref"].as_str().unwrap_or("").to_string(), e["side"].as_str().unwrap_or("").to_string()))
            .collect()
    };
    let drops = ev(&a, "host-drop");
    assert_eq!(drops.len(), 4, "{drops:?}");
    assert!(drops.iter().all(|(_, side)| side == "server"), "{drops:?}");
    assert!(ev(&b, "host-drop").is_empty());
    let tcp = &a["connections"][0]["tcp"]["host_drops"];
    assert_eq!(tcp["total"], 4);
    assert_eq!(tcp["first"][0]["reason_code"], 1231);
    assert_eq!(tcp["first"][0]["component"], "tcpip.sys (component 2)");
    // "event N of capture.etl": N is the file-order number of the NIC's 160 event for the SYN.
    let syn = ev(&a, "syn");
    let n: u64 = syn[0]
        .0
        .strip_prefix("event ")
        .and_then(|r| r.strip_suffix(" of capture.etl"))
        .and_then(|n| n.parse().ok())
        .expect("ref");
    let mut found = None;
    let file = std::fs::File::open(root.join("capture.etl")).expect("open");
    walk::walk(file, "t", &mut WarningSink::new("t"), |e, _| {
        if e.index == n {
            found = Some((e.provider, e.id, e.data.to_vec()));
        }
    })
    .expect("walk");
    let (provider, id, data) = found.expect("event N");
    assert_eq!((provider, id), (rdplog::input::etl::pktmon::PKTMON, 160));
    let p = rdplog::input::etl::pktmon::appearance(&data).expect("packet event");
    assert_eq!(p.component, 1, "the NIC's appearance, the closest to the wire");
    assert_eq!(p.payload.get(14 + 20 + 13).map(|f| f & 0x12), Some(0x02), "a bare SYN");
}

/// An Ethernet/IPv4/TCP frame of 600 bytes whose payload starts with `n` (so that frames can be
/// told apart after the trip): 10.0.0.1:50000 → 10.0.0.2:3389.
#[cfg(feature = "samples")]
fn numbered_frame(n: u32) -> Vec<u8> {
    let mut f = vec![0u8; 600];
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    f[16..18].copy_from_slice(&586u16.to_be_bytes());
    f[22] = 64;
    f[23] = 6;
    f[26..30].copy_from_slice(&[10, 0, 0, 1]);
    f[30..34].copy_from_slice(&[10, 0, 0, 2]);
    f[34..36].copy_from_slice(&50000u16.to_be_bytes());
    f[36..38].copy_from_slice(&3389u16.to_be_bytes());
    f[38..42].copy_from_slice(&n.to_be_bytes());
    f[46] = 0x50;
    f[47] = 0x18;
    f[54..58].copy_from_slice(&n.to_be_bytes());
    f
}

/// Writes `(processor, time in ms)` packets as a pktmon trace of `cpus` processors (each at two
/// components) and reads it back: the packets' numbers in the order they came out.
#[cfg(feature = "samples")]
fn round_trip(cpus: u8, packets: &[(u8, i64)]) -> Vec<u32> {
    use rdplog::synth::etl_writer::Received;
    use rdplog::time::Ts;
    let ms = 1_000_000i64;
    let mut w = Received::with_processors(Vec::new(), Ts(0), cpus).expect("writer");
    for (n, &(cpu, t)) in packets.iter().enumerate() {
        w.0.on_processor(cpu);
        w.packet(Ts(ms + t * ms), 1, &numbered_frame(n as u32)).expect("packet");
    }
    let trace = w.0.finish().expect("finish");
    let mut sink = WarningSink::new("t");
    let mut out = Vec::new();
    let mut last = i64::MIN;
    read_capture(&trace[..], "t", &mut sink, |p, _| {
        assert!(p.ts.0 >= last, "time order");
        last = p.ts.0;
        let n = p.data.get(54..58).map_or(u32::MAX, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        out.push(n);
    })
    .expect("reads");
    assert!(sink.list.is_empty(), "{:?}", sink.list);
    out
}

// Oracle: ETW's per-processor buffering (each processor's buffer is a time-ordered run, written
// to the file when full; the `walk` module doc) and the packets as written: 4,000 packets over
// four processors, whose 64 KiB buffers reach the file out of time order, come out once each,
// in time order — the watermark releases them early without getting ahead of a processor.
#[cfg(feature = "samples")]
#[test]
fn processors_buffers_are_merged_into_time_order() {
    // Processor by a scramble of the packet number, one packet per millisecond.
    let packets: Vec<(u8, i64)> = (0..4000i64).map(|i| (((i * 7 + i / 13) % 4) as u8, i)).collect();
    let out = round_trip(4, &packets);
    assert_eq!(out, (0..4000).collect::<Vec<u32>>());
}

// Oracle: the same layout — a processor that logs one early packet and nothing more has its
// buffer written last (when the session stops); its packet still comes out first, because no
// packet goes out before every processor has been heard from. A processor whose stream steps
// back in time by more than STEP_BACK_NS turns the watermark off, and order still holds.
#[cfg(feature = "samples")]
#[test]
fn a_quiet_processor_and_a_disordered_one_still_come_out_in_order() {
    let mut packets = vec![(1u8, 0i64)];
    packets.extend((1..3000i64).map(|i| (0u8, i)));
    assert_eq!(round_trip(2, &packets), (0..3000).collect::<Vec<u32>>());

    // Processor 0 goes from t = 2,000 ms back to t = 1,000 ms.
    let mut packets: Vec<(u8, i64)> = (0..1000i64).map(|i| ((i % 2) as u8, 1000 + i)).collect();
    packets.insert(0, (0, 2000));
    let mut want: Vec<u32> = (1..1001).collect();
    want.push(0);
    assert_eq!(round_trip(2, &packets), want);
}

/// The pktmon twin of a capture logged on several processors: `split` picks the processor of
/// the n-th packet from its addresses (`None`: not IP).
#[cfg(feature = "samples")]
fn pktmon_on_processors(
    capture: &[u8],
    cpus: u8,
    split: impl Fn(usize, Option<(std::net::IpAddr, std::net::IpAddr)>) -> u8,
) -> Vec<u8> {
    use rdplog::synth::etl_writer::Received;
    let mut pkts = Vec::new();
    let mut sink = WarningSink::new("twin");
    read_capture(capture, "twin", &mut sink, |p, _| pkts.push((p.ts, p.linktype, p.data.to_vec())))
        .expect("capture reads");
    let start = rdplog::time::Ts(pkts.first().map_or(0, |p| p.0.0 - 1_000_000));
    let mut w = Received::with_processors(Vec::new(), start, cpus).expect("writer");
    for (n, (ts, linktype, data)) in pkts.iter().enumerate() {
        let addrs = rdplog::input::link::decode(*linktype, data).ok().map(|d| (d.src, d.dst));
        w.0.on_processor(split(n, addrs));
        w.packet(*ts, *linktype, data).expect("packet");
    }
    w.0.finish().expect("finish")
}

// Oracle: each bundled sample's own capture (its expected.json verdicts are checked elsewhere):
// written as a pktmon trace whose two directions of every conversation sit in different
// processors' buffers, or whose packets go round four processors one by one, it gives the same
// connections (client, server, start, end), the same verdicts and the same diagnosis as the
// capture it came from. This found the teardown naming the side whose FIN had the lower event
// number, not the earlier time (sample `none`: the client's FIN is event 160, the server's later
// FIN event 82).
#[cfg(feature = "samples")]
#[test]
fn samples_logged_on_two_processors_give_their_verdicts() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut checked = 0;
    for case in std::fs::read_dir(&root).expect("samples").flatten().map(|e| e.path()) {
        let Some(capture) = ["capture.pcap", "capture.pcapng"].iter().map(|n| case.join(n)).find(|p| p.exists()) else {
            continue;
        };
        let name = case.file_name().expect("name").to_owned();
        let a = analyze_json(&case);
        let bytes = read_all(&capture);
        let by_direction = pktmon_on_processors(&bytes, 2, |_, addrs| addrs.map_or(0, |(s, d)| u8::from(s > d)));
        let round_robin = pktmon_on_processors(&bytes, 4, |n, _| (n % 4) as u8);
        let file = capture.file_name().and_then(|f| f.to_str()).expect("file name");
        for (how, etl) in [("by direction", by_direction), ("round robin", round_robin)] {
            let out = dir.path().join(how);
            let twin = twin_of(&case, &out, file, "capture.etl", &etl);
            let b = analyze_json(&twin);
            assert_eq!(connections(&a), connections(&b), "{name:?} {how}");
            assert_eq!(a["diagnosis"]["cause"], b["diagnosis"]["cause"], "{name:?} {how}");
        }
        checked += 1;
    }
    assert!(checked >= 15, "{checked} samples");
}

// Oracle: the `two-points` sample's own analysis (client.pcap + server.pcap; expected.json): with
// the server's capture taken by pktmon instead (its packets as a two-processor trace), the one
// connection is still matched across the two points, with both views, and the loss is still
// placed between them.
#[cfg(feature = "samples")]
#[test]
fn a_server_side_pktmon_trace_pairs_with_a_client_capture() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/two-points");
    let dir = tempfile::tempdir().expect("tempdir");
    let by_direction =
        |_, addrs: Option<(std::net::IpAddr, std::net::IpAddr)>| addrs.map_or(0, |(s, d)| u8::from(s > d));
    let etl = pktmon_on_processors(&read_all(&root.join("server.pcap")), 2, by_direction);
    let twin = twin_of(&root, dir.path(), "server.pcap", "server.etl", &etl);
    let (a, b) = (analyze_json(&root), analyze_json(&twin));
    assert_eq!(connections(&a), connections(&b));
    assert_eq!(connections(&b).len(), 1, "{:?}", connections(&b));
    assert_eq!(b["connections"][0]["views"].as_array().map(Vec::len), Some(2));
    assert_eq!(a["diagnosis"]["cause"], b["diagnosis"]["cause"]);
    let located = |r: &serde_json::Value| r["connections"][0]["verdict"]["located"].as_str().map(str::to_owned);
    assert!(located(&a).is_some_and(|l| l.starts_with("Look between")), "{:?}", located(&a));
    assert_eq!(located(&a).map(|l| l.replace("server.pcap", "server.etl")), located(&b));
}

// Oracle: each bundled sample's own capture: its packets written as two pktmon traces (a
// multi-file trace: the first half, then the second, each file with its own logfile header) and
// given together are read as one stream, so every conversation crossing the cut stays one
// connection: the same connections, verdicts and diagnosis as the capture, and the second file
// says it continues the first.
#[cfg(feature = "samples")]
#[test]
fn a_trace_in_two_files_reads_as_one() {
    use rdplog::synth::etl_writer::Received;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut checked, mut seams) = (0, 0);
    for case in std::fs::read_dir(&root).expect("samples").flatten().map(|e| e.path()) {
        let Some(capture) = ["capture.pcap", "capture.pcapng"].iter().map(|n| case.join(n)).find(|p| p.exists()) else {
            continue;
        };
        let mut pkts = Vec::new();
        let mut sink = WarningSink::new("twin");
        read_capture(&read_all(&capture)[..], "twin", &mut sink, |p, _| pkts.push((p.ts, p.linktype, p.data.to_vec())))
            .expect("capture reads");
        let half = pkts.len() / 2;
        let file = |part: &[(rdplog::time::Ts, u32, Vec<u8>)]| {
            let start = rdplog::time::Ts(part.first().map_or(0, |p| p.0.0 - 1_000));
            let mut w = Received::with_processors(Vec::new(), start, 1).expect("writer");
            for (ts, linktype, data) in part {
                w.packet(*ts, *linktype, data).expect("packet");
            }
            w.0.finish().expect("finish")
        };
        let name = capture.file_name().and_then(|f| f.to_str()).expect("file name");
        let twin = twin_of(&case, dir.path(), name, "capture-1.etl", &file(&pkts[..half]));
        std::fs::write(twin.join("capture-2.etl"), file(&pkts[half..])).expect("write the second file");
        let (a, b) = (analyze_json(&case), analyze_json(&twin));
        assert_eq!(connections(&a), connections(&b), "{case:?}");
        assert_eq!(a["diagnosis"]["cause"], b["diagnosis"]["cause"], "{case:?}");
        // A teardown in the second file names it and its own event number: the writer logs the
        // logfile header (event 1), two component names (2, 3), then each packet at the NIC and
        // at tcpip.sys, so the file's k-th packet (from 0) is event 4 + 2k, at the NIC.
        let (ca, cb) = (a["connections"].as_array().expect("a"), b["connections"].as_array().expect("b"));
        for (ta, tb) in ca.iter().zip(cb).map(|(x, y)| (&x["teardown"]["at"], &y["teardown"]["at"])) {
            if tb["file"].as_str().is_some_and(|f| f.ends_with("capture-2.etl")) {
                let k = ta["frame"].as_u64().expect("frame") - 1 - half as u64;
                assert_eq!(tb["frame"].as_u64(), Some(4 + 2 * k), "{case:?}: {tb}");
                seams += 1;
            }
        }
        let second = b["inputs"]
            .as_array()
            .expect("inputs")
            .iter()
            .find(|i| i["path"].as_str().is_some_and(|p| p.ends_with("capture-2.etl")));
        assert!(
            second.is_some_and(|i| i["continues"].as_str().is_some_and(|c| c.ends_with("capture-1.etl"))),
            "{case:?}: {second:?}"
        );
        checked += 1;
    }
    assert!(checked >= 15, "{checked} samples");
    assert!(seams > 0, "no teardown in a second file");
}
