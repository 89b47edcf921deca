//! Newtype ids, so an agent id can never be passed where a chat id is expected.

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

ids! {
    /// An agent (any role: agents, supervisors, admins, analysts, bots).
    AgentId,
    /// A queue.
    QueueId,
    /// A channel: one connected provider account.
    ChannelId,
    /// A contact.
    ContactId,
    /// A chat.
    ChatId,
    /// A message.
    MessageId,
}

/// The global id the API shows for row `id` of GraphQL type `type_name`:
/// `base64url("Type:id")` without padding. The GraphQL face and the chat-action webhooks
/// (which name the chat, contact, agent and action the way the API does) share it.
pub fn global(type_name: &str, id: i64) -> String {
    GlobalId::new(type_name, id).as_str().to_owned()
}

/// A global id ([`global`]) or a connection cursor ([`GlobalId::cursor`]) on the stack: the
/// plain answers write thousands of them per second without allocating each.
#[derive(Clone, Copy)]
pub struct GlobalId {
    text: [u8; Self::CAPACITY],
    len: usize,
}

impl GlobalId {
    /// Longest type name (or cursor prefix) a global id is made of.
    const MAX_TYPE_NAME: usize = 64;
    /// Room for the base64 of the longest `Type:id`.
    const CAPACITY: usize = (Self::MAX_TYPE_NAME + 1 + 20).div_ceil(3) * 4;

    /// The global id of row `id` of GraphQL type `type_name` (one of ours: at most 64 bytes).
    pub fn new(type_name: &str, id: i64) -> Self {
        use base64::Engine;
        use std::io::Write;
        assert!(type_name.len() <= Self::MAX_TYPE_NAME, "a GraphQL type name of ours");
        let mut raw = [0u8; Self::MAX_TYPE_NAME + 1 + 20];
        let capacity = raw.len();
        let raw_len = {
            let mut rest = &mut raw[..];
            write!(rest, "{type_name}:{id}").expect("room for a type name and an i64");
            capacity - rest.len()
        };
        let mut text = [0u8; Self::CAPACITY];
        let len = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode_slice(&raw[..raw_len], &mut text)
            .expect("room for the base64 of a type name and an i64");
        Self { text, len }
    }

    /// The cursor of row `id` in a connection ordered by id: `base64url("cursor:id")`.
    pub fn cursor(id: i64) -> Self {
        Self::new("cursor", id)
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.text[..self.len]).expect("base64 is ASCII")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn global_ids_on_the_stack_are_base64_of_type_and_row() {
        let longest = "T".repeat(64);
        for (type_name, id) in
            [("Chat", 1), ("Message", i64::MAX), ("cursor", i64::MIN), (longest.as_str(), -7)]
        {
            let expected =
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{type_name}:{id}"));
            assert_eq!(GlobalId::new(type_name, id).as_str(), expected);
            assert_eq!(global(type_name, id), expected);
        }
        assert_eq!(GlobalId::cursor(42).as_str(), GlobalId::new("cursor", 42).as_str());
    }
}
