//! What crosses to a peer, as pure functions: which channels are shared
//! with which peer, and the shared form of an event (the per-field hook).
//!
//! Channel rules are fixed, not settings, so that no configuration can
//! make national content leave: `joint` and `coord:joint` go to every peer,
//! `corridor:{slug}` only to peers party to that corridor, and
//! `national:*`, `coord:{country}`, `post:*`, `user:*` and `system` never.
//! The receiving hub applies the same rules to what it is sent.

use crate::store::StoredEvent;
use mpaka_protocol::{Alert, AlertAck, AlertClosing, Author, ChannelId, EventData};
use std::collections::BTreeSet;

/// Whether events of `channel` may go to (or come from) a peer party to
/// `corridors`.
pub fn is_shared(channel: &ChannelId, corridors: &BTreeSet<String>) -> bool {
    match channel {
        ChannelId::Joint | ChannelId::JointCoordination => true,
        ChannelId::Corridor(slug) => corridors.contains(slug),
        // Exhaustive on purpose: a new kind of channel is national until
        // someone decides otherwise here.
        ChannelId::National(_)
        | ChannelId::Coordination(_)
        | ChannelId::Post(_)
        | ChannelId::User(_)
        | ChannelId::System => false,
    }
}

/// Every channel shared with a peer party to `corridors`, for the query
/// that reads what to send.
pub fn shared_channels(corridors: &BTreeSet<String>) -> Vec<ChannelId> {
    let mut channels = vec![ChannelId::Joint, ChannelId::JointCoordination];
    channels.extend(corridors.iter().cloned().map(ChannelId::Corridor));
    channels
}

/// An author as it crosses: the name, role, country and post; not the
/// account id or username, which are this hub's own and mean nothing (or
/// too much) on the other side.
pub fn shared_author(author: &Author) -> Author {
    Author {
        id: None,
        username: None,
        ..author.clone()
    }
}

fn shared_alert(alert: &Alert) -> Alert {
    Alert {
        raised_by: shared_author(&alert.raised_by),
        acknowledgements: alert
            .acknowledgements
            .iter()
            .map(|a| AlertAck {
                by: shared_author(&a.by),
                ..a.clone()
            })
            .collect(),
        closing: alert.closing.as_ref().map(|c| AlertClosing {
            by: shared_author(&c.by),
            ..c.clone()
        }),
        ..alert.clone()
    }
}

/// The body of an event as it crosses to a peer: the hook where per-field
/// rules go. Phase 1 reduces every author inside alert snapshots the way
/// [`shared_author`] does; other kinds cross as they are.
pub fn shared_data(data: &EventData) -> EventData {
    let step = |b: &mpaka_protocol::AlertStepBody| {
        let mut b = b.clone();
        b.alert = shared_alert(&b.alert);
        b.change.by = b.change.by.as_ref().map(shared_author);
        Box::new(b)
    };
    match data {
        EventData::AlertRaised(b) => EventData::AlertRaised(step(b)),
        EventData::AlertAcknowledged(b) => EventData::AlertAcknowledged(step(b)),
        EventData::AlertUpdated(b) => EventData::AlertUpdated(step(b)),
        EventData::AlertResolved(b) => EventData::AlertResolved(step(b)),
        EventData::AlertCancelled(b) => EventData::AlertCancelled(step(b)),
        EventData::AlertEscalated(b) => {
            let mut b = b.clone();
            b.alert = shared_alert(&b.alert);
            b.change.by = b.change.by.as_ref().map(shared_author);
            EventData::AlertEscalated(b)
        }
        other => other.clone(),
    }
}

/// Whether an event of this kind may cross at all (hub-internal kinds
/// never do, whatever their channel).
pub fn is_shareable_kind(data: &EventData) -> bool {
    !matches!(
        data,
        EventData::AccountChanged { .. }
            | EventData::SessionEnded { .. }
            | EventData::DirectoryChanged {}
            | EventData::SopReminder(_)
    )
}

/// The shared form of a local event for a peer party to `corridors`, or
/// `None` when it stays home.
pub fn shared_form(
    event: &StoredEvent,
    corridors: &BTreeSet<String>,
) -> Option<(Option<Author>, EventData)> {
    if !is_shared(&event.channel, corridors) || !is_shareable_kind(&event.data) {
        return None;
    }
    Some((
        event.author.as_ref().map(shared_author),
        shared_data(&event.data),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpaka_protocol::{Country, MessageBody, Role};

    fn corridors() -> BTreeSet<String> {
        ["mugina-manyovu".to_owned()].into()
    }

    #[test]
    fn only_joint_channels_and_the_peers_corridors_are_shared() {
        let c = corridors();
        for (name, shared) in [
            ("joint", true),
            ("coord:joint", true),
            ("corridor:mugina-manyovu", true),
            ("corridor:kobero-kabanga", false),
            ("national:BI", false),
            ("national:TZ", false),
            ("coord:BI", false),
            ("coord:TZ", false),
            ("post:mugina", false),
            ("user:1", false),
            ("system", false),
        ] {
            let channel: ChannelId = name.parse().unwrap();
            assert_eq!(is_shared(&channel, &c), shared, "{name}");
            assert_eq!(shared_channels(&c).contains(&channel), shared, "{name}");
        }
    }

    #[test]
    fn a_shared_message_loses_its_authors_account_but_keeps_name_post_and_country() {
        let event = StoredEvent {
            seq: 9,
            channel: "corridor:mugina-manyovu".parse().unwrap(),
            at_ms: 0,
            author_id: Some(4),
            author: Some(Author {
                id: Some(4),
                username: Some("mugina.officer".into()),
                display_name: Some("Aline".into()),
                role: Role::Officer,
                country: Some(Country::BI),
                post: Some("mugina".into()),
            }),
            audience: None,
            data: EventData::Message(MessageBody {
                text: "400 people".into(),
                lang: None,
                written_at: None,
            }),
        };
        let (author, data) = shared_form(&event, &corridors()).unwrap();
        let author = author.unwrap();
        assert_eq!((author.id, author.username), (None, None));
        assert_eq!(author.display_name.as_deref(), Some("Aline"));
        assert_eq!(author.post.as_deref(), Some("mugina"));
        assert_eq!(data, event.data);
        let national = StoredEvent {
            channel: "national:BI".parse().unwrap(),
            ..event.clone()
        };
        assert!(shared_form(&national, &corridors()).is_none());
        let internal = StoredEvent {
            channel: ChannelId::Joint,
            data: EventData::DirectoryChanged {},
            ..event
        };
        assert!(shared_form(&internal, &corridors()).is_none());
    }
}
