//! WhatsApp Cloud API webhooks: turn a `whatsapp_business_account` POST body into events.
//!
//! One body can batch several entries, each with several changes, each with several messages
//! and statuses; every level is walked. Anything unknown inside becomes an UNSUPPORTED message or
//! an [`InboundEvent::Ignored`], so one odd item never rejects the batch. Only a body that is not
//! JSON or not the top-level shape is a [`ParseError`].

use chrono::{DateTime, TimeZone, Utc};
use entity::enums::{AuthorKind, DeliveryStatus, Direction, MessageKind};
use serde_json::Value;

use crate::channels::{
    ChannelKeys, Customer, InboundAttachment, InboundEvent, InboundMessage, MediaSource, ParseError,
    Reaction, StatusTarget, StatusUpdate,
};

/// Parses a WhatsApp webhook body into normalised events, in the order they appear.
///
/// Changes for a phone number other than `keys.phone_number_id` (when set) are ignored.
pub fn parse(body: &[u8], keys: &ChannelKeys) -> Result<Vec<InboundEvent>, ParseError> {
    let root: Value =
        serde_json::from_slice(body).map_err(|e| ParseError(format!("WhatsApp body is not JSON: {e}")))?;
    if root.get("object").and_then(Value::as_str) != Some("whatsapp_business_account") {
        return Err(ParseError("WhatsApp body: `object` is not `whatsapp_business_account`".into()));
    }
    let entries = root
        .get("entry")
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError("WhatsApp body: no `entry` array".into()))?;

    let mut events = Vec::new();
    for entry in entries {
        let Some(changes) = entry.get("changes").and_then(Value::as_array) else {
            events.push(InboundEvent::Ignored("WhatsApp entry without changes".into()));
            continue;
        };
        for change in changes {
            parse_change(change, keys, &mut events);
        }
    }
    Ok(events)
}

/// One `entry[].changes[]` item.
fn parse_change(change: &Value, keys: &ChannelKeys, events: &mut Vec<InboundEvent>) {
    let field = change.get("field").and_then(Value::as_str).unwrap_or("");
    if field != "messages" {
        events.push(InboundEvent::Ignored(format!("WhatsApp change field `{field}`")));
        return;
    }
    let Some(value) = change.get("value").filter(|v| v.is_object()) else {
        events.push(InboundEvent::Ignored("WhatsApp change without value".into()));
        return;
    };
    if let Some(ours) = &keys.phone_number_id {
        let theirs = value.pointer("/metadata/phone_number_id").and_then(id_string);
        if theirs.as_deref() != Some(ours.as_str()) {
            events.push(InboundEvent::Ignored("another phone number".into()));
            return;
        }
    }

    let contacts: Vec<(String, Option<String>)> = array(value, "contacts")
        .iter()
        .filter_map(|c| {
            let wa_id = c.get("wa_id").and_then(id_string)?;
            Some((wa_id, non_empty(c.pointer("/profile/name"))))
        })
        .collect();

    let before = events.len();
    events.extend(array(value, "messages").iter().map(|m| parse_message(m, &contacts)));
    events.extend(array(value, "statuses").iter().map(parse_status));
    if events.len() == before {
        events.push(InboundEvent::Ignored("WhatsApp change without messages or statuses".into()));
    }
}

/// The customer who sent a message: `from`, with the profile name from `contacts[]`.
fn customer(from: &str, contacts: &[(String, Option<String>)]) -> Customer {
    let name = contacts
        .iter()
        .find(|(wa_id, _)| wa_id == from)
        // WhatsApp may normalise the number (`wa_id` differs from `from`); a lone contact is theirs.
        .or(if contacts.len() == 1 { contacts.first() } else { None })
        .and_then(|(_, name)| name.clone());
    Customer { external_id: from.to_owned(), name, phone: Some(format!("+{from}")), username: None }
}

