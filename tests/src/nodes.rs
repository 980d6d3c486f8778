//! Real `mpaka serve` processes for multi-node tests: several nodes on one
//! database, sharing a signing key and a data directory (for the demo
//! credentials), each on its own loopback port.
//!
//! The binary's path is passed in by the caller: integration tests of the
//! `mpaka-server` package get it from Cargo as `CARGO_BIN_EXE_mpaka`, which
//! also guarantees it is built before the tests run.

use crate::{login_at, read_credentials, Client};
use anyhow::{bail, Context};
use mpaka_client::DemoCredentials;
use mpaka_protocol::TokenResponse;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a node may take to start listening.
const START_PATIENCE: Duration = Duration::from_secs(60);

/// What the nodes of one cluster share.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    pub binary: PathBuf,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub jwt_secret: String,
    /// More `MPAKA_…` settings for every node.
    pub env: Vec<(String, String)>,
}

/// One running `mpaka serve` process.
pub struct Node {
    pub id: String,
    pub addr: SocketAddr,
    child: Child,
}

impl Node {
    /// Starts a node and waits until it listens. `demo` seeds demo data
    /// (once per database) and writes the credentials to the data directory.
    ///
    /// # Errors
    /// The process fails to start or exits before listening.
    pub async fn start(spec: &ClusterSpec, id: &str, demo: bool) -> anyhow::Result<Node> {
        Node::start_logged(spec, id, demo, None).await
    }

    /// As [`Node::start`], with the node's log (stderr) written to `log`.
    ///
    /// # Errors
    /// The log file cannot be created; the process fails to start or exits
    /// before listening.
    pub async fn start_logged(
        spec: &ClusterSpec,
        id: &str,
        demo: bool,
        log: Option<&Path>,
    ) -> anyhow::Result<Node> {
        let mut command = serve_command(&spec.binary, &spec.data_dir);
        if let Some(path) = log {
            command.stderr(std::fs::File::create(path).context("creating the node's log")?);
        }
        command
            .arg("--database-url")
            .arg(&spec.database_url)
            .env("MPAKA_JWT_SECRET", &spec.jwt_secret)
            .env("MPAKA_NODE_ID", id)
            // Tests publish fast; the rate limit has its own test.
            .env("MPAKA_LIMITS__PUBLISH_PER_SEC", "100000")
            .env("MPAKA_LIMITS__PUBLISH_BURST", "100000")
            .envs(spec.env.iter().map(|(k, v)| (k, v)));
        if demo {
            command.arg("--demo");
        }
        Node::spawn(command, id).await
    }

    /// Starts `mpaka serve --demo` alone on its default SQLite database in
    /// `data_dir`, with its own signing key (as an operator first runs it),
    /// plus `env` settings, and waits until it listens.
    ///
    /// # Errors
    /// The process fails to start or exits before listening.
    pub async fn start_alone(
        binary: &Path,
        data_dir: &Path,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Node> {
        let mut command = serve_command(binary, data_dir);
        command.arg("--demo").envs(env.iter().copied());
        Node::spawn(command, "alone").await
    }

    /// Runs `command` (an `mpaka serve`) and waits until it prints the
    /// address it listens on.
    async fn spawn(mut command: Command, id: &str) -> anyhow::Result<Node> {
        let mut child = command.spawn().context("spawning mpaka")?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let addr = tokio::time::timeout(START_PATIENCE, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.strip_prefix("mpaka listening on http://") {
                    return Ok(rest.trim().parse::<SocketAddr>()?);
                }
            }
            bail!("node {id} exited before listening")
        })
        .await
        .with_context(|| format!("node {id} did not start in time"))??;
        // Keep draining stdout so the node never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Node {
            id: id.to_owned(),
            addr,
            child,
        })
    }

    /// The node's base URL, `http://{addr}`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sends SIGTERM without waiting (see [`Node::wait`]).
    pub fn signal_term(&self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
    }

    /// Waits (up to 20 s) for the process to exit; returns whether it
    /// exited 0.
    pub async fn wait(&mut self) -> bool {
        matches!(
            tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await,
            Ok(Ok(status)) if status.success()
        )
    }

    /// SIGKILL: the process dies at once, without closing anything.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// SIGTERM and wait for a clean exit; returns whether it exited 0.
    pub async fn terminate(&mut self) -> bool {
        self.signal_term();
        self.wait().await
    }
}

/// `mpaka serve` on a loopback port with `data_dir`, without a configuration
/// file, its stdout piped (for the address) and killed when dropped.
fn serve_command(binary: &Path, data_dir: &Path) -> Command {
    let mut command = Command::new(binary);
    command
        .arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("MPAKA_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if std::env::var_os("TEST_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .kill_on_drop(true);
    command
}

/// Logs in and connects demo users to any node of a cluster.
pub struct Accounts {
    credentials: DemoCredentials,
    http: reqwest::Client,
}

impl Accounts {
    /// The demo credentials written into `data_dir` by a `--demo` node.
    pub fn from_data_dir(data_dir: &Path) -> Accounts {
        Accounts {
            credentials: read_credentials(data_dir),
            http: reqwest::Client::new(),
        }
    }

    /// A demo user's password.
    ///
    /// # Panics
    /// When `username` is no demo user.
    pub fn password(&self, username: &str) -> String {
        self.credentials
            .password(username)
            .unwrap_or_else(|| panic!("no demo user {username}"))
            .to_owned()
    }

    /// # Errors
    /// The node is unreachable or refuses the login.
    pub async fn login(&self, node: SocketAddr, username: &str) -> anyhow::Result<TokenResponse> {
        let password = self
            .credentials
            .password(username)
            .with_context(|| format!("no demo user {username}"))?;
        login_at(&self.http, node, username, password).await
    }

    /// An authenticated socket to `node`.
    ///
    /// # Errors
    /// The node is unreachable or refuses the login.
    pub async fn connect(&self, node: SocketAddr, username: &str) -> anyhow::Result<Client> {
        let tokens = self.login(node, username).await?;
        let mut client = Client::connect(node).await?;
        client.auth(&tokens.access_token).await?;
        Ok(client)
    }
}
