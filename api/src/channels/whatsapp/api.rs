//! WhatsApp Cloud API calls: send replies (text, uploaded media) and download media.
//!
//! Every call carries the access token as `Authorization: Bearer`; it never appears in URLs,
//! logs or error texts.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::channels::client::{self, GraphError, ProviderApis, redact_media_error, redact_send_error};
use crate::channels::{Downloaded, MediaError, OutboundFile, OutboundMessage, OutboundTemplate, SendError};

/// How WhatsApp's Graph errors are classified. Throughput and rate limits: 130429 (Cloud API
/// throughput), 131056 (pair rate limit), 4 (application request limit), 80007 (WABA rate
/// limit); temporary: 2 (service), 131000 (something went wrong), 131016 (service
/// unavailable).
const GRAPH: client::GraphRules = client::GraphRules {
    outside_window,
    rate_limited: &[130_429, 131_056, 4, 80_007],
    transient: &[2, 131_000, 131_016],
};

/// WhatsApp's code for "more than 24 hours since the customer's last message"
/// (re-engagement), in a send call's answer or a `failed` status webhook.
pub const OUTSIDE_WINDOW_CODE: i64 = 131_047;

/// 131047: more than 24 hours since the customer's last message (re-engagement).
fn outside_window(error: &GraphError) -> bool {
    error.code == OUTSIDE_WINDOW_CODE
}
/// The longest caption WhatsApp takes on an image, video or document.
const MAX_CAPTION_CHARS: usize = 1024;

/// Sends `message` to the customer `message.recipient` (the `wa_id`) from `phone_number_id`.
///
/// Text only: one `text` message. With files: every file is uploaded first
/// (`POST /{phone_number_id}/media`), then each is sent as an `image`, `video`, `audio` or
/// `document` message (see [`media_kind`]); the text becomes the caption of the first file,
/// unless that file cannot carry one (audio) or the text is longer than a caption may be, in
/// which case the text goes first as its own message.
///
/// Returns the `wamid` of the first message sent (status webhooks refer to it). A failure after
/// a message has already gone out is made permanent, so that a retry does not send it twice.
pub async fn send(
    apis: &ProviderApis,
    access_token: &str,
    phone_number_id: &str,
    message: &OutboundMessage,
) -> Result<String, SendError> {
    send_inner(apis, access_token, phone_number_id, message)
        .await
        .map_err(|err| redact_send_error(err, access_token))
}

async fn send_inner(
    apis: &ProviderApis,
    access_token: &str,
    phone_number_id: &str,
    message: &OutboundMessage,
) -> Result<String, SendError> {
    if let Some(template) = &message.template {
        let body = template_body(&message.recipient, template);
        return post_message(apis, access_token, phone_number_id, &body).await;
    }
    let text = message.text.as_deref().filter(|text| !text.trim().is_empty());
    if text.is_none() && message.files.is_empty() {
        return Err(SendError::Permanent { reason: "nothing to send".into(), outside_window: false });
    }
    // Upload everything before sending anything: an upload failure then leaves nothing half sent.
    let mut media_ids = Vec::with_capacity(message.files.len());
    for file in &message.files {
        media_ids.push(upload(apis, access_token, phone_number_id, file).await?);
    }
    let caption = match (text, message.files.first()) {
        (Some(text), Some(first))
            if media_kind(&first.content_type) != "audio" && text.chars().count() <= MAX_CAPTION_CHARS =>
        {
            Some(text)
        }
        _ => None,
    };

    let mut parts = client::Parts::default();
    if let Some(text) = text
        && caption.is_none()
    {
        let body = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": message.recipient,
            "type": "text",
            "text": { "preview_url": false, "body": text },
        });
        parts.sent(post_message(apis, access_token, phone_number_id, &body).await)?;
    }
    for (index, (file, media_id)) in message.files.iter().zip(&media_ids).enumerate() {
        let kind = media_kind(&file.content_type);
        let mut media = json!({ "id": media_id });
        if kind == "document" {
            media["filename"] = Value::from(file.file_name.as_str());
        }
        if index == 0
            && let Some(caption) = caption
        {
            media["caption"] = Value::from(caption);
        }
        let body = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": message.recipient,
            "type": kind,
            kind: media,
        });
        parts.sent(post_message(apis, access_token, phone_number_id, &body).await)?;
    }
    parts.into_first_id()
}