/// One `messages[]` item.
fn parse_message(msg: &Value, contacts: &[(String, Option<String>)]) -> InboundEvent {
    let Some(id) = msg.get("id").and_then(Value::as_str).filter(|s| !s.is_empty()) else {
        return InboundEvent::Ignored("WhatsApp message without id".into());
    };
    let Some(from) = msg.get("from").and_then(id_string) else {
        return InboundEvent::Ignored("WhatsApp message without sender".into());
    };
    let customer = customer(&from, contacts);
    let sent_at = unix_seconds(msg.get("timestamp"));
    let kind_name = msg.get("type").and_then(Value::as_str).unwrap_or("unknown");

    if kind_name == "reaction" {
        let Some(target) = msg.pointer("/reaction/message_id").and_then(Value::as_str) else {
            return InboundEvent::Ignored("WhatsApp reaction without message id".into());
        };
        return InboundEvent::Reaction(Reaction {
            provider_message_id: target.to_owned(),
            customer,
            emoji: non_empty(msg.pointer("/reaction/emoji")),
            at: sent_at,
        });
    }

    let (kind, text, attachments) = content(kind_name, msg)
        .unwrap_or_else(|| (MessageKind::Unsupported, Some(unsupported(kind_name)), vec![]));
    InboundEvent::Message(InboundMessage {
        provider_message_id: id.to_owned(),
        customer,
        direction: Direction::Incoming,
        author_kind: AuthorKind::Contact,
        sent_at,
        kind,
        text,
        attachments,
        standby: false,
    })
}

type Content = (MessageKind, Option<String>, Vec<InboundAttachment>);

/// Kind, text and attachments of a message of type `kind_name`; `None` when not representable.
fn content(kind_name: &str, msg: &Value) -> Option<Content> {
    let part = msg.get(kind_name).unwrap_or(&Value::Null);
    match kind_name {
        "text" => Some((MessageKind::Text, Some(non_empty(part.get("body"))?), vec![])),
        "image" | "document" | "audio" | "video" | "sticker" => {
            let kind = match kind_name {
                "image" => MessageKind::Image,
                "document" => MessageKind::Document,
                "audio" => MessageKind::Audio,
                "video" => MessageKind::Video,
                _ => MessageKind::Sticker,
            };
            let media_id = part.get("id").and_then(id_string)?;
            let attachment = InboundAttachment {
                kind,
                source: MediaSource::WhatsappMedia(media_id),
                file_name: non_empty(part.get("filename")),
                content_type: non_empty(part.get("mime_type")),
                size_bytes: part.get("file_size").and_then(as_i64),
            };
            Some((kind, non_empty(part.get("caption")), vec![attachment]))
        }
        "location" => Some((MessageKind::Location, Some(location_text(part)), vec![])),
        "contacts" => {
            let lines: Vec<String> = msg.get("contacts")?.as_array()?.iter().map(contact_line).collect();
            (!lines.is_empty()).then(|| (MessageKind::Contact, Some(lines.join("\n")), vec![]))
        }
        "interactive" => {
            let reply = ["button_reply", "list_reply"].iter().find_map(|k| part.get(*k))?;
            Some((MessageKind::Text, Some(non_empty(reply.get("title"))?), vec![]))
        }
        "button" => Some((MessageKind::Text, Some(non_empty(part.get("text"))?), vec![])),
        _ => None,
    }
}

/// `"📍 {name}, {address} ({lat}, {long})"`, leaving out what is missing.
fn location_text(loc: &Value) -> String {
    let label: Vec<String> = ["name", "address"].iter().filter_map(|k| non_empty(loc.get(*k))).collect();
    let mut text = String::from("📍");
    if !label.is_empty() {
        text.push(' ');
        text.push_str(&label.join(", "));
    }
    if let (Some(lat), Some(long)) =
        (loc.get("latitude").and_then(scalar), loc.get("longitude").and_then(scalar))
    {
        text.push_str(&format!(" ({lat}, {long})"));
    }
    text
}

/// `"👤 {name}: {phone}, {phone}"` for one shared contact card.
fn contact_line(card: &Value) -> String {
    let name = non_empty(card.pointer("/name/formatted_name")).unwrap_or_else(|| {
        let parts: Vec<String> = ["first_name", "last_name"]
            .iter()
            .filter_map(|k| non_empty(card.pointer(&format!("/name/{k}"))))
            .collect();
        if parts.is_empty() { "(no name)".to_owned() } else { parts.join(" ") }
    });
    let phones: Vec<String> =
        array(card, "phones").iter().filter_map(|p| non_empty(p.get("phone"))).collect();
    if phones.is_empty() { format!("👤 {name}") } else { format!("👤 {name}: {}", phones.join(", ")) }
}

/// One `statuses[]` item.
fn parse_status(st: &Value) -> InboundEvent {
    let Some(id) = st.get("id").and_then(Value::as_str).filter(|s| !s.is_empty()) else {
        return InboundEvent::Ignored("WhatsApp status without message id".into());
    };
    let name = st.get("status").and_then(Value::as_str).unwrap_or("");
    let status = match name {
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" => DeliveryStatus::Read,
        "failed" => DeliveryStatus::Failed,
        other => return InboundEvent::Ignored(format!("WhatsApp status `{other}`")),
    };
    let error = (status == DeliveryStatus::Failed).then(|| failure_reason(st)).flatten();
    InboundEvent::Status(StatusUpdate { target: StatusTarget::Message(id.to_owned()), status, error })
}

