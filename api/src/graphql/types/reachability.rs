//! `ChannelReachability`: whether a chat can be started with a contact on one channel now.

use async_graphql::{Enum, ID, Object};
use chrono::{DateTime, Utc};

use super::channel::Channel;
use crate::domain::initiate::{Reach, Refusal};
use crate::graphql::ids;

/// Why a chat cannot be started on a channel now; each is also the `extensions.code` of the
/// error `initiateChat` answers.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum InitiateRefusal {
    /// The channel is switched off.
    ChannelInactive,
    /// The contact has never written through this channel.
    NeverWroteOnChannel,
    /// The contact already has an open chat on this channel (`openChatId`); use it.
    OpenChatExists,
    /// WhatsApp or Messenger: the contact's last message on the channel is 24 hours old or
    /// older (`windowClosesAt` is past). On WhatsApp a message template may still be sent
    /// (`templateOnly`).
    OutsideMessagingWindow,
}

impl From<&Refusal> for InitiateRefusal {
    fn from(refusal: &Refusal) -> Self {
        match refusal {
            Refusal::ChannelInactive => Self::ChannelInactive,
            Refusal::NeverWrote => Self::NeverWroteOnChannel,
            Refusal::OpenChat(_) => Self::OpenChatExists,
            Refusal::OutsideWindow { .. } => Self::OutsideMessagingWindow,
        }
    }
}

/// Whether a chat can be started with a contact on one channel now, and why not.
pub struct ChannelReachability(pub Reach);

/// Whether a chat can be started with a contact on one channel now, and why not. It says
/// nothing about the caller's own capacity (`initiateChat` may still answer AT_CAPACITY).
#[Object]
impl ChannelReachability {
    /// The channel.
    async fn channel(&self) -> Channel {
        Channel::from(self.0.channel.clone())
    }

    /// Whether `initiateChat` with text would be accepted now.
    async fn can_initiate(&self) -> bool {
        self.0.refusal.is_none()
    }

    /// Why not, when `canInitiate` is false.
    async fn reason(&self) -> Option<InitiateRefusal> {
        self.0.refusal.as_ref().map(InitiateRefusal::from)
    }

    /// True when only the 24-hour window is in the way on a WhatsApp channel: a chat can be
    /// started with a message template (`initiateChat` with `template`).
    async fn template_only(&self) -> bool {
        self.0.template_only()
    }

    /// When the contact's last message on this channel was received (null: never).
    async fn last_incoming_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_incoming_at
    }

    /// When the 24-hour window closes (or closed, when in the past): the last incoming
    /// message plus 24 hours. Null for Telegram (no window) and for a contact who never wrote.
    async fn window_closes_at(&self) -> Option<DateTime<Utc>> {
        self.0.window_closes_at
    }

    /// The contact's open (not completed) chat on this channel, if any; the caller may not be
    /// allowed to read it.
    async fn open_chat_id(&self) -> Option<ID> {
        self.0.open_chat.map(|chat| ids::encode("Chat", chat))
    }
}
