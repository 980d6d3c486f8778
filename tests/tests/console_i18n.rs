//! Every interface string of the console exists in all four languages
//! (French, English, Swahili, Kirundi), and every key the code names
//! literally exists: a missing translation fails here, not in the field.
//! The dictionaries are read from the embedded source (no browser needed);
//! the last test shows Kirundi in a real browser.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const LANGS: [&str; 4] = ["en", "fr", "sw", "rn"];

fn console_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/console/js")
}

/// Quoted `'a.b': ` / `"a.b": ` keys on one line.
fn keys_on(line: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let quote = bytes[i];
        if quote == b'\'' || quote == b'"' {
            let start = i + 1;
            let mut end = start;
            while end < bytes.len() && bytes[end] != quote {
                end += 1;
            }
            let key = &line[start..end.min(line.len())];
            let rest = line.get(end + 1..).unwrap_or("").trim_start();
            if rest.starts_with(':')
                && key.contains('.')
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '#')
            {
                keys.push(key.to_owned());
            }
            i = end + 1;
        } else {
            i += 1;
        }
    }
    keys
}

/// The keys of each language: its dictionary file (`js/lang/<lang>.js`)
/// and its part of the login page's strings in `js/i18n.js` (`LOGIN`,
/// one `<lang>: {` block per language).
fn dictionary() -> BTreeMap<&'static str, BTreeSet<String>> {
    let mut login = login_dictionary();
    LANGS
        .iter()
        .map(|lang| {
            let path = console_dir().join("lang").join(format!("{lang}.js"));
            let source = std::fs::read_to_string(&path).expect("a dictionary per language");
            let mut keys: BTreeSet<String> = source.lines().flat_map(keys_on).collect();
            keys.extend(login.remove(lang).unwrap_or_default());
            (*lang, keys)
        })
        .collect()
}

/// The login page's strings in `js/i18n.js`, by language.
fn login_dictionary() -> BTreeMap<&'static str, BTreeSet<String>> {
    let source = std::fs::read_to_string(console_dir().join("i18n.js")).expect("i18n.js");
    let start = source.find("const LOGIN = {").expect("the login strings");
    let block = &source[start..start + source[start..].find("\n};").expect("end of LOGIN")];
    let mut by_lang: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    let mut current = None;
    for line in block.lines() {
        if let Some(lang) = LANGS.iter().find(|l| line.trim() == format!("{l}: {{")) {
            current = Some(*lang);
        } else if let Some(lang) = current {
            by_lang.entry(lang).or_default().extend(keys_on(line));
        }
    }
    assert_eq!(
        by_lang.len(),
        LANGS.len(),
        "login strings in every language"
    );
    by_lang
}

#[test]
fn every_interface_string_exists_in_french_english_swahili_and_kirundi() {
    let dict = dictionary();
    let all: BTreeSet<&String> = dict.values().flatten().collect();
    assert!(
        all.len() > 200,
        "only {} keys found: parsing broke",
        all.len()
    );
    let mut missing = Vec::new();
    for lang in LANGS {
        let have = dict.get(lang).cloned().unwrap_or_default();
        let gaps: Vec<&&String> = all.iter().filter(|k| !have.contains(**k)).collect();
        if !gaps.is_empty() {
            missing.push(format!("{lang}: {} missing: {gaps:?}", gaps.len()));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn every_key_the_console_names_is_in_the_dictionary() {
    let english = dictionary().remove("en").unwrap_or_default();
    let mut unknown = Vec::new();
    for entry in std::fs::read_dir(console_dir()).expect("js folder") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "js") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("source");
        for quote in ['\'', '"'] {
            let opener = format!("t({quote}");
            for (at, _) in source.match_indices(&opener) {
                // Only `t(`, not `set(` or `split(`.
                if source[..at]
                    .chars()
                    .last()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                {
                    continue;
                }
                let rest = &source[at + opener.len()..];
                let Some(end) = rest.find(quote) else {
                    continue;
                };
                let key = &rest[..end];
                let after = rest[end + 1..].trim_start();
                // A key completed at run time ('kind.' + k) is checked by its values.
                if after.starts_with('+') || !key.contains('.') {
                    continue;
                }
                if !english.contains(key) {
                    unknown.push(format!("{}: {key}", path.display()));
                }
            }
        }
    }
    assert!(unknown.is_empty(), "keys with no text: {unknown:#?}");
}

/// In Kirundi, in a real browser: the hub's refusal in Kirundi (from its
/// code, not its English message), channel kinds translated, times in
/// 24-hour form with their zone, plurals by Intl rules.
#[tokio::test]
async fn kirundi_shows_hub_errors_channel_titles_times_and_plurals_in_kirundi() {
    use mpaka_tests::browser::Driver;
    use serde_json::json;
    let Some(driver) = Driver::start().await else {
        return;
    };
    let hub = mpaka_tests::TestHub::start().await;
    let browser = driver.browser().await.unwrap();
    browser.goto(&hub.url("/")).await.unwrap();
    browser
        .exec(
            "localStorage.setItem('mpaka.lang.anon', JSON.stringify('rn')); location.reload();",
            json!([]),
        )
        .await
        .unwrap();
    browser
        .wait_for("document.documentElement.lang === 'rn' && document.querySelector('#username')")
        .await
        .unwrap();
    browser.fill("#username", "mugina.officer").await.unwrap();
    browser.fill("#password", "not the password").await.unwrap();
    browser.click("#login-submit").await.unwrap();
    browser
        .wait_text("#login-error", "Izina canke ijambo ry'ibanga si vyo.")
        .await
        .unwrap();
    browser
        .fill("#password", &hub.password("mugina.officer"))
        .await
        .unwrap();
    browser.click("#login-submit").await.unwrap();
    browser
        .wait_for("document.querySelector('#conn')?.dataset.state === 'online'")
        .await
        .unwrap();
    // The account's own language wins after login unless picked: pick Kirundi.
    browser
        .exec(
            "const s = document.querySelector('#lang'); s.value = 'rn'; s.dispatchEvent(new Event('change'));",
            json!([]),
        )
        .await
        .unwrap();
    browser
        .goto(&hub.url("/#/channels/national%3ABI"))
        .await
        .unwrap();
    browser
        .wait_text("#chan-title", "Igihugu Uburundi")
        .await
        .unwrap();
    let formatted = browser
        .exec(
            "return import('/js/dom.js').then((d) => import('/js/i18n.js').then(async (i) => {
                 await i.loadLang('fr'); await i.loadLang('sw'); return [
                 d.when(new Date(Date.now() - 5 * 60000).toISOString(), 'rn'),
                 i.tr('rn', 'status.pending', { n: 1 }), i.tr('fr', 'alert.sum_open', { n: 1 }),
                 i.tr('fr', 'alert.sum_open', { n: 3 }), i.errorText('sw', { code: 'forbidden', message: 'forbidden' })]; }));",
            json!([]),
        )
        .await
        .unwrap();
    let [time, pending, one_open, open, error] =
        [0, 1, 2, 3, 4].map(|i| formatted[i].as_str().unwrap().to_owned());
    assert!(!time.contains("AM") && !time.contains("PM"), "{time}");
    assert!(
        time.contains("UTC") || time.contains("GMT") || time.contains('+'),
        "no zone: {time}"
    );
    assert_eq!(pending, "1 kirarindiriye");
    assert_eq!((one_open.as_str(), open.as_str()), ("ouverte", "ouvertes"));
    assert_eq!(error, "Huruhusiwi kufanya hivi.");
    browser.close().await.unwrap();
}
