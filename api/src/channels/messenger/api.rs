//! Messenger Platform (Graph API) calls: send replies, download attachments, fetch a
//! customer's profile, and pass thread control back to the chatbot.
//!
//! The Page access token travels as the `access_token` query parameter, so request URLs are
//! secret: errors are described without them and the token is redacted from every error text.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::channels::client::{self, GraphError, ProviderApis, redact_send_error};
use crate::channels::{Downloaded, MediaError, OutboundFile, OutboundMessage, Profile, SendError};

/// How Messenger's Graph errors are classified. Rate limits: 4 (application), 17 (user), 32
/// (page), 613 (calls per period); temporary: 2 (service), 1200 (temporary send failure).
const GRAPH: client::GraphRules =
    client::GraphRules { outside_window, rate_limited: &[4, 17, 32, 613], transient: &[2, 1200] };

/// Code 10 with subcode 2018278: outside the 24-hour standard messaging window.
fn outside_window(error: &GraphError) -> bool {
    (error.code, error.subcode) == (10, Some(2_018_278))
}

/// Sends `message` to the customer with PSID `message.recipient` as a `RESPONSE`.
///
/// The text goes first as its own message (`POST /me/messages`, JSON); each file follows as an
/// uploaded attachment (multipart `recipient`, `messaging_type`, `message`, `filedata`) of type
/// `image`, `video`, `audio` or `file` by content type. Each part carries
/// `metadata: "switchboard:<message id>"`, which comes back on its echo. Returns the first `message_id`. A
/// failure after a message has already gone out is made permanent, so that a retry does not
/// send it twice.
pub async fn send(
    apis: &ProviderApis,
    page_access_token: &str,
    message: &OutboundMessage,
) -> Result<String, SendError> {
    send_inner(apis, page_access_token, message)
        .await
        .map_err(|err| redact_send_error(err, page_access_token))
}

async fn send_inner(
    apis: &ProviderApis,
    page_access_token: &str,
    message: &OutboundMessage,
) -> Result<String, SendError> {
    let text = message.text.as_deref().filter(|text| !text.trim().is_empty());
    if text.is_none() && message.files.is_empty() {
        return Err(SendError::Permanent { reason: "nothing to send".into(), outside_window: false });
    }
    let url = format!("{}/me/messages", apis.messenger_base);
    let mut parts = client::Parts::default();
    if let Some(text) = text {
        let body = json!({
            "recipient": { "id": message.recipient },
            "messaging_type": "RESPONSE",
            "message": { "text": text, "metadata": super::echo_tag(message.message_id) },
        });
        let request = apis.http.post(&url).query(&[("access_token", page_access_token)]).json(&body);
        parts.sent(message_id(request).await)?;
    }
    for file in &message.files {
        let request = apis
            .http
            .post(&url)
            .query(&[("access_token", page_access_token)])
            .multipart(attachment_form(message, file));
        parts.sent(message_id(request).await)?;
    }
    parts.into_first_id()
}

/// Downloads an attachment URL from a webhook (a CDN URL that expires), at most `max_bytes`.
///
/// The content type comes from the response; the file name from `Content-Disposition`, or else
/// the URL's last path segment when it looks like a file name (`receipt-51877.pdf`).
pub async fn fetch_media(apis: &ProviderApis, url: &str, max_bytes: u64) -> Result<Downloaded, MediaError> {
    let mut downloaded = client::download(apis.http.get(url), max_bytes).await?;
    if downloaded.file_name.is_none() {
        downloaded.file_name = file_name_from_url(url);
    }
    Ok(downloaded)
}

/// The customer's name (`"first last"`) and profile picture URL:
/// `GET /{psid}?fields=first_name,last_name,profile_pic`.
pub async fn fetch_profile(
    apis: &ProviderApis,
    page_access_token: &str,
    psid: &str,
) -> Result<Profile, SendError> {
    #[derive(Deserialize)]
    struct UserProfile {
        first_name: Option<String>,
        last_name: Option<String>,
        profile_pic: Option<String>,
    }
    let request = apis
        .http
        .get(format!("{}/{psid}", apis.messenger_base))
        .query(&[("fields", "first_name,last_name,profile_pic"), ("access_token", page_access_token)]);
    let result = async {
        let body = GRAPH.check(client::call(request).await?)?;
        client::parse_success::<UserProfile>("Messenger", &body)
    }
    .await;
    let profile = result.map_err(|err| redact_send_error(err, page_access_token))?;
    let name = [profile.first_name, profile.last_name]
        .into_iter()
        .flatten()
        .map(|part| part.trim().to_owned())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Profile {
        name: (!name.is_empty()).then_some(name),
        photo_url: profile.profile_pic.filter(|url| !url.is_empty()),
        photo_file: None,
    })
}

