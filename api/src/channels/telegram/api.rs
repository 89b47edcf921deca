//! Telegram Bot API calls: send replies, download files, fetch a customer's profile photo.
//!
//! The bot token is part of every URL (`/bot<token>/<method>`, `/file/bot<token>/<path>`), so
//! URLs are never logged, errors are described without them, and the token is redacted from
//! every error text.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::channels::client::{self, ProviderApis, redact_media_error, redact_send_error};
use crate::channels::{Downloaded, MediaError, MediaSource, OutboundMessage, Profile, SendError};

/// The longest caption Telegram takes on a document.
const MAX_CAPTION_CHARS: usize = 1024;

/// Sends `message` to the chat `message.recipient`.
///
/// Text only: `sendMessage` with `{chat_id, text}`. With files: each goes as a multipart
/// `sendDocument` (`chat_id`, `document`), the text being the `caption` of the first one; a text
/// too long for a caption goes first as its own message instead.
///
/// Returns `"{chat_id}:{message_id}"` of the first message sent (the scheme inbound messages
/// use). A failure after a message has already gone out is made permanent, so that a retry does
/// not send it twice.
pub async fn send(
    apis: &ProviderApis,
    bot_token: &str,
    message: &OutboundMessage,
) -> Result<String, SendError> {
    send_inner(apis, bot_token, message).await.map_err(|err| redact_send_error(err, bot_token))
}

async fn send_inner(
    apis: &ProviderApis,
    bot_token: &str,
    message: &OutboundMessage,
) -> Result<String, SendError> {
    let text = message.text.as_deref().filter(|text| !text.trim().is_empty());
    if text.is_none() && message.files.is_empty() {
        return Err(SendError::Permanent { reason: "nothing to send".into(), outside_window: false });
    }
    let caption = text.filter(|text| !message.files.is_empty() && text.chars().count() <= MAX_CAPTION_CHARS);

    let mut parts = client::Parts::default();
    if let Some(text) = text
        && caption.is_none()
    {
        let body = json!({ "chat_id": chat_id(&message.recipient), "text": text });
        let request = apis.http.post(method_url(apis, bot_token, "sendMessage")).json(&body);
        parts.sent(call_method::<SentMessage>(request).await.map(|sent| sent.id()))?;
    }
    for (index, file) in message.files.iter().enumerate() {
        let mut form = reqwest::multipart::Form::new()
            .text("chat_id", message.recipient.clone())
            .part("document", client::file_part(file));
        if index == 0
            && let Some(caption) = caption
        {
            form = form.text("caption", caption.to_owned());
        }
        let request = apis.http.post(method_url(apis, bot_token, "sendDocument")).multipart(form);
        parts.sent(call_method::<SentMessage>(request).await.map(|sent| sent.id()))?;
    }
    parts.into_first_id()
}

/// Downloads the file `file_id`, at most `max_bytes`.
///
/// `getFile` gives the `file_path` and usually the size (over the limit: [`MediaError::TooLarge`]
/// before downloading; Telegram's own "file is too big" answer is TooLarge as well). The file is
/// then read from `/file/bot<token>/<file_path>`, stopping as soon as it passes the limit. The
/// file name is the path's last segment.
pub async fn fetch_media(
    apis: &ProviderApis,
    bot_token: &str,
    file_id: &str,
    max_bytes: u64,
) -> Result<Downloaded, MediaError> {
    fetch_media_inner(apis, bot_token, file_id, max_bytes)
        .await
        .map_err(|err| redact_media_error(err, bot_token))
}

async fn fetch_media_inner(
    apis: &ProviderApis,
    bot_token: &str,
    file_id: &str,
    max_bytes: u64,
) -> Result<Downloaded, MediaError> {
    #[derive(Deserialize)]
    struct File {
        file_path: Option<String>,
        file_size: Option<u64>,
    }
    let request = apis.http.post(method_url(apis, bot_token, "getFile")).json(&json!({ "file_id": file_id }));
    let file = call_method::<File>(request).await.map_err(|err| {
        let reason = err.to_string();
        if reason.contains("file is too big") {
            MediaError::TooLarge { limit: max_bytes }
        } else {
            MediaError::Failed(reason)
        }
    })?;
    if file.file_size.is_some_and(|size| size > max_bytes) {
        return Err(MediaError::TooLarge { limit: max_bytes });
    }
    let Some(file_path) = file.file_path.filter(|path| !path.is_empty()) else {
        return Err(MediaError::Failed("getFile returned no file_path".into()));
    };
    let url = format!("{}/file/bot{bot_token}/{file_path}", apis.telegram_base);
    let mut downloaded = client::download(apis.http.get(url), max_bytes).await?;
    let file_name = file_path.rsplit('/').next().filter(|name| !name.is_empty()).map(str::to_owned);
    if downloaded.content_type.as_deref().is_none_or(|ct| ct.starts_with("application/octet-stream"))
        && let Some(guess) = file_name.as_deref().and_then(content_type_for)
    {
        downloaded.content_type = Some(guess.to_owned());
    }
    downloaded.file_name = file_name.or(downloaded.file_name);
    Ok(downloaded)
}

