//! Messenger Platform webhooks: turn a `page` POST body into events.
//!
//! One body can batch several entries; each entry carries events in `messaging[]` (our app owns
//! the thread), `standby[]` (another app, a chatbot, owns it) or `messaging_handovers[]`. Every
//! item is walked; anything unknown becomes an UNSUPPORTED message or an
//! [`InboundEvent::Ignored`], so one odd item never rejects the batch. Only a body that is not
//! JSON or not the top-level shape is a [`ParseError`].

use chrono::{DateTime, TimeZone, Utc};
use entity::enums::{AuthorKind, DeliveryStatus, Direction, MessageKind};
use serde_json::Value;

use crate::channels::{
    ChannelKeys, Customer, Handover, HandoverApps, InboundAttachment, InboundEvent, InboundMessage,
    MediaSource, ParseError, Reaction, StatusTarget, StatusUpdate,
};

/// Meta's fixed app id for the Page Inbox: echoes from it were written by a human in Meta's inbox.
pub const PAGE_INBOX_APP_ID: &str = "263902037430900";

/// Parses a Messenger webhook body into normalised events, in the order they appear.
///
/// Entries for a page other than `keys.page_id` (when set) are ignored.
pub fn parse(body: &[u8], keys: &ChannelKeys) -> Result<Vec<InboundEvent>, ParseError> {
    let root: Value =
        serde_json::from_slice(body).map_err(|e| ParseError(format!("Messenger body is not JSON: {e}")))?;
    if root.get("object").and_then(Value::as_str) != Some("page") {
        return Err(ParseError("Messenger body: `object` is not `page`".into()));
    }
    let entries = root
        .get("entry")
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError("Messenger body: no `entry` array".into()))?;

    let mut events = Vec::new();
    for entry in entries {
        if let Some(ours) = &keys.page_id
            && entry.get("id").and_then(id_string).as_deref() != Some(ours.as_str())
        {
            events.push(InboundEvent::Ignored("another page".into()));
            continue;
        }
        let before = events.len();
        for (list, standby) in [("messaging", false), ("standby", true), ("messaging_handovers", false)] {
            for item in array(entry, list) {
                parse_item(item, standby, &mut events);
            }
        }
        if events.len() == before {
            events.push(InboundEvent::Ignored("Messenger entry without messaging events".into()));
        }
    }
    Ok(events)
}

/// One `messaging[]` / `standby[]` / `messaging_handovers[]` item.
fn parse_item(item: &Value, standby: bool, events: &mut Vec<InboundEvent>) {
    let sender = item.pointer("/sender/id").and_then(id_string);
    let recipient = item.pointer("/recipient/id").and_then(id_string);
    let at = unix_millis(item.get("timestamp"));

    if let Some(message) = item.get("message") {
        events.push(parse_message(message, sender, recipient, at, standby));
        return;
    }
    let Some(sender) = sender else {
        events.push(InboundEvent::Ignored("Messenger event without sender".into()));
        return;
    };
    if let Some(delivery) = item.get("delivery") {
        for mid in array(delivery, "mids").iter().filter_map(Value::as_str) {
            events.push(InboundEvent::Status(StatusUpdate {
                target: StatusTarget::Message(mid.to_owned()),
                status: DeliveryStatus::Delivered,
                error: None,
            }));
        }
        events.push(watermark(&sender, delivery, DeliveryStatus::Delivered));
    } else if let Some(read) = item.get("read") {
        events.push(watermark(&sender, read, DeliveryStatus::Read));
    } else if let Some(pass) = item.get("pass_thread_control") {
        let metadata = non_empty(pass.get("metadata"));
        let apps = handover_apps(pass);
        events.push(InboundEvent::Handover(Handover::PassedToUs { customer: sender, metadata, apps }));
    } else if let Some(take) = item.get("take_thread_control") {
        let apps = handover_apps(take);
        events.push(InboundEvent::Handover(Handover::TakenBack { customer: sender, apps }));
    } else if item.get("request_thread_control").is_some() {
        events.push(InboundEvent::Ignored("Messenger request_thread_control".into()));
    } else if let Some(reaction) = item.get("reaction") {
        events.push(parse_reaction(reaction, sender, at));
    } else if let Some(postback) = item.get("postback") {
        events.push(parse_postback(postback, sender, at, standby));
    } else {
        let kind = item.as_object().and_then(|o| {
            o.keys().find(|k| !matches!(k.as_str(), "sender" | "recipient" | "timestamp")).cloned()
        });
        events.push(InboundEvent::Ignored(format!("Messenger event `{}`", kind.unwrap_or_default())));
    }
}

