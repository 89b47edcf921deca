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
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{type_name}:{id}"))
}
