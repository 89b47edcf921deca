//! The HTTP client and base URLs for the providers' APIs (configurable so tests point them
//! at a local fake).

use std::time::Duration;

use super::{Downloaded, MediaError, OutboundFile, SendError};

/// Where each provider's API lives, and the client to call it with.
#[derive(Clone, Debug)]
pub struct ProviderApis {
    /// Shared HTTP client (connection pooling, timeouts).
    pub http: reqwest::Client,
    /// WhatsApp Graph API base, e.g. `https://graph.facebook.com/v21.0`.
    pub whatsapp_base: String,
    /// Messenger Graph API base, e.g. `https://graph.facebook.com/v21.0`.
    pub messenger_base: String,
    /// Telegram Bot API base, e.g. `https://api.telegram.org`.
    pub telegram_base: String,
}

impl ProviderApis {
    /// Clients with a request timeout, against the given bases (trailing slashes trimmed).
    pub fn new(whatsapp_base: &str, messenger_base: &str, telegram_base: &str, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a rustls client builds");
        Self {
            http,
            whatsapp_base: whatsapp_base.trim_end_matches('/').to_owned(),
            messenger_base: messenger_base.trim_end_matches('/').to_owned(),
            telegram_base: telegram_base.trim_end_matches('/').to_owned(),
        }
    }

    /// Every provider at one base URL (tests: one wiremock server for all).
    pub fn all_at(base: &str) -> Self {
        Self::new(base, base, base, Duration::from_secs(10))
    }
}

