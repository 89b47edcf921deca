//! Ingestion: turning normalised webhook events into contacts, chats, messages and delivery
//! statuses. Each event is its own transaction, so one bad event never loses the others.

use std::sync::Arc;

use entity::enums::Direction;
use entity::{channels, messages};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, SqlErr};
use tracing::instrument;

use crate::channels::{InboundEvent, InboundMessage};
use crate::domain::error::DomainResult;
use crate::domain::ids::{AgentId, ChannelId, ChatId, ContactId, MessageId, QueueId};
use crate::domain::reroute::AfterCommit;

mod append;
mod batch;
mod general;
mod known;
mod newcomer;
mod opening;
mod updates;

pub use batch::{BatchCounts, Batcher};
pub use known::{KnownCustomers, MissedTries};
pub use opening::{Similar, complete, create_chat, create_chat_for, open_chat};
pub use updates::moves_forward;
use updates::{apply_edit, apply_reaction, apply_status};

/// What one stored message led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// The new message.
    pub message: MessageId,
    /// Its chat.
    pub chat: ChatId,
    /// The chat's queue.
    pub queue: QueueId,
    /// The contact.
    pub contact: ContactId,
    /// The contact was created by this message.
    pub new_contact: bool,
    /// The chat was opened by this message, WAITING to be routed.
    pub new_waiting_chat: bool,
    /// Attachments waiting to be downloaded.
    pub pending_attachments: Vec<i64>,
}

/// The outcome of one webhook.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Messages stored.
    pub stored: Vec<Stored>,
    /// How many of `stored` were appended to an open chat by one statement or script
    /// ([`append`]).
    pub appended: usize,
    /// How many of `stored` created their contact and chat by one statement or script
    /// ([`newcomer`]). The others went through a transaction that finds or creates the chat.
    pub created: usize,
    /// Messages already stored before (redelivered webhooks).
    pub duplicates: usize,
    /// Messages whose delivery status moved.
    pub statuses: usize,
    /// Events ignored or referring to unknown messages (handovers for other apps among them).
    pub ignored: usize,
    /// Agent chats completed because the chatbot took the thread back.
    pub taken_back: usize,
    /// Agents those chats freed.
    pub freed_agents: Vec<AgentId>,
}

impl Report {
    /// Chats opened WAITING by this webhook: the routing hook (issue 4) routes each of them.
    pub fn new_waiting_chats(&self) -> impl Iterator<Item = ChatId> + '_ {
        self.stored.iter().filter(|s| s.new_waiting_chat).map(|s| s.chat)
    }

    /// What this webhook's commits left to route: the chats it opened WAITING, and the agents
    /// freed by the chatbot taking threads back.
    fn reroute(&self) -> crate::domain::reroute::Reroute {
        use crate::domain::reroute::Reroute;
        Reroute::chats(self.new_waiting_chats()).and(Reroute::agents(self.freed_agents.iter().copied()))
    }

    /// Counts a message.
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Stored(stored) => self.stored.push(stored),
            Outcome::Appended(stored) => {
                self.stored.push(stored);
                self.appended += 1;
            }
            Outcome::Created(stored) => {
                self.stored.push(stored);
                self.created += 1;
            }
            Outcome::Duplicate => self.duplicates += 1,
        }
    }
}

/// How one message was stored.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    /// By a transaction that finds or creates the contact and chat.
    Stored(Stored),
    /// Appended to the customer's open chat in one statement ([`append`]).
    Appended(Stored),
    /// A new customer's first message, stored with their contact and chat in one statement
    /// ([`newcomer`]).
    Created(Stored),
    /// Stored before: a redelivered webhook.
    Duplicate,
}