/// The Cloud API's template message: `type: "template"`, the template's name and language,
/// and its body parameters as text parameters (no `components` when it takes none).
pub fn template_body(recipient: &str, template: &OutboundTemplate) -> Value {
    let mut content = json!({ "name": template.name, "language": { "code": template.language_code } });
    if !template.parameters.is_empty() {
        let parameters: Vec<Value> =
            template.parameters.iter().map(|text| json!({ "type": "text", "text": text })).collect();
        content["components"] = json!([{ "type": "body", "parameters": parameters }]);
    }
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": recipient,
        "type": "template",
        "template": content,
    })
}

/// Downloads the media `media_id` (from an inbound message), at most `max_bytes`.
///
/// `GET /{media_id}` gives a short-lived URL, the MIME type and the size (a string); a declared
/// size over the limit fails with [`MediaError::TooLarge`] before downloading. The URL is then
/// fetched with the same bearer token, stopping as soon as the body passes the limit.
pub async fn fetch_media(
    apis: &ProviderApis,
    access_token: &str,
    media_id: &str,
    max_bytes: u64,
) -> Result<Downloaded, MediaError> {
    fetch_media_inner(apis, access_token, media_id, max_bytes)
        .await
        .map_err(|err| redact_media_error(err, access_token))
}

async fn fetch_media_inner(
    apis: &ProviderApis,
    access_token: &str,
    media_id: &str,
    max_bytes: u64,
) -> Result<Downloaded, MediaError> {
    #[derive(Deserialize)]
    struct MediaUrl {
        url: String,
        mime_type: Option<String>,
        file_size: Option<Value>,
    }
    let request = apis.http.get(format!("{}/{media_id}", apis.whatsapp_base)).bearer_auth(access_token);
    let response = client::call(request).await.map_err(|err| MediaError::Failed(err.to_string()))?;
    let body = GRAPH.check(response).map_err(|err| MediaError::Failed(err.to_string()))?;
    let meta: MediaUrl = serde_json::from_slice(&body)
        .map_err(|err| MediaError::Failed(format!("unexpected media response from WhatsApp: {err}")))?;
    let declared = match &meta.file_size {
        Some(Value::String(size)) => size.trim().parse::<u64>().ok(),
        Some(Value::Number(size)) => size.as_u64(),
        _ => None,
    };
    if declared.is_some_and(|size| size > max_bytes) {
        return Err(MediaError::TooLarge { limit: max_bytes });
    }
    let mut downloaded =
        client::download(apis.http.get(&meta.url).bearer_auth(access_token), max_bytes).await?;
    if let Some(mime_type) = meta.mime_type.filter(|m| !m.is_empty()) {
        downloaded.content_type = Some(mime_type);
    }
    Ok(downloaded)
}

/// The WhatsApp message type for a file: `image` (JPEG, PNG), `video` (MP4, 3GPP), `audio`
/// (AAC, AMR, MP3, MP4 audio, OGG/Opus), otherwise `document` (which takes any file and keeps
/// its name).
fn media_kind(content_type: &str) -> &'static str {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match essence.as_str() {
        "image/jpeg" | "image/png" => "image",
        "video/mp4" | "video/3gpp" => "video",
        "audio/aac" | "audio/amr" | "audio/mpeg" | "audio/mp4" | "audio/ogg" => "audio",
        _ => "document",
    }
}

/// `POST /{phone_number_id}/media` (multipart `file`, `type`, `messaging_product`) → media id.
async fn upload(
    apis: &ProviderApis,
    access_token: &str,
    phone_number_id: &str,
    file: &OutboundFile,
) -> Result<String, SendError> {
    #[derive(Deserialize)]
    struct Uploaded {
        id: String,
    }
    let form = reqwest::multipart::Form::new()
        .text("messaging_product", "whatsapp")
        .text("type", file.content_type.clone())
        .part("file", client::file_part(file));
    let request = apis
        .http
        .post(format!("{}/{phone_number_id}/media", apis.whatsapp_base))
        .bearer_auth(access_token)
        .multipart(form);
    let body = GRAPH.check(client::call(request).await?)?;
    Ok(client::parse_success::<Uploaded>("WhatsApp", &body)?.id)
}

