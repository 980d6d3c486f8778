//! How a text goes over the air: the GSM 7-bit default alphabet and its
//! extension table (3GPP TS 23.038 §6.2.1), else UCS-2, and how many
//! segments (concatenated SMS parts) it takes. Written here rather than
//! taken from a crate: the table is small and fixed, and the counting rules
//! (an escaped character never split across parts; a UTF-16 surrogate pair
//! never split) are the part that matters.

/// The basic GSM 7-bit alphabet, in code order (0x00..=0x7F); 0x1B is the
/// escape to the extension table and is never a character by itself.
const BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1b}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// Characters of the extension table: each costs two septets (escape + code).
const EXTENSION: [char; 10] = ['\u{c}', '^', '{', '}', '\\', '[', '~', ']', '|', '€'];

/// Septets in one SMS alone, and per part of a concatenated one (the user
/// data header takes the rest).
const GSM_SINGLE: usize = 160;
const GSM_PART: usize = 153;
/// UTF-16 code units in one UCS-2 SMS alone, and per part.
const UCS2_SINGLE: usize = 70;
const UCS2_PART: usize = 67;

/// How a text is encoded on the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "gsm7",
            Encoding::Ucs2 => "ucs2",
        }
    }
}

/// What a text costs to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    pub encoding: Encoding,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    pub units: usize,
    /// Bytes of user data on the air (GSM-7 packed 8 septets in 7 bytes),
    /// without concatenation headers.
    pub bytes: usize,
    pub segments: usize,
}

/// Septets `c` takes in GSM-7, or `None` when it is not in the alphabet.
pub fn septets(c: char) -> Option<usize> {
    if c != '\u{1b}' && BASIC.contains(&c) {
        Some(1)
    } else if EXTENSION.contains(&c) {
        Some(2)
    } else {
        None
    }
}

/// Whether the whole text fits the GSM 7-bit alphabet.
pub fn is_gsm7(text: &str) -> bool {
    text.chars().all(|c| septets(c).is_some())
}

/// Encoding, size and number of segments of `text`.
pub fn measure(text: &str) -> Measure {
    if is_gsm7(text) {
        let costs: Vec<usize> = text.chars().filter_map(septets).collect();
        let units: usize = costs.iter().sum();
        Measure {
            encoding: Encoding::Gsm7,
            units,
            bytes: (units * 7).div_ceil(8),
            segments: parts(&costs, GSM_SINGLE, GSM_PART),
        }
    } else {
        let costs: Vec<usize> = text.chars().map(char::len_utf16).collect();
        let units: usize = costs.iter().sum();
        Measure {
            encoding: Encoding::Ucs2,
            units,
            bytes: units * 2,
            segments: parts(&costs, UCS2_SINGLE, UCS2_PART),
        }
    }
}

/// Parts needed for characters of the given costs: one when all fit in
/// `single`, else filled `part` at a time without splitting a character.
fn parts(costs: &[usize], single: usize, part: usize) -> usize {
    let total: usize = costs.iter().sum();
    if total == 0 {
        return 1;
    }
    if total <= single {
        return 1;
    }
    let mut count = 1;
    let mut used = 0;
    for &cost in costs {
        if used + cost > part {
            count += 1;
            used = 0;
        }
        used += cost;
    }
    count
}

/// `text` with characters outside GSM-7 replaced by close GSM-7 ones where
/// the meaning survives (typographic quotes and dashes, accented letters
/// that have a plain form); others are left for UCS-2.
pub fn simplify(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '‘' | '’' | 'ʼ' => '\'',
            '“' | '”' => '"',
            '–' | '—' => '-',
            '⇄' | '↔' => '-',
            'ç' => 'c',
            'â' | 'á' => 'a',
            'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' => 'i',
            'ô' | 'ó' => 'o',
            'û' | 'ú' => 'u',
            'È' | 'Ê' | 'Ë' => 'E',
            'À' | 'Â' => 'A',
            'Î' | 'Ï' => 'I',
            'Ô' => 'O',
            'Û' | 'Ù' => 'U',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_text_of_160_characters_is_one_gsm_segment_and_161_are_two() {
        let m = measure(&"a".repeat(160));
        assert_eq!(
            (m.encoding, m.units, m.bytes, m.segments),
            (Encoding::Gsm7, 160, 140, 1)
        );
        assert_eq!(measure(&"a".repeat(161)).segments, 2);
        assert_eq!(measure(&"a".repeat(306)).segments, 2);
        assert_eq!(measure(&"a".repeat(307)).segments, 3);
        assert_eq!(measure("").segments, 1);
    }

    #[test]
    fn extension_characters_cost_two_septets_and_are_never_split() {
        let m = measure("€");
        assert_eq!((m.encoding, m.units), (Encoding::Gsm7, 2));
        // 152 plain septets then '€': it does not fit in the first part's
        // last septet, so it moves to the second part whole.
        let text = format!("{}€{}", "a".repeat(152), "b".repeat(10));
        assert_eq!(measure(&text).units, 164);
        assert_eq!(measure(&text).segments, 2);
        let full = format!("{}€", "a".repeat(305));
        assert_eq!(measure(&full).units, 307);
        assert_eq!(measure(&full).segments, 3);
    }

    #[test]
    fn gsm_letters_of_french_stay_gsm_and_others_need_ucs2() {
        assert!(is_gsm7("Arrivée massive à Mugina: 400 pers. Réf 4F7"));
        assert!(!is_gsm7("Arrivée â Mugina"));
        assert!(is_gsm7(&simplify("Arrivée â Mugina – réf")));
        let m = measure("Ямбо ✓");
        assert_eq!(
            (m.encoding, m.units, m.bytes, m.segments),
            (Encoding::Ucs2, 6, 12, 1)
        );
        assert_eq!(measure(&"я".repeat(70)).segments, 1);
        assert_eq!(measure(&"я".repeat(71)).segments, 2);
        assert_eq!(measure(&"я".repeat(134)).segments, 2);
        assert_eq!(measure(&"я".repeat(135)).segments, 3);
    }

    #[test]
    fn a_surrogate_pair_is_never_split_between_ucs2_parts() {
        // 66 units then an emoji (2 units): 68 > 67, so part two starts with it.
        let text = format!("{}😀{}", "я".repeat(66), "я".repeat(10));
        let m = measure(&text);
        assert_eq!(m.units, 78);
        assert_eq!(m.segments, 2);
        let text = format!("{}😀{}", "я".repeat(66), "я".repeat(66));
        assert_eq!(measure(&text).segments, 3);
    }

    #[test]
    fn the_escape_code_itself_is_not_a_character() {
        assert_eq!(septets('\u{1b}'), None);
        assert_eq!(septets('@'), Some(1));
        assert_eq!(septets('['), Some(2));
    }
}