fn is_unique_violation(err: &sea_orm::DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Applies every event of one webhook for `channel`. Events are independent: each is one
/// transaction. A database failure stops and is returned (the provider will redeliver, and
/// what was stored is recognised as a duplicate).
///
/// `reads`: read-only connections beside `db`'s single writer (SQLite), if any. Through them,
/// a customer Switchboard does not know yet is searched for similar contacts before the
/// ingesting transaction begins, so the search never holds the write lock that every other
/// webhook waits for. `appends`: on SQLite, the queue that appends returning customers'
/// messages several to a transaction ([`Batcher`]). `known`: the customers this instance has
/// seen stored, whose messages try the append before the new customer's path.
#[instrument(skip_all, fields(channel_id = channel.id, events = events.len()))]
pub async fn ingest(
    db: &DatabaseConnection,
    reads: Option<&DatabaseConnection>,
    appends: Option<&Arc<Batcher>>,
    known: &KnownCustomers,
    channel: &channels::Model,
    events: Vec<InboundEvent>,
) -> DomainResult<AfterCommit<Report>> {
    let mut report = Report::default();
    for event in events {
        match event {
            InboundEvent::Message(message) => {
                report.add(store_message(db, reads, appends, known, channel, &message).await?)
            }
            InboundEvent::EchoOf(ours, message) => {
                // Ours is stored already, whether or not its send has recorded the provider's
                // id yet (the echo can overtake the Send API's answer).
                let stored = if sent_by_us(db, channel, ours).await? {
                    Outcome::Duplicate
                } else {
                    store_message(db, reads, appends, known, channel, &message).await?
                };
                report.add(stored);
            }
            InboundEvent::Status(update) => match apply_status(db, channel, &update).await? {
                0 => report.ignored += 1,
                n => report.statuses += n,
            },
            InboundEvent::Edit(edit) => {
                if !apply_edit(db, channel, &edit).await? {
                    report.ignored += 1;
                }
            }
            InboundEvent::Reaction(reaction) => {
                if !apply_reaction(db, channel, &reaction).await? {
                    report.ignored += 1;
                }
            }
            InboundEvent::Handover(handover) => {
                match crate::domain::chatbot::apply(db, channel, &handover).await? {
                    crate::domain::chatbot::Applied::PassedToUs(stored) => report.stored.push(stored),
                    crate::domain::chatbot::Applied::TakenBack { freed } => {
                        report.taken_back += 1;
                        report.freed_agents.extend(freed);
                    }
                    crate::domain::chatbot::Applied::Ignored => report.ignored += 1,
                }
            }
            InboundEvent::Ignored(reason) => {
                tracing::debug!(%reason, "webhook event ignored");
                report.ignored += 1;
            }
        }
    }
    let reroute = report.reroute();
    Ok(AfterCommit::new(report, reroute))
}

/// Stores one message, unless it was stored before, and remembers its customer as known.
/// Races between concurrent webhooks (the same message twice, or two first messages of a new
/// contact) end in a unique violation; the transaction is rolled back and retried, and the
/// retry sees the other's rows.
async fn store_message(
    db: &DatabaseConnection,
    reads: Option<&DatabaseConnection>,
    appends: Option<&Arc<Batcher>>,
    known: &KnownCustomers,
    channel: &channels::Model,
    message: &InboundMessage,
) -> DomainResult<Outcome> {
    let outcome = store_once(db, reads, appends, known, channel, message).await?;
    // Stored now, or before: the customer's identity is.
    known.remember(channel.kind, &message.customer.external_id);
    Ok(outcome)
}

/// [`store_message`]'s paths: the one-round-trip paths, the customer's first when this
/// instance has not seen them stored (a new customer's, see [`known`]), then the general one.
async fn store_once(
    db: &DatabaseConnection,
    reads: Option<&DatabaseConnection>,
    appends: Option<&Arc<Batcher>>,
    known: &KnownCustomers,
    channel: &channels::Model,
    message: &InboundMessage,
) -> DomainResult<Outcome> {
    let mut appending = append::applies(message);
    let mut welcoming =
        appending && newcomer::applies(message) && !known.knows(channel.kind, &message.customer.external_id);
    // The similar contacts of a new customer, if searched already.
    let mut searched = None;
    if let Some(appends) = appends
        && appending
    {
        // SQLite: a customer not seen stored here is searched off the writer and welcomed in
        // the next batch; if they are known after all, their message is appended.
        if let Some(reads) = reads
            && welcoming
        {
            welcoming = false;
            let (similar, found) = appends.welcome(reads, channel, message).await?;
            searched = Some(similar);
            match found {
                Some(append::Scripted::Done(outcome)) => return Ok(outcome),
                Some(append::Scripted::New { known: true }) => known.missed_welcome(),
                // The rules changed under it, or the batch failed: the append, then the
                // general path.
                Some(append::Scripted::New { known: false }) | None => {}
            }
        }
        match appends.append(channel, message).await {
            Some(append::Scripted::Done(outcome)) => return Ok(outcome),
            // Not stored before, as of that batch, and nothing written.
            Some(append::Scripted::New { known: customer_known }) => {
                appending = false;
                if !customer_known {
                    known.missed_append();
                }
                // A new customer (not tried as one yet): searched off the writer, then stored
                // with the next batch.
                if let Some(reads) = reads
                    && !customer_known
                    && searched.is_none()
                    && newcomer::applies(message)
                {
                    let (similar, found) = appends.welcome(reads, channel, message).await?;
                    searched = Some(similar);
                    if let Some(append::Scripted::Done(outcome)) = found {
                        return Ok(outcome);
                    }
                    // Known by now (a twin first message), or the batch failed: the general path.
                }
            }
            // The batch failed: the general path tries appending it alone.
            None => {}
        }
    }
    let searched = match (searched, reads) {
        (Some(count), _) => Some(count),
        (None, Some(reads)) => similar_to_newcomer(reads, channel, message).await?,
        (None, None) => None,
    };
    let tries = general::Tries { appending, welcoming, known };
    let mut attempt = 0;
    loop {
        attempt += 1;
        match general::try_store_message(db, channel, message, searched, tries).await {
            Err(err) if attempt < 4 && is_unique_violation(&err) => continue,
            Err(err) => return Err(err.into()),
            Ok(result) => return Ok(result),
        }
    }
}

/// How many similar contacts the rules find for the customer of `message`, when `channel`'s
/// kind does not know them yet (their first message creates a contact, which has no "not
/// duplicates" pairs); `None` for a known customer. Read before the ingesting transaction:
/// if the customer became known in between, the transaction searches again itself.
async fn similar_to_newcomer(
    reads: &DatabaseConnection,
    channel: &channels::Model,
    message: &InboundMessage,
) -> Result<Option<usize>, sea_orm::DbErr> {
    use crate::domain::contacts::{identities, similar};
    if identities::find(reads, channel.kind, &message.customer.external_id).await?.is_some() {
        return Ok(None);
    }
    let newcomer = identities::new_contact(channel, &message.customer);
    Ok(Some(similar::find_for_newcomer(reads, &newcomer, similar::LIMIT).await?.len()))
}

/// Whether `id` is an outgoing message of `channel` that Switchboard stored and sends.
async fn sent_by_us(
    db: &DatabaseConnection,
    channel: &channels::Model,
    id: MessageId,
) -> Result<bool, sea_orm::DbErr> {
    let found = messages::Entity::find_by_id(id.0)
        .filter(messages::Column::ChannelId.eq(channel.id))
        .filter(messages::Column::Direction.eq(Direction::Outgoing))
        .one(db)
        .await?;
    Ok(found.is_some())
}

pub(super) async fn find_message(
    db: &impl ConnectionTrait,
    channel: ChannelId,
    provider_id: &str,
) -> Result<Option<messages::Model>, sea_orm::DbErr> {
    messages::Entity::find()
        .filter(messages::Column::ChannelId.eq(channel.0))
        .filter(messages::Column::ProviderMessageId.eq(provider_id))
        .one(db)
        .await
}