/// `POST /{phone_number_id}/messages` → `messages[0].id`.
async fn post_message(
    apis: &ProviderApis,
    access_token: &str,
    phone_number_id: &str,
    body: &Value,
) -> Result<String, SendError> {
    #[derive(Deserialize)]
    struct Sent {
        messages: Vec<SentMessage>,
    }
    #[derive(Deserialize)]
    struct SentMessage {
        id: String,
    }
    let request = apis
        .http
        .post(format!("{}/{phone_number_id}/messages", apis.whatsapp_base))
        .bearer_auth(access_token)
        .json(body);
    let response = GRAPH.check(client::call(request).await?)?;
    let sent: Sent = client::parse_success("WhatsApp", &response)?;
    let id = sent.messages.into_iter().next().map(|m| m.id);
    id.ok_or_else(|| SendError::Permanent {
        reason: "unexpected response from WhatsApp: no message id".into(),
        outside_window: false,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::Value;
    use wiremock::matchers::{body_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    const TOKEN: &str = "EAAG-test-access-token-123";
    const PHONE: &str = "109876543210987";
    const WAMID: &str = "wamid.HBgMNDQ3NzAwOTAwMTIzFQIAERgSQkZBNjZBREVGNDkzODlCOUVFAA==";

    const SEND_REQUEST_TEXT: &str =
        include_str!("../../../../tests/fixtures/channels/whatsapp/send_request_text.json");
    const SEND_REQUEST_DOCUMENT: &str =
        include_str!("../../../../tests/fixtures/channels/whatsapp/send_request_document.json");
    const SEND_RESPONSE: &str =
        include_str!("../../../../tests/fixtures/channels/whatsapp/send_response.json");
    const MEDIA_UPLOAD_RESPONSE: &str =
        include_str!("../../../../tests/fixtures/channels/whatsapp/media_upload_response.json");
    const MEDIA_URL_RESPONSE: &str =
        include_str!("../../../../tests/fixtures/channels/whatsapp/media_url_response.json");
    const ERROR_OUTSIDE_WINDOW: &str =
        include_str!("../../../../tests/fixtures/channels/whatsapp/send_error_outside_window.json");
    const ERROR_RATE_LIMITED: &str =
        include_str!("../../../../tests/fixtures/channels/whatsapp/send_error_rate_limited.json");
    const ERROR_TOKEN_EXPIRED: &str =
        include_str!("../../../../tests/fixtures/channels/whatsapp/send_error_token_expired.json");

    fn json_of(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn json_response(status: u16, body: &str) -> ResponseTemplate {
        ResponseTemplate::new(status).set_body_raw(body.to_owned(), "application/json")
    }

    fn text_message() -> OutboundMessage {
        let request = json_of(SEND_REQUEST_TEXT);
        OutboundMessage {
            message_id: crate::domain::ids::MessageId(42),
            recipient: request["to"].as_str().unwrap().into(),
            text: Some(request["text"]["body"].as_str().unwrap().into()),
            files: vec![],
            hand_back: false,
            template: None,
        }
    }

    #[test]
    fn a_template_message_names_the_template_and_its_body_parameters() {
        let template = OutboundTemplate {
            name: "order_update".into(),
            language_code: "en_US".into(),
            parameters: vec!["Amelia".into(), "#48213".into()],
        };
        assert_eq!(
            template_body("447700900123", &template),
            serde_json::json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "447700900123",
                "type": "template",
                "template": {
                    "name": "order_update",
                    "language": { "code": "en_US" },
                    "components": [{ "type": "body", "parameters": [
                        { "type": "text", "text": "Amelia" },
                        { "type": "text", "text": "#48213" },
                    ] }],
                },
            })
        );
        let bare = OutboundTemplate { parameters: vec![], ..template };
        assert!(template_body("447700900123", &bare)["template"].get("components").is_none());
    }

    fn pdf() -> OutboundFile {
        OutboundFile {
            file_name: "return-label-48213.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: b"%PDF-1.7 label".to_vec(),
        }
    }

    async fn send_failing_with(status: u16, body: &str) -> SendError {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("/{PHONE}/messages")))
            .respond_with(json_response(status, body))
            .expect(1)
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());
        send(&apis, TOKEN, PHONE, &text_message()).await.unwrap_err()
    }

    fn reason_of(err: &SendError) -> &str {
        match err {
            SendError::Retryable { reason, .. } | SendError::Permanent { reason, .. } => reason,
        }
    }

    #[tokio::test]
    async fn sends_a_text_message_with_the_bearer_token() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("/{PHONE}/messages")))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .and(header("content-type", "application/json"))
            .and(body_json(json_of(SEND_REQUEST_TEXT)))
            .respond_with(json_response(200, SEND_RESPONSE))
            .expect(1)
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());

        let id = send(&apis, TOKEN, PHONE, &text_message()).await.unwrap();

        assert_eq!(id, WAMID);
    }

    #[tokio::test]
    async fn uploads_a_file_and_sends_it_as_a_document_with_the_text_as_caption() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("/{PHONE}/media")))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .respond_with(json_response(200, MEDIA_UPLOAD_RESPONSE))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("/{PHONE}/messages")))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .and(body_json(json_of(SEND_REQUEST_DOCUMENT)))
            .respond_with(json_response(200, SEND_RESPONSE))
            .expect(1) // no separate text message
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());
        let message = OutboundMessage {
            message_id: crate::domain::ids::MessageId(42),
            recipient: "447700900123".into(),
            text: Some("Here is your prepaid return label.".into()),
            files: vec![pdf()],
            hand_back: false,
            template: None,
        };

        let id = send(&apis, TOKEN, PHONE, &message).await.unwrap();

        assert_eq!(id, WAMID);
        let requests = server.received_requests().await.unwrap();
        let upload = requests.iter().find(|r| r.url.path().ends_with("/media")).unwrap();
        let content_type = upload.headers.get("content-type").unwrap().to_str().unwrap();
        assert!(content_type.starts_with("multipart/form-data"), "{content_type}");
        let form = String::from_utf8_lossy(&upload.body);
        assert!(form.contains("name=\"messaging_product\"\r\n\r\nwhatsapp\r\n"), "{form}");
        assert!(form.contains("name=\"type\"\r\n\r\napplication/pdf\r\n"), "{form}");
        assert!(form.contains("name=\"file\"; filename=\"return-label-48213.pdf\""), "{form}");
        assert!(form.contains("Content-Type: application/pdf\r\n\r\n%PDF-1.7 label"), "{form}");
    }

    #[tokio::test]
    async fn an_audio_file_gets_the_text_as_a_separate_first_message() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("/{PHONE}/media")))
            .respond_with(json_response(200, r#"{"id":"555"}"#))
            .expect(2)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("/{PHONE}/messages")))
            .and(wiremock::matchers::body_partial_json(json!({"type": "text"})))
            .respond_with(json_response(200, r#"{"messages":[{"id":"wamid.TEXT"}]}"#))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("/{PHONE}/messages")))
            .and(body_json(json!({
                "messaging_product": "whatsapp", "recipient_type": "individual", "to": "447700900123",
                "type": "audio", "audio": {"id": "555"}
            })))
            .respond_with(json_response(200, r#"{"messages":[{"id":"wamid.AUDIO"}]}"#))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("/{PHONE}/messages")))
            .and(body_json(json!({
                "messaging_product": "whatsapp", "recipient_type": "individual", "to": "447700900123",
                "type": "image", "image": {"id": "555"}
            })))
            .respond_with(json_response(200, r#"{"messages":[{"id":"wamid.IMAGE"}]}"#))
            .expect(1)
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());
        let voice = OutboundFile {
            file_name: "note.ogg".into(),
            content_type: "audio/ogg; codecs=opus".into(),
            bytes: vec![1, 2, 3],
        };
        let photo =
            OutboundFile { file_name: "box.png".into(), content_type: "image/png".into(), bytes: vec![4] };
        let message = OutboundMessage {
            message_id: crate::domain::ids::MessageId(42),
            recipient: "447700900123".into(),
            text: Some("Listen to this".into()),
            files: vec![voice, photo],
            hand_back: false,
            template: None,
        };

        let id = send(&apis, TOKEN, PHONE, &message).await.unwrap();

        assert_eq!(id, "wamid.TEXT");
    }

    #[tokio::test]
    async fn outside_the_window_is_permanent_and_flagged() {
        let err = send_failing_with(400, ERROR_OUTSIDE_WINDOW).await;
        assert_eq!(
            err,
            SendError::Permanent {
                reason: "131047: (#131047) Re-engagement message (Message failed to send because more \
                         than 24 hours have passed since the customer last replied to this number.)"
                    .into(),
                outside_window: true,
            }
        );
    }

    #[tokio::test]
    async fn rate_limited_is_retryable() {
        let err = send_failing_with(400, ERROR_RATE_LIMITED).await;
        assert_eq!(
            err,
            SendError::Retryable {
                reason: "130429: (#130429) Rate limit hit (Cloud API message throughput has been reached.)"
                    .into(),
                retry_after: None,
            }
        );
    }

    #[tokio::test]
    async fn an_expired_token_is_permanent() {
        let err = send_failing_with(401, ERROR_TOKEN_EXPIRED).await;
        let SendError::Permanent { reason, outside_window: false } = &err else { panic!("{err:?}") };
        assert!(reason.starts_with("190: Error validating access token"), "{reason}");
        assert!(!reason.contains(TOKEN));
    }

    #[tokio::test]
    async fn a_server_error_is_retryable_with_retry_after() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(503).insert_header("retry-after", "30").set_body_string("down"),
            )
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());
        let err = send(&apis, TOKEN, PHONE, &text_message()).await.unwrap_err();
        assert_eq!(
            err,
            SendError::Retryable {
                reason: "HTTP 503 Service Unavailable".into(),
                retry_after: Some(Duration::from_secs(30))
            }
        );
        let err = send_failing_with(500, "<html>oops</html>").await;
        assert!(matches!(err, SendError::Retryable { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_connection_error_is_retryable_and_names_no_url_or_token() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        drop(listener);
        let apis = ProviderApis::all_at(&base);
        let err = send(&apis, TOKEN, PHONE, &text_message()).await.unwrap_err();
        assert!(matches!(err, SendError::Retryable { .. }), "{err:?}");
        assert!(!reason_of(&err).contains(TOKEN) && !reason_of(&err).contains(&base), "{err:?}");
    }

    #[tokio::test]
    async fn a_failed_upload_sends_nothing() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("/{PHONE}/media")))
            .respond_with(json_response(500, r#"{"error":{"code":131016,"message":"Service unavailable"}}"#))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("/{PHONE}/messages")))
            .respond_with(json_response(200, SEND_RESPONSE))
            .expect(0)
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());
        let message = OutboundMessage {
            message_id: crate::domain::ids::MessageId(42),
            recipient: "447700900123".into(),
            text: Some("hi".into()),
            files: vec![pdf()],
            hand_back: false,
            template: None,
        };
        let err = send(&apis, TOKEN, PHONE, &message).await.unwrap_err();
        assert_eq!(
            err,
            SendError::Retryable { reason: "131016: Service unavailable".into(), retry_after: None }
        );
    }

    #[tokio::test]
    async fn a_failure_after_a_delivered_message_is_permanent() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("/{PHONE}/media")))
            .respond_with(json_response(200, r#"{"id":"1"}"#))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("/{PHONE}/messages")))
            .and(wiremock::matchers::body_partial_json(json!({"type": "text"})))
            .respond_with(json_response(200, r#"{"messages":[{"id":"wamid.TEXT"}]}"#))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("/{PHONE}/messages")))
            .and(wiremock::matchers::body_partial_json(json!({"type": "audio"})))
            .respond_with(json_response(400, ERROR_RATE_LIMITED))
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());
        let voice =
            OutboundFile { file_name: "a.mp3".into(), content_type: "audio/mpeg".into(), bytes: vec![1] };
        let message = OutboundMessage {
            message_id: crate::domain::ids::MessageId(42),
            recipient: "447700900123".into(),
            text: Some("hi".into()),
            files: vec![voice],
            hand_back: false,
            template: None,
        };
        let err = send(&apis, TOKEN, PHONE, &message).await.unwrap_err();
        let SendError::Permanent { reason, outside_window: false } = &err else { panic!("{err:?}") };
        assert!(reason.starts_with("partly delivered (first message wamid.TEXT); then: 130429"), "{reason}");
    }

    #[tokio::test]
    async fn an_empty_message_is_refused() {
        let apis = ProviderApis::all_at("http://127.0.0.1:9");
        let message = OutboundMessage {
            message_id: crate::domain::ids::MessageId(42),
            recipient: "1".into(),
            text: Some("  ".into()),
            files: vec![],
            hand_back: false,
            template: None,
        };
        let err = send(&apis, TOKEN, PHONE, &message).await.unwrap_err();
        assert!(matches!(err, SendError::Permanent { outside_window: false, .. }));
    }

    /// The media-url fixture with its `url` pointing at the fake, and `file_size` replaced.
    fn media_url_response(server: &MockServer, file_size: Option<&str>) -> String {
        let mut body = json_of(MEDIA_URL_RESPONSE);
        body["url"] = Value::from(format!("{}/lookaside/attachments?mid=1043857298110472", server.uri()));
        match file_size {
            Some(size) => body["file_size"] = Value::from(size),
            None => {
                body.as_object_mut().unwrap().remove("file_size");
            }
        }
        body.to_string()
    }

    #[tokio::test]
    async fn fetches_media_through_its_url_with_the_bearer_token() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/1043857298110472"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .respond_with(json_response(200, &media_url_response(&server, Some("5"))))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/lookaside/attachments"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(b"\xff\xd8jpg".to_vec(), "application/octet-stream"),
            )
            .expect(1)
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());

        let got = fetch_media(&apis, TOKEN, "1043857298110472", 1000).await.unwrap();

        assert_eq!(got.bytes, b"\xff\xd8jpg");
        assert_eq!(got.content_type.as_deref(), Some("image/jpeg"));
    }

    #[tokio::test]
    async fn a_declared_size_over_the_limit_is_refused_before_downloading() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/1043857298110472"))
            .respond_with(json_response(200, &media_url_response(&server, Some("183247"))))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/lookaside/attachments"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![0u8; 10]))
            .expect(0)
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());

        let err = fetch_media(&apis, TOKEN, "1043857298110472", 100_000).await.unwrap_err();

        assert_eq!(err, MediaError::TooLarge { limit: 100_000 });
    }

    #[tokio::test]
    async fn an_undeclared_size_over_the_limit_is_refused() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/1043857298110472"))
            .respond_with(json_response(200, &media_url_response(&server, None)))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/lookaside/attachments"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![0u8; 2000]))
            .expect(1)
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());

        let err = fetch_media(&apis, TOKEN, "1043857298110472", 1000).await.unwrap_err();

        assert_eq!(err, MediaError::TooLarge { limit: 1000 });
    }

    #[tokio::test]
    async fn a_media_lookup_error_names_the_graph_error_but_not_the_token() {
        let server = MockServer::start().await;
        Mock::given(method("GET")).respond_with(json_response(401, ERROR_TOKEN_EXPIRED)).mount(&server).await;
        let apis = ProviderApis::all_at(&server.uri());
        let MediaError::Failed(reason) = fetch_media(&apis, TOKEN, "1", 10).await.unwrap_err() else {
            panic!("expected Failed")
        };
        assert!(reason.starts_with("190: Error validating access token"), "{reason}");
        assert!(!reason.contains(TOKEN));
    }

    #[test]
    fn media_kinds() {
        assert_eq!(media_kind("image/jpeg"), "image");
        assert_eq!(media_kind("IMAGE/PNG"), "image");
        assert_eq!(media_kind("image/gif"), "document");
        assert_eq!(media_kind("video/mp4"), "video");
        assert_eq!(media_kind("audio/ogg; codecs=opus"), "audio");
        assert_eq!(media_kind("application/pdf"), "document");
    }
}
