//! Cases: customer issues with a number, raised from a chat ("Create case", DESIGN §1 Chat
//! actions) and worked through NEW → IN_PROGRESS → RESOLVED → CLOSED.
//!
//! The mapping from a chat is exact: subject = the text of the chat's first message (its own
//! messages, not a transfer parent's); description = the customer's (incoming) messages that
//! arrived before the first agent reply, one per line, or all of them when nobody has replied
//! yet; source CHAT, registered now, status NEW, the chat's contact, that contact's account,
//! the chat's owner as assignee, and the chat itself.

use entity::enums::{AuthorKind, CaseStatus, Direction};
use entity::messages;

/// A case's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseId(pub i64);

impl std::fmt::Display for CaseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Longest subject, in characters. A longer first message is cut (ending in `…`); its whole
/// text stays in the description when the customer wrote it.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Longest description, in characters (a case from a very long conversation is cut, ending in `…`).
pub const MAX_DESCRIPTION_CHARS: usize = 20_000;
/// The line a message without text or file name stands for (an image without a caption
/// whose file name the provider did not give, a location...).
pub const NO_TEXT: &str = "(no text)";

/// The human-readable number of the case with row id `id`: `CS-` and at least six digits.
/// Derived from the id, which the database hands out uniquely, so two cases created at the
/// same moment never share a number.
pub fn number_of(id: i64) -> String {
    format!("CS-{id:06}")
}

/// The position of a status in the life cycle; a case only moves to a later one.
fn rank(status: CaseStatus) -> u8 {
    match status {
        CaseStatus::New => 0,
        CaseStatus::InProgress => 1,
        CaseStatus::Resolved => 2,
        CaseStatus::Closed => 3,
    }
}

/// Whether a case may go from `from` to `to`: forward only (steps may be skipped, e.g. NEW →
/// RESOLVED), or staying where it is.
pub fn may_move(from: CaseStatus, to: CaseStatus) -> bool {
    rank(to) >= rank(from)
}

/// `text` cut to `max` characters, the last one being `…` when anything was cut.
fn capped(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// What one message contributes to a case: its trimmed text, else its first file's name,
/// else [`NO_TEXT`].
fn line_of(message: &messages::Model, file_name: Option<&str>) -> String {
    let text = message.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let file = file_name.map(str::trim).filter(|f| !f.is_empty());
    text.or(file).unwrap_or(NO_TEXT).to_owned()
}

/// Whether a message is an agent's reply: outgoing and written by an agent (on this server,
/// or in the provider's own inbox). Bot echoes and system notices are not replies.
fn is_agent_reply(message: &messages::Model) -> bool {
    message.direction == Direction::Outgoing && message.author_kind == AuthorKind::Agent
}

/// The subject and description of a case from a chat's messages (in id order, each with its
/// first attachment's file name), by the mapping in the module documentation. The subject
/// is the first message's line with runs of white space (line breaks included) made one
/// space, cut to [`MAX_SUBJECT_CHARS`]; a chat without messages gives [`NO_TEXT`].
pub fn subject_and_description(messages: &[(messages::Model, Option<String>)]) -> (String, String) {
    let subject = match messages.first() {
        Some((first, file)) => {
            let line = line_of(first, file.as_deref());
            capped(&line.split_whitespace().collect::<Vec<_>>().join(" "), MAX_SUBJECT_CHARS)
        }
        None => NO_TEXT.to_owned(),
    };
    let description = messages
        .iter()
        .take_while(|(message, _)| !is_agent_reply(message))
        .filter(|(message, _)| message.direction == Direction::Incoming)
        .map(|(message, file)| line_of(message, file.as_deref()))
        .collect::<Vec<_>>()
        .join("\n");
    (subject, capped(&description, MAX_DESCRIPTION_CHARS))
}

mod reads;
mod writes;

pub use reads::*;
pub use writes::*;

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: i64, direction: Direction, author: AuthorKind, text: Option<&str>) -> messages::Model {
        messages::Model {
            id,
            chat_id: 1,
            channel_id: 1,
            direction,
            author_kind: author,
            author_agent_id: None,
            kind: entity::enums::MessageKind::Text,
            text: text.map(str::to_owned),
            provider_message_id: None,
            delivery_status: None,
            delivery_error: None,
            edited_at: None,
            created_at: crate::clock::now(),
        }
    }

    fn incoming(id: i64, text: &str) -> (messages::Model, Option<String>) {
        (message(id, Direction::Incoming, AuthorKind::Contact, Some(text)), None)
    }

    #[test]
    fn description_stops_at_the_first_agent_reply() {
        let chat = vec![
            incoming(1, "My order is late"),
            incoming(2, "It was due Monday"),
            (message(3, Direction::Outgoing, AuthorKind::Bot, Some("bot says hi")), None),
            incoming(4, "Order 1234"),
            (message(5, Direction::Outgoing, AuthorKind::Agent, Some("Looking into it")), None),
            incoming(6, "Thanks"),
        ];
        let (subject, description) = subject_and_description(&chat);
        assert_eq!(subject, "My order is late");
        assert_eq!(description, "My order is late\nIt was due Monday\nOrder 1234");
        // No reply yet: every incoming message.
        let (_, so_far) = subject_and_description(&chat[..2]);
        assert_eq!(so_far, "My order is late\nIt was due Monday");
    }

    #[test]
    fn subjects_are_one_line_and_capped_and_textless_messages_have_a_fallback() {
        let long = "word ".repeat(100);
        let (subject, description) =
            subject_and_description(&[incoming(1, &format!("  Line one\n\n{long}"))]);
        assert_eq!(subject.chars().count(), MAX_SUBJECT_CHARS);
        assert!(subject.starts_with("Line one word") && subject.ends_with('…'));
        assert!(description.starts_with("Line one\n\nword"), "the full text stays in the description");
        let photo =
            (message(1, Direction::Incoming, AuthorKind::Contact, None), Some("receipt.jpg".to_owned()));
        let blank = (message(2, Direction::Incoming, AuthorKind::Contact, Some("  ")), None);
        let (subject, description) = subject_and_description(&[photo, blank]);
        assert_eq!(subject, "receipt.jpg");
        assert_eq!(description, format!("receipt.jpg\n{NO_TEXT}"));
        assert_eq!(subject_and_description(&[]), (NO_TEXT.to_owned(), String::new()));
    }

    #[test]
    fn statuses_move_forward_only() {
        use CaseStatus::*;
        assert!(may_move(New, InProgress) && may_move(InProgress, Resolved) && may_move(Resolved, Closed));
        assert!(may_move(New, Closed), "forward steps may be skipped");
        assert!(may_move(Resolved, Resolved));
        assert!(!may_move(Closed, Resolved) && !may_move(InProgress, New));
    }

    #[test]
    fn numbers_come_from_ids() {
        assert_eq!(number_of(42), "CS-000042");
        assert_eq!(number_of(1_234_567), "CS-1234567");
    }
}