/// Hands the conversation with `psid` back to the primary receiver (the chatbot):
/// `POST /me/pass_thread_control` with `recipient.id` and the optional `metadata`
/// (`target_app_id` is left out, so it defaults to the primary receiver).
pub async fn pass_thread_control(
    apis: &ProviderApis,
    page_access_token: &str,
    psid: &str,
    metadata: Option<&str>,
) -> Result<(), SendError> {
    #[derive(Deserialize)]
    struct Success {
        #[serde(default)]
        success: bool,
    }
    let mut body = json!({ "recipient": { "id": psid } });
    if let Some(metadata) = metadata {
        body["metadata"] = Value::from(metadata);
    }
    let request = apis
        .http
        .post(format!("{}/me/pass_thread_control", apis.messenger_base))
        .query(&[("access_token", page_access_token)])
        .json(&body);
    let result = async {
        let body = GRAPH.check(client::call(request).await?)?;
        client::parse_success::<Success>("Messenger", &body)
    }
    .await;
    match result.map_err(|err| redact_send_error(err, page_access_token))? {
        Success { success: true } => Ok(()),
        Success { success: false } => Err(SendError::Permanent {
            reason: "pass_thread_control was not successful".into(),
            outside_window: false,
        }),
    }
}

/// The multipart upload of one file as an attachment message.
fn attachment_form(message: &OutboundMessage, file: &OutboundFile) -> reqwest::multipart::Form {
    let attachment = json!({
        "attachment": { "type": attachment_type(&file.content_type), "payload": { "is_reusable": false } },
        "metadata": super::echo_tag(message.message_id),
    });
    reqwest::multipart::Form::new()
        .text("recipient", json!({ "id": message.recipient }).to_string())
        .text("messaging_type", "RESPONSE")
        .text("message", attachment.to_string())
        .part("filedata", client::file_part(file))
}

/// `image`, `video`, `audio` by the content type's top level; anything else is a `file`.
fn attachment_type(content_type: &str) -> &'static str {
    let essence = content_type.trim().to_ascii_lowercase();
    if essence.starts_with("image/") {
        "image"
    } else if essence.starts_with("video/") {
        "video"
    } else if essence.starts_with("audio/") {
        "audio"
    } else {
        "file"
    }
}

/// Sends a `/me/messages` request → `message_id`.
async fn message_id(request: reqwest::RequestBuilder) -> Result<String, SendError> {
    #[derive(Deserialize)]
    struct Sent {
        message_id: String,
    }
    let body = GRAPH.check(client::call(request).await?)?;
    Ok(client::parse_success::<Sent>("Messenger", &body)?.message_id)
}

