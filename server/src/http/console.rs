//! The web console: static HTML, CSS and JavaScript embedded in the binary
//! and served at `/`, with a strong `ETag`, revalidation on every load (so an
//! upgraded hub never serves a stale script) and brotli or gzip when the
//! browser accepts it (each compressed once, at first use). Links at the
//! posts are thin: a repeat visit costs a handful of `304 Not Modified`
//! answers.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::sync::{LazyLock, OnceLock};

/// One embedded file.
struct Asset {
    /// URL path, e.g. `/js/app.js`.
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $type:expr) => {
        Asset {
            path: $path,
            content_type: $type,
            bytes: include_bytes!(concat!("../../console", $path)),
        }
    };
}

/// No `charset`: module and worker scripts are always decoded as UTF-8
/// (HTML standard, "fetch a single module script"), so it would only add
/// bytes to every script's headers.
const JS: &str = "text/javascript";

/// Every file of the console. `/` serves `index.html`.
const ASSETS: &[Asset] = &[
    asset!("/index.html", "text/html; charset=utf-8"),
    asset!("/app.css", "text/css; charset=utf-8"),
    asset!("/favicon.svg", "image/svg+xml"),
    asset!("/icon-192.png", "image/png"),
    asset!("/icon-512.png", "image/png"),
    asset!("/icon-maskable-512.png", "image/png"),
    asset!("/manifest.webmanifest", "application/manifest+json"),
    asset!("/sw.js", JS),
    asset!("/js/app.js", JS),
    asset!("/js/account.js", JS),
    asset!("/js/alerts.js", JS),
    asset!("/js/chat.js", JS),
    asset!("/js/dom.js", JS),
    asset!("/js/flows.js", JS),
    asset!("/js/i18n.js", JS),
    asset!("/js/link.js", JS),
    asset!("/js/outbox.js", JS),
    asset!("/js/posts.js", JS),
    asset!("/js/session.js", JS),
    asset!("/js/sops.js", JS),
    asset!("/js/log.js", JS),
    asset!("/js/notify.js", JS),
    asset!("/js/lang/en.js", JS),
    asset!("/js/lang/fr.js", JS),
    asset!("/js/lang/rn.js", JS),
    asset!("/js/lang/sw.js", JS),
    asset!("/js/store.js", JS),
];

/// Files smaller than this are sent as they are: gzip would not pay.
const GZIP_MIN_BYTES: usize = 512;

/// An asset ready to serve: its tag and, when they pay, its brotli and
/// gzipped forms (made on the file's first request, so that a hub starting
/// does not wait for files nobody asked for yet).
struct Prepared {
    asset: &'static Asset,
    /// The file as served: scripts without their whole-line comments.
    body: Vec<u8>,
    etag: HeaderValue,
    encoded: OnceLock<Encoded>,
}

/// The compressed forms of one file, each only when smaller.
struct Encoded {
    brotli: Option<Vec<u8>>,
    gzip: Option<Vec<u8>>,
}

impl Prepared {
    /// Whether the file is worth compressing (see [`GZIP_MIN_BYTES`]):
    /// known without compressing it, so a `304` says the same `Vary`.
    fn compressible(&self) -> bool {
        self.body.len() >= GZIP_MIN_BYTES && !self.asset.content_type.starts_with("image/png")
    }

    fn encoded(&self) -> &Encoded {
        self.encoded.get_or_init(|| encode(self))
    }
}

static PREPARED: LazyLock<Vec<Prepared>> = LazyLock::new(|| ASSETS.iter().map(prepare).collect());

fn prepare(asset: &'static Asset) -> Prepared {
    let body = if asset.content_type == JS {
        without_comment_lines(asset.bytes)
    } else {
        asset.bytes.to_vec()
    };
    let digest = Sha256::digest(&body);
    // 64 bits tell one version of a file from another; the tag travels in
    // every response and revalidation, so it is kept short.
    let etag = HeaderValue::from_str(&format!("\"{}\"", hex::encode(&digest[..8])))
        .expect("hex is a valid header value");
    Prepared {
        asset,
        body,
        etag,
        encoded: OnceLock::new(),
    }
}

