//! The client's address: the TCP peer, or — only when the peer is one of
//! `trusted_proxies` — the nearest untrusted address the proxies name in
//! `Forwarded` (RFC 7239) or `X-Forwarded-For`. A client talking to the hub
//! directly cannot forge its address with these headers.

use crate::state::AppState;
use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use std::net::{IpAddr, SocketAddr};

/// The client address of a request, as an extractor: set once per request
/// by the router's outermost layer (so that the request's log span names
/// it), or worked out from the peer and headers here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The address of the request with these `parts`; `None` only for a
    /// request that did not come through the hub's listener.
    pub fn of(
        parts_extensions: &axum::http::Extensions,
        headers: &HeaderMap,
        state: &AppState,
    ) -> Option<ClientAddr> {
        if let Some(known) = parts_extensions.get::<ClientAddr>() {
            return Some(*known);
        }
        let ConnectInfo(peer) = parts_extensions.get::<ConnectInfo<SocketAddr>>()?;
        Some(ClientAddr(client_addr(
            *peer,
            headers,
            &state.settings.auth.trusted_proxies,
        )))
    }
}

impl axum::extract::FromRequestParts<AppState> for ClientAddr {
    type Rejection = crate::error::AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        ClientAddr::of(&parts.extensions, &parts.headers, state).ok_or_else(|| {
            crate::error::AppError::from(anyhow::anyhow!("no peer address on the request"))
        })
    }
}

/// The address to throttle, log and audit for a request from `peer`.
pub fn client_addr(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let peer = canonical(peer.ip());
    if !trusted.contains(&peer) {
        return peer;
    }
    // Hops in order, client first; the last hop was added by our proxy.
    let hops = forwarded_hops(headers);
    // Walk back from the proxy: the first address we do not trust is the client.
    for hop in hops.iter().rev() {
        if !trusted.contains(hop) {
            return *hop;
        }
    }
    hops.first().copied().unwrap_or(peer)
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn forwarded_hops(headers: &HeaderMap) -> Vec<IpAddr> {
    let forwarded: Vec<IpAddr> = headers
        .get_all(axum::http::header::FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (key, value) = pair.trim().split_once('=')?;
                key.eq_ignore_ascii_case("for").then(|| parse_node(value))?
            })
        })
        .collect();
    if !forwarded.is_empty() {
        return forwarded;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|v| parse_node(v.trim()))
        .collect()
}

/// `192.0.2.1`, `"192.0.2.1:4711"`, `"[2001:db8::1]:4711"` or `[2001:db8::1]`.
fn parse_node(value: &str) -> Option<IpAddr> {
    let value = value.trim().trim_matches('"');
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(socket) = value.parse::<SocketAddr>() {
        return Some(canonical(socket.ip()));
    }
    value
        .strip_prefix('[')
        .and_then(|v| v.split(']').next())
        .and_then(|v| v.parse::<IpAddr>().ok())
        .map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        map
    }

    const PROXY: &str = "10.0.0.5:443";

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        let peer: SocketAddr = "198.51.100.7:5000".parse().unwrap();
        assert_eq!(client_addr(peer, &h, &[]), peer.ip());
        let trusted = ["10.0.0.5".parse().unwrap()];
        assert_eq!(client_addr(peer, &h, &trusted), peer.ip());
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_spoofed_hops_are_skipped() {
        let trusted = ["10.0.0.5".parse().unwrap()];
        // The client sent a made-up hop; the proxy appended the real address.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9")]);
        assert_eq!(
            client_addr(PROXY.parse().unwrap(), &h, &trusted),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn forwarded_is_preferred_and_understands_ports_and_ipv6() {
        let trusted = ["10.0.0.5".parse().unwrap()];
        let h = headers(&[
            ("forwarded", r#"for="[2001:db8::7]:4711";proto=https"#),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(
            client_addr(PROXY.parse().unwrap(), &h, &trusted),
            "2001:db8::7".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_trusted_proxy_without_headers_is_the_client() {
        let trusted = ["10.0.0.5".parse().unwrap()];
        assert_eq!(
            client_addr(PROXY.parse().unwrap(), &HeaderMap::new(), &trusted),
            "10.0.0.5".parse::<IpAddr>().unwrap()
        );
    }
}
