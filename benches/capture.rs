//! Capture ingestion throughput: the whole packet pipeline (read, link/IP/TCP slicing, flow
//! table, RDP analysis, connection records) on one core, over a synthetic capture of mostly
//! non-RDP traffic with a few hundred failed RDP attempts mixed in.
//!
//! The capture is generated here (never committed) into the temp directory and reused across
//! runs: `RDPLOG_BENCH_MB` sets its size (default 1024). After the run the process's peak
//! resident memory (VmHWM) is printed. `RDPLOG_BENCH_GENERATE_ONLY=1` only writes the file.
//! `RDPLOG_BENCH_ETL=1` also writes the same packets as a pktmon `.etl` (each packet at two
//! components, as `synth::etl_writer::received` logs it) and as the pcapng `pktmon etl2pcap`
//! would make of that trace (both copies of each packet; flows spread over four processors'
//! buffers), and times each: the `.etl` against
//! its converted pcapng (the comparison), and per delivered packet against the pcap.
//!
//!     cargo bench --bench capture
//!     RDPLOG_BENCH_ETL=1 RDPLOG_BENCH_MB=256 cargo bench --bench capture

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::Ipv4Addr;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group};
use rdplog::analyze::analyze_capture;
use rdplog::error::WarningSink;
use rdplog::synth::XorShift;
use rdplog::synth::conversation::{Frame, Host, Link, TcpConversation, UdpExchange, merge};
use rdplog::synth::rdp;
use rdplog::synth::writer::CaptureWriter;
use rdplog::time::Ts;

const MS: i64 = 1_000_000;

/// One round of traffic: six bulk TCP transfers, a few DNS-like exchanges and, every
/// `rdp_every` rounds, one RDP attempt that the server resets after the ClientHello.
fn round(n: u64, t0: Ts, rng: &mut XorShift, rdp_every: u64) -> (Vec<Frame>, bool) {
    let mut streams = Vec::new();
    let client = |i: u64| Host::new(Ipv4Addr::new(10, 1, (i >> 8) as u8, i as u8), 128);
    for k in 0..6u64 {
        let port = [443u16, 445, 80, 8080, 22, 993][k as usize];
        let server = Host::new(Ipv4Addr::new(172, 16, k as u8, 10), 64);
        let cport = 1024 + ((n * 6 + k) % 60_000) as u16;
        let mut c = TcpConversation::new(
            Link::Ethernet,
            client(n % 250 + 1),
            cport,
            server,
            port,
            t0,
            20 * MS,
            1460,
            rng.next_u64() as u32,
        );
        c.handshake().client_send(&[0x41; 300]).server_send(&vec![0x5a; 48 * 1024]).fin_from_client();
        streams.push(c.frames());
    }
    for k in 0..4u64 {
        let mut u = UdpExchange::new(
            Link::Ethernet,
            client(k + 1),
            50_000 + k as u16,
            Host::new(Ipv4Addr::new(172, 16, 9, 53), 64),
            53,
            t0,
            2 * MS,
        );
        let _ = u.send(true, &[0x11; 40]).and_then(|u| u.send(false, &[0x22; 120]));
        streams.push(u.frames());
    }
    let is_rdp = n % rdp_every == 0;
    if is_rdp {
        let server = Host::new(Ipv4Addr::new(172, 16, 20, 5), 128);
        let cport = 49_152 + (n % 16_000) as u16;
        let mut c = TcpConversation::new(
            Link::Ethernet,
            client(200),
            cport,
            server,
            3389,
            t0,
            30 * MS,
            1460,
            rng.next_u64() as u32,
        );
        c.handshake()
            .client_send(&rdp::connection_request(Some("alice"), 0xb))
            .server_send(&rdp::connection_confirm(Ok(0x2)))
            .client_send(&rdp::client_hello(Some("rdp01.corp.test"), [3; 32]))
            .rst_from_server();
        streams.push(c.frames());
    }
    (merge(streams), is_rdp)
}

