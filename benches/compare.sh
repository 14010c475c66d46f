#!/usr/bin/env bash
# Times rdplog against the tools analysts use today, on one machine, in one run:
#   capture: rdplog analyze  vs  tshark -Y 'tcp.port==3389 || udp.port==3389' -T fields …  and  tshark -q -z conv,tcp
#   event log: rdplog analyze (1 and 2 threads)  vs  evtx_dump -t 1 / -t 2 -o jsonl
#   both together: rdplog analyze capture + logs, peak memory
# Inputs are generated (never committed): a capture of CAPTURE_MB (default 1024) by the capture
# bench's generator, and an event log of about LOG_MB (default 500) built from a corpus log by the
# evtx bench's generator. Installs tshark (apt) and evtx_dump (cargo install evtx) when missing.
# Usage: bash benches/compare.sh            (results table on stdout; logs in $OUT)
set -euo pipefail
cd "$(dirname "$0")/.."

CAPTURE_MB="${CAPTURE_MB:-1024}"
LOG_MB="${LOG_MB:-500}"
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
TMP="${TMPDIR:-/tmp}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rdplog/target}"

need() { command -v "$1" >/dev/null 2>&1; }
if ! need tshark; then
    echo "installing tshark..." >&2
    echo "wireshark-common wireshark-common/install-setuid boolean false" | sudo -n debconf-set-selections 2>/dev/null || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null
fi
if ! need evtx_dump; then
    echo "installing evtx_dump (cargo install evtx)..." >&2
    cargo install --locked evtx >/dev/null 2>&1
fi
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null

echo "building rdplog (release)..." >&2
cargo build --release -q
RDPLOG="$CARGO_TARGET_DIR/release/rdplog"

CAP="$TMP/rdplog-bench-${CAPTURE_MB}MB.pcap"
if [ ! -s "$CAP" ]; then
    echo "generating $CAP..." >&2
    RDPLOG_BENCH_MB="$CAPTURE_MB" RDPLOG_BENCH_GENERATE_ONLY=1 cargo bench -q --bench capture >&2
fi
LOG="$TMP/rdplog-bench-evtx-${LOG_MB}mb.evtx"
if [ ! -s "$LOG" ]; then
    echo "generating $LOG..." >&2
    RDPLOG_BENCH_EVTX_MB="$LOG_MB" RDPLOG_BENCH_GENERATE_ONLY=1 cargo bench -q --bench evtx >&2
fi

# run NAME COMMAND... : wall seconds and peak RSS (MB) of one run, output discarded.
run() {
    local name="$1"; shift
    /usr/bin/time -f "%e %M" -o "$OUT/$name.time" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" || true
    # /usr/bin/time prefixes a "Command exited with non-zero status" line when the exit code is not
    # 0 (rdplog exits 1 when it diagnoses a failure): the numbers are on the last line.
    read -r secs kb < <(tail -n 1 "$OUT/$name.time")
    printf '%s %s %s\n' "$name" "$secs" "$((kb / 1024))" >>"$OUT/results"
}
# Warm page cache for every tool (the table compares CPU work, not the disk).
cat "$CAP" "$LOG" >/dev/null
: >"$OUT/results"
run rdplog_capture "$RDPLOG" analyze "$CAP" --format json -o /dev/null
run tshark_fields tshark -r "$CAP" -Y 'tcp.port==3389 || udp.port==3389' -T fields -e frame.number -e frame.time_epoch -e ip.src -e tcp.srcport -e ip.dst -e tcp.dstport -e tcp.flags
run tshark_conv tshark -r "$CAP" -q -z conv,tcp
run rdplog_log_1t env RAYON_NUM_THREADS=1 "$RDPLOG" analyze "$LOG" --format json -o /dev/null
run rdplog_log_2t env RAYON_NUM_THREADS=2 "$RDPLOG" analyze "$LOG" --format json -o /dev/null
run evtx_dump_1t sh -c "evtx_dump -t 1 -o jsonl '$LOG' > /dev/null"
run evtx_dump_2t sh -c "evtx_dump -t 2 -o jsonl '$LOG' > /dev/null"
run rdplog_both "$RDPLOG" analyze "$CAP" "$LOG" --format json -o /dev/null

cap_mb=$(( $(stat -c %s "$CAP") / 1048576 )); log_mb=$(( $(stat -c %s "$LOG") / 1048576 ))
python3 - "$OUT/results" "$cap_mb" "$log_mb" <<'PY'
import sys
rows = {l.split()[0]: (float(l.split()[1]), int(l.split()[2])) for l in open(sys.argv[1])}
cap, log = int(sys.argv[2]), int(sys.argv[3])
def line(name, what, size, base=None):
    s, m = rows[name]
    ratio = f"{rows[base][0] / s:.1f}x" if base else ""
    print(f"| {what} | {s:.2f} s | {size / s:.0f} MB/s | {m} MB | {ratio} |")
print(f"capture {cap} MB, event log {log} MB")
print("| command | wall | throughput | peak RSS | rdplog speed-up |")
print("|---|---|---|---|---|")
line("rdplog_capture", "rdplog analyze capture", cap)
line("tshark_fields", "tshark -Y 'tcp.port==3389…' -T fields", cap)
line("tshark_conv", "tshark -q -z conv,tcp", cap)
for n in ("tshark_fields", "tshark_conv"):
    print(f"| rdplog vs {n} | | | | {rows[n][0] / rows['rdplog_capture'][0]:.1f}x |")
line("rdplog_log_1t", "rdplog analyze log, 1 thread", log)
line("rdplog_log_2t", "rdplog analyze log, 2 threads", log)
line("evtx_dump_1t", "evtx_dump -t 1 -o jsonl", log)
line("evtx_dump_2t", "evtx_dump -t 2 -o jsonl", log)
print(f"| rdplog 1 thread vs evtx_dump -t 1 | | | | {rows['evtx_dump_1t'][0] / rows['rdplog_log_1t'][0]:.2f}x |")
print(f"| rdplog 2 threads vs evtx_dump -t 1 | | | | {rows['evtx_dump_1t'][0] / rows['rdplog_log_2t'][0]:.2f}x |")
line("rdplog_both", "rdplog analyze capture + log", cap + log)
PY
echo "(raw timings and outputs in $OUT)" >&2