/// The user's current profile photo, as a file to download: `getUserProfilePhotos` with
/// `limit=1`, the largest size of the first photo. Telegram gives no name beyond the webhook's,
/// so only `photo_file` is set; a user without (visible) photos gives the default profile.
pub async fn fetch_profile(
    apis: &ProviderApis,
    bot_token: &str,
    user_id: &str,
) -> Result<Profile, SendError> {
    #[derive(Deserialize)]
    struct Photos {
        photos: Vec<Vec<PhotoSize>>,
    }
    #[derive(Deserialize)]
    struct PhotoSize {
        file_id: String,
        #[serde(default)]
        width: u64,
        #[serde(default)]
        height: u64,
        #[serde(default)]
        file_size: u64,
    }
    let body = json!({ "user_id": chat_id(user_id), "limit": 1 });
    let request = apis.http.post(method_url(apis, bot_token, "getUserProfilePhotos")).json(&body);
    let photos = call_method::<Photos>(request).await.map_err(|err| redact_send_error(err, bot_token))?;
    let largest =
        photos.photos.into_iter().next().and_then(|sizes| {
            sizes.into_iter().max_by_key(|size| (size.width * size.height, size.file_size))
        });
    Ok(Profile {
        photo_file: largest.map(|size| MediaSource::TelegramFile(size.file_id)),
        ..Profile::default()
    })
}

/// The message a send method returns (the parts we keep).
#[derive(Deserialize)]
struct SentMessage {
    message_id: i64,
    chat: Chat,
}

#[derive(Deserialize)]
struct Chat {
    id: i64,
}

impl SentMessage {
    /// `"{chat_id}:{message_id}"`.
    fn id(&self) -> String {
        format!("{}:{}", self.chat.id, self.message_id)
    }
}

/// `{"ok", "result"}` on success; `{"ok": false, "error_code", "description", "parameters"}`
/// on failure.
#[derive(Deserialize)]
struct Answer<T> {
    #[serde(default)]
    ok: bool,
    result: Option<T>,
    error_code: Option<i64>,
    description: Option<String>,
    parameters: Option<Parameters>,
}

#[derive(Deserialize)]
struct Parameters {
    retry_after: Option<u64>,
}

fn method_url(apis: &ProviderApis, bot_token: &str, method: &str) -> String {
    format!("{}/bot{bot_token}/{method}", apis.telegram_base)
}

/// Telegram takes numeric chat ids as numbers and `@channel` names as strings.
fn chat_id(id: &str) -> Value {
    id.trim().parse::<i64>().map_or_else(|_| Value::from(id), Value::from)
}

/// Calls a Bot API method and returns its `result`, or the classified error: 429 → retryable
/// after `parameters.retry_after` seconds; 5xx and network errors → retryable; anything else
/// (403 blocked, 400 bad request, 401 bad token) → permanent.
async fn call_method<T: DeserializeOwned>(request: reqwest::RequestBuilder) -> Result<T, SendError> {
    let response = client::call(request).await?;
    let answer = serde_json::from_slice::<Answer<T>>(&response.body);
    if response.status.is_success() {
        let answer = answer.map_err(|err| SendError::Permanent {
            reason: format!("unexpected response from Telegram: {err}"),
            outside_window: false,
        })?;
        if answer.ok
            && let Some(result) = answer.result
        {
            return Ok(result);
        }
        return Err(classify(&answer, response.status, response.retry_after));
    }
    match answer {
        Ok(answer) => Err(classify(&answer, response.status, response.retry_after)),
        Err(_) => Err(client::status_error(response.status, response.retry_after)),
    }
}

fn classify<T>(
    answer: &Answer<T>,
    status: reqwest::StatusCode,
    header_retry_after: Option<std::time::Duration>,
) -> SendError {
    let code = answer.error_code.unwrap_or_else(|| i64::from(status.as_u16()));
    let reason = match &answer.description {
        Some(description) => format!("{code}: {description}"),
        None => format!("HTTP {status}"),
    };
    let retry_after = answer
        .parameters
        .as_ref()
        .and_then(|p| p.retry_after)
        .map(std::time::Duration::from_secs)
        .or(header_retry_after);
    if code == 429
        || code >= 500
        || status.is_server_error()
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
    {
        SendError::Retryable { reason, retry_after }
    } else {
        SendError::Permanent { reason, outside_window: false }
    }
}

