#!/usr/bin/env bash
# Times rdplog against the tools analysts use today, on one machine, in one run, at each thread
# count of --threads (default "1 2"):
#   event log: rdplog analyze -j N (with and without the SHA-256)  vs  evtx_dump -t N -o jsonl
#   capture:   rdplog analyze -j N (with and without the SHA-256)  vs  tshark -Y 'tcp.port==3389 …' -T fields
#              and tshark -q -z conv,tcp (tshark is single-threaded: timed once)
#   both together: rdplog analyze capture + log -j N
# Every cell is wall seconds and peak RSS; the ratio columns are the peer's time over rdplog's
# (above 1: rdplog is faster). The header states the machine.
# Inputs are generated (never committed): a capture of CAPTURE_MB (default 1024) by the capture
# bench's generator, and an event log of about LOG_MB (default 400) built from a corpus log by the
# evtx bench's generator. Installs tshark (apt) and evtx_dump (cargo install evtx) when missing.
# Usage: bash benches/compare.sh [--threads "1 2 4 8 16"] [--rounds R]
#   (results table on stdout; raw timings in $OUT). RDPLOG=path skips the build. Each cell is the
#   fastest of R rounds (default 1; tshark runs once): on a shared machine, take R=3.
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS="1 2"
ROUNDS=1
while [ $# -gt 0 ]; do
    case "$1" in
        --threads) THREADS="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        *) echo "usage: $0 [--threads \"1 2 4 8 16\"] [--rounds R]" >&2; exit 2 ;;
    esac
done

CAPTURE_MB="${CAPTURE_MB:-1024}"
LOG_MB="${LOG_MB:-400}"
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
TMP="${TMPDIR:-/tmp}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rdplog/target}"
FEATURES=(--no-default-features --features samples)

need() { command -v "$1" >/dev/null 2>&1; }
if ! need tshark; then
    echo "installing tshark..." >&2
    echo "wireshark-common wireshark-common/install-setuid boolean false" | sudo -n debconf-set-selections 2>/dev/null || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null
fi
# The Rust evtx_dump (a Python tool of the same name may come first on PATH).
EVTX_DUMP="${EVTX_DUMP:-$HOME/.cargo/bin/evtx_dump}"
if [ ! -x "$EVTX_DUMP" ]; then
    echo "installing evtx_dump (cargo install evtx)..." >&2
    cargo install --locked evtx >/dev/null 2>&1
fi
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null

if [ -z "${RDPLOG:-}" ]; then
    echo "building rdplog (release)..." >&2
    cargo build --release -q "${FEATURES[@]}"
    RDPLOG="$CARGO_TARGET_DIR/release/rdplog"
fi

CAP="$TMP/rdplog-bench-${CAPTURE_MB}MB.pcap"
if [ ! -s "$CAP" ]; then
    echo "generating $CAP..." >&2
    RDPLOG_BENCH_MB="$CAPTURE_MB" RDPLOG_BENCH_GENERATE_ONLY=1 cargo bench -q "${FEATURES[@]}" --bench capture >&2
fi
LOG="$TMP/rdplog-bench-evtx-${LOG_MB}mb.evtx"
if [ ! -s "$LOG" ]; then
    echo "generating $LOG..." >&2
    RDPLOG_BENCH_EVTX_MB="$LOG_MB" RDPLOG_BENCH_GENERATE_ONLY=1 cargo bench -q "${FEATURES[@]}" --bench evtx >&2
fi

# run NAME COMMAND... : the fastest wall time of ROUNDS runs and its peak RSS (MB), output
# discarded.
run() {
    local name="$1"; shift
    local best="" best_mb=0
    for _ in $(seq 1 "$ROUNDS"); do
        /usr/bin/time -f "%e %M" -o "$OUT/$name.time" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" || true
        # /usr/bin/time prefixes a "Command exited with non-zero status" line when the exit code
        # is not 0 (rdplog exits 1 when it diagnoses a failure): the numbers are on the last line.
        read -r secs kb < <(tail -n 1 "$OUT/$name.time")
        if [ -z "$best" ] || awk "BEGIN { exit !($secs < $best) }"; then best="$secs"; best_mb=$((kb / 1024)); fi
    done
    printf '%s %s %s\n' "$name" "$best" "$best_mb" >>"$OUT/results"
}
# Warm page cache for every tool (the table compares CPU work, not the disk).
cat "$CAP" "$LOG" >/dev/null
: >"$OUT/results"
# tshark is the slow side (minutes): one run whatever --rounds says.
rounds="$ROUNDS"; ROUNDS=1
run tshark_fields tshark -r "$CAP" -Y 'tcp.port==3389 || udp.port==3389' -T fields -e frame.number -e frame.time_epoch -e ip.src -e tcp.srcport -e ip.dst -e tcp.dstport -e tcp.flags
run tshark_conv tshark -r "$CAP" -q -z conv,tcp
ROUNDS="$rounds"
for n in $THREADS; do
    run "log_$n" "$RDPLOG" analyze "$LOG" --format json -o /dev/null -j "$n"
    run "log_nohash_$n" "$RDPLOG" analyze "$LOG" --format json -o /dev/null -j "$n" --no-hash
    run "evtx_dump_$n" sh -c "'$EVTX_DUMP' -t $n -o jsonl '$LOG' > /dev/null"
    run "cap_$n" "$RDPLOG" analyze "$CAP" --format json -o /dev/null -j "$n"
    run "cap_nohash_$n" "$RDPLOG" analyze "$CAP" --format json -o /dev/null -j "$n" --no-hash
    run "both_$n" "$RDPLOG" analyze "$CAP" "$LOG" --format json -o /dev/null -j "$n"
done

cap_mb=$(( $(stat -c %s "$CAP") / 1048576 )); log_mb=$(( $(stat -c %s "$LOG") / 1048576 ))
cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
sha="no SHA-NI"; grep -qw sha_ni /proc/cpuinfo && sha="SHA-NI"
machine="$cpu, $(nproc) cores ($sha), $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo), load average $(cut -d' ' -f1 /proc/loadavg) at the end"
python3 - "$OUT/results" "$cap_mb" "$log_mb" "$machine" "$THREADS" "$ROUNDS" <<'PY'
import sys
rows = {l.split()[0]: (float(l.split()[1]), int(l.split()[2])) for l in open(sys.argv[1])}
cap, log, machine, threads, rounds = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5].split(), sys.argv[6]
def cell(name, size):
    s, m = rows[name]
    return f"{s:.2f} s ({size / s:.0f} MB/s, {m} MB)"