/// `"{code}: {title} — {details}"` from the first of `errors[]`; the 24-hour window's code
/// gets the same `OUTSIDE_MESSAGING_WINDOW: ` prefix as when the send call returns it.
fn failure_reason(st: &Value) -> Option<String> {
    let err = array(st, "errors").first()?;
    let code = err.get("code").and_then(scalar);
    let outside_window =
        code.as_deref().and_then(|code| code.parse::<i64>().ok()) == Some(super::api::OUTSIDE_WINDOW_CODE);
    let title = non_empty(err.get("title")).or_else(|| non_empty(err.get("message")));
    let mut reason = match (code, title) {
        (Some(code), Some(title)) => format!("{code}: {title}"),
        (Some(code), None) => code,
        (None, Some(title)) => title,
        (None, None) => "unknown error".to_owned(),
    };
    if let Some(details) = non_empty(err.pointer("/error_data/details")) {
        reason.push_str(" — ");
        reason.push_str(&details);
    }
    if outside_window {
        reason = format!("{}: {reason}", crate::channels::OUTSIDE_WINDOW_PREFIX);
    }
    Some(reason)
}

/// The placeholder text stored for a message type Switchboard cannot show.
fn unsupported(kind_name: &str) -> String {
    format!("[unsupported WhatsApp message type: {kind_name}]")
}

/// The array under `key`, or an empty slice.
fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// A string value that is not blank (kept as sent).
fn non_empty(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).filter(|s| !s.trim().is_empty()).map(str::to_owned)
}

/// An id given as a string or a number.
fn id_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A number or a string, as text (coordinates, error codes).
fn scalar(v: &Value) -> Option<String> {
    id_string(v)
}

/// An integer given as a number or a string.
fn as_i64(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str()?.parse().ok())
}