fn encode(prepared: &Prepared) -> Encoded {
    let bytes = prepared.body.as_slice();
    // Images are compressed already (PNG) or tiny (the SVG favicon).
    let worth = prepared.compressible();
    let gzip = worth.then(|| gzip(bytes)).filter(|z| z.len() < bytes.len());
    let brotli = worth
        .then(|| brotli(bytes))
        .filter(|b| b.len() < gzip.as_ref().map_or(bytes.len(), Vec::len));
    Encoded { brotli, gzip }
}

/// A script without its whole-line comments (`// …` lines and `/* … */`
/// blocks that start and end a line), each replaced by an empty line so
/// that line numbers in the browser's errors still match the source.
/// The console's comments explain the code to its readers and are a fifth
/// of its compressed size, which every first load over a thin link pays;
/// no build step strips them. Only whole lines go: a comment after code
/// on the same line stays, so text inside a string is never touched (the
/// console has no string or template literal spanning lines; a `/*` block
/// that does not end a line leaves the file as it is).
fn without_comment_lines(source: &[u8]) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(source) else {
        return source.to_vec();
    };
    let mut out = String::with_capacity(text.len());
    let mut in_block = false;
    for line in text.split_inclusive('\n') {
        let code = line.trim();
        let comment = if in_block || code.starts_with("//") {
            true
        } else if code.starts_with("/*") {
            in_block = true;
            true
        } else {
            false
        };
        if in_block {
            match code.find("*/") {
                Some(end) if code[end + 2..].trim().is_empty() => in_block = false,
                Some(_) => return source.to_vec(),
                None => {}
            }
        }
        if comment {
            if line.ends_with('\n') {
                out.push('\n');
            }
        } else {
            out.push_str(line);
        }
    }
    if in_block {
        return source.to_vec();
    }
    out.into_bytes()
}

/// Brotli at its best quality with a 256 KiB window (larger than any of
/// the files): slow to compress (once per file per start), fast to
/// decompress.
fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 18,
        size_hint: bytes.len(),
        ..Default::default()
    };
    // Reading a slice and writing to a Vec cannot fail.
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).expect("brotli to memory");
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    encoder.write_all(bytes).expect("gzip to memory");
    encoder.finish().expect("gzip to memory")
}

/// The embedded files with their sizes as served (raw, gzipped, brotli),
/// for reporting the console's first-load weight.
pub fn sizes() -> Vec<(&'static str, usize, usize, usize)> {
    PREPARED
        .iter()
        .map(|p| {
            let raw = p.body.len();
            let encoded = p.encoded();
            let gz = encoded.gzip.as_ref().map_or(raw, Vec::len);
            (
                p.asset.path,
                raw,
                gz,
                encoded.brotli.as_ref().map_or(gz, Vec::len),
            )
        })
        .collect()
}

/// Security headers of every console response: scripts only from the hub
/// itself, no framing, no referrer leaking to other sites.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
                   form-action 'self'";