/// The last path segment of `url` when it has an extension, percent-decoded.
fn file_name_from_url(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let segment = parsed.path_segments()?.next_back()?;
    let name = percent_decode(segment)?;
    let (stem, extension) = name.rsplit_once('.')?;
    (!stem.is_empty() && !extension.is_empty() && !name.contains(['/', '\\'])).then_some(name)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use wiremock::matchers::{body_json, body_partial_json, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    const TOKEN: &str = "EAAPage-secret-token-987";
    const PSID: &str = "7391846205738461";
    const MID: &str =
        "m_d471ACntshmGfTVV-E60P6AycObUXUnxwpArdjS1RGJrxI-s0IQ53MAofr0iWRNFYMNZ6DBfuV6kKP75kiHOQr";

    const SEND_REQUEST_TEXT: &str =
        include_str!("../../../../tests/fixtures/channels/messenger/send_request_text.json");
    const SEND_RESPONSE: &str =
        include_str!("../../../../tests/fixtures/channels/messenger/send_response.json");
    const ERROR_OUTSIDE_WINDOW: &str =
        include_str!("../../../../tests/fixtures/channels/messenger/send_error_outside_window.json");
    const ERROR_NOT_THREAD_OWNER: &str =
        include_str!("../../../../tests/fixtures/channels/messenger/send_error_not_thread_owner.json");
    const ERROR_USER_UNAVAILABLE: &str =
        include_str!("../../../../tests/fixtures/channels/messenger/send_error_user_unavailable.json");
    const USER_PROFILE_RESPONSE: &str =
        include_str!("../../../../tests/fixtures/channels/messenger/user_profile_response.json");
    const PASS_THREAD_CONTROL_REQUEST: &str =
        include_str!("../../../../tests/fixtures/channels/messenger/pass_thread_control_request.json");
    const PASS_THREAD_CONTROL_RESPONSE: &str =
        include_str!("../../../../tests/fixtures/channels/messenger/pass_thread_control_response.json");

    fn json_of(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn json_response(status: u16, body: &str) -> ResponseTemplate {
        ResponseTemplate::new(status).set_body_raw(body.to_owned(), "application/json")
    }

    /// A fixture's Send API request with the metadata Switchboard adds (message 42).
    fn with_metadata(mut request: Value) -> Value {
        request["message"]["metadata"] = Value::from("switchboard:42");
        request
    }

    fn text_message() -> OutboundMessage {
        let request = json_of(SEND_REQUEST_TEXT);
        OutboundMessage {
            message_id: crate::domain::ids::MessageId(42),
            recipient: PSID.into(),
            text: Some(request["message"]["text"].as_str().unwrap().into()),
            files: vec![],
            hand_back: false,
            template: None,
        }
    }

    fn reason_of(err: &SendError) -> &str {
        match err {
            SendError::Retryable { reason, .. } | SendError::Permanent { reason, .. } => reason,
        }
    }

    async fn send_failing_with(status: u16, body: &str) -> SendError {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/me/messages"))
            .respond_with(json_response(status, body))
            .expect(1)
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());
        let err = send(&apis, TOKEN, &text_message()).await.unwrap_err();
        assert!(!reason_of(&err).contains(TOKEN), "{err:?}");
        err
    }

    #[tokio::test]
    async fn sends_a_text_message() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/me/messages"))
            .and(query_param("access_token", TOKEN))
            .and(body_json(with_metadata(json_of(SEND_REQUEST_TEXT))))
            .respond_with(json_response(200, SEND_RESPONSE))
            .expect(1)
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());

        let id = send(&apis, TOKEN, &text_message()).await.unwrap();

        assert_eq!(id, MID);
    }

    #[tokio::test]
    async fn sends_the_text_then_each_file_as_an_upload() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/me/messages"))
            .and(query_param("access_token", TOKEN))
            .and(body_partial_json(json!({"message": {"text": "Your label"}})))
            .respond_with(json_response(200, SEND_RESPONSE))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/me/messages"))
            .and(query_param("access_token", TOKEN))
            .and(wiremock::matchers::header_regex("content-type", "^multipart/form-data; boundary="))
            .respond_with(json_response(200, r#"{"recipient_id":"7391846205738461","message_id":"m_file"}"#))
            .expect(2)
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());
        let message = OutboundMessage {
            message_id: crate::domain::ids::MessageId(42),
            recipient: PSID.into(),
            text: Some("Your label".into()),
            files: vec![
                OutboundFile {
                    file_name: "label.pdf".into(),
                    content_type: "application/pdf".into(),
                    bytes: b"%PDF".to_vec(),
                },
                OutboundFile {
                    file_name: "box.jpg".into(),
                    content_type: "image/jpeg".into(),
                    bytes: vec![0xff],
                },
            ],
            hand_back: false,
            template: None,
        };

        let id = send(&apis, TOKEN, &message).await.unwrap();

        assert_eq!(id, MID);
        let requests = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 3);
        assert_eq!(requests[0].body_json::<Value>().unwrap()["message"]["text"], "Your label");
        assert_eq!(requests[0].body_json::<Value>().unwrap()["message"]["metadata"], "switchboard:42");
        let form = String::from_utf8_lossy(&requests[1].body);
        assert!(form.contains("name=\"recipient\"\r\n\r\n{\"id\":\"7391846205738461\"}\r\n"), "{form}");
        assert!(form.contains("name=\"messaging_type\"\r\n\r\nRESPONSE\r\n"), "{form}");
        assert!(
            form.contains(
                "name=\"message\"\r\n\r\n{\"attachment\":{\"payload\":{\"is_reusable\":false},\"type\":\"file\"},\"metadata\":\"switchboard:42\"}\r\n"
            ),
            "{form}"
        );
        assert!(form.contains("name=\"filedata\"; filename=\"label.pdf\""), "{form}");
        assert!(form.contains("Content-Type: application/pdf\r\n\r\n%PDF\r\n"), "{form}");
        let form = String::from_utf8_lossy(&requests[2].body);
        assert!(form.contains("\"type\":\"image\""), "{form}");
        assert!(form.contains("name=\"filedata\"; filename=\"box.jpg\""), "{form}");
    }

    #[tokio::test]
    async fn outside_the_window_is_permanent_and_flagged() {
        let err = send_failing_with(400, ERROR_OUTSIDE_WINDOW).await;
        let SendError::Permanent { reason, outside_window: true } = &err else { panic!("{err:?}") };
        assert!(reason.starts_with("10: (#10) This message is sent outside of allowed window"), "{reason}");
    }

    #[tokio::test]
    async fn not_the_thread_owner_is_permanent() {
        let err = send_failing_with(400, ERROR_NOT_THREAD_OWNER).await;
        assert_eq!(
            err,
            SendError::Permanent {
                reason:
                    "10: (#10) Message failed to send because another app is controlling this thread now."
                        .into(),
                outside_window: false,
            }
        );
    }

    #[tokio::test]
    async fn an_unavailable_user_is_permanent() {
        let err = send_failing_with(400, ERROR_USER_UNAVAILABLE).await;
        assert_eq!(
            err,
            SendError::Permanent {
                reason: "551: (#551) This person isn't available right now.".into(),
                outside_window: false
            }
        );
    }

    #[tokio::test]
    async fn an_expired_token_is_permanent() {
        let body =
            r#"{"error":{"message":"Error validating access token","type":"OAuthException","code":190}}"#;
        let err = send_failing_with(400, body).await;
        assert!(matches!(err, SendError::Permanent { outside_window: false, .. }), "{err:?}");
    }

    #[tokio::test]
    async fn rate_limits_and_server_errors_are_retryable() {
        for code in [4, 17, 32, 613] {
            let body = format!(r#"{{"error":{{"message":"(#{code}) Too many calls","code":{code}}}}}"#);
            let err = send_failing_with(400, &body).await;
            assert_eq!(
                err,
                SendError::Retryable {
                    reason: format!("{code}: (#{code}) Too many calls"),
                    retry_after: None
                }
            );
        }
        let err = send_failing_with(500, "internal").await;
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
        assert!(!err.to_string().contains(TOKEN), "{err}");
        assert!(!err.to_string().contains("access_token"), "{err}");
    }

    #[tokio::test]
    async fn a_failed_file_after_the_text_is_permanent() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/me/messages"))
            .and(body_partial_json(json!({"message": {"text": "hi"}})))
            .respond_with(json_response(200, SEND_RESPONSE))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/me/messages"))
            .respond_with(json_response(503, "busy"))
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());
        let file = OutboundFile {
            file_name: "a.txt".into(),
            content_type: "text/plain".into(),
            bytes: b"a".to_vec(),
        };
        let message = OutboundMessage {
            message_id: crate::domain::ids::MessageId(42),
            recipient: PSID.into(),
            text: Some("hi".into()),
            files: vec![file],
            hand_back: false,
            template: None,
        };
        let err = send(&apis, TOKEN, &message).await.unwrap_err();
        assert_eq!(
            err,
            SendError::Permanent {
                reason: format!("partly delivered (first message {MID}); then: HTTP 503 Service Unavailable"),
                outside_window: false,
            }
        );
    }

    #[tokio::test]
    async fn fetches_an_attachment_with_its_content_type_and_name() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v/t59.2708-21/437718265_n.pdf/receipt-51877.pdf"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(b"%PDF-1.4".to_vec(), "application/pdf"))
            .expect(1)
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at("http://unused.invalid");
        let url =
            format!("{}/v/t59.2708-21/437718265_n.pdf/receipt-51877.pdf?_nc_cat=108&dl=1", server.uri());

        let got = fetch_media(&apis, &url, 100).await.unwrap();

        assert_eq!(got.bytes, b"%PDF-1.4");
        assert_eq!(got.content_type.as_deref(), Some("application/pdf"));
        assert_eq!(got.file_name.as_deref(), Some("receipt-51877.pdf"));
    }

    #[tokio::test]
    async fn an_attachment_over_the_limit_is_refused() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(vec![0u8; 5000], "image/jpeg"))
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());
        let err = fetch_media(&apis, &format!("{}/x.jpg", server.uri()), 4999).await.unwrap_err();
        assert_eq!(err, MediaError::TooLarge { limit: 4999 });
        let err = fetch_media(&apis, &format!("{}/gone", server.uri()), 10).await;
        assert!(err.is_err());
    }

    #[tokio::test]
    async fn an_expired_attachment_url_fails() {
        let server = MockServer::start().await;
        Mock::given(method("GET")).respond_with(ResponseTemplate::new(403)).mount(&server).await;
        let apis = ProviderApis::all_at(&server.uri());
        let err = fetch_media(&apis, &format!("{}/x.jpg", server.uri()), 10).await.unwrap_err();
        assert_eq!(err, MediaError::Failed("HTTP 403 Forbidden".into()));
    }

    #[tokio::test]
    async fn fetches_a_profile() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(format!("/{PSID}")))
            .and(query_param("fields", "first_name,last_name,profile_pic"))
            .and(query_param("access_token", TOKEN))
            .respond_with(json_response(200, USER_PROFILE_RESPONSE))
            .expect(1)
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());

        let profile = fetch_profile(&apis, TOKEN, PSID).await.unwrap();

        let expected_pic = json_of(USER_PROFILE_RESPONSE)["profile_pic"].as_str().unwrap().to_owned();
        assert_eq!(
            profile,
            Profile { name: Some("Sofia Marquez".into()), photo_url: Some(expected_pic), photo_file: None }
        );
    }

    #[tokio::test]
    async fn a_profile_error_is_classified() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(json_response(400, ERROR_USER_UNAVAILABLE))
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());
        let err = fetch_profile(&apis, TOKEN, PSID).await.unwrap_err();
        assert!(matches!(err, SendError::Permanent { outside_window: false, .. }), "{err:?}");
        assert!(!err.to_string().contains(TOKEN));
    }

    #[tokio::test]
    async fn passes_thread_control_to_the_primary_receiver() {
        let mut expected = json_of(PASS_THREAD_CONTROL_REQUEST);
        expected.as_object_mut().unwrap().remove("target_app_id");
        let metadata = expected["metadata"].as_str().unwrap().to_owned();
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/me/pass_thread_control"))
            .and(query_param("access_token", TOKEN))
            .and(body_json(expected))
            .respond_with(json_response(200, PASS_THREAD_CONTROL_RESPONSE))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/me/pass_thread_control"))
            .and(body_json(json!({"recipient": {"id": "6829301745562198"}})))
            .respond_with(json_response(200, r#"{"success":false}"#))
            .expect(1)
            .mount(&server)
            .await;
        let apis = ProviderApis::all_at(&server.uri());

        pass_thread_control(&apis, TOKEN, PSID, Some(&metadata)).await.unwrap();
        let err = pass_thread_control(&apis, TOKEN, "6829301745562198", None).await.unwrap_err();

        assert!(matches!(err, SendError::Permanent { .. }), "{err:?}");
    }

    #[test]
    fn file_names_from_urls() {
        assert_eq!(file_name_from_url("https://cdn.example/a/b%20c.pdf?x=1").as_deref(), Some("b c.pdf"));
        assert_eq!(file_name_from_url("https://cdn.example/a/b").as_deref(), None);
        assert_eq!(file_name_from_url("not a url").as_deref(), None);
    }

    #[test]
    fn attachment_types() {
        assert_eq!(attachment_type("image/png"), "image");
        assert_eq!(attachment_type("video/mp4"), "video");
        assert_eq!(attachment_type("audio/mpeg"), "audio");
        assert_eq!(attachment_type("application/zip"), "file");
    }
}