/// A content type for the file server's extensions, which it serves as
/// `application/octet-stream`.
fn content_type_for(file_name: &str) -> Option<&'static str> {
    let (_, extension) = file_name.rsplit_once('.')?;
    Some(match extension.to_ascii_lowercase().as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "mp4" => "video/mp4",
        "oga" | "ogg" => "audio/ogg",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "pdf" => "application/pdf",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::Value;
    use wiremock::matchers::{body_json, header_regex, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::channels::OutboundFile;

    const TOKEN: &str = "7012345678:AAHsecret-bot_token";

    const SEND_MESSAGE_REQUEST: &str =
        include_str!("../../../../tests/fixtures/channels/telegram/send_message_request.json");
    const SEND_RESPONSE: &str =
        include_str!("../../../../tests/fixtures/channels/telegram/send_response.json");
    const SEND_DOCUMENT_RESPONSE: &str =
        include_str!("../../../../tests/fixtures/channels/telegram/send_document_response.json");
    const ERROR_BLOCKED: &str =
        include_str!("../../../../tests/fixtures/channels/telegram/send_error_blocked.json");
    const ERROR_RATE_LIMITED: &str =
        include_str!("../../../../tests/fixtures/channels/telegram/send_error_rate_limited.json");
    const GET_FILE_RESPONSE: &str =
        include_str!("../../../../tests/fixtures/channels/telegram/get_file_response.json");
    const GET_USER_PROFILE_PHOTOS_RESPONSE: &str =
        include_str!("../../../../tests/fixtures/channels/telegram/get_user_profile_photos_response.json");

    fn json_of(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn json_response(status: u16, body: &str) -> ResponseTemplate {
        ResponseTemplate::new(status).set_body_raw(body.to_owned(), "application/json")
    }

    fn bot_path(method: &str) -> String {
        format!("/bot{TOKEN}/{method}")
    }

    fn text_message() -> OutboundMessage {
        let request = json_of(SEND_MESSAGE_REQUEST);
        OutboundMessage {
            message_id: crate::domain::ids::MessageId(42),
            recipient: request["chat_id"].to_string(),
            text: Some(request["text"].as_str().unwrap().into()),
            files: vec![],
            hand_back: false,
            template: None,
        }
    }

    fn label() -> OutboundFile {
        OutboundFile {
            file_name: "return-label-48371.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: b"%PDF-label".to_vec(),
        }
    }

    async fn send_failing_with(status: u16, body: &str) -> SendError {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(bot_path("sendMessage")))
            .respond_with(json_response(status, body))
            .expect(1)
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());
        let err = send(&apis, TOKEN, &text_message()).await.unwrap_err();
        assert!(!err.to_string().contains(TOKEN), "{err}");
        err
    }

    #[tokio::test]
    async fn sends_a_text_message() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(bot_path("sendMessage")))
            .and(body_json(json_of(SEND_MESSAGE_REQUEST)))
            .respond_with(json_response(200, SEND_RESPONSE))
            .expect(1)
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());

        let id = send(&apis, TOKEN, &text_message()).await.unwrap();

        assert_eq!(id, "523418907:1846");
    }

    #[tokio::test]
    async fn sends_a_document_with_the_text_as_caption() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(bot_path("sendDocument")))
            .and(header_regex("content-type", "^multipart/form-data; boundary="))
            .respond_with(json_response(200, SEND_DOCUMENT_RESPONSE))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(bot_path("sendMessage")))
            .respond_with(json_response(200, SEND_RESPONSE))
            .expect(0)
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());
        let message = OutboundMessage {
            message_id: crate::domain::ids::MessageId(42),
            recipient: "523418907".into(),
            text: Some("Your prepaid return label".into()),
            files: vec![label()],
            hand_back: false,
            template: None,
        };

        let id = send(&apis, TOKEN, &message).await.unwrap();

        assert_eq!(id, "523418907:1847");
        let requests = server.received_requests().await.unwrap();
        let form = String::from_utf8_lossy(&requests[0].body);
        assert!(form.contains("name=\"chat_id\"\r\n\r\n523418907\r\n"), "{form}");
        assert!(form.contains("name=\"caption\"\r\n\r\nYour prepaid return label\r\n"), "{form}");
        assert!(form.contains("name=\"document\"; filename=\"return-label-48371.pdf\""), "{form}");
        assert!(form.contains("Content-Type: application/pdf\r\n\r\n%PDF-label\r\n"), "{form}");
    }

    #[tokio::test]
    async fn a_text_too_long_for_a_caption_goes_first_on_its_own() {
        let server = MockServer::start().await;
        let long = "x".repeat(1025);
        Mock::given(method("POST"))
            .and(path(bot_path("sendMessage")))
            .and(body_json(json!({"chat_id": 523418907, "text": long})))
            .respond_with(json_response(200, SEND_RESPONSE))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(bot_path("sendDocument")))
            .respond_with(json_response(200, SEND_DOCUMENT_RESPONSE))
            .expect(2)
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());
        let message = OutboundMessage {
            message_id: crate::domain::ids::MessageId(42),
            recipient: "523418907".into(),
            text: Some(long.clone()),
            files: vec![label(), label()],
            hand_back: false,
            template: None,
        };

        let id = send(&apis, TOKEN, &message).await.unwrap();

        assert_eq!(id, "523418907:1846");
        let requests = server.received_requests().await.unwrap();
        assert!(requests[1..].iter().all(|r| !String::from_utf8_lossy(&r.body).contains("name=\"caption\"")));
    }

    #[tokio::test]
    async fn blocked_by_the_user_is_permanent() {
        let err = send_failing_with(403, ERROR_BLOCKED).await;
        assert_eq!(
            err,
            SendError::Permanent {
                reason: "403: Forbidden: bot was blocked by the user".into(),
                outside_window: false
            }
        );
    }

    #[tokio::test]
    async fn rate_limited_is_retryable_after_the_given_seconds() {
        let err = send_failing_with(429, ERROR_RATE_LIMITED).await;
        assert_eq!(
            err,
            SendError::Retryable {
                reason: "429: Too Many Requests: retry after 7".into(),
                retry_after: Some(Duration::from_secs(7)),
            }
        );
    }

    #[tokio::test]
    async fn bad_requests_and_bad_tokens_are_permanent() {
        let body = r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#;
        let err = send_failing_with(400, body).await;
        assert!(matches!(err, SendError::Permanent { outside_window: false, .. }), "{err:?}");
        let body = r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#;
        let err = send_failing_with(401, body).await;
        assert_eq!(err, SendError::Permanent { reason: "401: Unauthorized".into(), outside_window: false });
    }

    #[tokio::test]
    async fn server_errors_are_retryable() {
        let body = r#"{"ok":false,"error_code":502,"description":"Bad Gateway"}"#;
        let err = send_failing_with(502, body).await;
        assert_eq!(err, SendError::Retryable { reason: "502: Bad Gateway".into(), retry_after: None });
        let err = send_failing_with(500, "<html>oops</html>").await;
        assert_eq!(
            err,
            SendError::Retryable { reason: "HTTP 500 Internal Server Error".into(), retry_after: None }
        );
    }

    #[tokio::test]
    async fn a_connection_error_is_retryable_and_does_not_contain_the_token() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        drop(listener);
        let apis = ProviderApis::all_at(&base);
        let err = send(&apis, TOKEN, &text_message()).await.unwrap_err();
        assert!(matches!(err, SendError::Retryable { .. }), "{err:?}");
        let text = format!("{err} {err:?}");
        assert!(!text.contains(TOKEN) && !text.contains("AAHsecret"), "{text}");
    }

    #[tokio::test]
    async fn a_failure_after_the_text_is_permanent() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(bot_path("sendMessage")))
            .respond_with(json_response(200, SEND_RESPONSE))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(bot_path("sendDocument")))
            .respond_with(json_response(429, ERROR_RATE_LIMITED))
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());
        let message = OutboundMessage {
            message_id: crate::domain::ids::MessageId(42),
            recipient: "523418907".into(),
            text: Some("y".repeat(2000)),
            files: vec![label()],
            hand_back: false,
            template: None,
        };
        let err = send(&apis, TOKEN, &message).await.unwrap_err();
        let SendError::Permanent { reason, outside_window: false } = &err else { panic!("{err:?}") };
        assert!(reason.starts_with("partly delivered (first message 523418907:1846); then: "), "{reason}");
    }

    #[tokio::test]
    async fn fetches_a_file_through_get_file() {
        let server = MockServer::start().await;
        let file_id = json_of(GET_FILE_RESPONSE)["result"]["file_id"].as_str().unwrap().to_owned();
        Mock::given(method("POST"))
            .and(path(bot_path("getFile")))
            .and(body_json(json!({ "file_id": file_id })))
            .respond_with(json_response(200, GET_FILE_RESPONSE))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/file/bot{TOKEN}/profile_photos/file_3.jpg")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(b"\xff\xd8photo".to_vec(), "application/octet-stream"),
            )
            .expect(1)
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());

        let got = fetch_media(&apis, TOKEN, &file_id, 100_000).await.unwrap();

        assert_eq!(got.bytes, b"\xff\xd8photo");
        assert_eq!(got.file_name.as_deref(), Some("file_3.jpg"));
        assert_eq!(got.content_type.as_deref(), Some("image/jpeg"));
    }

    #[tokio::test]
    async fn a_declared_size_over_the_limit_is_refused_before_downloading() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(bot_path("getFile")))
            .respond_with(json_response(200, GET_FILE_RESPONSE))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![0u8; 10]))
            .expect(0)
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());

        let err = fetch_media(&apis, TOKEN, "AgAC", 96_511).await.unwrap_err();

        assert_eq!(err, MediaError::TooLarge { limit: 96_511 });
    }

    #[tokio::test]
    async fn an_undeclared_size_over_the_limit_is_refused() {
        let server = MockServer::start().await;
        let mut answer = json_of(GET_FILE_RESPONSE);
        answer["result"].as_object_mut().unwrap().remove("file_size");
        Mock::given(method("POST"))
            .and(path(bot_path("getFile")))
            .respond_with(json_response(200, &answer.to_string()))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/file/bot{TOKEN}/profile_photos/file_3.jpg")))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![0u8; 2048]))
            .expect(1)
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());

        let err = fetch_media(&apis, TOKEN, "AgAC", 2047).await.unwrap_err();

        assert_eq!(err, MediaError::TooLarge { limit: 2047 });
    }

    #[tokio::test]
    async fn telegrams_file_too_big_is_too_large() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(bot_path("getFile")))
            .respond_with(json_response(
                400,
                r#"{"ok":false,"error_code":400,"description":"Bad Request: file is too big"}"#,
            ))
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());
        let err = fetch_media(&apis, TOKEN, "AgAC", 20_000_000).await.unwrap_err();
        assert_eq!(err, MediaError::TooLarge { limit: 20_000_000 });
    }

    #[tokio::test]
    async fn download_errors_do_not_contain_the_token() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(bot_path("getFile")))
            .respond_with(json_response(200, GET_FILE_RESPONSE))
            .mount(&server)
            .await;
        Mock::given(method("GET")).respond_with(ResponseTemplate::new(404)).mount(&server).await;
        let apis = ProviderApis::all_at(&server.uri());
        let err = fetch_media(&apis, TOKEN, "AgAC", 1_000_000).await.unwrap_err();
        assert_eq!(err, MediaError::Failed("HTTP 404 Not Found".into()));

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        drop(listener);
        let err = fetch_media(&ProviderApis::all_at(&base), TOKEN, "AgAC", 10).await.unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(matches!(err, MediaError::Failed(_)) && !text.contains("AAHsecret"), "{text}");
    }

    #[tokio::test]
    async fn fetches_the_largest_size_of_the_current_profile_photo() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(bot_path("getUserProfilePhotos")))
            .and(body_json(json!({ "user_id": 523418907, "limit": 1 })))
            .respond_with(json_response(200, GET_USER_PROFILE_PHOTOS_RESPONSE))
            .expect(1)
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());

        let profile = fetch_profile(&apis, TOKEN, "523418907").await.unwrap();

        assert_eq!(
            profile,
            Profile {
                name: None,
                photo_url: None,
                photo_file: Some(MediaSource::TelegramFile(
                    "AgACAgIAAxUAAWbKxQiuDne3-zRsb0VYYmtiDgVMkx5I0125vb7s4exwXujXDvnJ0mBAAMCAAL".into()
                )),
            }
        );
    }

    #[tokio::test]
    async fn a_user_without_photos_has_an_empty_profile() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(bot_path("getUserProfilePhotos")))
            .respond_with(json_response(200, r#"{"ok":true,"result":{"total_count":0,"photos":[]}}"#))
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());
        assert_eq!(fetch_profile(&apis, TOKEN, "523418907").await.unwrap(), Profile::default());
    }

    #[test]
    fn chat_ids() {
        assert_eq!(chat_id("523418907"), json!(523418907));
        assert_eq!(chat_id("-1001234"), json!(-1001234));
        assert_eq!(chat_id("@acme"), json!("@acme"));
    }
}
