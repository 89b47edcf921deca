//! Property tests: the webhook parsers and the GraphQL request decoder never panic, whatever
//! bytes arrive — random bytes, and the providers' real payloads mutated byte by byte and
//! value by value (issue 10, "Also").

use api::channels::ChannelKeys;
use api::graphql::limits::{self, DocumentLimits};
use proptest::prelude::*;
use serde_json::Value;

macro_rules! fixtures {
    ($($path:literal),* $(,)?) => {
        &[$(include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/channels/", $path))),*]
    };
}

const WHATSAPP: &[&[u8]] = fixtures!(
    "whatsapp/text_message.json",
    "whatsapp/image_message.json",
    "whatsapp/audio_message.json",
    "whatsapp/document_message.json",
    "whatsapp/two_messages_batched.json",
    "whatsapp/status_sent.json",
    "whatsapp/status_delivered.json",
    "whatsapp/status_read.json",
    "whatsapp/status_failed_outside_window.json",
);
const MESSENGER: &[&[u8]] = fixtures!(
    "messenger/text_message.json",
    "messenger/attachment_image.json",
    "messenger/attachment_audio.json",
    "messenger/attachment_file.json",
    "messenger/batched_entries.json",
    "messenger/delivery.json",
    "messenger/read.json",
    "messenger/echo.json",
    "messenger/pass_thread_control.json",
    "messenger/take_thread_control.json",
    "messenger/request_thread_control.json",
    "messenger/standby_message.json",
    "messenger/standby_echo_from_bot.json",
);
const TELEGRAM: &[&[u8]] = fixtures!(
    "telegram/text_message.json",
    "telegram/photo_message.json",
    "telegram/voice_message.json",
    "telegram/document_message.json",
    "telegram/edited_message.json",
    "telegram/bot_command_start.json",
);

type Parser = fn(&[u8], &ChannelKeys) -> Result<Vec<api::channels::InboundEvent>, api::channels::ParseError>;

const PARSERS: [(Parser, &[&[u8]]); 3] = [
    (api::channels::whatsapp::webhook::parse, WHATSAPP),
    (api::channels::messenger::webhook::parse, MESSENGER),
    (api::channels::telegram::webhook::parse, TELEGRAM),
];

/// The fixtures' own account ids, so mutated payloads get past the "not our page" check.
fn keys() -> ChannelKeys {
    ChannelKeys { phone_number_id: Some("109876543210987".into()), page_id: Some("104857361029384".into()) }
}

/// A small deterministic generator, seeded by proptest, for mutations of JSON values.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % sides.max(1)
    }

    /// A value of another shape than the one it replaces (types a parser may not expect).
    fn value(&mut self, depth: u32) -> Value {
        match self.roll(if depth > 2 { 6 } else { 8 }) {
            0 => Value::Null,
            1 => Value::Bool(self.roll(2) == 0),
            2 => Value::from(self.roll(u64::MAX) as i64),
            3 => Value::from(-1.5e300),
            4 => Value::from(""),
            5 => Value::from("x".repeat(self.roll(300) as usize) + "é\u{0}\u{202e}"),
            6 => Value::Array((0..self.roll(4)).map(|_| self.value(depth + 1)).collect()),
            _ => Value::Object((0..self.roll(4)).map(|n| (format!("k{n}"), self.value(depth + 1))).collect()),
        }
    }

    /// Walks `value`, replacing, removing or duplicating some of its parts.
    fn mutate(&mut self, value: &mut Value, depth: u32) {
        if self.roll(6) == 0 {
            *value = self.value(depth);
            return;
        }
        match value {
            Value::Object(map) => {
                let keys: Vec<String> = map.keys().cloned().collect();
                for key in keys {
                    match self.roll(8) {
                        0 => {
                            map.remove(&key);
                        }
                        _ => {
                            if let Some(inner) = map.get_mut(&key) {
                                self.mutate(inner, depth + 1);
                            }
                        }
                    }
                }
            }
            Value::Array(items) => {
                if !items.is_empty() && self.roll(4) == 0 {
                    let copy = items[0].clone();
                    items.push(copy);
                }
                for item in items.iter_mut() {
                    self.mutate(item, depth + 1);
                }
            }
            _ => {}
        }
    }
}

fn limits() -> DocumentLimits {
    DocumentLimits { max_depth: 12, max_complexity: 5000, max_aliases: 100, introspection: true }
}

/// GraphQL-ish text: the characters and words the grammar is made of.
fn graphql_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("...".to_owned()),
        Just("fragment F on Query".to_owned()),
        Just("...F".to_owned()),
        Just("query".to_owned()),
        Just("mutation".to_owned()),
        Just("subscription".to_owned()),
        Just("$v".to_owned()),
        Just(":".to_owned()),
        Just("\"".to_owned()),
        Just("\"\"\"".to_owned()),
        Just("#".to_owned()),
        Just("\n".to_owned()),
        Just("@include(if: true)".to_owned()),
        Just("me".to_owned()),
        Just("a:".to_owned()),
        Just("node(id: \"x\")".to_owned()),
        Just("on".to_owned()),
        Just("\\".to_owned()),
        "[a-z0-9 ]{1,4}",
    ];
    prop::collection::vec(token, 0..200).prop_map(|tokens| tokens.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn webhook_parsers_never_panic_on_random_bytes(provider in 0usize..3, bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let (parse, _) = PARSERS[provider];
        let _outcome = parse(&bytes, &keys());
    }

    #[test]
    fn webhook_parsers_never_panic_on_mutated_fixtures(
        provider in 0usize..3,
        pick in any::<usize>(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 0..16),
        cut in any::<usize>(),
    ) {
        let (parse, fixtures) = PARSERS[provider];
        let mut bytes = fixtures[pick % fixtures.len()].to_vec();
        for (at, byte) in edits {
            let at = at % bytes.len().max(1);
            if let Some(slot) = bytes.get_mut(at) {
                *slot = byte;
            }
        }
        bytes.truncate(bytes.len() - cut % (bytes.len() / 4 + 1));
        let _outcome = parse(&bytes, &keys());
    }

    #[test]
    fn webhook_parsers_never_panic_on_mutated_values(provider in 0usize..3, pick in any::<usize>(), seed in 1u64..) {
        let (parse, fixtures) = PARSERS[provider];
        let mut value: Value = serde_json::from_slice(fixtures[pick % fixtures.len()]).expect("fixtures are JSON");
        Dice(seed).mutate(&mut value, 0);
        let bytes = serde_json::to_vec(&value).expect("serialises");
        let _outcome = parse(&bytes, &keys());
    }

    #[test]
    fn the_graphql_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
        let decoded = runtime.block_on(async_graphql::http::receive_batch_body(
            Some("application/json".to_owned()),
            bytes.as_slice(),
            async_graphql::http::MultipartOptions::default(),
        ));
        if let Ok(batch) = decoded {
            for request in batch.iter() {
                let _outcome = limits::parse(&request.query, limits());
            }
        }
    }

    #[test]
    fn the_document_limits_never_panic(text in graphql_text()) {
        let _outcome = limits::parse(&text, limits());
        let body = serde_json::json!({ "query": text, "variables": { "v": [[[1]]] } }).to_string();
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
        let batch = runtime.block_on(async_graphql::http::receive_batch_body(
            Some("application/json".to_owned()),
            body.as_bytes(),
            async_graphql::http::MultipartOptions::default(),
        ));
        prop_assert!(batch.is_ok(), "a JSON body with a query decodes");
    }
}
