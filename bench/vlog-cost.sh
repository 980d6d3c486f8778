#!/usr/bin/env bash
# Cost of the verifiable log at scale (docs/benchmarks.md, "Verifiable log"):
# a SQLite hub with N message events (default 1,000,000) written before the
# log existed, so that the hub's start adds their leaves (the backfill path);
# then `mpaka log verify` over all of them, with its wall time and peak
# memory; then the bytes the log adds per event (database size with and
# without the log's tables, both vacuumed).
#
#   cargo build --release -p mpaka-server --bin mpaka
#   bench/vlog-cost.sh [target/release/mpaka] [N]
set -euo pipefail
bin="$(realpath "${1:-target/release/mpaka}")"
n="${2:-1000000}"
dir="$(mktemp -d)"
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$dir"' EXIT

start_hub() {
  "$bin" serve --listen 127.0.0.1:0 --data-dir "$dir" "$@" >"$dir/out.log" 2>"$dir/err.log" &
  pid=$!
  until grep -q "mpaka listening on" "$dir/out.log"; do
    kill -0 "$pid" || { cat "$dir/err.log"; exit 1; }
    sleep 0.2
  done
}
stop_hub() { kill -TERM "$pid"; wait "$pid" || true; }

echo "== a demo hub, then $n message events added as rows written before the log"
start_hub --demo
stop_hub
python3 - "$dir/mpaka.db" "$n" <<'PY'
import sqlite3, sys, json
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
# The author snapshot as the hub writes it (protocol Author).
author_id, username, display_name, role, country, post = c.execute(
    "SELECT id, username, display_name, role, country, post FROM users "
    "WHERE username = 'mugina.officer'").fetchone()
author = json.dumps({"id": author_id, "username": username, "display_name": display_name,
                     "role": role, "country": country, "post": post})
channel = "corridor:mugina-manyovu"
at = c.execute("SELECT COALESCE(MAX(at), 0) FROM events").fetchone()[0]
c.executemany(
    "INSERT INTO events (channel, kind, at, author_id, author, audience, body) "
    "VALUES (?, 'message', ?, ?, ?, NULL, ?)",
    ((channel, at + i, author_id, author,
      json.dumps({"text": f"Group {i} crossed at the river, mostly women and children"}))
     for i in range(n)))
for t in ("log_leaves", "log_nodes", "log_checkpoints", "log_cosignatures"):
    c.execute(f"DELETE FROM {t}")
c.commit()
print("events:", c.execute("SELECT COUNT(*) FROM events").fetchone()[0])
PY
rm -rf "$dir"/checkpoints

echo "== the hub's start adds every leaf"
t0=$(date +%s.%N)
start_hub
t1=$(date +%s.%N)
python3 -c "print(f\"start with backfill: {$t1 - $t0:.1f} s\")"
stop_hub

echo "== mpaka log verify"
/usr/bin/time -f "verify: %e s wall, %M KiB peak RSS" "$bin" log --data-dir "$dir" verify

echo "== bytes per event"
python3 - "$dir/mpaka.db" <<'PY'
import os, shutil, sqlite3, sys, tempfile
db = sys.argv[1]
def vacuumed_size(path):
    c = sqlite3.connect(path); c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.execute("VACUUM"); c.close()
    return os.path.getsize(path)
with tempfile.TemporaryDirectory() as t:
    copy = os.path.join(t, "copy.db")
    shutil.copy(db, copy)
    events = sqlite3.connect(copy).execute("SELECT COUNT(*) FROM events").fetchone()[0]
    leaves = sqlite3.connect(copy).execute("SELECT COUNT(*) FROM log_leaves").fetchone()[0]
    with_log = vacuumed_size(copy)
    c = sqlite3.connect(copy)
    for table in ("log_leaves", "log_nodes"):
        c.execute(f"DELETE FROM {table}")
    c.commit(); c.close()
    without = vacuumed_size(copy)
    print(f"events {events}, leaves {leaves}: database {with_log / 1e6:.1f} MB with the log, "
          f"{without / 1e6:.1f} MB without; {(with_log - without) / leaves:.0f} bytes per leaf")
PY
