#!/usr/bin/env bash
# Decode time of the event encodings in Chromium, and what a binary decoder
# would add to the console's first load (issue 18). Writes the samples with
# `mpaka-bench codecs`, installs the decoders a console would have to ship
# (@msgpack/msgpack, cbor-x) from the npm registry into a temporary folder,
# and times in headless Chromium: JSON.parse of today's `event` frame,
# JSON.parse of the compact array (with its references resolved), and the
# same array decoded from MessagePack and from CBOR.
#
# Usage: bench/codecs-browser.sh   (BENCH_BIN, CHROMIUM, ROUNDS may be set)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_BIN="${BENCH_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/mpaka-bench}"
CHROMIUM="${CHROMIUM:-$(command -v chromium || echo /usr/bin/chromium)}"
ROUNDS="${ROUNDS:-200000}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$BENCH_BIN" codecs --samples "$WORK/samples"
(cd "$WORK" && npm install --silent --no-audit --no-fund --ignore-scripts \
  @msgpack/msgpack@3 cbor-x@1 >/dev/null)
MSGPACK_JS="$WORK/node_modules/@msgpack/msgpack/dist.umd/msgpack.min.js"
CBOR_JS="$WORK/node_modules/cbor-x/dist/index.min.js"

echo
echo "decoder a console would ship (bytes: minified, gzip -9)"
for f in "$MSGPACK_JS" "$CBOR_JS"; do
  printf '%-28s %8d %8d\n' "$(basename "$(dirname "$(dirname "$f")")")/$(basename "$f")" \
    "$(wc -c <"$f")" "$(gzip -9c "$f" | wc -c)"
done

b64() { base64 -w0 "$1"; }
cat >"$WORK/page.html" <<EOF
<!doctype html><meta charset="utf-8"><pre id="out"></pre>
<script>$(cat "$MSGPACK_JS")</script>
<script>$(cat "$CBOR_JS")</script>
<script>
const bytes = (b) => Uint8Array.from(atob(b), (c) => c.charCodeAt(0));
const eventJson = new TextDecoder().decode(bytes('$(b64 "$WORK/samples/event.json")'));
const compactJson = new TextDecoder().decode(bytes('$(b64 "$WORK/samples/compact.json")'));
const msgpack = bytes('$(b64 "$WORK/samples/compact.msgpack")');
const cbor = bytes('$(b64 "$WORK/samples/compact.cbor")');
const channels = new Map([[3, 'corridor:mugina-manyovu']]);
const authors = new Map([[7, { id: 12, username: 'mugina.officer', role: 'officer' }]]);
const resolve = ([seq, c, at, a, kind, body]) =>
  ({ type: 'event', seq, channel: channels.get(c), at: new Date(at).toISOString(), author: authors.get(a), kind, body });
const rounds = $ROUNDS;
let sink = 0;
function time(name, decode) {
  for (let i = 0; i < rounds / 10; i++) sink += decode().seq;
  const start = performance.now();
  for (let i = 0; i < rounds; i++) sink += decode().seq;
  const ns = (performance.now() - start) * 1e6 / rounds;
  document.getElementById('out').textContent += name.padEnd(28) + ns.toFixed(0).padStart(8) + '\n';
}
document.getElementById('out').textContent = 'decode ns/event in Chromium\n';
time('json (today\'s event)', () => JSON.parse(eventJson));
time('compact JSON', () => resolve(JSON.parse(compactJson)));
time('compact MessagePack', () => resolve(MessagePack.decode(msgpack)));
time('compact CBOR', () => resolve(CBOR.decode(cbor)));
if (sink === 42) console.log(sink);
</script>
EOF
echo
"$CHROMIUM" --headless --no-sandbox --disable-gpu \
  --dump-dom "file://$WORK/page.html" 2>/dev/null |
  sed -n '/<pre id="out">/,/<\/pre>/p' | sed -e 's/<[^>]*>//g' -e '/^$/d'
