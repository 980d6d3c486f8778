"""Static checks of deploy/, run by deploy/check.sh inside its virtualenv.

Usage: python check_static.py REPO_ROOT

Checks that need no container engine:
- the Dockerfile parses with BuildKit's own parser (PyPI `dockerfile`) and
  its final stage is slim, non-root with a numeric UID, exposes 8080, has a
  health check, a volume at /var/lib/mpaka and listens on 0.0.0.0:8080;
  every COPY source exists and is not excluded by .dockerignore;
- the compose file has the shape the hub needs (two nodes with distinct node
  ids, one shared token key and database URL, PostgreSQL with a health check,
  only the proxy publishes ports);
- every MPAKA_* variable set anywhere in deploy/ is a configuration key (the
  hub refuses unknown ones) or one the image's entry point consumes;
- deploy/mpaka.toml is valid TOML, uses only known keys, and mentions every
  key of the server's configuration (read from server/src/config.rs when the
  code is there, else from the contract's list below).
Prints one line per check; exits 1 if any failed.
"""

from __future__ import annotations

import fnmatch
import re
import sys
import tomllib
from pathlib import Path

import dockerfile
import yaml

# The configuration contract, used when server/src/config.rs is not present.
CONTRACT_KEYS = {
    "listen", "data_dir", "database_url", "jwt_secret", "node_id", "log_format",
    "auth.access_ttl_secs", "auth.refresh_ttl_secs",
    "ws.auth_timeout_secs", "ws.heartbeat_secs", "ws.heartbeat_timeout_secs",
    "ws.max_frame_bytes", "ws.outbound_queue", "ws.max_connections",
    "limits.publish_per_sec", "limits.publish_burst", "limits.poll_ms",
    "limits.presence_flush_ms",
}
# MPAKA_* variables the server itself ignores (not configuration keys).
CONTRACT_ENV_IGNORED = {"CONFIG", "PASSWORD"}
# Read and removed by deploy/docker/entrypoint.sh before the hub starts.
ENTRYPOINT_FILE_VARS = {"MPAKA_JWT_SECRET_FILE", "MPAKA_DATABASE_URL_FILE"}

failures: list[str] = []


def check(ok: bool, what: str, detail: str = "") -> None:
    print(f"{'PASS' if ok else 'FAIL'}  {what}{'' if ok or not detail else ': ' + detail}")
    if not ok:
        failures.append(what)


# ---------------------------------------------------------------- config keys
def config_keys(root: Path) -> tuple[set[str], set[str], str]:
    """Known keys (dotted) and env names the server ignores, and their source."""
    src = root / "server" / "src" / "config.rs"
    if not src.is_file():
        return CONTRACT_KEYS, CONTRACT_ENV_IGNORED, "the contract (no server/src/config.rs)"
    text = src.read_text(encoding="utf-8")
    structs: dict[str, list[tuple[str, str]]] = {}
    for m in re.finditer(r"pub struct (\w+)\s*\{(.*?)\n\}", text, re.S):
        fields = re.findall(r"^\s*pub (\w+):\s*([\w:<>]+)", m.group(2), re.M)
        structs[m.group(1)] = fields
    if "Settings" not in structs:
        return CONTRACT_KEYS, CONTRACT_ENV_IGNORED, "the contract (Settings not found)"

    keys: set[str] = set()

    def walk(struct: str, prefix: str) -> None:
        for name, ty in structs[struct]:
            if ty in structs:
                walk(ty, f"{prefix}{name}.")
            else:
                keys.add(prefix + name)

    walk("Settings", "")
    ignored = set(CONTRACT_ENV_IGNORED)
    m = re.search(r"\.ignore\(&\[([^\]]*)\]\)", text)
    if m:
        ignored = set(re.findall(r'"(\w+)"', m.group(1)))
    return keys, ignored, "server/src/config.rs"


def env_key_ok(name: str, keys: set[str], ignored: set[str]) -> bool:
    if name in ENTRYPOINT_FILE_VARS:
        return True
    rest = name.removeprefix("MPAKA_")
    if rest in ignored:
        return True
    return rest.lower().replace("__", ".") in keys


