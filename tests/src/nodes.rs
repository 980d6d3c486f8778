//! Real `mpaka serve` processes for multi-node tests: several nodes on one
//! database, sharing a signing key and a data directory (for the demo
//! credentials), each on its own loopback port.
//!
//! The binary's path is passed in by the caller: integration tests of the
//! `mpaka-server` package get it from Cargo as `CARGO_BIN_EXE_mpaka`, which
//! also guarantees it is built before the tests run.

use crate::{login_at, read_credentials, Client};
use anyhow::{bail, Context};
use mpaka_protocol::TokenResponse;
use std::collections::HashMap;
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
        let mut command = Command::new(&spec.binary);
        command
            .arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&spec.data_dir)
            .arg("--database-url")
            .arg(&spec.database_url)
            .env("MPAKA_JWT_SECRET", &spec.jwt_secret)
            .env("MPAKA_NODE_ID", id)
            // Tests publish fast; the rate limit has its own test.
            .env("MPAKA_LIMITS__PUBLISH_PER_SEC", "100000")
            .env("MPAKA_LIMITS__PUBLISH_BURST", "100000")
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .env_remove("MPAKA_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if std::env::var_os("TEST_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .kill_on_drop(true);
        if demo {
            command.arg("--demo");
        }
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

    /// SIGKILL: the process dies at once, without closing anything.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// SIGTERM and wait for a clean exit; returns whether it exited 0.
    pub async fn terminate(&mut self) -> bool {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
        matches!(
            tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await,
            Ok(Ok(status)) if status.success()
        )
    }
}

/// Logs in and connects demo users to any node of a cluster.
pub struct Accounts {
    passwords: HashMap<String, String>,
    http: reqwest::Client,
}

impl Accounts {
    /// The demo credentials written into `data_dir` by a `--demo` node.
    pub fn from_data_dir(data_dir: &Path) -> Accounts {
        Accounts {
            passwords: read_credentials(data_dir),
            http: reqwest::Client::new(),
        }
    }

    /// # Errors
    /// The node is unreachable or refuses the login.
    pub async fn login(&self, node: SocketAddr, username: &str) -> anyhow::Result<TokenResponse> {
        let password = self
            .passwords
            .get(username)
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
