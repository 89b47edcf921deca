//! Provider webhooks: `/webhooks/{whatsapp|messenger|telegram}/{channelId}`.
//!
//! Meta (WhatsApp, Messenger): GET answers the verification handshake; POST bodies must carry
//! `X-Hub-Signature-256`, the HMAC-SHA256 of the raw body with the channel's app secret.
//! Telegram: POSTs must carry `X-Telegram-Bot-Api-Secret-Token`. Unknown channels get 404,
//! inactive ones 403, bad signatures 401, malformed bodies 400 — and nothing is stored.
//! Accepted bodies get 200 even when every event in them is ignored (any other status makes
//! the provider redeliver). A database failure gets 503: each event is stored in its own
//! transaction, so a redelivery stores what was missing and recognises the rest as duplicates.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use entity::channels;
use entity::enums::ChannelKind;
use tracing::instrument;

use crate::channels::{self as adapters, ChannelKeys, signature};
use crate::domain::channels::Credentials;
use crate::domain::ids::ContactId;
use crate::domain::ingest;
use crate::graphql::ids;
use crate::jobs::{enrich, media};
use crate::state::AppState;

fn kind_of(segment: &str) -> Option<ChannelKind> {
    match segment {
        "whatsapp" => Some(ChannelKind::Whatsapp),
        "messenger" => Some(ChannelKind::Messenger),
        "telegram" => Some(ChannelKind::Telegram),
        _ => None,
    }
}

/// The path a provider should call for a channel.
pub fn path_for(channel: &channels::Model) -> String {
    format!("/webhooks/{}/{}", channel.kind.as_str().to_lowercase(), ids::encode("Channel", channel.id).0)
}

/// The answer when the database failed: 503, so the provider redelivers later.
fn database_failed() -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, "database unavailable; redeliver later").into_response()
}

/// Finds the channel a webhook names; the status to answer when there is none to use.
async fn channel_for(state: &AppState, kind: &str, id: &str) -> Result<channels::Model, Response> {
    let not_found = || (StatusCode::NOT_FOUND, "unknown channel").into_response();
    let kind = kind_of(kind).ok_or_else(not_found)?;
    let row = ids::decode(&async_graphql::ID(id.to_owned()), "Channel").map_err(|_| not_found())?;
    let channel = match state.channels.get(state.reads(), crate::domain::ids::ChannelId(row)).await {
        Ok(Some(channel)) if channel.kind == kind => channel,
        Ok(_) => return Err(not_found()),
        Err(err) => {
            tracing::error!(error = %err, "cannot load a webhook's channel");
            return Err(database_failed());
        }
    };
    if !channel.active {
        tracing::info!(channel_id = channel.id, "webhook for an inactive channel refused");
        return Err((StatusCode::FORBIDDEN, "channel inactive").into_response());
    }
    Ok(channel)
}

/// GET: Meta's verification handshake.
pub async fn verify(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let channel = match channel_for(&state, &kind, &id).await {
        Ok(channel) => channel,
        Err(response) => return response,
    };
    let expected = Credentials::of(&channel).verify_token.unwrap_or_default();
    let mode_ok = params.get("hub.mode").is_some_and(|mode| mode == "subscribe");
    let given = params.get("hub.verify_token").map(String::as_str).unwrap_or_default();
    let token_ok = !expected.is_empty() && signature::verify_telegram(&expected, Some(given));
    match (channel.kind, mode_ok && token_ok, params.get("hub.challenge")) {
        (ChannelKind::Whatsapp | ChannelKind::Messenger, true, Some(challenge)) => {
            (StatusCode::OK, [("content-type", "text/plain")], challenge.clone()).into_response()
        }
        _ => {
            tracing::warn!(channel_id = channel.id, "webhook verification refused");
            (StatusCode::FORBIDDEN, "verification failed").into_response()
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// POST: verify, parse, ingest, then start the follow-ups (media, profiles).
#[instrument(skip_all, fields(kind = %kind))]
pub async fn receive(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let channel = match channel_for(&state, &kind, &id).await {
        Ok(channel) => channel,
        Err(response) => return response,
    };
    let credentials = Credentials::of(&channel);
    let signed = match channel.kind {
        ChannelKind::Whatsapp | ChannelKind::Messenger => signature::verify_meta(
            credentials.app_secret.as_deref().unwrap_or_default(),
            &body,
            header(&headers, "x-hub-signature-256"),
        ),
        ChannelKind::Telegram => signature::verify_telegram(
            credentials.secret_token.as_deref().unwrap_or_default(),
            header(&headers, "x-telegram-bot-api-secret-token"),
        ),
    };
    if !signed {
        tracing::warn!(channel_id = channel.id, "webhook with a bad signature refused");
        return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
    }
    let keys = ChannelKeys {
        phone_number_id: credentials.phone_number_id.clone(),
        page_id: credentials.page_id.clone(),
    };
    let parsed = match channel.kind {
        ChannelKind::Whatsapp => adapters::whatsapp::webhook::parse(&body, &keys),
        ChannelKind::Messenger => adapters::messenger::webhook::parse(&body, &keys),
        ChannelKind::Telegram => adapters::telegram::webhook::parse(&body, &keys),
    };
    let events = match parsed {
        Ok(events) => events,
        Err(err) => {
            tracing::warn!(channel_id = channel.id, error = %err, "malformed webhook refused");
            return (StatusCode::BAD_REQUEST, err.to_string()).into_response();
        }
    };
    // The new WAITING chats are routed without holding up the provider's request.
    let report = match ingest::ingest(
        &state.db,
        state.readers.as_ref(),
        state.appends.as_ref(),
        &state.known_customers,
        &channel,
        events,
    )
    .await
    {
        Ok(committed) => committed.routed_in_background(&state.routing),
        Err(err) => {
            tracing::error!(channel_id = channel.id, error = %err, "webhook ingestion failed");
            return match err {
                crate::domain::DomainError::Database(_) => database_failed(),
                _ => (StatusCode::INTERNAL_SERVER_ERROR, "try again").into_response(),
            };
        }
    };
    tracing::info!(
        channel_id = channel.id,
        stored = report.stored.len(),
        duplicates = report.duplicates,
        statuses = report.statuses,
        ignored = report.ignored,
        taken_back = report.taken_back,
        "webhook ingested"
    );
    state.metrics.webhook_messages(&report);
    let attachments: Vec<i64> =
        report.stored.iter().flat_map(|s| s.pending_attachments.iter().copied()).collect();
    media::spawn_downloads(&state.jobs, attachments);
    let new_contacts: Vec<ContactId> =
        report.stored.iter().filter(|s| s.new_contact).map(|s| s.contact).collect();
    enrich::spawn(&state.jobs, channel, new_contacts);
    (StatusCode::OK, "EVENT_RECEIVED").into_response()
}
