//! Load generation: signed WhatsApp Cloud API webhook bodies, and concurrent senders that post
//! them and time each answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::server::{APP_SECRET, PHONE_NUMBER_ID};

/// How many failed requests are kept verbatim for printing.
const ERROR_SAMPLES: usize = 5;

/// One webhook request, ready to send.
pub struct Payload {
    /// The raw JSON body.
    body: Vec<u8>,
    /// The `X-Hub-Signature-256` header value for it.
    signature: String,
}

impl Payload {
    /// Signs `body` with the bench channel's app secret.
    pub fn new(body: Vec<u8>) -> Self {
        let signature = sign(APP_SECRET, &body);
        Self { body, signature }
    }
}

/// `sha256=<lowercase hex HMAC-SHA256(body, key = secret)>`: Meta's `X-Hub-Signature-256`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Makes webhook bodies in the shape of a WhatsApp Cloud API text message, each with a
/// message id (wamid) never used before in this run.
pub struct Generator {
    run: String,
    next_message: u64,
    next_customer: u64,
}

impl Generator {
    /// A generator whose wamids carry `run`, so runs never collide.
    pub fn new(run: &str) -> Self {
        Self { run: run.to_owned(), next_message: 0, next_customer: 0 }
    }

    /// A message from a customer never seen before.
    pub fn new_customer_message(&mut self) -> Payload {
        let customer = self.next_customer;
        self.next_customer += 1;
        self.message(&format!("1555{customer:08}"), &format!("New Customer {customer}"))
    }

    /// A message from customer number `n` of the fixed set of returning customers.
    pub fn returning_customer_message(&mut self, n: usize) -> Payload {
        self.message(&format!("1444{n:08}"), &format!("Returning Customer {n}"))
    }

    /// A message from the customer with WhatsApp id (international digits) `phone` and
    /// profile name `name`.
    pub fn message(&mut self, phone: &str, name: &str) -> Payload {
        let n = self.next_message;
        self.next_message += 1;
        let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
        let body = json!({
            "object": "whatsapp_business_account",
            "entry": [{
                "id": "102938475610293",
                "changes": [{
                    "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {
                            "display_phone_number": "15550101234",
                            "phone_number_id": PHONE_NUMBER_ID,
                        },
                        "contacts": [{ "profile": { "name": name }, "wa_id": phone }],
                        "messages": [{
                            "from": phone,
                            "id": format!("wamid.bench-{}-{n}", self.run),
                            "timestamp": timestamp.to_string(),
                            "type": "text",
                            "text": { "body": format!("Hi, this is benchmark message {n}. Where is my order?") },
                        }],
                    },
                    "field": "messages",
                }],
            }],
        });
        Payload::new(serde_json::to_vec(&body).expect("a JSON value serialises"))
    }
}

/// What sending a batch of webhooks gave.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Requests answered 200.
    pub ok: usize,
    /// Requests answered anything else, or not answered at all.
    pub errors: usize,
    /// A few of those failures, described.
    pub error_samples: Vec<String>,
    /// Wall time from the first request sent to the last answer received.
    pub elapsed: Duration,
    /// Latency of every answered request, sorted ascending.
    pub latencies: Vec<Duration>,
}

impl Outcome {
    /// Records one finished operation: its latency, and its failure if it failed.
    pub fn record(&mut self, latency: Duration, failure: Option<String>) {
        self.latencies.push(latency);
        match failure {
            None => self.ok += 1,
            Some(description) => self.failed(description),
        }
    }

    fn failed(&mut self, description: String) {
        self.errors += 1;
        if self.error_samples.len() < ERROR_SAMPLES {
            self.error_samples.push(description);
        }
    }