def ratio(peer, ours):
    return f"{rows[peer][0] / max(rows[ours][0], 0.005):.1f}x"
print(f"Machine: {machine}. Event log {log} MB, capture {cap} MB; wall time (throughput, peak RSS),")
print(f"best of {rounds} run(s); ratios are the peer's time over rdplog's (above 1: rdplog faster).")
print()
print("| threads | rdplog log | rdplog log --no-hash | evtx_dump -t N -o jsonl | evtx_dump / rdplog | evtx_dump / rdplog --no-hash |")
print("|---|---|---|---|---|---|")
for n in threads:
    print(f"| {n} | {cell(f'log_{n}', log)} | {cell(f'log_nohash_{n}', log)} | {cell(f'evtx_dump_{n}', log)} "
          f"| {ratio(f'evtx_dump_{n}', f'log_{n}')} | {ratio(f'evtx_dump_{n}', f'log_nohash_{n}')} |")
print()
print(f"tshark (one thread): `-Y 'tcp.port==3389…' -T fields` {cell('tshark_fields', cap)}; `-q -z conv,tcp` {cell('tshark_conv', cap)}")
print()
print("| threads | rdplog capture | rdplog capture --no-hash | tshark fields / rdplog | tshark conv / rdplog | rdplog capture + log |")
print("|---|---|---|---|---|---|")
for n in threads:
    print(f"| {n} | {cell(f'cap_{n}', cap)} | {cell(f'cap_nohash_{n}', cap)} | {ratio('tshark_fields', f'cap_{n}')} "
          f"| {ratio('tshark_conv', f'cap_{n}')} | {cell(f'both_{n}', cap + log)} |")
PY
echo "(raw timings and outputs in $OUT)" >&2
