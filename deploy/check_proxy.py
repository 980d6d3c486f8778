"""Runs an nginx configuration of deploy/nginx/ for real, on loopback only, in
front of two stub hub nodes, and checks what a client sees.

Usage: python3 check_proxy.py PROFILE CONF CERT KEY WORKDIR
  PROFILE  "host" (nginx/mpaka.conf) or "compose" (nginx/compose.conf)
  CONF     the configuration file as committed
  CERT/KEY a throw-away self-signed pair for mpaka.example.org

The configuration is copied with only its addresses changed: listeners move to
free 127.0.0.1 ports, the upstream servers to two stub nodes on 127.0.0.1, and
the certificate paths to CERT/KEY. `resolve` and `http2 on` are dropped when
the local nginx predates them. Standard library only. Every socket is on
127.0.0.0/8, every wait is bounded, and nginx and the stubs are stopped at the
end. Prints one line per check; exits 1 if any failed.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HOST = "mpaka.example.org"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC11B85"
failures: list[str] = []


def check(ok: bool, what: str, detail: object = "") -> None:
    print(f"{'PASS' if ok else 'FAIL'}  {what}{'' if ok or detail == '' else ': ' + str(detail)}")
    if not ok:
        failures.append(what)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ stub nodes
def ws_frame(payload: bytes) -> bytes:
    """One unmasked text frame (server to client)."""
    if len(payload) < 126:
        return bytes([0x81, len(payload)]) + payload
    return bytes([0x81, 126]) + len(payload).to_bytes(2, "big") + payload


def read_ws_frame(data: bytes) -> bytes | None:
    """The payload of the first complete text frame in data, else None."""
    if len(data) < 2 or data[0] != 0x81:
        return None
    length, start = data[1] & 0x7F, 2
    if length == 126:
        if len(data) < 4:
            return None
        length, start = int.from_bytes(data[2:4], "big"), 4
    return data[start:start + length] if len(data) >= start + length else None


class Node(ThreadingHTTPServer):
    """A stub hub node that can be killed, its open connections included."""

    daemon_threads = True

    def __init__(self, handler: type) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.conns: set[socket.socket] = set()

    def process_request(self, request, client_address) -> None:  # type: ignore[override]
        self.conns.add(request)
        super().process_request(request, client_address)

    def kill(self) -> None:
        self.shutdown()
        self.server_close()
        for conn in list(self.conns):
            try:
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            except OSError:
                pass


def make_node(name: str) -> Node:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def seen(self) -> dict:
            return {
                "node": name,
                "path": self.path,
                "host": self.headers.get("Host"),
                "connection": self.headers.get("Connection"),
                "upgrade": self.headers.get("Upgrade"),
                "proto": self.headers.get("X-Forwarded-Proto"),
                "xff": self.headers.get("X-Forwarded-For"),
            }

        def do_GET(self) -> None:
            if self.path == "/ws" and self.headers.get("Upgrade", "").lower() == "websocket":
                accept = base64.b64encode(hashlib.sha1(
                    (self.headers["Sec-WebSocket-Key"] + WS_GUID).encode()).digest()).decode()
                self.send_response(101)
                self.send_header("Upgrade", "websocket")
                self.send_header("Connection", "Upgrade")
                self.send_header("Sec-WebSocket-Accept", accept)
                self.end_headers()
                self.wfile.write(ws_frame(json.dumps(self.seen()).encode()))
                self.wfile.flush()
                self.close_connection = True
                return
            body = json.dumps(self.seen()).encode()
            ctype = "application/json"
            if self.path.endswith(".css"):
                ctype, body = "text/css", b"/* " + body + b" */\n" + b"body { margin: 0 }\n" * 200
            elif self.path.startswith("/api/"):
                body = json.dumps({**self.seen(), "pad": "x" * 4000}).encode()
            elif self.path == "/metrics":
                ctype, body = "text/plain; version=0.0.4", f"# node {name}\nmpaka_up 1\n".encode()
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            self.rfile.read(length)
            self.send_response(204)
            self.end_headers()

    server = Node(Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# ------------------------------------------------------------------ config
def nginx_version() -> tuple[int, ...]:
    out = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr
    m = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(x) for x in m.groups()) if m else (0, 0, 0)


def adapt(conf: str, profile: str, cert: str, key: str, http_port: int, https_port: int,
          nodes: list[int]) -> str:
    conf = re.sub(r"^\s*listen \[::\]:\d+.*\n", "", conf, flags=re.M)
    conf = re.sub(r"listen 80;", f"listen 127.0.0.1:{http_port};", conf)
    conf = re.sub(r"listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl", conf)
    conf = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", conf)
    conf = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", conf)
    upstreams = iter(nodes)
    conf = re.sub(r"(^\s*server )\S+:8080", lambda m: f"{m.group(1)}127.0.0.1:{next(upstreams)}",
                  conf, flags=re.M)
    version = nginx_version()
    if version < (1, 27, 3):
        conf = conf.replace(" resolve ", " ")
    if version < (1, 25, 1):
        conf = re.sub(r"^\s*http2 on;", "", conf, flags=re.M)
    if profile == "compose":
        conf = re.sub(r"^resolver .*\n", "", conf, flags=re.M)
    return conf


# ------------------------------------------------------------------ client
def tls_context(cert: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=cert)
    ctx.check_hostname = False  # we connect to 127.0.0.1; the chain is still verified
    return ctx


def request(port: int, ctx: ssl.SSLContext | None, method: str, path: str, headers: dict | None = None,
            body: bytes | None = None, source: str = "127.0.0.1") -> tuple[int, dict, bytes]:
    cls = http.client.HTTPSConnection if ctx else http.client.HTTPConnection
    kwargs = {"context": ctx} if ctx else {}
    conn = cls("127.0.0.1", port, timeout=5, source_address=(source, 0), **kwargs)
    try:
        conn.request(method, path, body=body, headers={"Host": HOST, **(headers or {})})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def websocket(port: int, ctx: ssl.SSLContext) -> tuple[str, dict | None]:
    key = base64.b64encode(os.urandom(16)).decode()
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    with ctx.wrap_socket(raw, server_hostname=HOST) as sock:
        sock.sendall((
            f"GET /ws HTTP/1.1\r\nHost: {HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        data = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
            head, sep, rest = data.partition(b"\r\n\r\n")
            if sep and read_ws_frame(rest) is not None:
                break
        head, _, rest = data.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0].decode(errors="replace")
        payload = read_ws_frame(rest)
        return status, json.loads(payload) if payload is not None else None


# ------------------------------------------------------------------ run
def main() -> int:
    profile, conf_path, cert, key, workdir = sys.argv[1:6]
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    label = f"[{profile}] "

    node_a, node_b = make_node("a"), make_node("b")
    http_port, https_port = free_port(), free_port()
    site = adapt(Path(conf_path).read_text(), profile, cert, key, http_port, https_port,
                 [node_a.server_address[1], node_b.server_address[1]])
    (work / "site.conf").write_text(site)
    (work / "nginx.conf").write_text(f"""
