//! A small W3C WebDriver client for the console's browser tests: starts
//! `chromedriver` on a free port, opens headless Chromium sessions and
//! drives them (navigate, click, type, run a script, wait for a condition,
//! take a screenshot). Plain JSON over HTTP with `reqwest`.
//!
//! When Chromium or chromedriver is missing, [`Driver::start`] returns
//! `None` so the tests can say they skipped, unless `CI=true`, where a
//! missing browser is a failure.

use anyhow::{anyhow, bail, Context};
use base64::Engine;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// The key under which WebDriver returns element references.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long to wait for something the console should show promptly.
pub const BROWSER_PATIENCE: Duration = Duration::from_secs(20);

/// Chromium's flags for a headless run in a container.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--window-size=1366,768",
];

fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path));
    }
    let dirs = std::env::var_os("PATH")?;
    std::env::split_paths(&dirs)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// A running chromedriver.
pub struct Driver {
    child: Child,
    base: String,
    chromium: PathBuf,
    http: reqwest::Client,
}

impl Driver {
    /// Starts chromedriver, or returns `None` (after printing
    /// `SKIPPED: chromium not installed`) when Chromium or chromedriver is
    /// missing. Panics instead when `CI=true`: CI must run these tests.
    pub async fn start() -> Option<Driver> {
        let chromium = find_program(
            "MPAKA_CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        );
        let chromedriver = find_program("MPAKA_CHROMEDRIVER", &["chromedriver"]);
        let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but chromium/chromedriver are not installed: the browser tests must run");
            }
            println!("SKIPPED: chromium not installed (Debian packages: chromium chromium-driver)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            chromium,
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + BROWSER_PATIENCE;
        loop {
            let ready = driver
                .http
                .get(format!("{}/status", driver.base))
                .send()
                .await
                .ok();
            if let Some(r) = ready {
                let status: Value = r.json().await.unwrap_or_default();
                if status["value"]["ready"] == json!(true) {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Some(driver)
    }

    /// Opens a new headless Chromium window at 1366×768.
    pub async fn browser(&self) -> anyhow::Result<Browser> {
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.chromium,
                "args": CHROMIUM_ARGS,
            },
        }}});
        let reply: Value = self
            .http
            .post(format!("{}/session", self.base))
            .json(&capabilities)
            .send()
            .await?
            .json()
            .await?;
        let id = reply["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no session: {reply}"))?;
        Ok(Browser {
            base: format!("{}/session/{id}", self.base),
            http: self.http.clone(),
        })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// One browser window.
pub struct Browser {
    base: String,
    http: reqwest::Client,
}

