//! `--login-flood N`: N clients sending wrong passwords to
//! `POST /api/v1/auth/login` as fast as they are answered, for the whole
//! run, each from its own `X-Forwarded-For` address (start the hub with
//! `MPAKA_AUTH__TRUSTED_PROXIES='["127.0.0.1"]'` and high
//! `login_free_failures_*` so that the throttle does not stop them first and
//! the flood reaches the password-hashing pool). Prints the answers it got.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::task::JoinSet;

/// A running flood; `stop` ends it and reports.
pub struct Flood {
    running: Arc<AtomicBool>,
    tasks: JoinSet<()>,
    answers: Arc<Mutex<BTreeMap<u16, u64>>>,
}

impl Flood {
    pub fn start(base: &str, clients: usize) -> Flood {
        let running = Arc::new(AtomicBool::new(true));
        let answers = Arc::new(Mutex::new(BTreeMap::new()));
        let mut tasks = JoinSet::new();
        let url = format!("{}/api/v1/auth/login", base.trim_end_matches('/'));
        for i in 0..clients {
            let (running, answers, url) = (running.clone(), answers.clone(), url.clone());
            tasks.spawn(async move {
                let http = reqwest::Client::new();
                let from = format!("10.77.{}.{}", i / 250, i % 250 + 1);
                while running.load(Ordering::Relaxed) {
                    let status = http
                        .post(&url)
                        .header("x-forwarded-for", &from)
                        .json(&serde_json::json!({
                            "username": format!("flood{i}"),
                            "password": "not the password at all",
                        }))
                        .send()
                        .await
                        .map_or(0, |r| r.status().as_u16());
                    *answers.lock().unwrap().entry(status).or_default() += 1;
                    if status == 0 {
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                }
            });
        }
        Flood {
            running,
            tasks,
            answers,
        }
    }

    pub async fn stop(mut self) {
        self.running.store(false, Ordering::Relaxed);
        while self.tasks.join_next().await.is_some() {}
        let answers = self.answers.lock().unwrap().clone();
        eprintln!("login flood answers by HTTP status (0 = no answer): {answers:?}");
    }
}