/// Serves a console file, or 404 for any other path. Used as the router's
/// fallback, so API routes always win.
pub async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let path = match uri.path() {
        "/" => "/index.html",
        other => other,
    };
    let prepared: &'static [Prepared] = &PREPARED;
    let Some(prepared) = prepared.iter().find(|p| p.asset.path == path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    // Every header here is paid on each of the ~15 files of a first load
    // (and on each 304 of a warm one), so a file gets only those that act
    // on it: the validators, `nosniff`, and `Vary` where a compressed form
    // exists. The page's policies (CSP, framing, referrer) act on the
    // document: its scripts and their imports run under the page's CSP and
    // inherit its referrer policy.
    let mut response = Response::builder()
        .header(header::CONTENT_TYPE, prepared.asset.content_type)
        .header(header::ETAG, prepared.etag.clone())
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if prepared.asset.content_type.starts_with("text/html") {
        response = response
            .header(header::CONTENT_SECURITY_POLICY, CSP)
            .header(header::X_FRAME_OPTIONS, "DENY")
            .header(header::REFERRER_POLICY, "no-referrer");
    }
    if prepared.compressible() {
        response = response.header(header::VARY, "accept-encoding");
    }
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == prepared.etag)
        });
    if fresh {
        return response
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .expect("valid response");
    }
    let accepted = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let encoded = prepared.encoded();
    let bytes: &'static [u8] = match (&encoded.brotli, &encoded.gzip) {
        (Some(b), _) if accepts(accepted, "br") => {
            response = response.header(header::CONTENT_ENCODING, "br");
            b.as_slice()
        }
        (_, Some(z)) if accepts(accepted, "gzip") => {
            response = response.header(header::CONTENT_ENCODING, "gzip");
            z.as_slice()
        }
        _ => prepared.body.as_slice(),
    };
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(bytes::Bytes::from_static(bytes))
    };
    response.body(body).expect("valid response")
}

/// Whether an `Accept-Encoding` value accepts `coding` (named, without
/// `q=0`).
fn accepts(accept_encoding: &str, coding: &str) -> bool {
    accept_encoding.split(',').any(|entry| {
        let mut parts = entry.split(';');
        parts.next().is_some_and(|n| n.trim() == coding)
            && !parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codings_are_taken_as_the_browser_names_them() {
        assert!(accepts("gzip, deflate, br, zstd", "br"));
        assert!(accepts("gzip;q=1.0, br;q=0.9", "br"));
        assert!(!accepts("gzip, br;q=0", "br"));
        assert!(!accepts("gzip", "br"));
        assert!(!accepts("", "gzip"));
    }

    #[test]
    fn brotli_is_smaller_than_gzip_and_decodes_to_the_file() {
        let app = PREPARED
            .iter()
            .find(|p| p.asset.path == "/js/app.js")
            .expect("app.js");
        let encoded = app.encoded();
        let (br, gz) = (
            encoded.brotli.as_ref().unwrap(),
            encoded.gzip.as_ref().unwrap(),
        );
        assert!(br.len() < gz.len(), "{} >= {}", br.len(), gz.len());
        let mut decoded = Vec::new();
        brotli::BrotliDecompress(&mut br.as_slice(), &mut decoded).unwrap();
        assert_eq!(decoded, app.body);
    }

    #[test]
    fn scripts_lose_whole_line_comments_and_keep_their_lines() {
        let source = "// What this owns.\n/**\n * Docs.\n */\nconst a = 'x // y'; // kept\n  /* one */\nf(/* arg */ 1);\n";
        let served = String::from_utf8(without_comment_lines(source.as_bytes())).unwrap();
        assert_eq!(
            served,
            "\n\n\n\nconst a = 'x // y'; // kept\n\nf(/* arg */ 1);\n"
        );
        // A block followed by code on its last line: the file is left whole.
        let odd = "/* a\n b */ const c = 1;\n";
        assert_eq!(without_comment_lines(odd.as_bytes()), odd.as_bytes());
        let app = PREPARED
            .iter()
            .find(|p| p.asset.path == "/js/app.js")
            .expect("app.js");
        assert!(app.body.len() < app.asset.bytes.len());
        assert_eq!(
            bytecount(&app.body, b'\n'),
            bytecount(app.asset.bytes, b'\n'),
            "line numbers kept"
        );
    }

    fn bytecount(bytes: &[u8], byte: u8) -> usize {
        bytes.iter().filter(|b| **b == byte).count()
    }

    #[test]
    fn every_asset_is_prepared_with_a_distinct_path() {
        let mut paths: Vec<&str> = ASSETS.iter().map(|a| a.path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), ASSETS.len());
        assert!(sizes().iter().all(|(_, raw, gz, br)| br <= gz && gz <= raw));
    }
}