    /// Waits for the tasks of a closed-loop run started at `started` and adds up what each
    /// measured (a task that panicked counts as one failure), latencies sorted.
    pub async fn gather(tasks: Vec<tokio::task::JoinHandle<Outcome>>, started: Instant) -> Outcome {
        let mut total = Outcome::default();
        for task in tasks {
            match task.await {
                Ok(outcome) => {
                    total.ok += outcome.ok;
                    total.errors += outcome.errors;
                    total.latencies.extend(outcome.latencies);
                    for sample in outcome.error_samples {
                        if total.error_samples.len() < ERROR_SAMPLES {
                            total.error_samples.push(sample);
                        }
                    }
                }
                Err(err) => total.failed(format!("task failed: {err}")),
            }
        }
        total.elapsed = started.elapsed();
        total.latencies.sort_unstable();
        total
    }

    /// Adds a later run's counts, time and latencies to this one's (rounds of one measurement).
    pub fn add(&mut self, other: Outcome) {
        self.ok += other.ok;
        self.errors += other.errors;
        for sample in other.error_samples {
            if self.error_samples.len() < ERROR_SAMPLES {
                self.error_samples.push(sample);
            }
        }
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
        self.latencies.sort_unstable();
    }

    /// Successful requests per second of wall time.
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// The `p`-th percentile latency (nearest rank; `p` in 0..=100); zero when nothing was
    /// answered.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }
}

/// Posts every payload to `url` with `senders` concurrent senders, each sending its next
/// request as soon as the previous one is answered.
pub async fn send_all(
    client: &reqwest::Client,
    url: &str,
    payloads: Vec<Payload>,
    senders: usize,
) -> Outcome {
    let payloads = Arc::new(payloads);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..senders.max(1))
        .map(|_| {
            let (client, url, payloads, next) =
                (client.clone(), url.to_owned(), payloads.clone(), next.clone());
            tokio::spawn(async move {
                let mut outcome = Outcome::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(payload) = payloads.get(i) else { break };
                    let sent = Instant::now();
                    let result = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .header("x-hub-signature-256", &payload.signature)
                        .body(payload.body.clone())
                        .send()
                        .await;
                    let failure = match result {
                        Ok(response) => {
                            let status = response.status();
                            match response.text().await {
                                Ok(_) if status == reqwest::StatusCode::OK => None,
                                Ok(text) => Some(format!("HTTP {status}: {}", text.trim())),
                                Err(err) => Some(format!("HTTP {status}, body unreadable: {err}")),
                            }
                        }
                        Err(err) => Some(format!("request failed: {err}")),
                    };
                    outcome.record(sent.elapsed(), failure);
                }
                outcome
            })
        })
        .collect();
    Outcome::gather(tasks, started).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_hmac() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), RFC-style test vector.
        assert_eq!(
            sign("key", b"The quick brown fox jumps over the lazy dog"),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn bodies_are_unique_and_well_formed() {
        let mut generator = Generator::new("t");
        let a: serde_json::Value = serde_json::from_slice(&generator.new_customer_message().body).unwrap();
        let b: serde_json::Value =
            serde_json::from_slice(&generator.returning_customer_message(3).body).unwrap();
        let value = |v: &serde_json::Value| v["entry"][0]["changes"][0]["value"].clone();
        assert_ne!(value(&a)["messages"][0]["id"], value(&b)["messages"][0]["id"]);
        assert_eq!(value(&b)["messages"][0]["from"], "144400000003");
        assert_eq!(value(&b)["contacts"][0]["wa_id"], "144400000003");
        assert_eq!(value(&a)["metadata"]["phone_number_id"], PHONE_NUMBER_ID);
        assert!(value(&a)["messages"][0]["timestamp"].as_str().unwrap().parse::<u64>().is_ok());
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let outcome =
            Outcome { latencies: (1..=100).map(Duration::from_millis).collect(), ..Outcome::default() };
        assert_eq!(outcome.percentile(50.0), Duration::from_millis(50));
        assert_eq!(outcome.percentile(99.0), Duration::from_millis(99));
        assert_eq!(outcome.percentile(100.0), Duration::from_millis(100));
    }
}