# ---------------------------------------------------------------- Dockerfile
def check_dockerfile(root: Path, keys: set[str], ignored: set[str]) -> None:
    path = root / "deploy" / "Dockerfile"
    try:
        cmds = dockerfile.parse_file(str(path))
    except dockerfile.GoParseError as exc:
        check(False, "Dockerfile parses (BuildKit parser)", str(exc))
        return
    check(True, f"Dockerfile parses (BuildKit parser, {len(cmds)} instructions)")

    stages: list[list] = []
    for cmd in cmds:
        if cmd.cmd == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(cmd)
    check(len(stages) >= 2, "Dockerfile is multi-stage", f"{len(stages)} stage(s)")
    final = stages[-1]
    base = final[0].value[0]
    check(bool(re.search(r"(-slim$|distroless)", base)), "final stage is slim or distroless", base)

    users = [c.value[0] for c in final if c.cmd == "USER"]
    args = {}
    for c in final:
        if c.cmd == "ARG":
            for v in c.value:
                k, _, d = v.partition("=")
                args[k] = d
    user = users[-1] if users else ""
    resolved = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), user)
    uid = resolved.split(":")[0]
    check(uid.isdigit() and int(uid) != 0, "final stage runs as a fixed non-root UID", user or "no USER")

    exposed = [v for c in final if c.cmd == "EXPOSE" for v in c.value]
    check("8080" in exposed or "8080/tcp" in exposed, "EXPOSE 8080", str(exposed))
    check(any(c.cmd == "HEALTHCHECK" and c.value[0] == "CMD" for c in final), "HEALTHCHECK CMD present")
    volumes = [v for c in final if c.cmd == "VOLUME" for v in c.value]
    check("/var/lib/mpaka" in volumes, "VOLUME /var/lib/mpaka", str(volumes))

    env: dict[str, str] = {}
    for c in final:
        if c.cmd == "ENV":
            vals = list(c.value)
            for k, v in zip(vals[::2], vals[1::2]):
                env[k] = v
    check(env.get("MPAKA_LISTEN") == "0.0.0.0:8080", "image listens on 0.0.0.0:8080 via MPAKA_LISTEN")
    bad = [k for k in env if k.startswith("MPAKA_") and not env_key_ok(k, keys, ignored)]
    check(not bad, "Dockerfile ENV sets only known MPAKA_ keys", str(bad))

    ignore_file = root / ".dockerignore"
    patterns = []
    if ignore_file.is_file():
        patterns = [p.strip().rstrip("/") for p in ignore_file.read_text().splitlines()
                    if p.strip() and not p.startswith("#")]
    check(ignore_file.is_file(), ".dockerignore exists at the repository root")
    missing, excluded = [], []
    for c in cmds:
        if c.cmd not in ("COPY", "ADD") or any(f.startswith("--from") for f in c.flags):
            continue
        for src in c.value[:-1]:
            if src == ".":
                continue
            if not (root / src).exists():
                missing.append(src)
            for pat in patterns:
                if fnmatch.fnmatch(src, pat) or src.startswith(pat + "/"):
                    excluded.append(f"{src} by {pat}")
    check(not missing, "every COPY source exists", str(missing))
    check(not excluded, "no COPY source is excluded by .dockerignore", str(excluded))
    for needed in ("target", ".git", "deploy/secrets", "deploy/tls"):
        check(needed in patterns, f".dockerignore excludes {needed}")


