//! The root `node(id:)` field: any object by its global id.

use async_graphql::{Context, ID, Object};
use entity::messages;
use sea_orm::EntityTrait;

use super::context::{READERS, RoleGuard, db, principal};
use super::error::{ResultExt, coded, codes};
use super::ids;
use super::loaders::loader;
use super::types::{agent::Agent, channel::Channel, chat::Chat, contact::Contact, message::Message};
use super::types::{node::Node, queue::Queue, reply_template::ReplyTemplate};
use crate::domain::ids::{AgentId, ChannelId, ChatId, ContactId, QueueId};
use crate::domain::templates::{self, TemplateId};
use crate::domain::{chats, contacts};

/// The `node` query.
#[derive(Default)]
pub struct NodeQuery;

fn not_found() -> async_graphql::Error {
    coded("NOT_FOUND", "no object with this id")
}

#[Object]
impl NodeQuery {
    /// Fetches any object by its global id. Unknown ids, and objects the caller may not
    /// read, give NOT_FOUND; a string that is not a global id gives BAD_USER_INPUT.
    #[graphql(guard = "RoleGuard::new(READERS)")]
    async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Node> {
        let (type_name, row) = ids::decode_any(&id)
            .ok_or_else(|| coded(codes::BAD_USER_INPUT, format!("{:?} is not a valid id", id.as_str())))?;
        let loader = loader(ctx)?;
        let db = db(ctx)?;
        let principal = principal(ctx)?;
        let node = match type_name.as_str() {
            "Agent" => loader.load_one(AgentId(row)).await?.map(|r| Node::Agent(Agent(r))),
            "Queue" => loader.load_one(QueueId(row)).await?.map(|r| Node::Queue(Queue(r))),
            "Channel" => loader.load_one(ChannelId(row)).await?.map(|r| Node::Channel(Channel(r))),
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
            "ReplyTemplate" if principal.has_any(super::context::STAFF) => {
                templates::get(db, TemplateId(row))
                    .await
                    .gql()?
                    .map(|r| Node::ReplyTemplate(ReplyTemplate(r)))
            }
            _ => None,
        };
        node.ok_or_else(not_found)
    }
}