/// Writes about `target` bytes of capture; returns the number of RDP attempts in it.
fn generate(path: &Path, target: u64) -> std::io::Result<u64> {
    let mut w = CaptureWriter::pcap(BufWriter::with_capacity(1 << 20, File::create(path)?), 1, false, false, 262_144)?;
    let mut rng = XorShift::new(42);
    let (mut written, mut n, mut attempts) = (24u64, 0u64, 0u64);
    // About 340 KB per round: one RDP attempt every 10 rounds gives ~300 attempts per GB.
    while written < target {
        let t0 = Ts(1_700_000_000_000_000_000 + n as i64 * 40 * MS);
        let (frames, is_rdp) = round(n, t0, &mut rng, 10);
        attempts += is_rdp as u64;
        for f in &frames {
            w.packet(0, f.ts, &f.data)?;
            written += 16 + f.data.len() as u64;
        }
        n += 1;
    }
    w.into_inner().flush()?;
    Ok(attempts)
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn bench_capture(c: &mut Criterion) {
    let mb: u64 = std::env::var("RDPLOG_BENCH_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let path = std::env::temp_dir().join(format!("rdplog-bench-{mb}MB.pcap"));
    if std::fs::metadata(&path).map(|m| m.len() < mb << 20).unwrap_or(true) {
        eprintln!("generating {} ({mb} MB)...", path.display());
        let attempts = generate(&path, mb << 20).expect("generate bench capture");
        eprintln!("  {attempts} RDP attempts");
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let mut group = c.benchmark_group("capture");
    group.throughput(Throughput::Bytes(size));
    group.sample_size(10);
    group.bench_function(format!("analyze {mb} MB, 1 thread"), |b| {
        b.iter(|| {
            let mut sink = WarningSink::new("bench");
            let file = File::open(&path).expect("open bench capture");
            let (stats, _, conns) = analyze_capture(file, "bench", &mut sink).expect("analyze");
            assert!(stats.packets > 0 && !conns.is_empty());
            conns.len()
        })
    });
    group.finish();
    // Packets per second, from one more timed run (criterion reports one throughput unit).
    let start = std::time::Instant::now();
    let file = File::open(&path).expect("open bench capture");
    let (stats, _, _) = analyze_capture(file, "bench", &mut WarningSink::new("bench")).expect("analyze");
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "one run: {} packets in {secs:.3} s: {:.2} M packets/s, {:.0} MB/s",
        stats.packets,
        stats.packets as f64 / secs / 1e6,
        size as f64 / secs / 1e6
    );
    if let Some(kib) = peak_rss_kib() {
        eprintln!("peak resident memory (VmHWM): {:.1} MB", kib as f64 / 1024.0);
    }
}

/// Processors of the bench's pktmon trace: each flow's packets are logged on one of them (as
/// receive-side scaling spreads flows over CPUs), so that the reader merges four buffers' runs.
const ETL_CPUS: u8 = 4;

/// Writes the pktmon twin of the pcap at `pcap` to `etl`, and to `ng` that trace as
/// `pktmon etl2pcap` would convert it: every appearance a packet (pktmon's pcapng keeps the
/// copy each component logged; its per-packet comments are left out, which only makes the
/// pcapng cheaper to read). The generated pcap interleaves its rounds slightly out of time
/// order, which no ETW processor does: the twins are written in time order (held in memory).
fn write_etl_twin(pcap: &Path, etl: &Path, ng: &Path) -> std::io::Result<()> {
    use rdplog::synth::etl_writer::Received;
    use rdplog::synth::writer::{CaptureWriter, Interface};
    let mut sink = WarningSink::new("bench");
    let mut packets: Vec<(Ts, u32, Vec<u8>)> = Vec::new();
    rdplog::input::read_capture(File::open(pcap)?, "bench", &mut sink, |p, _| {
        packets.push((p.ts, p.linktype, p.data.to_vec()))
    })
    .map_err(std::io::Error::other)?;
    packets.sort_by_key(|p| p.0);
    let Some(first) = packets.first() else { return Err(std::io::Error::other("empty bench capture")) };
    let out = BufWriter::with_capacity(1 << 20, File::create(etl)?);
    let mut w = Received::with_processors(out, Ts(first.0.0 - MS), ETL_CPUS)?;
    let iface = Interface { tsresol: 7, ..Interface::new(first.1 as u16) };
    let mut c = CaptureWriter::pcapng(BufWriter::with_capacity(1 << 20, File::create(ng)?), &[iface])?;
    for (ts, linktype, data) in &packets {
        w.0.on_processor(flow_cpu(data));
        w.packet(*ts, *linktype, data)?;
        // The two appearances `Received` logs: at the NIC, then 100 ns later at tcpip.sys.
        c.packet(0, *ts, data)?;
        c.packet(0, Ts(ts.0 + 100), data)?;
    }
    w.0.finish()?.flush()?;
    c.into_inner().flush()
}

/// The processor a frame's flow is received on: a hash of its IPv4 addresses and ports, the
/// same both ways (Ethernet frames; others go to processor 0).
fn flow_cpu(frame: &[u8]) -> u8 {
    use std::hash::{Hash, Hasher};
    let (Some(a), Some(b)) = (frame.get(26..30).zip(frame.get(34..36)), frame.get(30..34).zip(frame.get(36..38)))
    else {
        return 0;
    };
    let mut h = rustc_hash::FxHasher::default();
    a.min(b).hash(&mut h);
    a.max(b).hash(&mut h);
    (h.finish() >> 32) as u8 % ETL_CPUS
}

/// One timed run of the capture pipeline: (packets, seconds).
fn timed(path: &Path) -> (u64, f64) {
    let start = std::time::Instant::now();
    let file = std::io::BufReader::with_capacity(1 << 20, File::open(path).expect("open"));
    let (stats, _, conns) = analyze_capture(file, "bench", &mut WarningSink::new("bench")).expect("analyze");
    assert!(!conns.is_empty());
    (stats.packets, start.elapsed().as_secs_f64())
}

/// `RDPLOG_BENCH_ETL=1`: the pcap, its pktmon twin and that twin as `pktmon etl2pcap` would
/// convert it, one timed run each (best of three).
fn compare_etl(mb: u64) {
    let pcap = std::env::temp_dir().join(format!("rdplog-bench-{mb}MB.pcap"));
    let etl = pcap.with_extension("etl");
    let ng = pcap.with_extension("etl2pcap.pcapng");
    if std::fs::metadata(&pcap).map(|m| m.len() < mb << 20).unwrap_or(true) {
        generate(&pcap, mb << 20).expect("generate bench capture");
    }
    if !etl.exists() || !ng.exists() {
        write_etl_twin(&pcap, &etl, &ng).expect("write etl twin");
    }
    let best = |p: &Path| (0..3).map(|_| timed(p)).min_by(|a, b| a.1.total_cmp(&b.1)).expect("three runs");
    let (pn, ps) = best(&pcap);
    let (nn, ns) = best(&ng);
    let (en, es) = best(&etl);
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len() as f64 / 1e6).unwrap_or(0.0);
    let line = |what: &str, p: &Path, n: u64, s: f64| {
        eprintln!("{what}: {n} packets, {:.0} MB in {s:.3} s ({:.2} M packets/s)", size(p), n as f64 / s / 1e6)
    };
    line("pcap (each packet once)      ", &pcap, pn, ps);
    line("pcapng (etl2pcap: every copy)", &ng, nn, ns);
    line("etl (pktmon, two components) ", &etl, en, es);
    eprintln!("etl / its etl2pcap pcapng, time for the same file: {:.2}x", es / ns);
    eprintln!("etl / pcap, time per delivered packet: {:.2}x", (es / en as f64) / (ps / pn as f64));
}

criterion_group!(benches, bench_capture);

/// `RDPLOG_BENCH_GENERATE_ONLY=1` only writes the capture (benches/compare.sh uses it).
fn main() {
    if std::env::var_os("RDPLOG_BENCH_GENERATE_ONLY").is_some() {
        let mb: u64 = std::env::var("RDPLOG_BENCH_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
        let path = std::env::temp_dir().join(format!("rdplog-bench-{mb}MB.pcap"));
        match generate(&path, mb << 20) {
            Ok(n) => eprintln!("wrote {} ({n} RDP attempts)", path.display()),
            Err(e) => eprintln!("cannot write {}: {e}", path.display()),
        }
        return;
    }
    if std::env::var_os("RDPLOG_BENCH_ETL").is_some() {
        let mb: u64 = std::env::var("RDPLOG_BENCH_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
        compare_etl(mb);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
