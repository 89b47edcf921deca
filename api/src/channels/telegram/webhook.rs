//! Telegram Bot API webhooks: turn one `Update` POST body into events.
//!
//! Only private chats with the bot are support conversations: messages, edits and reactions
//! in groups, channels and everything else become [`InboundEvent::Ignored`]. A message with
//! content Switchboard cannot show becomes an UNSUPPORTED message. Only a body that is not JSON
//! or not an `Update` (an object with a numeric `update_id`) is a [`ParseError`].

use chrono::{DateTime, TimeZone, Utc};
use entity::enums::{AuthorKind, Direction, MessageKind};
use serde_json::Value;

use crate::channels::{
    ChannelKeys, Customer, InboundAttachment, InboundEvent, InboundMessage, MediaSource, MessageEdit,
    ParseError, Reaction,
};

/// The placeholder text stored for a message Switchboard cannot show.
const UNSUPPORTED: &str = "[unsupported Telegram message]";

/// Parses a Telegram `Update` into normalised events (at most one; `keys` is not needed, a
/// webhook URL serves one bot).
pub fn parse(body: &[u8], _keys: &ChannelKeys) -> Result<Vec<InboundEvent>, ParseError> {
    let update: Value =
        serde_json::from_slice(body).map_err(|e| ParseError(format!("Telegram body is not JSON: {e}")))?;
    if !update.get("update_id").is_some_and(Value::is_i64) {
        return Err(ParseError("Telegram body: not an Update (no numeric `update_id`)".into()));
    }
    let event = if let Some(message) = update.get("message") {
        parse_message(message)
    } else if let Some(edited) = update.get("edited_message") {
        parse_edit(edited)
    } else if let Some(reaction) = update.get("message_reaction") {
        parse_reaction(reaction)
    } else {
        let kind = update.as_object().and_then(|o| o.keys().find(|k| *k != "update_id").cloned());
        InboundEvent::Ignored(format!("Telegram update `{}`", kind.unwrap_or_default()))
    };
    Ok(vec![event])
}

/// The chat id when `message` is in a private chat.
fn private_chat_id(message: &Value) -> Option<String> {
    let chat = message.get("chat")?;
    if chat.get("type").and_then(Value::as_str) != Some("private") {
        return None;
    }
    chat.get("id").and_then(id_string)
}

/// `"{chat_id}:{message_id}"`, the provider id of a message.
fn provider_id(chat_id: &str, message: &Value) -> Option<String> {
    let message_id = message.get("message_id").and_then(Value::as_i64)?;
    Some(format!("{chat_id}:{message_id}"))
}

/// The customer from a `User` object (or, lacking one, the private chat itself).
fn customer(user: Option<&Value>, chat_id: &str) -> Customer {
    let Some(user) = user.filter(|u| u.is_object()) else {
        return Customer { external_id: chat_id.to_owned(), ..Customer::default() };
    };
    let name: Vec<String> =
        ["first_name", "last_name"].iter().filter_map(|k| non_empty(user.get(*k))).collect();
    Customer {
        external_id: user.get("id").and_then(id_string).unwrap_or_else(|| chat_id.to_owned()),
        name: (!name.is_empty()).then(|| name.join(" ")),
        phone: None,
        username: non_empty(user.get("username")),
    }
}

/// A new `message`.
fn parse_message(message: &Value) -> InboundEvent {
    let Some(chat_id) = private_chat_id(message) else {
        return InboundEvent::Ignored("not a private chat".into());
    };
    let Some(provider_message_id) = provider_id(&chat_id, message) else {
        return InboundEvent::Ignored("Telegram message without message_id".into());
    };
    let (kind, text, attachments) = content(message).unwrap_or((MessageKind::Unsupported, None, vec![]));
    let text = match kind {
        MessageKind::Unsupported => Some(UNSUPPORTED.to_owned()),
        _ => text,
    };
    InboundEvent::Message(InboundMessage {
        provider_message_id,
        customer: customer(message.get("from"), &chat_id),
        direction: Direction::Incoming,
        author_kind: AuthorKind::Contact,
        sent_at: unix_seconds(message.get("date")),
        kind,
        text,
        attachments,
        standby: false,
    })
}

