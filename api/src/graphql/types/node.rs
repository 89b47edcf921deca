//! The Relay `Node` interface.

use async_graphql::{ID, Interface};

use super::account::Account;
use super::agent::Agent;
use super::attachment::Attachment;
use super::case::Case;
use super::channel::Channel;
use super::chat::Chat;
use super::contact::Contact;
use super::message::Message;
use super::message_template::MessageTemplate;
use super::queue::Queue;
use super::reply_template::ReplyTemplate;

/// Anything with a global id, fetchable with `node(id:)`.
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "Global id: opaque, stable; fetch the object again with `node(id)`."
))]
pub enum Node {
    /// An agent.
    Agent(Agent),
    /// A queue.
    Queue(Queue),
    /// A channel.
    Channel(Channel),
    /// A contact.
    Contact(Contact),
    /// A chat.
    Chat(Chat),
    /// A message.
    Message(Message),
    /// A file sent with a message.
    Attachment(Attachment),
    /// A quick-reply template (for agents, supervisors and admins).
    ReplyTemplate(ReplyTemplate),
    /// A customer organisation.
    Account(Account),
    /// A WhatsApp message template (for agents, supervisors and admins).
    MessageTemplate(MessageTemplate),
    /// A case.
    Case(Case),
}
