use super::*;

/// Tags that must never reach a reader's browser.
const FORBIDDEN_TAGS: [&str; 22] = [
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math",
    "form", "input", "button", "textarea", "select", "link", "meta", "base", "noscript",
    "template", "audio", "video",
];

/// Attributes that carry a URL.
const URL_ATTRIBUTES: [&str; 7] = [
    "href",
    "src",
    "action",
    "formaction",
    "xlink:href",
    "background",
    "poster",
];

/// One start tag of the output: its name and attributes (values decoded).
struct Tag {
    name: String,
    attributes: Vec<(String, String)>,
}

/// Reads the start tags of serialized HTML. The sanitizer's output escapes
/// `<` in text, so every `<` opens a tag; quoted attribute values may hold `>`.
fn start_tags(html: &str) -> Vec<Tag> {
    let mut tags = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        if rest.starts_with('/') || rest.starts_with('!') {
            continue;
        }
        let mut end = rest.len();
        let mut quote = None;
        for (i, c) in rest.char_indices() {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '>') => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        tags.push(parse_tag(&rest[..end]));
        rest = &rest[end..];
    }
    tags
}

fn parse_tag(inner: &str) -> Tag {
    let inner = inner.trim_end_matches('/');
    let name_end = inner.find(char::is_whitespace).unwrap_or(inner.len());
    let mut attributes = Vec::new();
    let mut rest = inner[name_end..].trim_start();
    while !rest.is_empty() {
        let name_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let name = rest[..name_end].to_ascii_lowercase();
        rest = rest[name_end..].trim_start();
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (v, remaining) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let close = after[1..].find(q).map_or(after.len(), |i| i + 1);
                    (&after[1..close], after.get(close + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after.find(char::is_whitespace).unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            value = decode_entities(v);
            rest = remaining.trim_start();
        }
        attributes.push((name, value));
    }
    Tag {
        name: inner[..name_end].to_ascii_lowercase(),
        attributes,
    }
}

/// Decodes the entities the serializer writes in attribute values, plus
/// numeric ones, so obfuscated schemes are seen as a browser would see them.
fn decode_entities(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';') else { break };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "quot" => Some('"'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "nbsp" => Some('\u{a0}'),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The scheme a browser would read from a URL, as the URL standard parses
/// it: tabs, newlines and surrounding controls or spaces removed, then an
/// ASCII letter followed by letters, digits, `+`, `-` or `.` up to a `:`.
/// Anything else (`jav%09ascript:x`) is a relative URL and has no scheme.
fn scheme(url: &str) -> Option<String> {
    let cleaned: String = url
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    let (scheme, _) = cleaned.split_once(':')?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| scheme.to_string())
}

/// Fails if anything in `html` could run script or leak the reader.
fn assert_safe(source: &str, html: &str) {
    for tag in start_tags(html) {
        assert!(
            !FORBIDDEN_TAGS.contains(&tag.name.as_str()),
            "<{}> survived from {source:?}: {html}",
            tag.name
        );
        for (name, value) in &tag.attributes {
            assert!(
                !name.starts_with("on") && name != "style" && name != "srcdoc",
                "attribute {name} survived from {source:?}: {html}"
            );
            if URL_ATTRIBUTES.contains(&name.as_str()) {
                if let Some(scheme) = scheme(value) {
                    assert!(
                        ALLOWED_SCHEMES.contains(&scheme.as_str()),
                        "{name}={value:?} survived from {source:?}: {html}"
                    );
                }
            }
        }
        if tag.name == "a" && tag.attributes.iter().any(|(n, _)| n == "href") {
            assert!(
                tag.attributes
                    .iter()
                    .any(|(n, v)| n == "rel" && v == "noopener noreferrer"),
                "link without rel from {source:?}: {html}"
            );
        }
    }
}

const INJECTIONS: &[&str] = &[
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "Texte <script>alert(document.cookie)</script> suite",
    "<img src=x onerror=alert(1)>",
    "<img src=\"x\" onerror=\"alert(1)\"",
    "<IMG SRC=javascript:alert(1)>",
    "<img src=\"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+\">",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](jav&#x09;ascript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x][r]\n\n[r]: javascript:alert(1)",
    "![x](javascript:alert(1))",
    "![x](data:text/html,<script>alert(1)</script>)",
    "<javascript:alert(1)>",
    "<data:text/html,alert(1)>",
    "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
    "<a href=\"jav&#x0A;ascript:alert(1)\">x</a>",
    "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">x</a>",
    "<a href=\"&#x6A;avascript&colon;alert(1)\">x</a>",
    "<a href=\"  javascript:alert(1)\">x</a>",
    "<a href=\"\u{1}javascript:alert(1)\">x</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
    "<a href=\"vbscript:msgbox(1)\">x</a>",
    "<a href=\"https://ok.example\" onmouseover=\"alert(1)\">x</a>",
    "<a href=\"https://ok.example\" target=\"_blank\">x</a>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
    "<iframe src=\"https://evil.example\"></iframe>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<style>body{display:none}</style>",
    "<p style=\"background:url(javascript:alert(1))\">x</p>",
    "<div onclick=\"alert(1)\">x</div>",
    "<details open ontoggle=alert(1)>x</details>",
    "<object data=\"x.swf\"></object><embed src=\"x.swf\">",
    "<form action=\"javascript:alert(1)\"><button formaction=\"javascript:alert(1)\">x</button></form>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<base href=\"javascript:alert(1)//\">",
    "<link rel=stylesheet href=\"https://evil.example/x.css\">",
    "<!-- <script>alert(1)</script> -->",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
    "<table background=\"javascript:alert(1)\"><tr><td>x</td></tr></table>",
    "| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | [x](javascript:alert(1)) |",
    "- <a href=\"javascript:alert(1)\">liste</a>\n- ~~<script>alert(1)</script>~~",
];

#[test]
fn no_injection_attempt_survives_rendering() {
    for source in INJECTIONS {
        let html = render_markdown_html(source);
        assert_safe(source, &html);
    }
}

#[test]
fn the_scheme_reader_sees_through_obfuscation() {
    assert_eq!(
        scheme(" \tJaVa\nScRipt:alert(1)").as_deref(),
        Some("javascript")
    );
    assert_eq!(scheme("\u{1}data:text/html,x").as_deref(), Some("data"));
    assert_eq!(scheme("jav%09ascript:alert(1)"), None);
    assert_eq!(scheme("/sops/x?a=b:c"), None);
    assert_eq!(decode_entities("&#106;&#x61;v&amp;"), "jav&");
}

#[test]
fn script_and_style_contents_are_dropped_not_shown() {
    let html = render_markdown_html("Avant <script>alert('x')</script> après <style>p{}</style>");
    assert!(!html.contains("alert"), "{html}");
    assert!(!html.contains("p{}"), "{html}");
    assert!(html.contains("Avant") && html.contains("après"), "{html}");
}

#[test]
fn dangerous_links_keep_their_text_but_lose_the_url() {
    let html = render_markdown_html("[Cliquer ici](javascript:alert(1))");
    assert_eq!(
        html,
        "<p><a rel=\"noopener noreferrer\">Cliquer ici</a></p>\n"
    );
}

#[test]
fn safe_links_and_autolinks_get_noopener_noreferrer() {
    let html = render_markdown_html(
        "Voir [le HCR](https://www.unhcr.org/fr) ou <https://example.org/sop> ou [écrire](mailto:coord@example.org).",
    );
    assert_eq!(
        html.matches("rel=\"noopener noreferrer\"").count(),
        3,
        "{html}"
    );
    assert!(html.contains("href=\"https://www.unhcr.org/fr\""), "{html}");
    assert!(html.contains("href=\"mailto:coord@example.org\""), "{html}");
    assert_safe("links", &html);
}

#[test]
fn relative_links_are_kept() {
    let html = render_markdown_html("[version 2](/sops/minors-reception/2)");
    assert!(html.contains("href=\"/sops/minors-reception/2\""), "{html}");
}

#[test]
fn a_realistic_sop_renders_headings_lists_tables_and_strikethrough() {
    let md = "\
# Accueil des mineurs non accompagnés

## Étapes

1. Enregistrer l'enfant à l'arrivée.
2. Prévenir le point focal *protection de l'enfance*.

- Eau potable
- ~~Transfert immédiat~~ Transfert après entretien

| Étape | Délai |
|-------|------:|
| Enregistrement | 1 h |
| Référencement | 24 h |

```
code <b>brut</b>
```
";
    let html = render_markdown_html(md);
    for expected in [
        "<h1>Accueil des mineurs non accompagnés</h1>",
        "<h2>Étapes</h2>",
        "<ol>",
        "<li>Enregistrer l’enfant à l’arrivée.</li>",
        "<em>protection de l’enfance</em>",
        "<ul>",
        "<del>Transfert immédiat</del>",
        "<table>",
        "<th>Étape</th>",
        "<td>Référencement</td>",
        "<pre><code>code &lt;b&gt;brut&lt;/b&gt;",
    ] {
        // Straight and curly apostrophes are both acceptable renderings.
        let html = html.replace('\'', "’");
        assert!(html.contains(expected), "missing {expected:?} in {html}");
    }
    assert_safe(md, &html);
}

#[test]
fn swahili_and_kirundi_text_is_kept_as_utf8() {
    let md = "## Hatua ya kwanza\n\nMtoto asiye na mlezi apelekwe kwa afisa ustawi wa jamii.\n\n\
              ## Intambwe ya mbere\n\nUmwana atagira umuherekeza yakirwa n'umukozi w'ubuzima — «ŋ» ü é.";
    let html = render_markdown_html(md);
    assert!(html.contains("<h2>Hatua ya kwanza</h2>"), "{html}");
    assert!(html.contains("<h2>Intambwe ya mbere</h2>"), "{html}");
    assert!(html.contains("— «ŋ» ü é."), "{html}");
}

#[test]
fn harmless_raw_html_is_kept() {
    let html = render_markdown_html("H<sub>2</sub>O<br>ligne");
    assert!(html.contains("<sub>2</sub>"), "{html}");
    assert!(html.contains("<br>"), "{html}");
}

#[test]
fn empty_input_renders_to_nothing() {
    assert_eq!(render_markdown_html(""), "");
}

#[test]
fn the_checker_flags_unsanitized_html() {
    // Guards the guard: the same checks on pulldown-cmark's raw output must
    // fail, or the injection battery above proves nothing.
    for source in [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
        "<a href=\"data:text/html;base64,PHNjcmlwdD4=\">x</a>",
        "<svg onload=alert(1)>",
        "<p style=\"color:red\">x</p>",
        "<https://example.org>",
    ] {
        let mut raw = String::new();
        html::push_html(&mut raw, Parser::new(source));
        let caught = std::panic::catch_unwind(|| assert_safe(source, &raw)).is_err();
        assert!(caught, "checker missed {source:?}: {raw}");
    }
}
