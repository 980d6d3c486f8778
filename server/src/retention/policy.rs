//! What retention keeps and what it removes from one record (pure).

use mpaka_protocol::{Alert, AlertChange, EventData, FlowVersion};

/// The text that replaces removed free text.
pub const REDACTED: &str = "[redacted]";

/// The event as kept after its retention period: free text that may name
/// people (message and alert texts, closing and correction reasons) is
/// replaced, and so are the names and accounts inside alert and report
/// snapshots; kinds, counts, severities, places, times and who wrote the
/// event (its author column, kept as the record of an official act) stay.
pub fn forget_event(data: &EventData) -> EventData {
    match data.redacted() {
        EventData::FlowCorrected(mut body) => {
            if body.reason.is_some() {
                body.reason = Some(REDACTED.into());
            }
            EventData::FlowCorrected(body)
        }
        other => other,
    }
}

/// An alert as kept after its retention period.
pub fn forget_alert(alert: &Alert) -> Alert {
    alert.redacted()
}

/// An alert history entry as kept after its retention period.
pub fn forget_change(change: &AlertChange) -> AlertChange {
    change.redacted()
}

/// A stored flow version as kept: the correction reason goes, the figures
/// and who recorded them stay.
pub fn forget_flow_version(version: &FlowVersion) -> FlowVersion {
    FlowVersion {
        reason: version.reason.as_ref().map(|_| REDACTED.to_owned()),
        ..version.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpaka_protocol::MessageBody;

    #[test]
    fn a_message_loses_its_text_and_keeps_its_language_and_forgetting_twice_changes_nothing() {
        let data = EventData::Message(MessageBody {
            written_at: None,
            text: "Jean Ndayishimiye arrived with three children".into(),
            lang: Some("fr".into()),
        });
        let once = forget_event(&data);
        let EventData::Message(body) = &once else {
            unreachable!()
        };
        assert_eq!(body.text, REDACTED);
        assert_eq!(body.lang.as_deref(), Some("fr"));
        assert_eq!(forget_event(&once), once);
    }

    #[test]
    fn system_events_are_kept_as_they_are() {
        let data = EventData::DirectoryChanged {};
        assert_eq!(forget_event(&data), data);
    }
}