type Content = (MessageKind, Option<String>, Vec<InboundAttachment>);

/// Kind, text and attachments of a message; `None` when there is nothing Switchboard can show.
fn content(message: &Value) -> Option<Content> {
    let caption = non_empty(message.get("caption"));
    let file = |kind, part: &Value, default_type: Option<&str>| -> Option<Content> {
        let file_id = non_empty(part.get("file_id"))?;
        let attachment = InboundAttachment {
            kind,
            source: MediaSource::TelegramFile(file_id),
            file_name: non_empty(part.get("file_name")),
            content_type: non_empty(part.get("mime_type")).or(default_type.map(str::to_owned)),
            size_bytes: part.get("file_size").and_then(Value::as_i64),
        };
        Some((kind, caption.clone(), vec![attachment]))
    };

    if let Some(sizes) = message.get("photo").and_then(Value::as_array) {
        // Sizes come smallest first: keep the largest.
        return file(MessageKind::Image, sizes.last()?, Some("image/jpeg"));
    }
    if let Some(sticker) = message.get("sticker") {
        let flag = |k| sticker.get(k).and_then(Value::as_bool).unwrap_or(false);
        let mime = if flag("is_animated") {
            "application/x-tgsticker"
        } else if flag("is_video") {
            "video/webm"
        } else {
            "image/webp"
        };
        return file(MessageKind::Sticker, sticker, Some(mime));
    }
    for (key, kind, default_type) in [
        ("document", MessageKind::Document, None),
        ("voice", MessageKind::Audio, Some("audio/ogg")),
        ("audio", MessageKind::Audio, None),
        ("video", MessageKind::Video, None),
        ("video_note", MessageKind::Video, Some("video/mp4")),
    ] {
        if let Some(part) = message.get(key) {
            return file(kind, part, default_type);
        }
    }
    if let Some(venue) = message.get("venue") {
        return Some((
            MessageKind::Location,
            Some(location_text(venue.get("location")?, Some(venue))),
            vec![],
        ));
    }
    if let Some(location) = message.get("location") {
        return Some((MessageKind::Location, Some(location_text(location, None)), vec![]));
    }
    if let Some(contact) = message.get("contact") {
        let name: Vec<String> =
            ["first_name", "last_name"].iter().filter_map(|k| non_empty(contact.get(*k))).collect();
        let mut text =
            format!("👤 {}", if name.is_empty() { "(no name)".to_owned() } else { name.join(" ") });
        if let Some(phone) = non_empty(contact.get("phone_number")) {
            text = format!("{text}: {phone}");
        }
        return Some((MessageKind::Contact, Some(text), vec![]));
    }
    // Commands such as `/start` are plain text too.
    let text = non_empty(message.get("text"))?;
    Some((MessageKind::Text, Some(text), vec![]))
}

/// `"📍 {title}, {address} ({lat}, {long})"`, leaving out what is missing.
fn location_text(location: &Value, venue: Option<&Value>) -> String {
    let label: Vec<String> = venue
        .map(|v| ["title", "address"].iter().filter_map(|k| non_empty(v.get(*k))).collect())
        .unwrap_or_default();
    let mut text = String::from("📍");
    if !label.is_empty() {
        text = format!("{text} {}", label.join(", "));
    }
    if let (Some(lat), Some(long)) = (location.get("latitude"), location.get("longitude"))
        && lat.is_number()
        && long.is_number()
    {
        text = format!("{text} ({lat}, {long})");
    }
    text
}

/// An `edited_message`: the new text or caption of a stored message.
fn parse_edit(message: &Value) -> InboundEvent {
    let Some(chat_id) = private_chat_id(message) else {
        return InboundEvent::Ignored("not a private chat".into());
    };
    let Some(provider_message_id) = provider_id(&chat_id, message) else {
        return InboundEvent::Ignored("Telegram edit without message_id".into());
    };
    InboundEvent::Edit(MessageEdit {
        provider_message_id,
        text: non_empty(message.get("text")).or_else(|| non_empty(message.get("caption"))),
        edited_at: unix_seconds(message.get("edit_date")),
    })
}

