#!/usr/bin/env bash
# Profiles the mpaka server under one benchmark scenario with perf
# (cpu-clock sampling, DWARF call graphs) and prints its top functions.
# Usage: bench/profile.sh SCENARIO OUT_DIR [-- extra mpaka-bench run flags]
# Needs `perf` and a release build (CARGO_TARGET_DIR honoured).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCENARIO=$1 OUT=$2; shift 2
[[ "${1:-}" == "--" ]] && shift
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
ulimit -n 65536 2>/dev/null || true
mkdir -p "$OUT"
DATA="$(mktemp -d -t mpaka-prof.XXXXXX)"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
MPAKA_LIMITS__PUBLISH_PER_SEC=1000000 MPAKA_LIMITS__PUBLISH_BURST=1000000 \
MPAKA_WS__OUTBOUND_QUEUE=65536 MPAKA_WS__MAX_CONNECTIONS=100000 MPAKA_WS__MAX_CONNECTIONS_PER_ADDRESS=100000 MPAKA_WS__MAX_CONNECTIONS_PER_USER=100000 \
  "$TARGET_DIR/release/mpaka" serve --demo --listen "127.0.0.1:$PORT" --data-dir "$DATA" \
  >"$OUT/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 200); do [[ -s "$DATA/demo-credentials.tsv" ]] && break; sleep 0.05; done
sleep 0.5
perf record -e cpu-clock -F 499 --call-graph dwarf,16384 -p "$PID" -o "$OUT/perf.data" 2>"$OUT/perf.log" &
PERF=$!
sleep 0.5
"$TARGET_DIR/release/mpaka-bench" run --target mpaka --url "http://127.0.0.1:$PORT" \
  --credentials "$DATA/demo-credentials.tsv" --scenario "$SCENARIO" --server-pid "$PID" \
  --json "$OUT/result.json" "$@" 2>"$OUT/bench.log" | tail -n 6
kill -INT $PERF; wait $PERF || true
perf report -i "$OUT/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -v '^$' | grep '%' | head -n 60 >"$OUT/flat.txt"
perf report -i "$OUT/perf.data" --children --sort symbol --stdio -g none 2>/dev/null | grep '%' | head -n 80 >"$OUT/children.txt"
echo "profile: $OUT/flat.txt $OUT/children.txt"