# ---------------------------------------------------------------- compose
def check_compose(root: Path, keys: set[str], ignored: set[str]) -> None:
    path = root / "deploy" / "docker-compose.yml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    services = doc.get("services", {})
    env_of = {name: (svc.get("environment") or {}) for name, svc in services.items()}
    for name, env in env_of.items():
        if isinstance(env, list):
            env_of[name] = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)

    pg = [n for n, s in services.items() if str(s.get("image", "")).startswith("postgres:16")]
    check(len(pg) == 1, "one PostgreSQL 16 service", str(pg))
    if pg:
        svc = services[pg[0]]
        check("healthcheck" in svc, "PostgreSQL has a health check")
        check(any(str(v).endswith(":/var/lib/postgresql/data") for v in svc.get("volumes", [])),
              "PostgreSQL data on a volume")
        check(not svc.get("ports"), "PostgreSQL publishes no port")

    hubs = [n for n, s in services.items()
            if "serve" in (s.get("command") or ["serve"]) and str(s.get("image", "")).startswith("${HUB_IMAGE")]
    check(len(hubs) == 2, "two hub nodes running `mpaka serve`", str(hubs))
    node_ids = [env_of[h].get("MPAKA_NODE_ID") for h in hubs]
    check(len(set(node_ids)) == len(hubs) and None not in node_ids, "hub nodes have distinct MPAKA_NODE_ID", str(node_ids))
    for var in ("MPAKA_JWT_SECRET", "MPAKA_DATABASE_URL"):
        sources = {str(env_of[h].get(var) or env_of[h].get(var + "_FILE")) for h in hubs}
        check(len(sources) == 1 and "None" not in sources, f"hub nodes share one {var}", str(sources))
    for h in hubs:
        check(not services[h].get("ports"), f"{h} publishes no port (only the proxy does)")
        grace = str(services[h].get("stop_grace_period", "10s"))
        m = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", grace)
        secs = int(m.group(1) or 0) * 60 + int(m.group(2) or 0) if m else 0
        check(secs > 10, f"{h} stop_grace_period > 10s (the hub drains in ~10 s)", grace)

    secrets = doc.get("secrets", {})
    for name, svc in services.items():
        for s in svc.get("secrets", []):
            s = s if isinstance(s, str) else s.get("source")
            check(s in secrets, f"{name}: secret {s} is defined")
    for name, spec in secrets.items():
        f = spec.get("file", "")
        check(f.startswith("./secrets/"), f"secret {name} is a file under deploy/secrets/ (git-ignored)", f)

    proxy = [n for n, s in services.items() if str(s.get("image", "")).startswith("nginx")]
    check(len(proxy) == 1, "one nginx proxy service", str(proxy))
    if proxy:
        vols = services[proxy[0]].get("volumes", [])
        for v in vols:
            src = v.split(":")[0]
            if src.startswith("./nginx/"):
                check((root / "deploy" / src).is_file(), f"proxy mounts an existing {src}")

    bad = sorted({k for env in env_of.values() for k in env
                  if k.startswith("MPAKA_") and not env_key_ok(k, keys, ignored)})
    check(not bad, "compose sets only known MPAKA_ variables", str(bad))
    interp = set(re.findall(r"\$\{(\w+)", path.read_text()))
    check(not [v for v in interp if v.startswith("MPAKA_")],
          "compose interpolation variables are not MPAKA_* (they would leak into the CLI's keys)", str(interp))


# ---------------------------------------------------------------- systemd + env example
def check_env_names(root: Path, keys: set[str], ignored: set[str]) -> None:
    unit = (root / "deploy" / "mpaka.service").read_text()
    names = re.findall(r"^Environment=(MPAKA_\w+)=", unit, re.M)
    envfile = (root / "deploy" / "mpaka.env.example").read_text()
    names += re.findall(r"^#?(MPAKA_\w+)=", envfile, re.M)
    bad = [n for n in names if n in ENTRYPOINT_FILE_VARS or not env_key_ok(n, keys, ignored)]
    check(not bad, "mpaka.service and mpaka.env.example use only known MPAKA_ keys", str(bad))


# ---------------------------------------------------------------- sample toml
def check_toml(root: Path, keys: set[str], source: str) -> None:
    path = root / "deploy" / "mpaka.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        check(False, "mpaka.toml is valid TOML", str(exc))
        return
    check(True, "mpaka.toml is valid TOML")

    def flat(d: dict, prefix: str = "") -> set[str]:
        out = set()
        for k, v in d.items():
            out |= flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k}
        return out

    unknown = flat(data) - keys
    check(not unknown, f"mpaka.toml sets only keys known to {source}", str(sorted(unknown)))

    mentioned, section = set(), ""
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\[(\w+)\]", line)
        if m:
            section = m.group(1) + "."
            continue
        m = re.match(r"^#?(\w+)\s*=", line)
        if m:
            mentioned.add(section + m.group(1))
    missing = keys - mentioned
    check(not missing, f"mpaka.toml shows every key of {source}", str(sorted(missing)))

    # every key line is preceded by a comment line
    lines = path.read_text(encoding="utf-8").splitlines()
    bare = [l for i, l in enumerate(lines)
            if re.match(r"^#?\w+\s*=", l) and (i == 0 or not lines[i - 1].startswith("#"))]
    check(not bare, "every key in mpaka.toml has a comment above it", str(bare))


def main() -> int:
    root = Path(sys.argv[1]).resolve()
    keys, ignored, source = config_keys(root)
    print(f"INFO  configuration keys read from {source}: {len(keys)}")
    check_dockerfile(root, keys, ignored)
    check_compose(root, keys, ignored)
    check_env_names(root, keys, ignored)
    check_toml(root, keys, source)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
