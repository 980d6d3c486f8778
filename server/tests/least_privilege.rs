//! PostgreSQL least privilege (issue 12), as docs/operations.md tells an
//! operator to set it up: migrations run as the database owner, then
//! `deploy/postgres/least-privilege.sql` through `psql`, then the hub
//! serves as `mpaka_hub`. The hub must work as usual under that role, and
//! someone holding only its credentials must be unable to update, delete or
//! truncate the record, while the log still verifies. Needs PostgreSQL and
//! `psql`; skipped (and saying so) without them, except under `CI=true`.

use mpaka_tests::nodes::{Accounts, ClusterSpec, Node};
use mpaka_tests::{ch, Backend, TestDb};
use sqlx::{Connection, Executor, PgConnection};
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_mpaka");
const HUB_PASSWORD: &str = "a test password for the hub role";

fn skip_unless_ci(why: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but {why}"
    );
    eprintln!("SKIPPED least_privilege: {why}");
}

/// The owner's URL with the hub role's credentials instead.
fn as_hub_role(owner_url: &str) -> String {
    let mut url = reqwest::Url::parse(owner_url).expect("a database URL");
    url.set_username("mpaka_hub").expect("a user");
    url.set_password(Some(HUB_PASSWORD)).expect("a password");
    url.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_serves_as_an_append_only_role_that_cannot_rewrite_the_record() {
    let Some(db) = TestDb::fresh(Backend::Postgres).await else {
        return;
    };
    // 1. Migrations as the owner.
    let migrated = std::process::Command::new(BIN)
        .args(["migrate", "--database-url", &db.url])
        .output()
        .expect("mpaka migrate runs");
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    // 2. The documented script, through psql.
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/postgres/least-privilege.sql");
    let psql = std::process::Command::new("psql")
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-d", &db.url])
        .arg("-v")
        .arg(format!("hub_password='{HUB_PASSWORD}'"))
        .arg("-f")
        .arg(&script)
        .output();
    let psql = match psql {
        Ok(output) => output,
        Err(error) => return skip_unless_ci(&format!("psql cannot run: {error}")),
    };
    assert!(
        psql.status.success(),
        "the script applies: {}",
        String::from_utf8_lossy(&psql.stderr)
    );

    // 3. The hub serves as mpaka_hub: demo seeding, logins, messages, an
    // alert and its acknowledgement all work.
    let hub_url = as_hub_role(&db.url);
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = ClusterSpec {
        binary: BIN.into(),
        database_url: hub_url.clone(),
        data_dir: dir.path().to_owned(),
        jwt_secret: "a shared signing key of at least thirty-two bytes".into(),
        env: Vec::new(),
    };
    let node = Node::start(&spec, "least-privilege", true)
        .await
        .expect("the hub starts as mpaka_hub");
    let accounts = Accounts::from_data_dir(dir.path());
    let corridor = ch("corridor:mugina-manyovu");
    let mut mugina = accounts.connect(node.addr, "mugina.officer").await.unwrap();
    for i in 0..5 {
        mugina
            .publish(&corridor, &format!("message {i}"))
            .await
            .expect("published as mpaka_hub");
    }
    let http = reqwest::Client::new();
    let officer = accounts.login(node.addr, "mugina.officer").await.unwrap();
    let raised = http
        .post(format!("{}/api/v1/alerts", node.url()))
        .bearer_auth(&officer.access_token)
        .header("Idempotency-Key", mpaka_tests::uuid_like())
        .json(&serde_json::json!({
            "kind": "mass_arrival", "direction": "into_burundi", "headcount": 120,
            "severity": "severe", "urgency": "immediate", "certainty": "observed",
            "text": {"text": "Families crossing at the river", "lang": "en"},
            "status": "actual"}))
        .send()
        .await
        .unwrap();
    assert_eq!(raised.status(), 201, "{}", raised.text().await.unwrap());
    let raised: serde_json::Value = raised.json().await.unwrap();
    let alert = raised["alert"]["id"]
        .as_str()
        .expect("an alert id")
        .to_owned();
    let manyovu = accounts.login(node.addr, "manyovu.officer").await.unwrap();
    let acked = http
        .post(format!("{}/api/v1/alerts/{alert}/ack", node.url()))
        .bearer_auth(&manyovu.access_token)
        .header("Idempotency-Key", mpaka_tests::uuid_like())
        .send()
        .await
        .unwrap();
    assert_eq!(acked.status(), 200, "{}", acked.text().await.unwrap());

    // 4. Someone with only the hub's credentials cannot rewrite the record.
    let mut insider = PgConnection::connect(&hub_url).await.expect("connects");
    for attack in [
        "UPDATE events SET channel = 'corridor:elsewhere' WHERE seq = 1",
        "UPDATE events SET at = 0",
        "DELETE FROM events WHERE seq = (SELECT MAX(seq) FROM events)",
        "TRUNCATE events",
        "UPDATE audit SET action = 'auth.logout'",
        "DELETE FROM audit",
        "DELETE FROM log_leaves",
        "UPDATE log_nodes SET hash = hash",
        "TRUNCATE log_checkpoints",
        "DELETE FROM log_redactions",
        "DELETE FROM log_cosignatures",
    ] {
        let refused = insider.execute(attack).await.expect_err(attack);
        let code = refused
            .as_database_error()
            .and_then(|e| e.code().map(|c| c.into_owned()));
        assert_eq!(
            code.as_deref(),
            Some("42501"),
            "{attack}: permission denied, not {refused}"
        );
    }

    // 5. The record still verifies, as the auditor sees it.
    let auditor = accounts.login(node.addr, "auditor").await.unwrap();
    let verify = || async {
        http.get(format!("{}/api/v1/log/verify", node.url()))
            .bearer_auth(&auditor.access_token)
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    };
    let verified = verify().await;
    assert_eq!(verified["intact"], true, "{verified}");

    // 6. The one column the role may update (for retention: an event's body,
    // replaced together with a tombstone leaf) does not let it rewrite
    // unseen: a body changed without a tombstone is named by the verifier.
    insider
        .execute(
            "UPDATE events SET body = '{\"text\": \"4 people\"}' \
             WHERE seq = (SELECT MAX(seq) FROM events WHERE kind = 'message')",
        )
        .await
        .expect("the body column is updatable, for retention");
    insider.close().await.ok();
    let verified = verify().await;
    assert_eq!(verified["intact"], false, "{verified}");
    drop(node);
}
