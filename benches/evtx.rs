//! Throughput of `.evtx` ingestion (`rdplog::events::evtx::read_evtx_file_kept`, what `analyze` uses) on a ~200 MB log, in a
//! 1-thread and a 2-thread rayon pool, to compare with `evtx_dump -t 1|2 -o jsonl FILE`.
//!
//! `RDPLOG_BENCH_EVTX_MB` sets the size (default 200), `RDPLOG_BENCH_THREADS` the pool sizes
//! (default "1 2"); `RDPLOG_BENCH_GENERATE_ONLY=1` only writes it;
//! `RDPLOG_BENCH_ONCE=1` runs each catalogue once on one thread (for profilers; add
//! `--profile profiling` for symbols and line tables, which the release profile strips).
//! Takes the corpus file museum-StolenSzechuan_System.evtx (16 MB, 60,189 records;
//! `$RDPLOG_CORPUS` or ../shared/corpus) and builds, once, a large log in the temp dir by
//! repeating its chunks after its 4096-byte file header until the file passes 200 MB: the evtx
//! format (and the crate) finds chunks at fixed offsets 4096 + n·65536, so concatenating chunk
//! blocks is enough; the header's chunk count, last chunk number and CRC32 are fixed so that no
//! warning is raised. Record ids repeat, which no reader cares about.
//! Produces criterion timings with `Throughput::Bytes` for two catalogues: `services` (a handful
//! of service/listener ids, ~2% of the records kept as `WinEvent`s: the usual case, where most
//! records are only counted) and `with_schannel` (plus the two Schannel ids that make up 97% of
//! this log, so ~835,000 `WinEvent`s are built: the worst case, bound by allocating them), and
//! `catalogue_capped`: rdplog's whole catalogue with `analyze`'s cap of 5,000 events per id, read
//! newest batch first so that events beyond the cap are never built (what `analyze` does).
//! Freeing the events is left out of the timing. Skips (with a notice) without the corpus.
//!
//! The evtx_dump side is timed outside criterion, e.g.
//! `hyperfine 'evtx_dump -t 1 -o jsonl $TMP/rdplog-bench-evtx-200mb.evtx'` or
//! `/usr/bin/time evtx_dump -t 1 -o jsonl FILE > /dev/null`.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group};
use rdplog::error::WarningSink;
use rdplog::events::catalog::is_catalogued;
use rdplog::events::evtx::{Keep, read_evtx_file_kept};
use rdplog::events::{LogStats, WinEvent};
use rdplog::limits::Limits;

