//! Messenger Platform: webhooks in (`webhook`), Graph API calls out (`api`).

pub mod api;
pub mod webhook;

use crate::domain::ids::MessageId;

/// How Switchboard names its messages in the Send API's `metadata`, which Messenger returns
/// on each echo.
const ECHO_TAG: &str = "switchboard:";

/// The `metadata` sent with every part of message `id`.
pub fn echo_tag(id: MessageId) -> String {
    format!("{ECHO_TAG}{}", id.0)
}

/// The message an echo's `metadata` names, if Switchboard sent it.
pub fn tagged_message(metadata: &str) -> Option<MessageId> {
    metadata.strip_prefix(ECHO_TAG)?.parse().ok().map(MessageId)
}
