//! GraphiQL, served by the server itself at `/` and `/graphiql`, with no request leaving the
//! machine.
//!
//! The page and its scripts are compiled into the binary: the minified production builds of
//! React 18 and GraphiQL 3 in `api/assets/graphiql/vendor/`, copied from the npm packages pinned
//! (with their integrity hashes) in `api/assets/graphiql/package-lock.json` by
//! `scripts/update-graphiql.sh`, and the page's own `index.html`, `page.js` and `page.css`.
//! Assets are served under `/graphiql/assets/<version>/`, where the version is a hash of all
//! of them, so browsers may keep them for a year; the page itself is revalidated every time.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The page's Content-Security-Policy: everything from this server only. GraphiQL's editors
/// set inline styles and its stylesheet embeds its fonts and icons as `data:` URLs; the
/// WebSocket to `/graphql/ws` is same-origin (`'self'` covers `ws:`/`wss:` of this host).
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                       img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
                       base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// One file the page loads.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $path:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/graphiql/", $path)),
        }
    };
}

const ASSETS: &[Asset] = &[
    asset!("react.production.min.js", "vendor/react.production.min.js", JS),
    asset!("react-dom.production.min.js", "vendor/react-dom.production.min.js", JS),
    asset!("graphiql.min.js", "vendor/graphiql.min.js", JS),
    asset!("graphiql.min.css", "vendor/graphiql.min.css", CSS),
    asset!("page.js", "page.js", JS),
    asset!("page.css", "page.css", CSS),
];

/// A hash of every asset: their URLs change whenever one of them does.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hash = Sha256::new();
    for asset in ASSETS {
        hash.update(asset.name.as_bytes());
        hash.update((asset.bytes.len() as u64).to_le_bytes());
        hash.update(asset.bytes);
    }
    hex::encode(&hash.finalize()[..8])
});

static PAGE: LazyLock<String> = LazyLock::new(|| {
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/graphiql/index.html"))
        .replace("{{ASSETS}}", &format!("/graphiql/assets/{}", *VERSION))
});

/// The GraphiQL page (its CSP and framing headers are set by the router).
pub async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        PAGE.as_str(),
    )
        .into_response()
}

/// `/graphiql/assets/{version}/{file}`: one of the page's files. The current version is kept
/// for a year; a page of another version (the server was upgraded under it) still gets the
/// file, but not cached, and an unknown file is a 404.
pub async fn asset(Path((version, name)): Path<(String, String)>) -> Response {
    let Some(asset) = ASSETS.iter().find(|asset| asset.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let cache = if version == *VERSION { IMMUTABLE } else { "no-cache" };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        asset.bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_links_every_asset_at_the_current_version() {
        for asset in ASSETS {
            let url = format!("/graphiql/assets/{}/{}", *VERSION, asset.name);
            assert!(PAGE.contains(&url), "the page loads {url}");
        }
        assert!(!PAGE.contains("{{"), "no placeholder is left");
        assert!(!PAGE.contains("://"), "the page names no other host");
    }
}
