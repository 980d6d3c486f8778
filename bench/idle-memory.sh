#!/usr/bin/env bash
# The memory of a hub that does nothing: starts a fresh `mpaka serve --demo`
# in a temporary directory, and prints its resident memory (VmRSS, MiB)
# once the demo users are seeded, after SETTLE seconds of idleness, then
# after LOGINS password logins (8 at a time, like a shift starting) and
# SETTLE more seconds. Peak (VmHWM) is printed last. Issue 18's aim is an
# idle hub under 40 MiB with no MALLOC_* environment.
#
# Usage: bench/idle-memory.sh [LOGINS] [SETTLE]   (defaults 200 and 15)
# Environment: MPAKA_BIN (default $CARGO_TARGET_DIR/release/mpaka); any
# other variable (e.g. LD_PRELOAD, MALLOC_CONF) reaches the hub unchanged.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOGINS="${1:-200}"
SETTLE="${2:-15}"
MPAKA_BIN="${MPAKA_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/mpaka}"

DIR="$(mktemp -d -t mpaka-idle.XXXXXX)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
"$MPAKA_BIN" serve --demo --listen "127.0.0.1:$PORT" --data-dir "$DIR" >"$DIR/server.log" 2>&1 &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$DIR"' EXIT

rss() { awk -v k="$1:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$PID/status"; }

for _ in $(seq 400); do
  [[ -s "$DIR/demo-credentials.tsv" ]] && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  kill -0 "$PID" 2>/dev/null || { cat "$DIR/server.log" >&2; exit 1; }
  sleep 0.05
done
echo "started        rss_mib $(rss VmRSS)"
sleep "$SETTLE"
echo "idle ${SETTLE}s       rss_mib $(rss VmRSS)"

# One officer's credentials, logged in LOGINS times.
read -r USER_NAME PASSWORD < <(awk -F'\t' '$1 ~ /\.officer$/ { print $1, $2; exit }' "$DIR/demo-credentials.tsv")
BODY="{\"username\":\"$USER_NAME\",\"password\":\"$PASSWORD\"}"
ok=0
for _ in $(seq "$LOGINS"); do echo; done |
  xargs -P 8 -I{} curl -s -o /dev/null -w '%{http_code}\n' -H 'content-type: application/json' \
    -d "$BODY" "http://127.0.0.1:$PORT/api/v1/auth/login" >"$DIR/codes"
ok=$(grep -c '^200$' "$DIR/codes" || true)
echo "after $LOGINS logins ($ok answered 200) rss_mib $(rss VmRSS)"
sleep "$SETTLE"
echo "idle ${SETTLE}s again rss_mib $(rss VmRSS)"
echo "peak           hwm_mib $(rss VmHWM)"
