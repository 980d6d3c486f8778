#!/bin/sh
# One backup of a SQLite mpaka hub while it serves, keeping the newest N.
# Run by mpaka-backup.service (from mpaka-backup.timer); safe to run by hand
# as the mpaka user. Restore drill: docs/operations.md §12.
#
#   BACKUP_MPAKA          the binary (default /usr/local/bin/mpaka)
#   BACKUP_CONFIG   the hub's configuration file (default
#                         /etc/mpaka/mpaka.toml; empty: none)
#   MPAKA_DATA_DIR        the hub's data directory (a hub setting; the keys
#                         are copied from it)
# The script's own variables have no MPAKA_ prefix: the hub refuses
# MPAKA_ variables that are not its settings.
#   BACKUP_DIR      where backups go (default /var/backups/mpaka)
#   BACKUP_KEEP     how many backups to keep (default 48: two days hourly)
#
# Each backup is `mpaka-<UTC time>.db`, written under a temporary name and
# renamed only once `mpaka backup` has checked it (integrity, audit chain,
# row counts), so a failed or interrupted run never counts as a backup.
# The signing keys (jwt.key, log.key) are copied to keys/ when they change:
# a restore needs the log key to keep signing the same log.
set -eu

mpaka=${BACKUP_MPAKA:-/usr/local/bin/mpaka}
config=${BACKUP_CONFIG-/etc/mpaka/mpaka.toml}
dir=${BACKUP_DIR:-/var/backups/mpaka}
keep=${BACKUP_KEEP:-48}

case $keep in
  ''|*[!0-9]*|0) echo "mpaka-backup: BACKUP_KEEP must be a whole number of at least 1, not '$keep'" >&2; exit 2 ;;
esac

umask 077
mkdir -p "$dir"
stamp=$(date -u +%Y%m%dT%H%M%S%NZ)
final="$dir/mpaka-$stamp.db"
partial="$dir/.mpaka-$stamp.db.partial"
trap 'rm -f "$partial"' EXIT

if [ -n "$config" ]; then
  "$mpaka" backup --config "$config" --to "$partial"
else
  "$mpaka" backup --to "$partial"
fi
mv "$partial" "$final"
echo "mpaka-backup: wrote $final"

# The keys, when the data directory is known and they changed.
if [ -n "${MPAKA_DATA_DIR:-}" ]; then
  mkdir -p "$dir/keys"
  for key in jwt.key log.key; do
    if [ -f "$MPAKA_DATA_DIR/$key" ] && ! cmp -s "$MPAKA_DATA_DIR/$key" "$dir/keys/$key"; then
      cp "$MPAKA_DATA_DIR/$key" "$dir/keys/.$key.partial"
      mv "$dir/keys/.$key.partial" "$dir/keys/$key"
      echo "mpaka-backup: copied $key"
    fi
  done
fi

# Keep the newest $keep (names sort by time).
count=$(find "$dir" -maxdepth 1 -name 'mpaka-*.db' | wc -l)
if [ "$count" -gt "$keep" ]; then
  find "$dir" -maxdepth 1 -name 'mpaka-*.db' | sort | head -n "$((count - keep))" | while read -r old; do
    rm -f "$old"
    echo "mpaka-backup: removed $old"
  done
fi
