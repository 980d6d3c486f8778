//! Reading an incoming SMS: `ACK 4F7` (or `ACK 4F7 1234` with a PIN) and
//! `STATUS`, with their French, Swahili and Kirundi equivalents, whatever
//! the case, accents, extra spaces or punctuation phones add. Pure.

/// What an incoming SMS asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Acknowledge the alert with this reference code (upper case),
    /// optionally with the sender's PIN.
    Ack { code: String, pin: Option<String> },
    /// The open alerts of the sender's corridor.
    Status,
    /// Anything else.
    Unknown,
}

/// Words that mean "acknowledge", in every language (any is accepted from
/// anyone: a French-speaking officer may type the English word).
const ACK_WORDS: &[&str] = &[
    "ACK",
    "OK", // en
    "RECU",
    "ACCUSE", // fr (REÇU without its cedilla)
    "POKEA",
    "NIMEPOKEA", // sw
    "NAKIRIYE",
    "NDAYAKIRIYE", // rn
];

/// Words that ask for the open alerts.
const STATUS_WORDS: &[&str] = &[
    "STATUS",  // en
    "ETAT",    // fr (ÉTAT)
    "HALI",    // sw
    "AMAKURU", // rn
];

/// Upper case, accents folded, punctuation turned into spaces.
fn normalise(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'ç' | 'Ç' => 'C',
            'é' | 'è' | 'ê' | 'É' | 'È' | 'Ê' => 'E',
            'à' | 'â' | 'À' | 'Â' => 'A',
            c if c.is_alphanumeric() => c.to_ascii_uppercase(),
            _ => ' ',
        })
        .collect()
}

/// Parses an incoming SMS.
pub fn parse(text: &str) -> Command {
    let normal = normalise(text);
    let words: Vec<&str> = normal.split_whitespace().collect();
    match words.as_slice() {
        [word] if STATUS_WORDS.contains(word) => Command::Status,
        [word, code, rest @ ..] if ACK_WORDS.contains(word) && rest.len() <= 1 => {
            // "ACK 4F7 1234": the PIN is digits.
            let pin = match rest {
                [pin] if pin.chars().all(|c| c.is_ascii_digit()) => Some((*pin).to_owned()),
                [] => None,
                _ => return Command::Unknown,
            };
            Command::Ack {
                code: (*code).to_owned(),
                pin,
            }
        }
        _ => Command::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(code: &str, pin: Option<&str>) -> Command {
        Command::Ack {
            code: code.into(),
            pin: pin.map(Into::into),
        }
    }

    #[test]
    fn acknowledgements_are_read_in_four_languages() {
        for text in [
            "ACK 4F7",
            "ack 4f7",
            "  Ack   4F7. ",
            "OK 4F7",
            "Reçu 4F7",
            "RECU 4F7",
            "accusé 4f7",
            "Pokea 4F7",
            "nimepokea 4F7",
            "Nakiriye 4F7",
            "ndayakiriye 4f7",
        ] {
            assert_eq!(parse(text), ack("4F7", None), "{text}");
        }
    }

    #[test]
    fn a_pin_follows_the_code() {
        assert_eq!(parse("ACK 4F7 1234"), ack("4F7", Some("1234")));
        assert_eq!(parse("pokea 4f7, 0042"), ack("4F7", Some("0042")));
        assert_eq!(parse("ACK 4F7 please"), Command::Unknown);
        assert_eq!(parse("ACK 4F7 12 34"), Command::Unknown);
    }

    #[test]
    fn status_is_read_in_four_languages() {
        for text in ["STATUS", "status", "État", "etat?", "Hali", "amakuru"] {
            assert_eq!(parse(text), Command::Status, "{text}");
        }
    }

    #[test]
    fn anything_else_is_not_understood() {
        for text in [
            "",
            "ACK",
            "hello",
            "STATUS 4F7",
            "4F7 ACK",
            "ACKNOWLEDGE 4F7",
        ] {
            assert_eq!(parse(text), Command::Unknown, "{text}");
        }
    }
}