/// The app ids of a `pass_thread_control` / `take_thread_control` object.
fn handover_apps(part: &Value) -> HandoverApps {
    HandoverApps {
        previous_owner: part.get("previous_owner_app_id").and_then(id_string),
        new_owner: part.get("new_owner_app_id").and_then(id_string),
    }
}

/// A `delivery` or `read` watermark for every outgoing message to `customer` up to then.
fn watermark(customer: &str, part: &Value, status: DeliveryStatus) -> InboundEvent {
    let Some(up_to) =
        part.get("watermark").and_then(as_i64).and_then(|ms| Utc.timestamp_millis_opt(ms).single())
    else {
        return InboundEvent::Ignored(format!("Messenger {} without watermark", status.as_str()));
    };
    InboundEvent::Status(StatusUpdate {
        target: StatusTarget::Watermark { customer: customer.to_owned(), up_to },
        status,
        error: None,
    })
}

/// A `message` event: the customer's message, or an echo of one written to them.
fn parse_message(
    message: &Value,
    sender: Option<String>,
    recipient: Option<String>,
    sent_at: DateTime<Utc>,
    standby: bool,
) -> InboundEvent {
    let Some(mid) = non_empty(message.get("mid")) else {
        return InboundEvent::Ignored("Messenger message without mid".into());
    };
    let echo = message.get("is_echo").and_then(Value::as_bool).unwrap_or(false);
    let (customer, direction, author_kind) = if echo {
        let app_id = message.get("app_id").and_then(id_string);
        let author =
            if app_id.as_deref() == Some(PAGE_INBOX_APP_ID) { AuthorKind::Agent } else { AuthorKind::Bot };
        (recipient, Direction::Outgoing, author)
    } else {
        (sender, Direction::Incoming, AuthorKind::Contact)
    };
    let Some(customer) = customer else {
        return InboundEvent::Ignored("Messenger message without customer id".into());
    };

    let mut texts: Vec<String> = non_empty(message.get("text")).into_iter().collect();
    let mut kinds = Vec::new();
    let mut attachments = Vec::new();
    for att in array(message, "attachments") {
        let (kind, text, file) = attachment(att);
        kinds.push(kind);
        texts.extend(text);
        attachments.extend(file);
    }
    let kind = match kinds.first() {
        Some(first) => *first,
        None if texts.is_empty() => {
            texts.push("[unsupported Messenger message]".into());
            MessageKind::Unsupported
        }
        None => MessageKind::Text,
    };
    let parsed = InboundMessage {
        provider_message_id: mid,
        customer: Customer { external_id: customer, ..Customer::default() },
        direction,
        author_kind,
        sent_at,
        kind,
        text: (!texts.is_empty()).then(|| texts.join("\n")),
        attachments,
        standby,
    };
    // An echo of a part of a reply Switchboard sent names the reply in its metadata.
    match message.get("metadata").and_then(Value::as_str).and_then(super::tagged_message) {
        Some(ours) if echo => InboundEvent::EchoOf(ours, parsed),
        _ => InboundEvent::Message(parsed),
    }
}

