//! The permission matrix, exhaustively: every demo user (every role and
//! country) against every channel, for subscribing, publishing and actual
//! delivery. National content must never reach the other country.

use mpaka_protocol::{ChannelId, ErrorCode, ServerFrame};
use mpaka_tests::{ch, TestHub};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const CORRIDORS: [&str; 3] = ["mugina-manyovu", "gisuru-kibondo", "kobero-kabanga"];
const POSTS: [(&str, &str, &str); 6] = [
    ("mugina", "BI", "mugina-manyovu"),
    ("manyovu", "TZ", "mugina-manyovu"),
    ("gisuru", "BI", "gisuru-kibondo"),
    ("kibondo", "TZ", "gisuru-kibondo"),
    ("kobero", "BI", "kobero-kabanga"),
    ("kabanga", "TZ", "kobero-kabanga"),
];

/// Every channel that exists in the demo, plus other users' inboxes and `system`.
fn all_channels(user_ids: &[i64]) -> Vec<ChannelId> {
    let mut channels: Vec<ChannelId> = CORRIDORS.iter().map(|c| ch(&format!("corridor:{c}"))).collect();
    channels.extend(POSTS.iter().map(|(p, _, _)| ch(&format!("post:{p}"))));
    for name in ["national:BI", "national:TZ", "coord:BI", "coord:TZ", "coord:joint", "joint", "system"] {
        channels.push(ch(name));
    }
    channels.extend(user_ids.iter().map(|id| ChannelId::User(*id)));
    channels
}

/// What the brief says each user may read and write, written out per role.
fn expected(username: &str, own_id: i64) -> (BTreeSet<ChannelId>, BTreeSet<ChannelId>) {
    let mut read = BTreeSet::new();
    let mut write = BTreeSet::new();
    read.insert(ChannelId::User(own_id));
    if let Some(post) = username.strip_suffix(".officer") {
        let (_, country, corridor) = POSTS.iter().find(|(p, _, _)| *p == post).expect("demo post");
        for name in [format!("corridor:{corridor}"), format!("post:{post}")] {
            read.insert(ch(&name));
            write.insert(ch(&name));
        }
        read.insert(ch(&format!("national:{country}")));
        read.insert(ch("joint"));
    } else if let Some(country) = username.strip_suffix(".coordinator") {
        let country = country.to_uppercase();
        let mut rw: Vec<String> = CORRIDORS.iter().map(|c| format!("corridor:{c}")).collect();
        rw.extend(POSTS.iter().filter(|(_, c, _)| *c == country).map(|(p, _, _)| format!("post:{p}")));
        rw.extend([format!("national:{country}"), format!("coord:{country}"), "coord:joint".into(), "joint".into()]);
        for name in rw {
            read.insert(ch(&name));
            write.insert(ch(&name));
        }
    } else if username == "unhcr.observer" {
        read.extend(CORRIDORS.iter().map(|c| ch(&format!("corridor:{c}"))));
        read.insert(ch("joint"));
    }
    (read, write)
}

#[tokio::test]
async fn every_role_and_country_gets_exactly_its_channels() {
    let hub = TestHub::start().await;
    let mut ids = BTreeMap::new();
    for name in hub.usernames() {
        ids.insert(name.clone(), hub.login(&name).await.user.id);
    }
    let channels = all_channels(&ids.values().copied().collect::<Vec<_>>());
    for (username, id) in &ids {
        let (may_read, may_write) = expected(username, *id);
        let mut client = hub.connect(username).await;
        for channel in &channels {
            let subscribed = client.subscribe(std::slice::from_ref(channel), None).await;
            assert_eq!(
                subscribed.is_ok(),
                may_read.contains(channel),
                "{username} subscribing to {channel}: {subscribed:?}"
            );
            if let Err(error) = subscribed {
                assert!(error.to_string().starts_with("forbidden"), "{username} {channel}: {error}");
            }
            let published = client.publish(channel, "matrix probe").await;
            assert_eq!(
                published.is_ok(),
                may_write.contains(channel),
                "{username} publishing to {channel}: {published:?}"
            );
            if let Err(error) = published {
                assert_eq!(error.code, ErrorCode::Forbidden, "{username} {channel}");
            }
        }
        client.close().await;
    }
}

#[tokio::test]
async fn events_reach_exactly_the_readers_of_their_channel() {
    let hub = TestHub::start().await;
    let mut ids = BTreeMap::new();
    for name in hub.usernames() {
        ids.insert(name.clone(), hub.login(&name).await.user.id);
    }
    // Everyone listens to everything they may read.
    let mut listeners = Vec::new();
    for (username, id) in &ids {
        let (may_read, _) = expected(username, *id);
        let mut client = hub.connect(username).await;
        let channels: Vec<ChannelId> = may_read.iter().cloned().collect();
        client.subscribe(&channels, None).await.expect("subscribe");
        listeners.push((username.clone(), may_read, client));
    }
    // One message on every writable channel, from someone who may write it.
    let mut sent: BTreeMap<ChannelId, String> = BTreeMap::new();
    for (username, id) in &ids {
        let (_, may_write) = expected(username, *id);
        let mut writer = hub.connect(username).await;
        for channel in may_write {
            if sent.contains_key(&channel) {
                continue;
            }
            let text = format!("from {username} to {channel}");
            writer.publish(&channel, &text).await.expect("publish");
            sent.insert(channel, text);
        }
        writer.close().await;
    }
    for (username, may_read, client) in &mut listeners {
        let got = client.events_within(Duration::from_millis(700)).await;
        let got_channels: BTreeSet<ChannelId> = got.iter().map(|e| e.channel.clone()).collect();
        let should: BTreeSet<ChannelId> = sent.keys().filter(|c| may_read.contains(*c)).cloned().collect();
        assert_eq!(got_channels, should, "{username} received events from the wrong channels");
        for event in &got {
            if let Some(author) = &event.author {
                // The cross-border rule, stated directly: a national or
                // coordination channel only ever carries its own country.
                if let ChannelId::National(country) | ChannelId::Coordination(country) = &event.channel {
                    let reader_country = if username.starts_with("bi.") || ["mugina", "gisuru", "kobero"].iter().any(|p| username.starts_with(p)) {
                        "BI"
                    } else {
                        "TZ"
                    };
                    assert_eq!(country.as_str(), reader_country, "{username} saw {}", event.channel);
                    assert_eq!(author.country, Some(*country));
                }
            }
        }
        assert!(client.inbox().iter().all(|f| !matches!(f, ServerFrame::Error { .. })));
    }
}

#[tokio::test]
async fn observers_see_joint_content_with_personal_data_redacted() {
    let hub = TestHub::start().await;
    let mut observer = hub.connect("unhcr.observer").await;
    observer.subscribe(&[ch("corridor:mugina-manyovu")], None).await.expect("subscribe");
    let mut officer = hub.connect("mugina.officer").await;
    officer
        .publish(&ch("corridor:mugina-manyovu"), "Jean Ndayishimiye, 34, arrived with 3 children")
        .await
        .expect("publish");
    let event = observer.next_event().await.expect("event");
    let author = event.author.expect("author");
    assert_eq!(author.username, None);
    assert_eq!(author.display_name, None);
    assert_eq!(author.post.as_deref(), Some("mugina"));
    let body = serde_json::to_string(&event.data).expect("json");
    assert!(!body.contains("Ndayishimiye"), "observer saw personal data: {body}");
}