daemon off;
master_process off;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log {work}/access.log;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    include {work}/site.conf;
}}
""")
    nginx = subprocess.Popen(["nginx", "-c", str(work / "nginx.conf"), "-e", str(work / "error.log")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and nginx.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", https_port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        if nginx.poll() is not None:
            check(False, label + "nginx starts", nginx.stderr.read().decode() if nginx.stderr else "")
            return 1
        ctx = tls_context(cert)

        # HTTP -> HTTPS
        status, headers, _ = request(http_port, None, "GET", "/console?x=1")
        location = headers.get("location", "")
        check(status == 301 and location.startswith("https://") and location.endswith("/console?x=1"),
              label + "plain HTTP redirects to HTTPS", f"{status} {location}")

        # TLS version
        with socket.create_connection(("127.0.0.1", https_port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=HOST) as s:
                version = s.version()
        check(version in ("TLSv1.2", "TLSv1.3"), label + "TLS handshake, certificate chain verified", version)
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.check_hostname, old.verify_mode = False, ssl.CERT_NONE
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            old.minimum_version = ssl.TLSVersion.TLSv1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
        try:
            old.set_ciphers("DEFAULT:@SECLEVEL=0")
            with socket.create_connection(("127.0.0.1", https_port), timeout=5) as raw:
                with old.wrap_socket(raw, server_hostname=HOST):
                    refused, why = False, "handshake succeeded"
        except (ssl.SSLError, OSError) as exc:
            why = str(exc)
            # Refused by the server, not merely unsupported by this client.
            refused = "no protocols available" not in why.lower()
        check(refused, label + "TLS 1.1 and older refused by the server", why)

        # Round-robin, no stickiness, proxy headers
        seen = []
        for _ in range(6):
            status, headers, body = request(https_port, ctx, "GET", "/")
            seen.append(json.loads(body) if status == 200 else {"node": f"HTTP {status}"})
        nodes = [s["node"] for s in seen]
        check(set(nodes) == {"a", "b"} and all(x != y for x, y in zip(nodes, nodes[1:])),
              label + "requests alternate between both nodes (round-robin, not sticky)", nodes)
        first = seen[0]
        check(first.get("proto") == "https" and first.get("host") == HOST and first.get("xff"),
              label + "nodes receive Host, X-Forwarded-Proto https, X-Forwarded-For", first)
        check((first.get("connection") or "").lower() != "upgrade" and not first.get("upgrade"),
              label + "plain requests are not marked as upgrades", first.get("connection"))

        # Security headers, also on API responses
        for path in ("/", "/api/v1/alerts"):
            status, headers, _ = request(https_port, ctx, "GET", path)
            wanted = ["x-content-type-options", "x-frame-options", "referrer-policy", "content-security-policy"]
            if profile == "host":
                wanted.append("strict-transport-security")
            missing = [h for h in wanted if h not in headers]
            check(status == 200 and not missing, label + f"security headers on {path}", missing or status)
        check("server" not in headers or not re.search(r"\d", headers["server"]),
              label + "no nginx version in Server header", headers.get("server"))

        # Compression: static yes, API no
        status, headers, _ = request(https_port, ctx, "GET", "/assets/app.css", {"Accept-Encoding": "gzip"})
        check(headers.get("content-encoding") == "gzip", label + "static CSS is gzip-compressed",
              headers.get("content-encoding"))
        status, headers, _ = request(https_port, ctx, "GET", "/api/v1/alerts", {"Accept-Encoding": "gzip"})
        check(status == 200 and "content-encoding" not in headers, label + "REST API responses are not compressed",
              headers.get("content-encoding"))

        # Body size limit
        status, _, _ = request(https_port, ctx, "POST", "/api/v1/alerts", {"Content-Type": "application/json"},
                               body=b"x" * (3 * 1024 * 1024))
        check(status == 413, label + "request bodies over 2 MiB refused (413)", status)
        status, _, _ = request(https_port, ctx, "POST", "/api/v1/alerts", {"Content-Type": "application/json"},
                               body=b"x" * (64 * 1024))
        check(status == 204, label + "a 64 KiB request body passes", status)

        # WebSocket upgrade through TLS, on both nodes
        ws_nodes = set()
        for _ in range(2):
            status, frame = websocket(https_port, ctx)
            ok = status.startswith("HTTP/1.1 101") and frame is not None \
                and (frame.get("upgrade") or "").lower() == "websocket" \
                and "upgrade" in (frame.get("connection") or "").lower()
            check(ok, label + "WebSocket upgrade on /ws reaches a node and relays its frame", (status, frame))
            if frame:
                ws_nodes.add(frame["node"])
        check(ws_nodes == {"a", "b"}, label + "WebSocket connections are balanced too", sorted(ws_nodes))

        # /metrics
        status, _, body = request(https_port, ctx, "GET", "/metrics")
        if profile == "host":
            check(status == 200 and b"mpaka_up" in body, label + "/metrics served to the allowed network (127.0.0.1)", status)
            status, _, _ = request(https_port, ctx, "GET", "/metrics", source="127.0.0.2")
            check(status == 403, label + "/metrics refused to any other address (from 127.0.0.2)", status)
        else:
            check(status == 404 and b"mpaka_up" not in body, label + "/metrics not served through the proxy", status)

        # Login flood from one address: nginx answers the excess itself, with
        # the hub's JSON error body (limit_req zone mpaka_login, burst 30).
        statuses = []
        limited_body = b""
        for _ in range(40):
            status, _, body = request(https_port, ctx, "POST", "/api/v1/auth/login",
                                      {"Content-Type": "application/json"}, body=b"{}")
            statuses.append(status)
            if status == 429:
                limited_body = body
        limited = statuses.count(429)
        ok = limited >= 5 and statuses[0] != 429 and b'"code":"rate_limited"' in limited_body
        check(ok, label + "a login flood from one address is cut at the burst (429 rate_limited)",
              (limited, statuses[:3], limited_body[:80]))

        # A node down: everything goes to the other one
        node_b.kill()
        results = []
        for _ in range(4):
            status, _, body = request(https_port, ctx, "GET", "/")
            results.append(json.loads(body)["node"] if status == 200 else status)
        check(results == ["a"] * 4, label + "with one node down, every request is served by the other", results)
        status, frame = websocket(https_port, ctx)
        check(status.startswith("HTTP/1.1 101") and frame and frame["node"] == "a",
              label + "with one node down, WebSockets reach the other", status)
    finally:
        nginx.terminate()
        try:
            nginx.wait(timeout=5)
        except subprocess.TimeoutExpired:
            nginx.kill()
            nginx.wait()
        node_a.kill()
    errors = [l for l in (work / "error.log").read_text().splitlines()
              if re.search(r"\[(emerg|alert|crit)\]", l)] if (work / "error.log").exists() else []
    check(not errors, label + "no emergency/critical lines in nginx's error log", errors[:3])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