/// Kind, readable text and downloadable file of one `message.attachments[]` item.
fn attachment(att: &Value) -> (MessageKind, Option<String>, Option<InboundAttachment>) {
    let type_name = att.get("type").and_then(Value::as_str).unwrap_or("unknown");
    let payload = att.get("payload").unwrap_or(&Value::Null);
    let placeholder = || Some(format!("[unsupported Messenger attachment: {type_name}]"));
    let kind = match type_name {
        "image" if payload.get("sticker_id").is_some() => MessageKind::Sticker,
        "image" => MessageKind::Image,
        "video" => MessageKind::Video,
        "audio" => MessageKind::Audio,
        "file" => MessageKind::Document,
        "location" => {
            let coords = payload.get("coordinates").unwrap_or(&Value::Null);
            let mut text = String::from("📍");
            if let Some(title) = non_empty(att.get("title")).or_else(|| non_empty(payload.get("title"))) {
                text = format!("{text} {title}");
            }
            if let (Some(lat), Some(long)) =
                (coords.get("lat").and_then(id_string), coords.get("long").and_then(id_string))
            {
                text = format!("{text} ({lat}, {long})");
            }
            return (MessageKind::Location, Some(text), None);
        }
        "fallback" => {
            // A shared link Meta could not render as anything richer.
            let parts: Vec<String> =
                [att.get("title"), payload.get("title"), att.get("url"), payload.get("url")]
                    .into_iter()
                    .filter_map(non_empty)
                    .collect();
            let text = if parts.is_empty() { placeholder() } else { Some(parts.join(" ")) };
            let kind = if parts.is_empty() { MessageKind::Unsupported } else { MessageKind::Text };
            return (kind, text, None);
        }
        "template" => {
            // Usually a chatbot's echo (button or generic template): keep what is readable.
            let mut parts: Vec<String> = non_empty(payload.get("text")).into_iter().collect();
            parts.extend(array(payload, "elements").iter().filter_map(|e| non_empty(e.get("title"))));
            return if parts.is_empty() {
                (MessageKind::Unsupported, placeholder(), None)
            } else {
                (MessageKind::Text, Some(parts.join("\n")), None)
            };
        }
        _ => return (MessageKind::Unsupported, placeholder(), None),
    };
    match non_empty(payload.get("url")) {
        Some(url) => (
            kind,
            None,
            Some(InboundAttachment {
                kind,
                source: MediaSource::Url(url),
                file_name: None,
                content_type: None,
                size_bytes: None,
            }),
        ),
        None => (MessageKind::Unsupported, placeholder(), None),
    }
}

/// A `reaction` event; `action: "unreact"` removes it.
fn parse_reaction(reaction: &Value, customer: String, at: DateTime<Utc>) -> InboundEvent {
    let Some(mid) = non_empty(reaction.get("mid")) else {
        return InboundEvent::Ignored("Messenger reaction without mid".into());
    };
    let removed = reaction.get("action").and_then(Value::as_str) == Some("unreact");
    let emoji = if removed {
        None
    } else {
        non_empty(reaction.get("emoji")).or_else(|| non_empty(reaction.get("reaction")))
    };
    InboundEvent::Reaction(Reaction {
        provider_message_id: mid,
        customer: Customer { external_id: customer, ..Customer::default() },
        emoji,
        at,
    })
}

/// A `postback` (the customer tapped a button): stored as a text message with the button title.
fn parse_postback(postback: &Value, customer: String, sent_at: DateTime<Utc>, standby: bool) -> InboundEvent {
    let Some(mid) = non_empty(postback.get("mid")) else {
        return InboundEvent::Ignored("Messenger postback without mid".into());
    };
    let text = non_empty(postback.get("title")).or_else(|| non_empty(postback.get("payload")));
    InboundEvent::Message(InboundMessage {
        provider_message_id: mid,
        customer: Customer { external_id: customer, ..Customer::default() },
        direction: Direction::Incoming,
        author_kind: AuthorKind::Contact,
        sent_at,
        kind: MessageKind::Text,
        text,
        attachments: vec![],
        standby,
    })
}

/// The array under `key`, or an empty slice.
fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// A string value that is not blank (kept as sent).
fn non_empty(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).filter(|s| !s.trim().is_empty()).map(str::to_owned)
}

/// An id given as a string or a number (Meta mixes both).
fn id_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An integer given as a number or a string.
fn as_i64(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str()?.parse().ok())
}

