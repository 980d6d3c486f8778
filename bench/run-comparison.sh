#!/usr/bin/env bash
# Starts fresh mpaka, NATS and Mosquitto instances on free loopback ports in
# temporary directories, runs the benchmark scenarios against each (a fresh
# server per scenario, so peak RSS is per scenario), stops every server by
# PID, and prints one side-by-side table with ratios to mpaka.
#
# Usage: bench/run-comparison.sh [--smoke] [--scenarios "a b c c2 d e f"]
#                                [--targets "mpaka nats mqtt"] [--out DIR]
#                                [-- extra mpaka-bench run flags]
# --smoke runs tiny sizes of every scenario (well under a minute); CI uses it.
# Environment: CARGO_TARGET_DIR (default ./target), MPAKA_BIN, BENCH_BIN,
# NATS_SERVER (default nats-server), MOSQUITTO (default mosquitto),
# SKIP_BUILD=1 to use already built binaries, MPAKA_ENV="VAR=value …" for
# variables given to mpaka alone (e.g. an LD_PRELOADed allocator).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SMOKE=0
SCENARIOS=""
TARGETS="mpaka nats mqtt"
OUT=""
EXTRA=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --smoke) SMOKE=1 ;;
    --scenarios) SCENARIOS="$2"; shift ;;
    --targets) TARGETS="$2"; shift ;;
    --out) OUT="$2"; shift ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
[[ -n "$SCENARIOS" ]] || SCENARIOS="a b c c2 d e f"

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
MPAKA_BIN="${MPAKA_BIN:-$TARGET_DIR/release/mpaka}"
BENCH_BIN="${BENCH_BIN:-$TARGET_DIR/release/mpaka-bench}"
NATS_SERVER="${NATS_SERVER:-$(command -v nats-server || echo /usr/sbin/nats-server)}"
MOSQUITTO="${MOSQUITTO:-$(command -v mosquitto || echo /usr/sbin/mosquitto)}"

# Ten thousand idle connections plus subscribers need more than the default.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  (cd "$ROOT" && cargo build --release -p mpaka-bench -p mpaka-server)
fi

WORK="$(mktemp -d -t mpaka-bench.XXXXXX)"
[[ -n "$OUT" ]] || OUT="$WORK/results"
mkdir -p "$OUT"
SERVER_PID=""

stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
cleanup() { stop_server; rm -rf "$WORK/run"; }
trap cleanup EXIT INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_port() {
  local port=$1
  for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited; its log:" >&2; tail -n 20 "$RUN_DIR/server.log" >&2; return 1; }
    sleep 0.05
  done
  echo "server did not open port $port" >&2
  return 1
}

# Starts a fresh server of kind $1; sets SERVER_PID, URL and BENCH_ARGS.
start_server() {
  local kind=$1 port
  port=$(free_port)
  RUN_DIR="$WORK/run/$kind-$(date +%s%N)"
  mkdir -p "$RUN_DIR"
  case "$kind" in
    mpaka)
      MPAKA_LIMITS__PUBLISH_PER_SEC=1000000 MPAKA_LIMITS__PUBLISH_BURST=1000000 \
      MPAKA_WS__OUTBOUND_QUEUE=65536 MPAKA_WS__MAX_CONNECTIONS=100000 MPAKA_WS__MAX_CONNECTIONS_PER_ADDRESS=100000 MPAKA_WS__MAX_CONNECTIONS_PER_USER=100000 \
        env ${MPAKA_ENV:-} "$MPAKA_BIN" serve --demo --listen "127.0.0.1:$port" --data-dir "$RUN_DIR" \
        >"$RUN_DIR/server.log" 2>&1 &
      SERVER_PID=$!
      wait_port "$port"
      for _ in $(seq 200); do [[ -s "$RUN_DIR/demo-credentials.tsv" ]] && break; sleep 0.05; done
      URL="http://127.0.0.1:$port"
      BENCH_ARGS=(--credentials "$RUN_DIR/demo-credentials.tsv")
      ;;
    nats)
      cat >"$RUN_DIR/nats.conf" <<CONF
listen: "127.0.0.1:$(free_port)"
max_payload: 1048576
websocket {
  listen: "127.0.0.1:$port"
  no_tls: true
}
CONF
      "$NATS_SERVER" -c "$RUN_DIR/nats.conf" >"$RUN_DIR/server.log" 2>&1 &
      SERVER_PID=$!
      wait_port "$port"
      URL="ws://127.0.0.1:$port"
      BENCH_ARGS=()
      ;;
    mqtt)
      # QoS 1 with persistence; queues large enough that the broker does not
      # drop messages for subscribers that are merely behind. Mosquitto
      # 2.0.11 refuses to start with only a websockets listener ("Unable to
      # start any listening sockets"), so an unused TCP listener comes first.
      cat >"$RUN_DIR/mosquitto.conf" <<CONF
listener $(free_port) 127.0.0.1
listener $port 127.0.0.1
protocol websockets
allow_anonymous true
persistence true
persistence_location $RUN_DIR/
max_inflight_messages 1000
max_queued_messages 1000000
max_queued_bytes 0
CONF
      "$MOSQUITTO" -c "$RUN_DIR/mosquitto.conf" >"$RUN_DIR/server.log" 2>&1 &
      SERVER_PID=$!
      wait_port "$port"
      URL="ws://127.0.0.1:$port/mqtt"
      BENCH_ARGS=()
      ;;
  esac
}

smoke_sizes() {
  case "$1" in
    a) echo "--subscribers 20 --messages 50" ;;
    b) echo "--subscribers 20 --rate 50 --duration-secs 1" ;;
    c) echo "--subscribers 50 --messages 20" ;;
    c2) echo "--subscribers 10 --idle 50 --rate 50 --duration-secs 1" ;;
    d) echo "--subscribers 20 --messages 50" ;;
    e) echo "--publishers 10 --messages 10" ;;
    f) echo "--subscribers 10 --publishers 2 --messages 10" ;;
  esac
}

FAILED=0
for scenario in $SCENARIOS; do
  for target in $TARGETS; do
    # The resume storm and alerts exist only in mpaka.
    if [[ ( "$scenario" == d || "$scenario" == f ) && "$target" != mpaka ]]; then continue; fi
    if [[ "$target" == mpaka && ! -x "$MPAKA_BIN" ]]; then
      echo "skipping mpaka: $MPAKA_BIN not built" >&2; continue
    fi
    start_server "$target"
    sizes=()
    [[ $SMOKE == 1 ]] && read -r -a sizes <<<"$(smoke_sizes "$scenario") --drain-timeout-secs 3"
    echo "### $target scenario $scenario (server pid $SERVER_PID)" >&2
    if ! "$BENCH_BIN" run --target "$target" --url "$URL" --scenario "$scenario" \
        --server-pid "$SERVER_PID" --json "$OUT/$scenario-$target.json" \
        "${BENCH_ARGS[@]}" "${sizes[@]}" "${EXTRA[@]}"; then
      echo "!!! $target scenario $scenario failed; server log: $RUN_DIR/server.log" >&2
      tail -n 20 "$RUN_DIR/server.log" >&2 || true
      FAILED=1
    fi
    stop_server
  done
done

shopt -s nullglob
results=("$OUT"/*-*.json)
if [[ ${#results[@]} -gt 0 ]]; then
  echo
  check=()
  [[ $SMOKE == 1 ]] && check=(--check)
  "$BENCH_BIN" compare "${results[@]}" --json "$OUT/comparison.json" "${check[@]}" || FAILED=1
  echo "results: $OUT (comparison.json has every figure and the ratios)"
fi
exit $FAILED