/// Unix seconds (WhatsApp sends strings); now when missing or invalid.
fn unix_seconds(v: Option<&Value>) -> DateTime<Utc> {
    v.and_then(as_i64).and_then(|s| Utc.timestamp_opt(s, 0).single()).unwrap_or_else(crate::clock::now)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &[u8] = include_bytes!("../../../../tests/fixtures/channels/whatsapp/text_message.json");
    const IMAGE: &[u8] = include_bytes!("../../../../tests/fixtures/channels/whatsapp/image_message.json");
    const DOCUMENT: &[u8] =
        include_bytes!("../../../../tests/fixtures/channels/whatsapp/document_message.json");
    const AUDIO: &[u8] = include_bytes!("../../../../tests/fixtures/channels/whatsapp/audio_message.json");
    const BATCHED: &[u8] =
        include_bytes!("../../../../tests/fixtures/channels/whatsapp/two_messages_batched.json");
    const SENT: &[u8] = include_bytes!("../../../../tests/fixtures/channels/whatsapp/status_sent.json");
    const DELIVERED: &[u8] =
        include_bytes!("../../../../tests/fixtures/channels/whatsapp/status_delivered.json");
    const READ: &[u8] = include_bytes!("../../../../tests/fixtures/channels/whatsapp/status_read.json");
    const FAILED: &[u8] =
        include_bytes!("../../../../tests/fixtures/channels/whatsapp/status_failed_outside_window.json");

    const OUR_NUMBER: &str = "109876543210987";
    const OUTBOUND_WAMID: &str = "wamid.HBgMNDQ3NzAwOTAwMTIzFQIAERgSQkZBNjZBREVGNDkzODlCOUVFAA==";

    fn keys() -> ChannelKeys {
        ChannelKeys { phone_number_id: Some(OUR_NUMBER.into()), page_id: None }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).unwrap()
    }

    fn amelia() -> Customer {
        Customer {
            external_id: "447700900123".into(),
            name: Some("Amelia Hart".into()),
            phone: Some("+447700900123".into()),
            username: None,
        }
    }

    fn jonas() -> Customer {
        Customer {
            external_id: "4915123456789".into(),
            name: Some("Jonas Becker".into()),
            phone: Some("+4915123456789".into()),
            username: None,
        }
    }

    fn message(
        id: &str,
        customer: Customer,
        secs: i64,
        kind: MessageKind,
        text: Option<&str>,
    ) -> InboundMessage {
        InboundMessage {
            provider_message_id: id.into(),
            customer,
            direction: Direction::Incoming,
            author_kind: AuthorKind::Contact,
            sent_at: at(secs),
            kind,
            text: text.map(Into::into),
            attachments: vec![],
            standby: false,
        }
    }

    fn only_message(body: &[u8]) -> InboundMessage {
        let events = parse(body, &keys()).unwrap();
        assert_eq!(events.len(), 1, "{events:?}");
        match events.into_iter().next().unwrap() {
            InboundEvent::Message(m) => m,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    fn wrap(value: &str) -> Vec<u8> {
        format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"102938475610293","changes":[{{"field":"messages","value":{value}}}]}}]}}"#
        )
        .into_bytes()
    }

    fn inline_message(msg: &str) -> Vec<u8> {
        wrap(&format!(
            r#"{{"messaging_product":"whatsapp","metadata":{{"phone_number_id":"{OUR_NUMBER}"}},
            "contacts":[{{"profile":{{"name":"Amelia Hart"}},"wa_id":"447700900123"}}],
            "messages":[{msg}]}}"#
        ))
    }

    #[test]
    fn text_message() {
        assert_eq!(
            only_message(TEXT),
            message(
                "wamid.HBgMNDQ3NzAwOTAwMTIzFQIAEhgUNDU4MDJGMzgyNjY1NThFOTVBREYA",
                amelia(),
                1773134100,
                MessageKind::Text,
                Some(
                    "Hi, my order #48213 still hasn't arrived. It was due on Friday. Can you check where it is?"
                ),
            )
        );
        // Without a configured number every change is accepted.
        assert_eq!(parse(TEXT, &ChannelKeys::default()).unwrap().len(), 1);
    }

    #[test]
    fn image_message() {
        let mut expected = message(
            "wamid.HBgMNDQ3NzAwOTAwMTIzFQIAEhgURDk0NjYwOTM1MUQ4QzYyRTY4MkYA",
            amelia(),
            1773134195,
            MessageKind::Image,
            None,
        );
        expected.attachments = vec![InboundAttachment {
            kind: MessageKind::Image,
            source: MediaSource::WhatsappMedia("1043857298110472".into()),
            file_name: None,
            content_type: Some("image/jpeg".into()),
            size_bytes: None,
        }];
        assert_eq!(only_message(IMAGE), expected);
    }

    #[test]
    fn document_message() {
        let mut expected = message(
            "wamid.HBgMNDQ3NzAwOTAwMTIzFQIAEhgUREVGRDI5QzFCMEE2N0M2MEVDMTEA",
            amelia(),
            1773134240,
            MessageKind::Document,
            None,
        );
        expected.attachments = vec![InboundAttachment {
            kind: MessageKind::Document,
            source: MediaSource::WhatsappMedia("2287461930512846".into()),
            file_name: Some("invoice-48213.pdf".into()),
            content_type: Some("application/pdf".into()),
            size_bytes: None,
        }];
        assert_eq!(only_message(DOCUMENT), expected);
    }

    #[test]
    fn audio_message() {
        let mut expected = message(
            "wamid.HBgMNDQ3NzAwOTAwMTIzFQIAEhgUMEM4NkFDMEYwNDdGNTA2MDM1OTUA",
            amelia(),
            1773134280,
            MessageKind::Audio,
            None,
        );
        expected.attachments = vec![InboundAttachment {
            kind: MessageKind::Audio,
            source: MediaSource::WhatsappMedia("3391028475610934".into()),
            file_name: None,
            content_type: Some("audio/ogg; codecs=opus".into()),
            size_bytes: None,
        }];
        assert_eq!(only_message(AUDIO), expected);
    }

    #[test]
    fn two_messages_batched_in_order() {
        let events = parse(BATCHED, &keys()).unwrap();
        assert_eq!(
            events,
            vec![
                InboundEvent::Message(message(
                    "wamid.HBgMNDQ3NzAwOTAwMTIzFQIAEhgURjgyQTNDNkQ3NjcwMDlERDgxM0QA",
                    amelia(),
                    1773134320,
                    MessageKind::Text,
                    Some("Also, the tracking link in the email gives a 404."),
                )),
                InboundEvent::Message(message(
                    "wamid.HBgNNDkxNTEyMzQ1Njc4ORUCABIYFDc0MzM1MDg5QzUwQ0MxRkFGMDFDAA==",
                    jonas(),
                    1773134321,
                    MessageKind::Text,
                    Some("Guten Tag, I would like to change the delivery address for order #48290."),
                )),
                InboundEvent::Message(message(
                    "wamid.HBgNNDkxNTEyMzQ1Njc4ORUCABIYFEQ4MTUzRDMzMjNCMkQ1NzQ0MjFGAA==",
                    jonas(),
                    1773134324,
                    MessageKind::Text,
                    Some("New address: Lindenstrasse 14, 10969 Berlin."),
                )),
            ]
        );
    }

    #[test]
    fn statuses_sent_delivered_read() {
        for (body, status) in [
            (SENT, DeliveryStatus::Sent),
            (DELIVERED, DeliveryStatus::Delivered),
            (READ, DeliveryStatus::Read),
        ] {
            assert_eq!(
                parse(body, &keys()).unwrap(),
                vec![InboundEvent::Status(StatusUpdate {
                    target: StatusTarget::Message(OUTBOUND_WAMID.into()),
                    status,
                    error: None,
                })]
            );
        }
    }

    #[test]
    fn status_failed_outside_window() {
        let events = parse(FAILED, &keys()).unwrap();
        assert_eq!(
            events,
            vec![InboundEvent::Status(StatusUpdate {
                target: StatusTarget::Message(
                    "wamid.HBgNNDkxNTEyMzQ1Njc4ORUCABEYEjNCRDA1NzY5RDNFMjhGQjc2NAA=".into()
                ),
                status: DeliveryStatus::Failed,
                error: Some(
                    "OUTSIDE_MESSAGING_WINDOW: 131047: Re-engagement message — Message failed to send because more than 24 hours have \
                     passed since the customer last replied to this number."
                        .into()
                ),
            })]
        );
    }

    #[test]
    fn another_phone_number_is_ignored() {
        let other = ChannelKeys { phone_number_id: Some("999999999999999".into()), page_id: None };
        for body in [TEXT, IMAGE, BATCHED, FAILED] {
            let events = parse(body, &other).unwrap();
            assert!(!events.is_empty());
            assert!(
                events.iter().all(|e| *e == InboundEvent::Ignored("another phone number".into())),
                "{events:?}"
            );
        }
    }

    #[test]
    fn malformed_bodies_are_errors() {
        assert!(parse(b"not json", &keys()).is_err());
        assert!(parse(b"[]", &keys()).is_err());
        assert!(parse(br#"{"object":"page","entry":[]}"#, &keys()).is_err());
        assert!(parse(br#"{"object":"whatsapp_business_account"}"#, &keys()).is_err());
        assert!(parse(br#"{"object":"whatsapp_business_account","entry":{}}"#, &keys()).is_err());
        assert_eq!(parse(br#"{"object":"whatsapp_business_account","entry":[]}"#, &keys()).unwrap(), vec![]);
    }

    #[test]
    fn other_fields_are_ignored() {
        let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[
            {"field":"account_update","value":{"event":"VERIFIED_ACCOUNT"}}]}]}"#;
        assert_eq!(
            parse(body, &keys()).unwrap(),
            vec![InboundEvent::Ignored("WhatsApp change field `account_update`".into())]
        );
    }

    #[test]
    fn unsupported_and_odd_messages_do_not_break_the_batch() {
        let body = inline_message(
            r#"{"from":"447700900123","id":"wamid.A","timestamp":"1773134100","type":"unsupported",
                "errors":[{"code":131051,"title":"Message type unknown"}]},
               {"from":"447700900123","id":"wamid.B","timestamp":"bogus","type":"poll","poll":{}},
               {"no":"id"},
               "just a string",
               {"from":"447700900123","id":"wamid.C","timestamp":1773134101,"type":"text","text":{"body":"ok"}}"#,
        );
        let events = parse(&body, &keys()).unwrap();
        assert_eq!(events.len(), 5, "{events:?}");
        let InboundEvent::Message(a) = &events[0] else { panic!("{events:?}") };
        assert_eq!(a.kind, MessageKind::Unsupported);
        assert_eq!(a.text.as_deref(), Some("[unsupported WhatsApp message type: unsupported]"));
        let InboundEvent::Message(b) = &events[1] else { panic!("{events:?}") };
        assert_eq!(b.kind, MessageKind::Unsupported);
        assert_eq!(b.text.as_deref(), Some("[unsupported WhatsApp message type: poll]"));
        assert!(
            (crate::clock::now() - b.sent_at).num_seconds().abs() < 60,
            "invalid timestamp falls back to now"
        );
        assert!(matches!(events[2], InboundEvent::Ignored(_)));
        assert!(matches!(events[3], InboundEvent::Ignored(_)));
        assert_eq!(
            events[4],
            InboundEvent::Message(message("wamid.C", amelia(), 1773134101, MessageKind::Text, Some("ok")))
        );
    }

    #[test]
    fn reactions() {
        let body = inline_message(
            r#"{"from":"447700900123","id":"wamid.R1","timestamp":"1773134500","type":"reaction",
                "reaction":{"message_id":"wamid.OUT","emoji":"👍"}},
               {"from":"447700900123","id":"wamid.R2","timestamp":"1773134501","type":"reaction",
                "reaction":{"message_id":"wamid.OUT","emoji":""}}"#,
        );
        assert_eq!(
            parse(&body, &keys()).unwrap(),
            vec![
                InboundEvent::Reaction(Reaction {
                    provider_message_id: "wamid.OUT".into(),
                    customer: amelia(),
                    emoji: Some("👍".into()),
                    at: at(1773134500),
                }),
                InboundEvent::Reaction(Reaction {
                    provider_message_id: "wamid.OUT".into(),
                    customer: amelia(),
                    emoji: None,
                    at: at(1773134501),
                }),
            ]
        );
    }

    #[test]
    fn location_contacts_interactive_and_captioned_media() {
        let body = inline_message(
            r#"{"from":"447700900123","id":"wamid.L","timestamp":"1773134600","type":"location",
                "location":{"latitude":51.5074,"longitude":-0.1278,"name":"Acme Depot","address":"1 High St"}},
               {"from":"447700900123","id":"wamid.L2","timestamp":"1773134600","type":"location",
                "location":{"latitude":51.5,"longitude":-0.12}},
               {"from":"447700900123","id":"wamid.K","timestamp":"1773134601","type":"contacts",
                "contacts":[{"name":{"formatted_name":"Ann Lee","first_name":"Ann"},
                             "phones":[{"phone":"+44 7700 900555","type":"CELL"},{"phone":"+44 20 7946 0000"}]},
                            {"name":{"first_name":"Bo","last_name":"Chan"}}]},
               {"from":"447700900123","id":"wamid.I","timestamp":"1773134602","type":"interactive",
                "interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Yes, please"}}},
               {"from":"447700900123","id":"wamid.I2","timestamp":"1773134602","type":"interactive",
                "interactive":{"type":"list_reply","list_reply":{"id":"r1","title":"Returns"}}},
               {"from":"447700900123","id":"wamid.B","timestamp":"1773134602","type":"button",
                "button":{"payload":"STOP","text":"Stop promotions"}},
               {"from":"447700900123","id":"wamid.V","timestamp":"1773134603","type":"video",
                "video":{"id":"555","mime_type":"video/mp4","caption":"the box"}},
               {"from":"447700900123","id":"wamid.S","timestamp":"1773134604","type":"sticker",
                "sticker":{"id":"556","mime_type":"image/webp","animated":false}}"#,
        );
        let texts: Vec<(MessageKind, Option<String>, usize)> = parse(&body, &keys())
            .unwrap()
            .into_iter()
            .map(|e| match e {
                InboundEvent::Message(m) => (m.kind, m.text, m.attachments.len()),
                other => panic!("{other:?}"),
            })
            .collect();
        let s = |t: &str| Some(t.to_owned());
        assert_eq!(
            texts,
            vec![
                (MessageKind::Location, s("📍 Acme Depot, 1 High St (51.5074, -0.1278)"), 0),
                (MessageKind::Location, s("📍 (51.5, -0.12)"), 0),
                (MessageKind::Contact, s("👤 Ann Lee: +44 7700 900555, +44 20 7946 0000\n👤 Bo Chan"), 0),
                (MessageKind::Text, s("Yes, please"), 0),
                (MessageKind::Text, s("Returns"), 0),
                (MessageKind::Text, s("Stop promotions"), 0),
                (MessageKind::Video, s("the box"), 1),
                (MessageKind::Sticker, None, 1),
            ]
        );
    }

    #[test]
    fn unknown_status_is_ignored() {
        let body = wrap(&format!(
            r#"{{"metadata":{{"phone_number_id":"{OUR_NUMBER}"}},"statuses":[{{"id":"wamid.X","status":"deleted"}}]}}"#
        ));
        assert_eq!(
            parse(&body, &keys()).unwrap(),
            vec![InboundEvent::Ignored("WhatsApp status `deleted`".into())]
        );
    }
}
