//! Downloading stored files: message attachments and contact photos, for signed-in users who
//! may read them (401 without a valid token, 403 without the right to see it).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use entity::enums::AttachmentStatus;
use entity::{attachments, chats, messages};
use sea_orm::EntityTrait;

use super::graphql::{bearer, caller_for_token};
use crate::domain::ids::ContactId;
use crate::domain::sessions::Principal;
use crate::graphql::context::{Caller, READERS};
use crate::graphql::ids;
use crate::jobs::enrich::STORED_PHOTO;
use crate::state::AppState;

async fn principal(state: &AppState, headers: &HeaderMap) -> Result<Principal, Response> {
    let token = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(bearer);
    match caller_for_token(state, token).await {
        Caller::SignedIn(principal) => Ok(principal),
        Caller::Refused(reason) => Err((StatusCode::UNAUTHORIZED, reason).into_response()),
        Caller::Unchecked { reason, .. } => Err((StatusCode::SERVICE_UNAVAILABLE, reason).into_response()),
        Caller::Anonymous => Err((StatusCode::UNAUTHORIZED, "sign in first").into_response()),
    }
}

fn internal(err: impl std::fmt::Display) -> Response {
    tracing::error!(error = %err, "file download failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no such file").into_response()
}

async fn serve(state: &AppState, key: &str, content_type: &str, file_name: Option<&str>) -> Response {
    let bytes = match state.jobs.files.get(key).await {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return not_found(),
        Err(err) => return internal(err),
    };
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let name: String = file_name
        .unwrap_or("file")
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\' || *c == ' ')
        .collect();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// GET `/files/{attachmentId}`: an attachment, for whoever may read its chat.
pub async fn attachment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let principal = match principal(&state, &headers).await {
        Ok(principal) => principal,
        Err(response) => return response,
    };
    let Ok(row) = ids::decode(&async_graphql::ID(id), "Attachment") else { return not_found() };
    let found =
        match attachments::Entity::find_by_id(row).find_also_related(messages::Entity).one(&state.db).await {
            Ok(found) => found,
            Err(err) => return internal(err),
        };
    let Some((attachment, Some(message))) = found else { return not_found() };
    let chat = match chats::Entity::find_by_id(message.chat_id).one(&state.db).await {
        Ok(Some(chat)) => chat,
        Ok(None) => return not_found(),
        Err(err) => return internal(err),
    };
    if !crate::domain::chats::may_read(&principal, &chat) {
        return (StatusCode::FORBIDDEN, "you may not read this chat").into_response();
    }
    match (attachment.status, attachment.storage_key.as_deref()) {
        (AttachmentStatus::Stored, Some(key)) => {
            let content_type = attachment.content_type.as_deref().unwrap_or("application/octet-stream");
            serve(&state, key, content_type, attachment.file_name.as_deref()).await
        }
        _ => {
            (StatusCode::NOT_FOUND, attachment.error.unwrap_or_else(|| "the file is not stored (yet)".into()))
                .into_response()
        }
    }
}

/// GET `/files/contacts/{contactId}/photo`: a stored profile photo.
pub async fn contact_photo(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let principal = match principal(&state, &headers).await {
        Ok(principal) => principal,
        Err(response) => return response,
    };
    if !principal.has_any(READERS) {
        return (StatusCode::FORBIDDEN, "your role may not read contacts").into_response();
    }
    let Ok(row) = ids::decode(&async_graphql::ID(id), "Contact") else { return not_found() };
    // A contact the caller may not read is as good as absent (the GraphQL rule).
    let contact = match crate::domain::contacts::get_visible(&state.db, &principal, ContactId(row)).await {
        Ok(Some(contact)) => contact,
        Ok(None) => return not_found(),
        Err(err) => return internal(err),
    };
    match contact.photo_url.as_deref().and_then(|url| url.strip_prefix(STORED_PHOTO)) {
        Some(key) => serve(&state, key, "image/jpeg", Some("photo.jpg")).await,
        None => not_found(),
    }
}
