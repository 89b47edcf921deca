//! The client's address: the TCP peer's, or behind a reverse proxy the one its configured
//! header names (`SWITCHBOARD_CLIENT_IP_HEADER`).

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName};

use crate::graphql::sign_in_limits::ClientAddr;
use crate::state::AppState;

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
        Ok(Self(client_addr(&parts.headers, state.client_ip_header.as_ref(), peer)))
    }
}

/// The right-most address in the last `header` line (the one the nearest proxy added), or
/// the peer's address when no header is configured or the request carries no usable one.
fn client_addr(headers: &HeaderMap, header: Option<&HeaderName>, peer: Option<IpAddr>) -> Option<IpAddr> {
    let forwarded = header
        .and_then(|name| headers.get_all(name).iter().next_back())
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .map(str::trim)
        .and_then(|last| {
            last.parse::<IpAddr>().ok().or_else(|| last.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
        });
    forwarded.or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_right_most_forwarded_address() {
        let name = HeaderName::from_static("x-forwarded-for");
        let peer: Option<IpAddr> = Some([10, 0, 0, 1].into());
        let mut headers = HeaderMap::new();
        assert_eq!(client_addr(&headers, Some(&name), peer), peer, "no header: the peer");
        headers.append(&name, "198.51.100.7, 203.0.113.5".parse().unwrap());
        assert_eq!(client_addr(&headers, None, peer), peer, "not configured: the peer");
        assert_eq!(client_addr(&headers, Some(&name), peer), Some([203, 0, 113, 5].into()));
        headers.append(&name, "[2001:db8::1]:443".parse().unwrap());
        assert_eq!(client_addr(&headers, Some(&name), peer), "2001:db8::1".parse().ok());
        headers.insert(&name, "garbage".parse().unwrap());
        assert_eq!(client_addr(&headers, Some(&name), peer), peer, "unusable: the peer");
    }
}