/// Downloads the body of `request`, refusing anything larger than `max_bytes`.
///
/// A declared `Content-Length` over the limit fails before reading; otherwise the body is read
/// chunk by chunk and the download stops as soon as it passes the limit (chunked or lying
/// responses included). The content type and a `Content-Disposition` file name come from the
/// response headers. Error texts never contain the request URL.
pub async fn download(request: reqwest::RequestBuilder, max_bytes: u64) -> Result<Downloaded, MediaError> {
    let mut response = request.send().await.map_err(|err| MediaError::Failed(describe_error(err)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(MediaError::Failed(format!("HTTP {status}")));
    }
    let declared = response.content_length();
    if declared.is_some_and(|len| len > max_bytes) {
        return Err(MediaError::TooLarge { limit: max_bytes });
    }
    let headers = response.headers();
    let content_type = header_text(headers, reqwest::header::CONTENT_TYPE);
    let file_name =
        header_text(headers, reqwest::header::CONTENT_DISPOSITION).and_then(|v| disposition_file_name(&v));
    let capacity = declared.unwrap_or(0).min(max_bytes).min(16 * 1024 * 1024);
    let mut bytes = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(|err| MediaError::Failed(describe_error(err)))? {
        if bytes.len() as u64 + chunk.len() as u64 > max_bytes {
            return Err(MediaError::TooLarge { limit: max_bytes });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Downloaded { bytes, content_type, file_name })
}

/// A reqwest error as text without the request URL (Telegram and Messenger URLs carry the
/// token), followed by its causes, e.g. `error sending request: client error (Connect): ...`.
pub fn describe_error(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `text` with every occurrence of `secret` replaced by `[redacted]`.
pub fn redact(text: &str, secret: &str) -> String {
    if secret.is_empty() { text.to_owned() } else { text.replace(secret, "[redacted]") }
}

/// A [`SendError`] whose reason has `secret` redacted.
pub fn redact_send_error(err: SendError, secret: &str) -> SendError {
    match err {
        SendError::Retryable { reason, retry_after } => {
            SendError::Retryable { reason: redact(&reason, secret), retry_after }
        }
        SendError::Permanent { reason, outside_window } => {
            SendError::Permanent { reason: redact(&reason, secret), outside_window }
        }
    }
}

/// A [`MediaError`] whose text has `secret` redacted.
pub fn redact_media_error(err: MediaError, secret: &str) -> MediaError {
    match err {
        MediaError::Failed(reason) => MediaError::Failed(redact(&reason, secret)),
        too_large @ MediaError::TooLarge { .. } => too_large,
    }
}

/// A provider API answer, read completely.
#[derive(Debug)]
pub struct ApiResponse {
    /// HTTP status.
    pub status: reqwest::StatusCode,
    /// The `Retry-After` header, when given in seconds.
    pub retry_after: Option<Duration>,
    /// The body.
    pub body: Vec<u8>,
}

/// Sends `request` and reads the answer; network errors and timeouts are
/// [`SendError::Retryable`] (without the URL in the reason).
pub async fn call(request: reqwest::RequestBuilder) -> Result<ApiResponse, SendError> {
    let retryable = |err| SendError::Retryable { reason: describe_error(err), retry_after: None };
    let response = request.send().await.map_err(retryable)?;
    let status = response.status();
    let retry_after = header_text(response.headers(), reqwest::header::RETRY_AFTER)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = response.bytes().await.map_err(retryable)?.to_vec();
    Ok(ApiResponse { status, retry_after, body })
}

/// The error for a failed answer whose body says nothing useful: 5xx, 429 and 408 are worth
/// retrying, other statuses are not.
pub fn status_error(status: reqwest::StatusCode, retry_after: Option<Duration>) -> SendError {
    let reason = format!("HTTP {status}");
    if status.is_server_error()
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
    {
        SendError::Retryable { reason, retry_after }
    } else {
        SendError::Permanent { reason, outside_window: false }
    }
}

/// Parses a successful answer's body; a body that does not fit is a permanent error (the
/// provider accepted the request, so retrying could send the message twice).
pub fn parse_success<T: serde::de::DeserializeOwned>(provider: &str, body: &[u8]) -> Result<T, SendError> {
    serde_json::from_slice(body).map_err(|err| SendError::Permanent {
        reason: format!("unexpected response from {provider}: {err}"),
        outside_window: false,
    })
}

/// The Graph API error envelope (WhatsApp and Messenger):
/// `{"error": {"code", "error_subcode", "message", "error_data": {"details"}}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphError {
    /// `error.code`.
    pub code: i64,
    /// `error.error_subcode`.
    pub subcode: Option<i64>,
    /// `"{code}: {message}"`, plus ` ({details})` when `error_data.details` is present.
    pub reason: String,
}

impl GraphError {
    /// The envelope in `body`, if it is one.
    pub fn parse(body: &[u8]) -> Option<Self> {
        #[derive(serde::Deserialize)]
        struct Envelope {
            error: Body,
        }
        #[derive(serde::Deserialize)]
        struct Body {
            code: i64,
            error_subcode: Option<i64>,
            #[serde(default)]
            message: String,
            error_data: Option<serde_json::Value>,
        }
        let Envelope { error } = serde_json::from_slice(body).ok()?;
        let details = match &error.error_data {
            Some(serde_json::Value::Object(data)) => data.get("details").and_then(|d| d.as_str()),
            Some(serde_json::Value::String(text)) => Some(text.as_str()),
            _ => None,
        }
        .filter(|d| !d.is_empty());
        let mut reason = format!("{}: {}", error.code, error.message);
        if let Some(details) = details {
            reason.push_str(&format!(" ({details})"));
        }
        Some(Self { code: error.code, subcode: error.error_subcode, reason })
    }
}

/// How one Meta product (WhatsApp, Messenger) classifies its Graph API errors: outside the
/// customer-care window → permanent and flagged; rate limits, Meta's temporary codes, 5xx and
/// 429 → retryable; anything else (a bad token, a blocked user, other 4xx) → permanent.
#[derive(Clone, Copy, Debug)]
pub struct GraphRules {
    /// Whether the error means the customer-care window has closed.
    pub outside_window: fn(&GraphError) -> bool,
    /// Rate-limit codes.
    pub rate_limited: &'static [i64],
    /// Meta's "temporary, try again" codes.
    pub transient: &'static [i64],
}

impl GraphRules {
    /// The body of a successful answer, or its error classified.
    pub fn check(&self, response: ApiResponse) -> Result<Vec<u8>, SendError> {
        if response.status.is_success() {
            return Ok(response.body);
        }
        let Some(error) = GraphError::parse(&response.body) else {
            return Err(status_error(response.status, response.retry_after));
        };
        Err(self.classify(&error, response.status, response.retry_after))
    }

    /// The send error a Graph error stands for.
    pub fn classify(
        &self,
        error: &GraphError,
        status: reqwest::StatusCode,
        retry_after: Option<Duration>,
    ) -> SendError {
        let reason = error.reason.clone();
        if (self.outside_window)(error) {
            SendError::Permanent { reason, outside_window: true }
        } else if self.rate_limited.contains(&error.code)
            || self.transient.contains(&error.code)
            || status.is_server_error()
            || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        {
            SendError::Retryable { reason, retry_after }
        } else {
            SendError::Permanent { reason, outside_window: false }
        }
    }
}

/// A multipart file part: the bytes with the file name and content type (falling back to
/// `application/octet-stream` when the content type is not a valid MIME type).
pub fn file_part(file: &OutboundFile) -> reqwest::multipart::Part {
    let content_type = if reqwest::multipart::Part::bytes(Vec::new()).mime_str(&file.content_type).is_ok() {
        file.content_type.as_str()
    } else {
        "application/octet-stream"
    };
    reqwest::multipart::Part::bytes(file.bytes.clone())
        .file_name(file.file_name.clone())
        .mime_str(content_type)
        .expect("a valid MIME type")
}

fn header_text(headers: &reqwest::header::HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// The `filename` of a `Content-Disposition` header (the plain form, quoted or not).
fn disposition_file_name(value: &str) -> Option<String> {
    value.split(';').map(str::trim).find_map(|param| {
        let (key, name) = param.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("filename") {
            return None;
        }
        let name = name.trim().trim_matches('"');
        let name = name.rsplit(['/', '\\']).next().unwrap_or(name);
        (!name.is_empty()).then(|| name.to_owned())
    })
}

/// The provider messages one reply goes out as (text, then each file), sent one after
/// another. The reply's provider id is its first part's. A failure once a part has gone out
/// is made permanent ("partly delivered"), so that a retry never sends that part again.
#[derive(Debug, Default)]
pub struct Parts {
    first_id: Option<String>,
}

impl Parts {
    /// Records one part's outcome; a failure comes back as the reply's error.
    pub fn sent(&mut self, result: Result<String, SendError>) -> Result<(), SendError> {
        match result {
            Ok(id) => {
                self.first_id.get_or_insert(id);
                Ok(())
            }
            Err(err) => Err(self.after_partial_delivery(err)),
        }
    }

    /// The reply's provider id, once every part has gone out.
    pub fn into_first_id(self) -> Result<String, SendError> {
        self.first_id
            .ok_or_else(|| SendError::Permanent { reason: "nothing to send".into(), outside_window: false })
    }

    fn after_partial_delivery(&self, err: SendError) -> SendError {
        let Some(first_id) = &self.first_id else { return err };
        let (reason, outside_window) = match err {
            SendError::Retryable { reason, .. } => (reason, false),
            SendError::Permanent { reason, outside_window } => (reason, outside_window),
        };
        SendError::Permanent {
            reason: format!("partly delivered (first message {first_id}); then: {reason}"),
            outside_window,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_after_a_part_went_out_is_permanent() {
        let mut parts = Parts::default();
        let retryable = || SendError::Retryable { reason: "503".into(), retry_after: None };
        // Nothing out yet: the error stays as it is (a retry is safe).
        assert_eq!(parts.sent(Err(retryable())), Err(retryable()));
        parts.sent(Ok("m1".into())).unwrap();
        parts.sent(Ok("m2".into())).unwrap();
        let err = parts.sent(Err(retryable())).unwrap_err();
        assert_eq!(
            err,
            SendError::Permanent {
                reason: "partly delivered (first message m1); then: 503".into(),
                outside_window: false
            }
        );
        let window = SendError::Permanent { reason: "131047".into(), outside_window: true };
        assert!(matches!(parts.sent(Err(window)), Err(SendError::Permanent { outside_window: true, .. })));
        assert_eq!(parts.into_first_id().unwrap(), "m1");
        assert!(Parts::default().into_first_id().is_err());
    }
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Serves one chunked response (no Content-Length) of `total` bytes.
    async fn chunked_server(total: usize) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = vec![0u8; 4096];
            let _ = socket.read(&mut request).await;
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\n\
                        Content-Disposition: attachment; filename=\"label.pdf\"\r\n\
                        Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
            let _ = socket.write_all(head.as_bytes()).await;
            let mut left = total;
            while left > 0 {
                let size = left.min(100);
                let chunk = format!("{size:x}\r\n{}\r\n", "x".repeat(size));
                if socket.write_all(chunk.as_bytes()).await.is_err() {
                    return;
                }
                left -= size;
            }
            let _ = socket.write_all(b"0\r\n\r\n").await;
        });
        format!("http://{address}/file")
    }

    #[tokio::test]
    async fn download_reads_an_undeclared_size_within_the_limit() {
        let url = chunked_server(250).await;
        let got = download(reqwest::Client::new().get(url), 250).await.unwrap();
        assert_eq!(got.bytes.len(), 250);
        assert_eq!(got.content_type.as_deref(), Some("application/pdf"));
        assert_eq!(got.file_name.as_deref(), Some("label.pdf"));
    }

    #[tokio::test]
    async fn download_stops_past_the_limit_without_a_declared_size() {
        let url = chunked_server(1000).await;
        let err = download(reqwest::Client::new().get(url), 250).await.unwrap_err();
        assert_eq!(err, MediaError::TooLarge { limit: 250 });
    }

    #[tokio::test]
    async fn download_errors_do_not_contain_the_url() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let url = format!("http://127.0.0.1:{port}/file/botSECRET-TOKEN/doc.pdf");
        let MediaError::Failed(reason) = download(reqwest::Client::new().get(url), 10).await.unwrap_err()
        else {
            panic!("expected Failed");
        };
        assert!(!reason.contains("SECRET-TOKEN"), "{reason}");
        assert!(!reason.contains("127.0.0.1"), "{reason}");
    }

    #[test]
    fn graph_error_reason_has_code_message_and_details() {
        let body = br#"{"error":{"message":"(#131047) Re-engagement message","code":131047,
            "error_data":{"messaging_product":"whatsapp","details":"More than 24 hours."}}}"#;
        let err = GraphError::parse(body).unwrap();
        assert_eq!(err.code, 131047);
        assert_eq!(err.subcode, None);
        assert_eq!(err.reason, "131047: (#131047) Re-engagement message (More than 24 hours.)");
        assert_eq!(GraphError::parse(b"<html>bad gateway</html>"), None);
    }

    #[test]
    fn disposition_file_names() {
        assert_eq!(disposition_file_name("attachment; filename=\"a b.pdf\"").as_deref(), Some("a b.pdf"));
        assert_eq!(disposition_file_name("inline; filename=x.jpg").as_deref(), Some("x.jpg"));
        assert_eq!(disposition_file_name("inline").as_deref(), None);
    }
}
