//! The monitoring files in deploy/: the Prometheus alerting rules pass
//! `promtool check rules` and their unit tests (`promtool test rules`), and
//! the Grafana dashboard is valid, well-formed, and every metric its
//! queries and the rules name is one a real hub exposes (scraped here), while
//! every family the hub exposes has a panel.

use super::metrics::scrape;
use mpaka_tests::TestHub;
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root")
        .join("deploy")
}

fn rules() -> PathBuf {
    deploy().join("prometheus/mpaka-rules.yml")
}

fn dashboard() -> Value {
    let path = deploy().join("grafana/mpaka-dashboard.json");
    let text = std::fs::read_to_string(&path).expect("dashboard file");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: invalid JSON: {e}", path.display()))
}

/// `promtool`, or `None` after printing SKIPPED (a failure under CI=true).
fn promtool() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("promtool"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "promtool is missing (Debian package prometheus) and CI=true"
        );
        println!("SKIPPED: promtool not installed (apt-get install prometheus)");
    }
    found
}

#[test]
fn the_alerting_rules_pass_promtool_check_and_their_unit_tests() {
    let Some(promtool) = promtool() else { return };
    for args in [
        vec!["check", "rules", "mpaka-rules.yml"],
        vec!["test", "rules", "mpaka-rules.test.yml"],
    ] {
        let output = Command::new(&promtool)
            .args(&args)
            .current_dir(deploy().join("prometheus"))
            .output()
            .expect("promtool runs");
        assert!(
            output.status.success(),
            "promtool {}:\n{}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// The metric names in a PromQL expression that belong to the hub
/// (`mpaka_…` and the process series it exports).
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut word = String::new();
    for c in expr.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
        } else {
            if word.starts_with("mpaka_") || word.starts_with("process_") {
                names.insert(word.clone());
            }
            word.clear();
        }
    }
    names
}

/// Every PromQL expression of the dashboard's panels, checking each panel's
/// shape on the way.
fn dashboard_exprs(dashboard: &Value) -> Vec<String> {
    assert!(dashboard["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(dashboard["uid"].as_str().is_some_and(|t| !t.is_empty()));
    let variables: Vec<&str> = dashboard["templating"]["list"]
        .as_array()
        .expect("templating.list")
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert!(variables.contains(&"datasource"), "{variables:?}");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(!panels.is_empty());
    let mut ids = HashSet::new();
    let mut exprs = Vec::new();
    for panel in panels {
        let id = panel["id"].as_u64().expect("panel id");
        assert!(ids.insert(id), "panel id {id} used twice");
        let title = panel["title"].as_str().expect("panel title");
        let grid = &panel["gridPos"];
        let (x, w) = (grid["x"].as_u64().unwrap(), grid["w"].as_u64().unwrap());
        assert!(
            x + w <= 24 && grid["h"].as_u64().unwrap() > 0,
            "{title}: gridPos {grid}"
        );
        if panel["type"] == "row" {
            continue;
        }
        assert!(panel["type"].as_str().is_some(), "{title}: no type");
        assert_eq!(panel["datasource"]["uid"], "${datasource}", "{title}");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title}: no query");
        let mut refs = HashSet::new();
        for target in targets {
            assert!(
                refs.insert(target["refId"].as_str().expect("refId")),
                "{title}"
            );
            let expr = target["expr"].as_str().expect("expr");
            assert!(!expr.trim().is_empty(), "{title}: empty query");
            assert_eq!(
                expr.matches('(').count(),
                expr.matches(')').count(),
                "{title}: unbalanced {expr}"
            );
            exprs.push(expr.to_owned());
        }
    }
    exprs
}

fn rule_exprs() -> Vec<String> {
    std::fs::read_to_string(rules())
        .expect("rules file")
        .lines()
        .filter_map(|l| l.trim().strip_prefix("expr:"))
        .map(|e| e.trim().to_owned())
        .collect()
}

#[tokio::test]
async fn the_dashboard_and_rules_name_only_metrics_a_real_hub_exposes_and_cover_them_all() {
    // Federating, with one (unreachable) peer, so that the per-peer series exist.
    let hub = TestHub::start_with(|s| {
        s.federation.name = "bi.mpaka".into();
        s.federation.allow_plain_links = true;
        s.federation.peers = vec![mpaka_server::federation::settings::PeerSettings {
            name: "tz.mpaka".into(),
            url: "ws://127.0.0.1:9".into(),
            key: mpaka_server::vlog::note::NoteSigner::new(
                "tz.mpaka/log",
                ed25519_dalek::SigningKey::from_bytes(&[9; 32]),
            )
            .verifier()
            .vkey(),
            corridors: vec!["mugina-manyovu".into()],
        }];
    })
    .await;
    // Traffic, so that the per-route HTTP series exist.
    let _ = hub.login("mugina.officer").await;
    let _ = scrape(&hub).await;
    let exposed: BTreeSet<String> = scrape(&hub)
        .await
        .keys()
        .map(|k| k.split('{').next().unwrap_or(k).to_owned())
        .collect();
    let dashboard = dashboard();
    let dashboard_exprs = dashboard_exprs(&dashboard);
    let rule_exprs = rule_exprs();
    assert!(rule_exprs.len() >= 8, "{rule_exprs:?}");
    for (source, exprs) in [("dashboard", &dashboard_exprs), ("rules", &rule_exprs)] {
        for expr in exprs {
            for name in metric_names(expr) {
                assert!(
                    exposed.contains(&name),
                    "{source} names {name}, which the hub does not expose: {expr}"
                );
            }
        }
    }
    // Every family has a panel (help lines name families).
    let text = hub
        .http()
        .get(hub.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let used = dashboard_exprs.join("\n");
    for family in text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
    {
        assert!(used.contains(family), "no dashboard panel shows {family}");
    }
}

#[test]
fn metric_names_are_found_in_promql() {
    let names = metric_names(
        r#"histogram_quantile(0.99, sum by (le) (rate(mpaka_publish_latency_seconds_bucket{job="$job"}[5m]))) / process_open_fds"#,
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["mpaka_publish_latency_seconds_bucket", "process_open_fds"]
    );
}