/// Unix milliseconds; now when missing or invalid.
fn unix_millis(v: Option<&Value>) -> DateTime<Utc> {
    v.and_then(as_i64).and_then(|ms| Utc.timestamp_millis_opt(ms).single()).unwrap_or_else(crate::clock::now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::MessageId;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!("../../../../tests/fixtures/channels/messenger/", $name))
        };
    }

    const PAGE: &str = "104857361029384";
    const SOFIA: &str = "7391846205738461";
    const LIAM: &str = "6829301745562198";
    const ECHO_MID: &str =
        "m_d471ACntshmGfTVV-E60P6AycObUXUnxwpArdjS1RGJrxI-s0IQ53MAofr0iWRNFYMNZ6DBfuV6kKP75kiHOQr";

    fn keys() -> ChannelKeys {
        ChannelKeys { phone_number_id: None, page_id: Some(PAGE.into()) }
    }

    fn ms(millis: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(millis).unwrap()
    }

    fn psid(id: &str) -> Customer {
        Customer { external_id: id.into(), ..Customer::default() }
    }

    fn incoming(mid: &str, customer: &str, at: i64, kind: MessageKind, text: Option<&str>) -> InboundMessage {
        InboundMessage {
            provider_message_id: mid.into(),
            customer: psid(customer),
            direction: Direction::Incoming,
            author_kind: AuthorKind::Contact,
            sent_at: ms(at),
            kind,
            text: text.map(Into::into),
            attachments: vec![],
            standby: false,
        }
    }

    fn with_file(mut m: InboundMessage, kind: MessageKind, url: &str) -> InboundMessage {
        m.attachments = vec![InboundAttachment {
            kind,
            source: MediaSource::Url(url.into()),
            file_name: None,
            content_type: None,
            size_bytes: None,
        }];
        m
    }

    fn events(body: &[u8]) -> Vec<InboundEvent> {
        parse(body, &keys()).unwrap()
    }

    fn items(items: &str) -> Vec<u8> {
        format!(
            r#"{{"object":"page","entry":[{{"id":"{PAGE}","time":1773135000000,"messaging":[{items}]}}]}}"#
        )
        .into_bytes()
    }

    fn from_sofia(event: &str) -> String {
        format!(
            r#"{{"sender":{{"id":"{SOFIA}"}},"recipient":{{"id":"{PAGE}"}},"timestamp":1773135000412,{event}}}"#
        )
    }

    #[test]
    fn text_message() {
        assert_eq!(
            events(fixture!("text_message.json")),
            vec![InboundEvent::Message(incoming(
                "m_fTn3zsRa_QMn6uTfRB0XYVnhlSOhB7kULiLKbclDJUfYuKgMEWm9zuVa6XNUKisWbSlusDeoTi6CUxEyj9KUdw",
                SOFIA,
                1773135000412,
                MessageKind::Text,
                Some("Hi, I'd like to return the jacket from order #51877, it is too small."),
            ))]
        );
    }

    #[test]
    fn attachments() {
        let cases: [(&[u8], &str, i64, MessageKind, &str); 3] = [
            (
                fixture!("attachment_image.json"),
                "m_kJ4U_cHGwBLIqfh5kP8FcjBTg5olxNYXWKeMKXcSWYdnbZgGv851MsHDnESyz3dQZavYWS7pF1uobUwfk71NIw",
                1773135060412,
                MessageKind::Image,
                "https://scontent.xx.fbcdn.net/v/t1.15752-9/436291847_1183746162631180_n.jpg?_nc_cat=104&ccb=1-7&_nc_sid=fc17b8&_nc_ohc=65c74c15a68&_nc_ad=z-m&_nc_cid=0&_nc_ht=scontent.xx&oh=03_aaa9402664f1a41f40ebbc52c9993eb66aeb3666&oe=6A1F3C2B",
            ),
            (
                fixture!("attachment_file.json"),
                "m_lbFyxukw3AGvhfw3IKCPMZGjV5BWew0m_GRe_um7B-q8XEGoaLEsgghDbeHX_Vc_XnjnoldS9PyD29F87IHMHj",
                1773135090412,
                MessageKind::Document,
                "https://cdn.fbsbx.com/v/t59.2708-21/437718265_5103508311943996_n.pdf/receipt-51877.pdf?_nc_cat=108&ccb=1-7&_nc_sid=2b0e22&_nc_ohc=9c3aee7110b&_nc_ht=cdn.fbsbx.com&oh=03_7f3684acbbd068809e68cc5b734b30d489c98dca&oe=6A1E91D0&dl=1",
            ),
            (
                fixture!("attachment_audio.json"),
                "m_yC4MRfOqdYAXhB8IjHj2MarjOa1vIjjsiDnEpBwFN5xW7NdXZgfiduQ_gjD0GBof2ay15RsIJo4mQaaZcZBy7l",
                1773135120412,
                MessageKind::Audio,
                "https://cdn.fbsbx.com/v/t59.3654-21/437902114_9432007011506795_n.mp4/audioclip-1773135120000-6214.mp4?_nc_cat=100&ccb=1-7&_nc_sid=d61c36&_nc_ohc=2dd411308b3&_nc_ht=cdn.fbsbx.com&oh=03_70a0d5198ebb88f97a2cc83a236a8afcc28c7d9e&oe=6A1EB7F2",
            ),
        ];
        for (body, mid, at, kind, url) in cases {
            assert_eq!(
                events(body),
                vec![InboundEvent::Message(with_file(incoming(mid, SOFIA, at, kind, None), kind, url))]
            );
        }
    }

    #[test]
    fn echo_of_our_reply_is_outgoing_bot() {
        let mut expected = incoming(
            ECHO_MID,
            SOFIA,
            1773135360412,
            MessageKind::Text,
            Some(
                "Hi Sofia, I'm Marta from customer care. I've started the return for order #51877; a prepaid \
                 label is on its way.",
            ),
        );
        expected.direction = Direction::Outgoing;
        expected.author_kind = AuthorKind::Bot;
        assert_eq!(events(fixture!("echo.json")), vec![InboundEvent::Message(expected.clone())]);

        // With the metadata Switchboard sends, the echo names the stored reply.
        let mut body: serde_json::Value = serde_json::from_slice(fixture!("echo.json")).unwrap();
        body["entry"][0]["messaging"][0]["message"]["metadata"] = "switchboard:42".into();
        let tagged = events(body.to_string().as_bytes());
        assert_eq!(tagged, vec![InboundEvent::EchoOf(MessageId(42), expected.clone())]);

        // Someone else's metadata, or ours on a message that is not an echo, names nothing.
        body["entry"][0]["messaging"][0]["message"]["metadata"] = "campaign:42".into();
        assert_eq!(events(body.to_string().as_bytes()), vec![InboundEvent::Message(expected)]);
        let incoming = items(&format!(
            r#"{{"sender":{{"id":"{SOFIA}"}},"recipient":{{"id":"{PAGE}"}},"timestamp":1773135000412,
                "message":{{"mid":"m_1","text":"hi","metadata":"switchboard:42"}}}}"#
        ));
        let evs = events(&incoming);
        assert!(
            matches!(evs.as_slice(), [InboundEvent::Message(m)] if m.direction == Direction::Incoming),
            "{evs:?}"
        );
    }

    #[test]
    fn echo_from_page_inbox_is_an_agent() {
        let body = items(&format!(
            r#"{{"sender":{{"id":"{PAGE}"}},"recipient":{{"id":"{SOFIA}"}},"timestamp":1773135000412,
                "message":{{"mid":"m_inbox","is_echo":true,"app_id":263902037430900,"text":"Hello from Meta's inbox"}}}}"#
        ));
        let evs = events(&body);
        let [InboundEvent::Message(m)] = evs.as_slice() else { panic!("{evs:?}") };
        assert_eq!(m.customer, psid(SOFIA));
        assert_eq!((m.direction, m.author_kind), (Direction::Outgoing, AuthorKind::Agent));
    }

    #[test]
    fn delivery_gives_each_mid_and_the_watermark() {
        assert_eq!(
            events(fixture!("delivery.json")),
            vec![
                InboundEvent::Status(StatusUpdate {
                    target: StatusTarget::Message(ECHO_MID.into()),
                    status: DeliveryStatus::Delivered,
                    error: None,
                }),
                InboundEvent::Status(StatusUpdate {
                    target: StatusTarget::Watermark { customer: SOFIA.into(), up_to: ms(1773135361912) },
                    status: DeliveryStatus::Delivered,
                    error: None,
                }),
            ]
        );
        // Without `mids`: only the watermark.
        let body = items(&from_sofia(r#""delivery":{"watermark":1773135361912}"#));
        assert_eq!(events(&body).len(), 1);
    }

    #[test]
    fn read_watermark() {
        assert_eq!(
            events(fixture!("read.json")),
            vec![InboundEvent::Status(StatusUpdate {
                target: StatusTarget::Watermark { customer: SOFIA.into(), up_to: ms(1773135361912) },
                status: DeliveryStatus::Read,
                error: None,
            })]
        );
    }

    #[test]
    fn batched_entries() {
        assert_eq!(
            events(fixture!("batched_entries.json")),
            vec![
                InboundEvent::Message(incoming(
                    "m_wXEmf7rm6XrQWAHbpNcmfEHLODVAlRmFwMMqwnktgi4RtKNlwnos4qwZq6E-0Ku3x0C0RTEgmn-UQ9kIUg1pu_",
                    SOFIA,
                    1773135600412,
                    MessageKind::Text,
                    Some("Thank you! Do I need to print the label?"),
                )),
                InboundEvent::Message(incoming(
                    "m_0-RVYw67q0Pn2MvXcsP-IqB4_kRSkwtmRpI1t3rMtzMMN0PYAj2eK3exw4JQOW_k5hj8C6Y-1pvxtrA4cdibSM",
                    LIAM,
                    1773135600462,
                    MessageKind::Text,
                    Some("Hello, do you ship to Ireland?"),
                )),
                InboundEvent::Status(StatusUpdate {
                    target: StatusTarget::Watermark { customer: SOFIA.into(), up_to: ms(1773135361912) },
                    status: DeliveryStatus::Read,
                    error: None,
                }),
            ]
        );
    }

    #[test]
    fn standby_message_and_bot_echo() {
        let mut expected = incoming(
            "m_qtEGTJggAqmNeL6fUJgwvGK0zbzzHqtvykLCiuAjZzJKGF-0XQkaaqrUkRgNljZ1XoQPcH5zmoDeMZLyf9U21t",
            SOFIA,
            1773134130412,
            MessageKind::Text,
            Some("I want to return something"),
        );
        expected.standby = true;
        assert_eq!(events(fixture!("standby_message.json")), vec![InboundEvent::Message(expected)]);

        let mut echo = incoming(
            "m_zvozK2a5tB8EQUI4bWCnw_ie6qOy6Mxo1U-yS63jNW0zfqqzRi4rUtHHKGYObi0_KcCXKT3j6MHnCczPAebl4x",
            SOFIA,
            1773134131612,
            MessageKind::Text,
            Some("Sure! Returns are free within 30 days. Would you like to talk to one of our agents?"),
        );
        echo.direction = Direction::Outgoing;
        echo.author_kind = AuthorKind::Bot;
        echo.standby = true;
        assert_eq!(events(fixture!("standby_echo_from_bot.json")), vec![InboundEvent::Message(echo)]);
    }

    #[test]
    fn handover_events() {
        assert_eq!(
            events(fixture!("pass_thread_control.json")),
            vec![InboundEvent::Handover(Handover::PassedToUs {
                customer: SOFIA.into(),
                metadata: Some(
                    "handoff: customer asked for a human agent; intent=return_request; order=51877".into()
                ),
                apps: apps(Some(BOT_APP), Some(OUR_APP)),
            })]
        );
        assert_eq!(
            events(fixture!("take_thread_control.json")),
            vec![InboundEvent::Handover(Handover::TakenBack {
                customer: SOFIA.into(),
                apps: apps(Some(OUR_APP), Some(BOT_APP)),
            })]
        );
        assert_eq!(
            events(fixture!("request_thread_control.json")),
            vec![InboundEvent::Ignored("Messenger request_thread_control".into())]
        );
        // The older `messaging_handovers` field carries the same items.
        let body = format!(
            r#"{{"object":"page","entry":[{{"id":"{PAGE}","messaging_handovers":[{}]}}]}}"#,
            from_sofia(r#""pass_thread_control":{"new_owner_app_id":812345670123456}"#)
        );
        assert_eq!(
            events(body.as_bytes()),
            vec![InboundEvent::Handover(Handover::PassedToUs {
                customer: SOFIA.into(),
                metadata: None,
                apps: apps(None, Some(OUR_APP)),
            })]
        );
    }

    /// The fixtures' app ids: ours (the page's Messenger app) and the chatbot's.
    const OUR_APP: &str = "812345670123456";
    const BOT_APP: &str = "598765432109876";

    fn apps(previous: Option<&str>, new: Option<&str>) -> HandoverApps {
        HandoverApps { previous_owner: previous.map(Into::into), new_owner: new.map(Into::into) }
    }

    #[test]
    fn another_page_is_ignored() {
        let other = ChannelKeys { phone_number_id: None, page_id: Some("999".into()) };
        assert_eq!(
            parse(fixture!("batched_entries.json"), &other).unwrap(),
            vec![InboundEvent::Ignored("another page".into()); 3]
        );
        // Without a configured page every entry is accepted.
        assert_eq!(parse(fixture!("batched_entries.json"), &ChannelKeys::default()).unwrap().len(), 3);
    }

    #[test]
    fn malformed_bodies_are_errors() {
        assert!(parse(b"not json", &keys()).is_err());
        assert!(parse(b"{}", &keys()).is_err());
        assert!(parse(br#"{"object":"whatsapp_business_account","entry":[]}"#, &keys()).is_err());
        assert!(parse(br#"{"object":"page","entry":"x"}"#, &keys()).is_err());
        assert_eq!(parse(br#"{"object":"page","entry":[]}"#, &keys()).unwrap(), vec![]);
    }

    #[test]
    fn reactions() {
        let body = items(
            &[
                from_sofia(r#""reaction":{"mid":"m_out","action":"react","reaction":"love","emoji":"❤"}"#),
                from_sofia(r#""reaction":{"mid":"m_out","action":"unreact","reaction":"love","emoji":"❤"}"#),
            ]
            .join(","),
        );
        let reaction = |emoji: Option<&str>| {
            InboundEvent::Reaction(Reaction {
                provider_message_id: "m_out".into(),
                customer: psid(SOFIA),
                emoji: emoji.map(Into::into),
                at: ms(1773135000412),
            })
        };
        assert_eq!(events(&body), vec![reaction(Some("❤")), reaction(None)]);
    }

    #[test]
    fn postbacks_and_other_events() {
        let body = items(
            &[
                from_sofia(r#""postback":{"mid":"m_pb","title":"Talk to an agent","payload":"AGENT"}"#),
                from_sofia(r#""postback":{"title":"Get started","payload":"START"}"#),
                from_sofia(r#""optin":{"type":"notification_messages"}"#),
                r#"{"weird":true}"#.to_owned(),
                r#"42"#.to_owned(),
            ]
            .join(","),
        );
        let evs = events(&body);
        assert_eq!(evs.len(), 5, "{evs:?}");
        assert_eq!(
            evs[0],
            InboundEvent::Message(incoming(
                "m_pb",
                SOFIA,
                1773135000412,
                MessageKind::Text,
                Some("Talk to an agent")
            ))
        );
        assert_eq!(evs[1], InboundEvent::Ignored("Messenger postback without mid".into()));
        assert_eq!(evs[2], InboundEvent::Ignored("Messenger event `optin`".into()));
        assert!(evs[3..].iter().all(|e| matches!(e, InboundEvent::Ignored(_))));
    }

    #[test]
    fn unusual_attachments_do_not_break_the_batch() {
        let body = items(&[
            from_sofia(
                r#""message":{"mid":"m_loc","attachments":[{"type":"location","title":"Pinned Location",
                   "payload":{"coordinates":{"lat":40.4168,"long":-3.7038}}}]}"#,
            ),
            from_sofia(
                r#""message":{"mid":"m_fb","attachments":[{"type":"fallback","title":"Our shop",
                   "url":"https://shop.example/x","payload":null}]}"#,
            ),
            from_sofia(r#""message":{"mid":"m_new","attachments":[{"type":"ig_reel","payload":{}}]}"#),
            from_sofia(r#""message":{"mid":"m_empty"}"#),
            from_sofia(
                r#""message":{"mid":"m_mix","text":"see this","attachments":[{"type":"video",
                   "payload":{"url":"https://cdn.example/v.mp4"}},{"type":"image","payload":{"url":"https://cdn.example/i.jpg"}}]}"#,
            ),
            from_sofia(r#""message":{"mid":"m_like","attachments":[{"type":"image",
                   "payload":{"url":"https://cdn.example/like.png","sticker_id":369239263222822}}]}"#),
            from_sofia(r#""message":{"text":"no mid"}"#),
        ]
        .join(","));
        let evs = events(&body);
        let summary: Vec<(MessageKind, Option<String>, usize)> = evs[..6]
            .iter()
            .map(|e| match e {
                InboundEvent::Message(m) => (m.kind, m.text.clone(), m.attachments.len()),
                other => panic!("{other:?}"),
            })
            .collect();
        let s = |t: &str| Some(t.to_owned());
        assert_eq!(
            summary,
            vec![
                (MessageKind::Location, s("📍 Pinned Location (40.4168, -3.7038)"), 0),
                (MessageKind::Text, s("Our shop https://shop.example/x"), 0),
                (MessageKind::Unsupported, s("[unsupported Messenger attachment: ig_reel]"), 0),
                (MessageKind::Unsupported, s("[unsupported Messenger message]"), 0),
                (MessageKind::Video, s("see this"), 2),
                (MessageKind::Sticker, None, 1),
            ]
        );
        assert_eq!(evs[6], InboundEvent::Ignored("Messenger message without mid".into()));
    }
}