const SOURCE: &str = "museum-StolenSzechuan_System.evtx";
/// Size of the generated log in MB: `RDPLOG_BENCH_EVTX_MB`, default 200.
fn target_mb() -> u64 {
    std::env::var("RDPLOG_BENCH_EVTX_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
}
const CHUNK: usize = 65_536;

/// A handful of catalogue entries of the kind rdplog keeps (provider, event id): service and
/// listener events. About 2% of this System log's records.
const SERVICES: &[(&str, u16)] = &[
    ("Service Control Manager", 7036),
    ("Service Control Manager", 7045),
    ("Microsoft-Windows-TerminalServices-RemoteConnectionManager", 1056),
    ("Microsoft-Windows-TerminalServices-RemoteConnectionManager", 1057),
    ("TermDD", 56),
];

/// The same plus the Schannel handshake failures, which are 97% of this log (an RDP server on
/// the internet): nearly every record becomes a `WinEvent` with its fields.
const WITH_SCHANNEL: &[(&str, u16)] = &[
    ("Service Control Manager", 7036),
    ("Service Control Manager", 7045),
    ("Microsoft-Windows-TerminalServices-RemoteConnectionManager", 1056),
    ("Microsoft-Windows-TerminalServices-RemoteConnectionManager", 1057),
    ("TermDD", 56),
    ("Schannel", 36874),
    ("Schannel", 36888),
];

fn corpus_file() -> Option<PathBuf> {
    let base = std::env::var_os("RDPLOG_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    let p = base.join("evtx").join(SOURCE);
    p.is_file().then_some(p)
}

/// The big log, built on first use and reused by later runs.
fn big_log() -> Option<PathBuf> {
    let target = target_mb() * 1024 * 1024;
    let out = std::env::temp_dir().join(format!("rdplog-bench-evtx-{}mb.evtx", target_mb()));
    if out.metadata().is_ok_and(|m| m.len() > target) {
        return Some(out);
    }
    let src = std::fs::read(corpus_file()?).expect("read the corpus log");
    let (header, chunks) = src.split_at(4096);
    let chunks = &chunks[..chunks.len() / CHUNK * CHUNK];
    let reps = (target as usize).div_ceil(chunks.len()) + 1;
    let total = (chunks.len() / CHUNK * reps) as u64;
    let mut header = header.to_vec();
    header[8..16].copy_from_slice(&0u64.to_le_bytes()); // oldest chunk
    header[16..24].copy_from_slice(&(total - 1).to_le_bytes()); // current chunk
    header[42..44].copy_from_slice(&(total as u16).to_le_bytes()); // chunk count
    header[120..124].copy_from_slice(&0u32.to_le_bytes()); // flags: clean
    let mut crc = flate2::Crc::new();
    crc.update(&header[..120]);
    header[124..128].copy_from_slice(&crc.sum().to_le_bytes());
    let tmp = out.with_extension("partial");
    let mut f = File::create(&tmp).expect("create the bench log");
    f.write_all(&header).expect("write");
    for _ in 0..reps {
        f.write_all(chunks).expect("write");
    }
    drop(f);
    std::fs::rename(&tmp, &out).expect("rename the bench log");
    Some(out)
}

/// One read of the log; the events are handed back so that freeing them is not timed (that is
/// the consumer's cost, and with `WITH_SCHANNEL` it is ~835,000 events). An empty `set` means
/// what `rdplog analyze` does: the whole catalogue, at most `--max-events-per-id` per id.
fn ingest(path: &Path, set: &[(&str, u16)]) -> (LogStats, Vec<WinEvent>) {
    let mut sink = WarningSink::new("bench");
    // The file reader `analyze` uses: each worker reads the chunks it parses.
    let file = File::open(path).expect("open");
    let out = if set.is_empty() {
        let keep = Keep { per_event: Limits::default().events_per_id, ..Keep::all() };
        let (stats, events, _) = read_evtx_file_kept(&file, "bench", &is_catalogued, &keep, &mut sink).expect("read");
        (stats, events)
    } else {
        let wanted = |provider: &str, id: u16| set.iter().any(|(p, i)| *i == id && *p == provider);
        let (stats, events, _) = read_evtx_file_kept(&file, "bench", &wanted, &Keep::all(), &mut sink).expect("read");
        (stats, events)
    };
    // The capped run warns that it kept only the latest Schannel events.
    assert!(sink.list.iter().all(|w| w.message.contains("are analysed")), "{:?}", sink.list.first());
    out
}

/// Pool sizes timed: `RDPLOG_BENCH_THREADS` (e.g. "1 2 4 8 16"), default "1 2".
fn bench_threads() -> Vec<usize> {
    let list = std::env::var("RDPLOG_BENCH_THREADS").unwrap_or_else(|_| "1 2".to_string());
    list.split_whitespace().filter_map(|n| n.parse().ok()).collect()
}

/// The catalogues compared: two hand-made ones and rdplog's own with its per-id cap.
const SETS: [(&str, &[(&str, u16)]); 3] =
    [("services", SERVICES), ("with_schannel", WITH_SCHANNEL), ("catalogue_capped", &[])];

fn bench(c: &mut Criterion) {
    let Some(path) = big_log() else {
        eprintln!("corpus file {SOURCE} not found: skipping the evtx bench (set RDPLOG_CORPUS)");
        return;
    };
    let len = path.metadata().expect("stat").len();
    eprintln!("bench log: {} ({len} bytes)", path.display());
    let mut group = c.benchmark_group("evtx");
    group.throughput(Throughput::Bytes(len));
    group.sample_size(10);
    for (name, set) in SETS {
        for threads in bench_threads() {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("rayon pool");
            group.bench_function(format!("{name}/{threads}_thread"), |b| {
                b.iter_with_large_drop(|| pool.install(|| ingest(&path, set)))
            });
        }
    }
    group.finish();
    // Records per second, from one more timed run per catalogue on one thread (criterion
    // reports one throughput unit).
    once();
}

criterion_group!(benches, bench);

/// `RDPLOG_BENCH_ONCE=1`: one timed run per catalogue on one thread, without criterion, for
/// profilers (`valgrind --tool=callgrind`, `perf record`; build with `--profile profiling`) that
/// want a fixed amount of work; `RDPLOG_BENCH_ONCE=services` or `=with_schannel` runs only that
/// catalogue.
fn once() {
    let Some(path) = big_log() else {
        eprintln!("corpus file {SOURCE} not found (set RDPLOG_CORPUS)");
        return;
    };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("rayon pool");
    let only = std::env::var("RDPLOG_BENCH_ONCE").unwrap_or_default();
    for (name, set) in SETS {
        if !matches!(only.as_str(), "" | "1") && only != name {
            continue;
        }
        let start = std::time::Instant::now();
        let (stats, events) = pool.install(|| ingest(&path, set));
        let secs = start.elapsed().as_secs_f64();
        eprintln!(
            "{name}, 1 thread: {} records, {} events kept, {secs:.3} s: {:.2} M records/s",
            stats.records,
            events.len(),
            stats.records as f64 / secs / 1e6
        );
    }
}

/// `RDPLOG_BENCH_GENERATE_ONLY=1` only writes the log (benches/compare.sh uses it).
fn main() {
    if std::env::var_os("RDPLOG_BENCH_GENERATE_ONLY").is_some() {
        match big_log() {
            Some(p) => eprintln!("wrote {}", p.display()),
            None => eprintln!("corpus file {SOURCE} not found (set RDPLOG_CORPUS)"),
        }
        return;
    }
    if std::env::var_os("RDPLOG_BENCH_ONCE").is_some() {
        once();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
