//! The `Settings` type.

use async_graphql::SimpleObject;

/// Settings that shape routing; changed by administrators, in force at once.
#[derive(Clone, Copy, Debug, SimpleObject)]
pub struct Settings {
    /// `SimultaneousChats`: how many chats (directed + in progress) an agent may hold; 0 = no limit.
    pub simultaneous_chats: u32,
    /// `OmniChatOperatorAcceptChatTimeout`: seconds an agent has to accept a directed chat.
    pub accept_chat_timeout_seconds: u32,
}

impl From<crate::domain::settings::Settings> for Settings {
    fn from(value: crate::domain::settings::Settings) -> Self {
        Self {
            simultaneous_chats: value.simultaneous_chats,
            accept_chat_timeout_seconds: value.accept_chat_timeout_seconds,
        }
    }
}
