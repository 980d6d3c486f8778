//! The documented host install, replayed: the shell block under "Host
//! install" in deploy/README.md runs as written in a temporary root (every
//! absolute path moved under it), with the real binary. Only what needs a
//! real systemd host is stubbed: `systemd-sysusers`, `systemctl`,
//! `journalctl`, `sudo -u mpaka` (runs the command as the current user)
//! and the owner options of `install`. Then the hub starts as the unit's
//! `ExecStart=` says, answers `/readyz`, and the first administrator is
//! created as documented.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_mpaka");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

/// The commands of the first ```sh block after `## Host install`.
fn documented_steps() -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("deploy/README.md")).unwrap();
    let section = readme
        .split("## Host install")
        .nth(1)
        .expect("deploy/README.md has a Host install section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a sh block");
    block
        .lines()
        .map(|l| l.split("  #").next().unwrap_or(l).trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

/// `line` with absolute paths moved under `root` and the binary's source
/// path replaced by the one Cargo built.
fn rooted(line: &str, root: &Path) -> String {
    let root = root.display().to_string();
    let mut out = line.replace("target/release/mpaka", BIN);
    for prefix in ["/usr/local/", "/etc/", "/var/lib/"] {
        out = out.replace(&format!(" {prefix}"), &format!(" {root}{prefix}"));
    }
    out
}

fn stub(dir: &Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn the_documented_host_install_works_as_written() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().join("root");
    let stubs = temp.path().join("stubs");
    std::fs::create_dir_all(&stubs).unwrap();
    stub(&stubs, "systemd-sysusers", "exit 0");
    stub(&stubs, "systemctl", "exit 0");
    stub(&stubs, "journalctl", "exit 0");
    stub(
        &stubs,
        "sudo",
        "[ \"$1\" = -u ] && shift 2\n[ \"$1\" = -E ] && shift\nexec \"$@\"",
    );
    stub(
        &stubs,
        "install",
        "args=''\nfor a in \"$@\"; do\n  case \"$skip$a\" in\n    yes*) skip='' ;;\n    -o|-g) skip=yes ;;\n    *) set -- \"$@\" \"$a\" ;;\n  esac\n  shift\ndone\nexec /usr/bin/install \"$@\"",
    );
    // Only the directories the steps do not create themselves.
    std::fs::create_dir_all(root.join("etc/sysusers.d")).unwrap();
    std::fs::create_dir_all(root.join("etc/systemd/system")).unwrap();
    std::fs::create_dir_all(root.join("usr/local/bin")).unwrap();

    let unit = std::fs::read_to_string(repo().join("deploy/mpaka.service")).unwrap();
    let data_dir = unit
        .lines()
        .find_map(|l| l.strip_prefix("Environment=MPAKA_DATA_DIR="))
        .expect("the unit names the data directory");
    let data_dir = format!("{}{data_dir}", root.display());
    let path = format!(
        "{}:{}:/usr/bin:/bin",
        stubs.display(),
        root.join("usr/local/bin").display()
    );
    let script: Vec<String> = documented_steps()
        .iter()
        .filter(|l| !l.starts_with("journalctl"))
        .map(|l| rooted(l, &root))
        .collect();
    let mut command = Command::new("bash");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("MPAKA_") {
            command.env_remove(name);
        }
    }
    let output = command
        .arg("-euxc")
        .arg(script.join("\n"))
        .current_dir(repo())
        .env("PATH", &path)
        .env("MPAKA_DATA_DIR", &data_dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "a documented step failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        Path::new(&data_dir).join("mpaka.db").exists(),
        "migrate ran"
    );

    // The unit's Documentation= names a file the install created.
    let doc = unit
        .lines()
        .find_map(|l| l.strip_prefix("Documentation=file://"))
        .expect("Documentation=file://…");
    assert!(
        root.join(doc.trim_start_matches('/')).is_file(),
        "{doc} missing"
    );

    // The service starts as ExecStart= says (on a free port here).
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart=");
    let exec = rooted(&format!(" {exec}"), &root);
    let mut words = exec.split_whitespace();
    let mut hub = Command::new(words.next().unwrap())
        .args(words)
        .env("MPAKA_DATA_DIR", &data_dir)
        .env("MPAKA_LISTEN", "127.0.0.1:0")
        .env_remove("MPAKA_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let line = BufReader::new(hub.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find(|l| l.starts_with("mpaka listening on "))
        .expect("the hub listens");
    let url = line.trim_start_matches("mpaka listening on ").to_owned();
    let ready = Command::new(root.join("usr/local/bin/mpaka"))
        .args(["healthcheck", "--url", &url])
        .status()
        .unwrap();

    // The first administrator, as docs/operations.md says.
    let mut add = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} user add --config {}/etc/mpaka/mpaka.toml --username alice.admin --role admin",
            root.join("usr/local/bin/mpaka").display(),
            root.display()
        ))
        .env("MPAKA_DATA_DIR", &data_dir)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        add.stdin
            .take()
            .unwrap()
            .write_all(b"a long enough password\n")
            .unwrap();
    }
    let added = add.wait_with_output().unwrap();
    let _ = hub.kill();
    let _ = hub.wait();
    assert!(ready.success(), "/readyz did not answer");
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
}