impl Browser {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if method == reqwest::Method::POST {
            request = request.json(&body);
        }
        let reply: Value = request.send().await?.json().await?;
        if let Some(error) = reply["value"]["error"].as_str() {
            bail!(
                "webdriver {path}: {error}: {}",
                reply["value"]["message"].as_str().unwrap_or("")
            );
        }
        Ok(reply["value"].clone())
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, path, body).await
    }

    /// Loads `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.post("/url", json!({ "url": url })).await.map(drop)
    }

    /// Reloads the page.
    pub async fn refresh(&self) -> anyhow::Result<()> {
        self.post("/refresh", json!({})).await.map(drop)
    }

    /// Opens a new tab of the same browser (same profile, storage and
    /// cookies) and returns its handle; the current tab stays current.
    pub async fn new_tab(&self) -> anyhow::Result<String> {
        let reply = self.post("/window/new", json!({"type": "tab"})).await?;
        reply["handle"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no handle: {reply}"))
    }

    /// The handle of the current tab.
    pub async fn tab(&self) -> anyhow::Result<String> {
        let reply = self
            .call(reqwest::Method::GET, "/window", Value::Null)
            .await?;
        reply
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no handle: {reply}"))
    }

    /// Closes the current tab (as a user closing it would); switch to
    /// another tab before the next command.
    pub async fn close_tab(&self) -> anyhow::Result<()> {
        self.call(reqwest::Method::DELETE, "/window", Value::Null)
            .await
            .map(drop)
    }

    /// Makes the tab `handle` the one every later command goes to.
    pub async fn switch_to(&self, handle: &str) -> anyhow::Result<()> {
        self.post("/window", json!({ "handle": handle }))
            .await
            .map(drop)
    }

    /// Emulates a slow link for every later request of this browser:
    /// `latency_ms` added per request, throughputs in kbit/s.
    pub async fn throttle(
        &self,
        latency_ms: u32,
        down_kbit: u32,
        up_kbit: u32,
    ) -> anyhow::Result<()> {
        self.post(
            "/chromium/network_conditions",
            json!({"network_conditions": {
                "offline": false,
                "latency": latency_ms,
                "download_throughput": down_kbit * 1000 / 8,
                "upload_throughput": up_kbit * 1000 / 8,
            }}),
        )
        .await
        .map(drop)
    }

    /// Runs a Chrome DevTools Protocol command on the current tab
    /// (chromedriver's `goog/cdp/execute`) and returns its result.
    pub async fn cdp(&self, command: &str, params: Value) -> anyhow::Result<Value> {
        self.post(
            "/goog/cdp/execute",
            json!({ "cmd": command, "params": params }),
        )
        .await
    }

    /// Cuts this browser off the network (or lets it back), as a lost link.
    pub async fn set_offline(&self, offline: bool) -> anyhow::Result<()> {
        self.post(
            "/chromium/network_conditions",
            json!({"network_conditions": {
                "offline": offline, "latency": 0,
                "download_throughput": 1_000_000_000, "upload_throughput": 1_000_000_000,
            }}),
        )
        .await
        .map(drop)
    }

    /// Resizes the window (CSS pixels).
    pub async fn resize(&self, width: u32, height: u32) -> anyhow::Result<()> {
        self.post("/window/rect", json!({"width": width, "height": height}))
            .await
            .map(drop)
    }

    async fn element(&self, css: &str) -> anyhow::Result<String> {
        let found = self
            .post("/element", json!({"using": "css selector", "value": css}))
            .await
            .with_context(|| format!("no element {css}"))?;
        found[ELEMENT_KEY]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no element {css}"))
    }

    /// Waits for `css` to be present, then clicks it.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        self.wait_for(&format!("document.querySelector({css:?})"))
            .await?;
        // The console redraws a view when an event arrives, which can
        // replace the element between finding and clicking it: find it
        // again rather than fail on the old one.
        let mut attempts = 0;
        loop {
            let id = self.element(css).await?;
            match self.post(&format!("/element/{id}/click"), json!({})).await {
                Err(error) if attempts < 3 && error.to_string().contains("stale element") => {
                    attempts += 1;
                }
                result => return result.map(drop),
            }
        }
    }

    /// Holds the console's link to the hub (as if the network went away)
    /// and waits until the page shows it.
    pub async fn hold_link(&self) -> anyhow::Result<()> {
        self.exec("window.mpaka.link.hold();", json!([])).await?;
        self.wait_for("document.querySelector('#conn').dataset.state === 'held'")
            .await
            .map(drop)
    }

    /// Clears the field `css` and types `text` into it, key by key.
    pub async fn fill(&self, css: &str, text: &str) -> anyhow::Result<()> {
        self.wait_for(&format!("document.querySelector({css:?})"))
            .await?;
        let id = self.element(css).await?;
        self.post(&format!("/element/{id}/clear"), json!({}))
            .await?;
        self.post(&format!("/element/{id}/value"), json!({ "text": text }))
            .await
            .map(drop)
    }

    /// Sends keys to the field `css` without clearing it (`\u{E007}` is Enter).
    pub async fn keys(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let id = self.element(css).await?;
        self.post(&format!("/element/{id}/value"), json!({ "text": text }))
            .await
            .map(drop)
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub async fn exec(&self, script: &str, args: Value) -> anyhow::Result<Value> {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// Runs an async script: the body calls `arguments[arguments.length-1](value)`.
    pub async fn exec_async(&self, script: &str, args: Value) -> anyhow::Result<Value> {
        self.post("/execute/async", json!({ "script": script, "args": args }))
            .await
    }

    /// Evaluates the JavaScript expression `condition` until it is truthy
    /// and returns its value; fails after [`BROWSER_PATIENCE`].
    pub async fn wait_for(&self, condition: &str) -> anyhow::Result<Value> {
        let script =
            format!("try {{ return ({condition}) || null; }} catch (e) {{ return null; }}");
        let deadline = Instant::now() + BROWSER_PATIENCE;
        loop {
            let value = self.exec(&script, json!([])).await?;
            if !value.is_null() && value != json!(false) {
                return Ok(value);
            }
            if Instant::now() > deadline {
                bail!("timed out waiting for: {condition}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until an element matching `css` contains `text`.
    pub async fn wait_text(&self, css: &str, text: &str) -> anyhow::Result<()> {
        self.wait_for(&format!(
            "[...document.querySelectorAll({css:?})].some(e => e.textContent.includes({text:?}))"
        ))
        .await
        .map(drop)
    }

    /// Text content of the first element matching `css` ("" if none).
    pub async fn text(&self, css: &str) -> anyhow::Result<String> {
        let v = self
            .exec(
                "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';",
                json!([css]),
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// Saves a PNG of the window to `path`.
    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        let data = self
            .call(reqwest::Method::GET, "/screenshot", Value::Null)
            .await?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().ok_or_else(|| anyhow!("no screenshot"))?)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png)?;
        Ok(())
    }

    /// Closes the window and its browser.
    pub async fn close(self) -> anyhow::Result<()> {
        self.call(reqwest::Method::DELETE, "", Value::Null)
            .await
            .map(drop)
    }
}

/// Where the browser tests save screenshots. With `MPAKA_SCREENSHOTS=1` they
/// refresh `docs/screenshots/` of the repository (the README's pictures);
/// otherwise they go to a scratch directory, so a test run leaves the
/// working tree clean while still exercising every capture.
pub fn screenshot_dir() -> PathBuf {
    if std::env::var_os("MPAKA_SCREENSHOTS").is_some() {
        return Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("docs")
            .join("screenshots");
    }
    let dir = std::env::temp_dir().join(format!("mpaka-screenshots-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}