/// A `message_reaction`: the first new reaction, or `None` when they were all removed.
fn parse_reaction(update: &Value) -> InboundEvent {
    let Some(chat_id) = private_chat_id(update) else {
        return InboundEvent::Ignored("not a private chat".into());
    };
    let Some(provider_message_id) = provider_id(&chat_id, update) else {
        return InboundEvent::Ignored("Telegram reaction without message_id".into());
    };
    let emoji = update.get("new_reaction").and_then(Value::as_array).and_then(|r| r.first()).map(|r| {
        // Custom emoji and paid reactions carry no Unicode emoji: show what they are.
        non_empty(r.get("emoji")).unwrap_or_else(|| {
            format!("[{}]", r.get("type").and_then(Value::as_str).unwrap_or("reaction").replace('_', " "))
        })
    });
    InboundEvent::Reaction(Reaction {
        provider_message_id,
        customer: customer(update.get("user"), &chat_id),
        emoji,
        at: unix_seconds(update.get("date")),
    })
}

/// A string value that is not blank (kept as sent).
fn non_empty(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).filter(|s| !s.trim().is_empty()).map(str::to_owned)
}

/// An id given as a number (or a string).
fn id_string(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// Unix seconds; now when missing or invalid.
fn unix_seconds(v: Option<&Value>) -> DateTime<Utc> {
    v.and_then(Value::as_i64).and_then(|s| Utc.timestamp_opt(s, 0).single()).unwrap_or_else(crate::clock::now)
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!("../../../../tests/fixtures/channels/telegram/", $name))
        };
    }

    const FROM: &str = r#""from":{"id":523418907,"is_bot":false,"first_name":"Dmitri","last_name":"Volkov",
        "username":"dvolkov"}"#;
    const PRIVATE: &str = r#""chat":{"id":523418907,"first_name":"Dmitri","type":"private"}"#;

    fn events(body: &[u8]) -> Vec<InboundEvent> {
        parse(body, &ChannelKeys::default()).unwrap()
    }

    fn only(body: &[u8]) -> InboundEvent {
        let mut evs = events(body);
        assert_eq!(evs.len(), 1, "{evs:?}");
        evs.remove(0)
    }

    fn only_message(body: &[u8]) -> InboundMessage {
        match only(body) {
            InboundEvent::Message(m) => m,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).unwrap()
    }

    fn dmitri() -> Customer {
        Customer {
            external_id: "523418907".into(),
            name: Some("Dmitri Volkov".into()),
            phone: None,
            username: Some("dvolkov".into()),
        }
    }

    fn message(id: &str, secs: i64, kind: MessageKind, text: Option<&str>) -> InboundMessage {
        InboundMessage {
            provider_message_id: id.into(),
            customer: dmitri(),
            direction: Direction::Incoming,
            author_kind: AuthorKind::Contact,
            sent_at: at(secs),
            kind,
            text: text.map(Into::into),
            attachments: vec![],
            standby: false,
        }
    }

    /// An update with a private message from Dmitri carrying `fields`.
    fn private_message(fields: &str) -> Vec<u8> {
        format!(
            r#"{{"update_id":1,"message":{{"message_id":1900,{FROM},{PRIVATE},"date":1773134300,{fields}}}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn bot_command_start_is_text() {
        assert_eq!(
            only_message(fixture!("bot_command_start.json")),
            message("523418907:1841", 1773134060, MessageKind::Text, Some("/start"))
        );
    }

    #[test]
    fn text_message() {
        assert_eq!(
            only_message(fixture!("text_message.json")),
            message(
                "523418907:1842",
                1773134100,
                MessageKind::Text,
                Some("Hello! My parcel tracking hasn't updated since Friday, order #48377."),
            )
        );
    }

    #[test]
    fn photo_takes_the_largest_size() {
        let mut expected = message("523418907:1843", 1773134160, MessageKind::Image, None);
        expected.attachments = vec![InboundAttachment {
            kind: MessageKind::Image,
            source: MediaSource::TelegramFile(
                "AgACAgIAAxkBAAIHM2Kw9KBoq4GjHig2obrtXLBj1hzmmbtX2huf1NZ8b8URtBVyUqfaAAMCAAN5AAM2BA".into(),
            ),
            file_name: None,
            content_type: Some("image/jpeg".into()),
            size_bytes: Some(139874),
        }];
        assert_eq!(only_message(fixture!("photo_message.json")), expected);
    }

    #[test]
    fn document_message() {
        let mut expected = message("523418907:1844", 1773134175, MessageKind::Document, None);
        expected.attachments = vec![InboundAttachment {
            kind: MessageKind::Document,
            source: MediaSource::TelegramFile(
                "BQACAgIAAxkBAAIHNGkHGFSldGR76emiCZuR9BgBiG2dJogBkrzHgyWr0w342mfL-7VJ".into(),
            ),
            file_name: Some("damaged-box-48377.pdf".into()),
            content_type: Some("application/pdf".into()),
            size_bytes: Some(248113),
        }];
        assert_eq!(only_message(fixture!("document_message.json")), expected);
    }

    #[test]
    fn voice_message() {
        let mut expected = message("523418907:1845", 1773134210, MessageKind::Audio, None);
        expected.attachments = vec![InboundAttachment {
            kind: MessageKind::Audio,
            source: MediaSource::TelegramFile(
                "AwACAgIAAxkBAAIHNWYzVBXx1V-b1eMEl2fucVPM1wRKgVtgOlq0xQSaNDk7KvQKqkJm".into(),
            ),
            file_name: None,
            content_type: Some("audio/ogg".into()),
            size_bytes: Some(28754),
        }];
        assert_eq!(only_message(fixture!("voice_message.json")), expected);
    }

    #[test]
    fn edited_message() {
        assert_eq!(
            only(fixture!("edited_message.json")),
            InboundEvent::Edit(MessageEdit {
                provider_message_id: "523418907:1842".into(),
                text: Some(
                    "Hello! My parcel tracking hasn't updated since Friday, order #48371 (typo before, sorry)."
                        .into()
                ),
                edited_at: at(1773134240),
            })
        );
    }

    #[test]
    fn malformed_bodies_are_errors() {
        let keys = ChannelKeys::default();
        assert!(parse(b"not json", &keys).is_err());
        assert!(parse(b"[]", &keys).is_err());
        assert!(parse(b"{}", &keys).is_err());
        assert!(parse(br#"{"update_id":"804512316"}"#, &keys).is_err());
        assert!(parse(br#"{"object":"page","entry":[]}"#, &keys).is_err());
    }

    #[test]
    fn group_chats_are_ignored() {
        let group = br#"{"update_id":2,"message":{"message_id":77,"from":{"id":523418907,"first_name":"Dmitri"},
            "chat":{"id":-1001234567890,"title":"Acme fans","type":"supergroup"},"date":1773134300,"text":"hi all"}}"#;
        assert_eq!(only(group), InboundEvent::Ignored("not a private chat".into()));
        let edited_in_group = br#"{"update_id":3,"edited_message":{"message_id":77,
            "chat":{"id":-100,"type":"group"},"date":1773134300,"edit_date":1773134400,"text":"hi"}}"#;
        assert_eq!(only(edited_in_group), InboundEvent::Ignored("not a private chat".into()));
    }

    #[test]
    fn other_updates_are_ignored() {
        for (body, reason) in [
            (
                &br#"{"update_id":4,"channel_post":{"message_id":1,"chat":{"id":-100,"type":"channel"},"date":1,"text":"x"}}"#[..],
                "Telegram update `channel_post`",
            ),
            (
                br#"{"update_id":5,"my_chat_member":{"chat":{"id":523418907,"type":"private"},"date":1}}"#,
                "Telegram update `my_chat_member`",
            ),
            (
                br#"{"update_id":6,"callback_query":{"id":"1","from":{"id":523418907},"data":"x"}}"#,
                "Telegram update `callback_query`",
            ),
            (br#"{"update_id":7}"#, "Telegram update ``"),
        ] {
            assert_eq!(only(body), InboundEvent::Ignored(reason.into()));
        }
    }

    #[test]
    fn reactions() {
        let reaction = |new: &str| {
            format!(
                r#"{{"update_id":8,"message_reaction":{{{PRIVATE},"message_id":1842,{},"date":1773134500,
                    "old_reaction":[],"new_reaction":{new}}}}}"#,
                FROM.replacen("from", "user", 1)
            )
            .into_bytes()
        };
        let expected = |emoji: Option<&str>| {
            InboundEvent::Reaction(Reaction {
                provider_message_id: "523418907:1842".into(),
                customer: dmitri(),
                emoji: emoji.map(Into::into),
                at: at(1773134500),
            })
        };
        assert_eq!(only(&reaction(r#"[{"type":"emoji","emoji":"👍"}]"#)), expected(Some("👍")));
        assert_eq!(only(&reaction("[]")), expected(None));
        assert_eq!(
            only(&reaction(r#"[{"type":"custom_emoji","custom_emoji_id":"5368324170671202286"}]"#)),
            expected(Some("[custom emoji]"))
        );
        let in_group =
            br#"{"update_id":9,"message_reaction":{"chat":{"id":-100,"type":"group"},"message_id":5,
            "date":1,"old_reaction":[],"new_reaction":[{"type":"emoji","emoji":"+1"}]}}"#;
        assert_eq!(only(in_group), InboundEvent::Ignored("not a private chat".into()));
    }

    #[test]
    fn other_contents() {
        use MessageKind::{Audio, Contact, Document, Location, Sticker, Unsupported, Video};
        let cases: [(&str, MessageKind, Option<&str>, usize); 10] = [
            (
                r#""location":{"latitude":55.7558,"longitude":37.6173}"#,
                Location,
                Some("📍 (55.7558, 37.6173)"),
                0,
            ),
            (
                r#""location":{"latitude":55.75,"longitude":37.61},
                   "venue":{"location":{"latitude":55.75,"longitude":37.61},
                            "title":"Pickup point","address":"Tverskaya 1"}"#,
                Location,
                Some("📍 Pickup point, Tverskaya 1 (55.75, 37.61)"),
                0,
            ),
            (
                r#""contact":{"phone_number":"+79991234567","first_name":"Olga","last_name":"Ivanova"}"#,
                Contact,
                Some("👤 Olga Ivanova: +79991234567"),
                0,
            ),
            (
                r#""video":{"file_id":"vid","mime_type":"video/mp4"},"caption":"unboxing""#,
                Video,
                Some("unboxing"),
                1,
            ),
            (r#""audio":{"file_id":"aud","file_name":"memo.mp3","mime_type":"audio/mpeg"}"#, Audio, None, 1),
            (r#""sticker":{"file_id":"stk","is_animated":false,"emoji":"😀"}"#, Sticker, None, 1),
            (
                r#""document":{"file_id":"doc","file_name":"a.txt"},"caption":"log file""#,
                Document,
                Some("log file"),
                1,
            ),
            (r#""poll":{"id":"1","question":"?","options":[]}"#, Unsupported, Some(UNSUPPORTED), 0),
            (r#""dice":{"emoji":"🎲","value":4}"#, Unsupported, Some(UNSUPPORTED), 0),
            (r#""photo":[]"#, Unsupported, Some(UNSUPPORTED), 0),
        ];
        for (fields, kind, text, files) in cases {
            let m = only_message(&private_message(fields));
            assert_eq!((m.kind, m.text.as_deref(), m.attachments.len()), (kind, text, files), "{fields}");
            assert_eq!(m.provider_message_id, "523418907:1900");
            assert_eq!(m.customer, dmitri());
        }
        let sticker = only_message(&private_message(r#""sticker":{"file_id":"stk","is_animated":true}"#));
        assert_eq!(sticker.attachments[0].content_type.as_deref(), Some("application/x-tgsticker"));
    }

    #[test]
    fn customer_without_last_name_or_username() {
        let body = br#"{"update_id":10,"message":{"message_id":3,"from":{"id":42,"first_name":"Ann"},
            "chat":{"id":42,"type":"private"},"date":"bad","text":"hi"}}"#;
        let m = only_message(body);
        assert_eq!(
            m.customer,
            Customer { external_id: "42".into(), name: Some("Ann".into()), ..Customer::default() }
        );
        assert_eq!(m.provider_message_id, "42:3");
        assert!((crate::clock::now() - m.sent_at).num_seconds().abs() < 60, "invalid date falls back to now");
    }
}
