//! The root `node(id:)` field: any object by its global id.

use async_graphql::{Context, ID, Object};
use entity::{attachments, messages};
use sea_orm::EntityTrait;

use super::context::{READERS, RoleGuard, db, principal};
use super::error::{ResultExt, coded, codes};
use super::ids;
use super::loaders::loader;
use super::types::account::Account;
use super::types::attachment::Attachment;
use super::types::case::Case;
use super::types::{agent::Agent, channel::Channel, chat::Chat, contact::Contact, message::Message};
use super::types::{node::Node, queue::Queue, reply_template::ReplyTemplate};
use crate::domain::accounts::AccountId;
use crate::domain::cases::{self, CaseId};
use crate::domain::ids::{AgentId, ChannelId, ChatId, ContactId, QueueId};
use crate::domain::templates::{self, TemplateId};
use crate::domain::{chats, contacts};

/// The `node` query.
#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Fetches any object by its global id (Relay's object identification). Null when no
    /// object has this id or the caller may not read it (chats, contacts, messages and
    /// attachments follow the rules of `chat(id)` and `contact(id)`; reply templates and
    /// WhatsApp message templates are for agents, supervisors and admins; cases follow the
    /// rule of `cases`); a string that is not a global id gives BAD_USER_INPUT.
    #[graphql(guard = "RoleGuard::new(READERS)")]
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global id, as any object's `id` field gives it.")] id: ID,
    ) -> async_graphql::Result<Option<Node>> {
        let (type_name, row) = ids::decode_any(&id)
            .ok_or_else(|| coded(codes::BAD_USER_INPUT, format!("{:?} is not a valid id", id.as_str())))?;
        let loader = loader(ctx)?;
        let db = db(ctx)?;
        let principal = principal(ctx)?;
        let node = match type_name.as_str() {
            "Agent" => loader.load_one(AgentId(row)).await?.map(|r| Node::Agent(Agent::from(r))),
            "Queue" => loader.load_one(QueueId(row)).await?.map(|r| Node::Queue(Queue::from(r))),
            "Channel" => loader.load_one(ChannelId(row)).await?.map(|r| Node::Channel(Channel::from(r))),
            "Contact" => contacts::get_visible(db, principal, ContactId(row))
                .await
                .gql()?
                .map(|r| Node::Contact(Contact(r))),
            "Chat" => {
                chats::get_visible(db, principal, ChatId(row)).await.gql()?.map(|r| Node::Chat(Chat::from(r)))
            }
            "Message" => {
                let message = messages::Entity::find_by_id(row)
                    .one(db)
                    .await
                    .map_err(|e| super::error::from_domain(e.into()))?;
                match message {
                    Some(message) => chats::get_visible(db, principal, ChatId(message.chat_id))
                        .await
                        .gql()?
                        .map(|_| Node::Message(Message(message))),
                    None => None,
                }
            }
            "Attachment" => {
                let found = attachments::Entity::find_by_id(row)
                    .find_also_related(messages::Entity)
                    .one(db)
                    .await
                    .map_err(|e| super::error::from_domain(e.into()))?;
                match found {
                    Some((attachment, Some(message))) => {
                        chats::get_visible(db, principal, ChatId(message.chat_id))
                            .await
                            .gql()?
                            .map(|_| Node::Attachment(Attachment(attachment)))
                    }
                    _ => None,
                }
            }
            "ReplyTemplate" if principal.has_any(super::context::STAFF) => {
                templates::get(db, TemplateId(row))
                    .await
                    .gql()?
                    .map(|r| Node::ReplyTemplate(ReplyTemplate(r)))
            }
            "MessageTemplate" if principal.has_any(super::context::STAFF) => {
                crate::domain::message_templates::get(
                    db,
                    crate::domain::message_templates::MessageTemplateId(row),
                )
                .await
                .gql()?
                .map(|r| Node::MessageTemplate(super::types::message_template::MessageTemplate(r)))
            }
            "Account" => loader.load_one(AccountId(row)).await?.map(|r| Node::Account(Account(r))),
            "Case" => {
                cases::get_visible(db, principal, CaseId(row)).await.gql()?.map(|r| Node::Case(Case(r)))
            }
            _ => None,
        };
        Ok(node)
    }
}
