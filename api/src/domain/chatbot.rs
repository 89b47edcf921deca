//! Messenger's chatbot rules (DESIGN §1 "Chatbot", §1.1; docs/chatbot.md): handover events,
//! checked against the channel's configured app ids; the chatbot passing the thread to us or
//! taking it back; and the close deadline of bot chats, which the time-limit worker
//! (`lifecycle::expire`) acts on.

use chrono::{DateTime, Duration, Utc};
use entity::enums::{ChatStatus, CompletionReason};
use entity::{channels, chats, queues};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::channels::Credentials;
use super::error::DomainResult;
use super::ids::{AgentId, ChannelId, ChatId, ContactId, MessageId, QueueId};
use super::ingest::{Similar, Stored, complete, create_chat_for, open_chat};
use crate::channels::{Customer, Handover};

/// How long a bot chat stays open after its last message when its queue sets no completion
/// timeout.
pub const DEFAULT_BOT_TIMEOUT_MINUTES: i64 = 60;

/// The close deadline of a bot chat in `queue` whose last message (sent or received) is at
/// `now`: the queue's completion timeout later, or [`DEFAULT_BOT_TIMEOUT_MINUTES`] when the
/// queue sets none.
pub async fn bot_deadline(
    db: &impl ConnectionTrait,
    queue: i64,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, sea_orm::DbErr> {
    let minutes = queues::Entity::find_by_id(queue)
        .one(db)
        .await?
        .and_then(|q| q.completion_timeout_minutes)
        .map_or(DEFAULT_BOT_TIMEOUT_MINUTES, i64::from);
    Ok(now + Duration::minutes(minutes))
}

/// What a handover event did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The chatbot passed the thread to us: a WAITING chat opened, to be routed.
    PassedToUs(Stored),
    /// The chatbot took the thread back from an open agent chat, which completed
    /// (BOT_TOOK_BACK); its owner, if it had one, has a free slot.
    TakenBack {
        /// The agent chat's owner, or the agent it was directed to.
        freed: Option<AgentId>,
    },
    /// Nothing changed: app ids that do not match the channel's, a repeated event, or no
    /// chat for it to act on.
    Ignored,
}

/// Why `handover` is not for this channel's apps, or `None` when it is. Each app id the
/// channel configures is checked; one it does not configure is not (docs/chatbot.md: with
/// none configured every signed handover is honoured, as before app ids existed).
///
/// - `pass_thread_control` must name our app (`appId`) as `new_owner_app_id`, and, when it
///   names the app that passed it (`previous_owner_app_id`), that must be the chatbot's.
/// - `take_thread_control` must name the chatbot's app (`botAppId`) as `new_owner_app_id`,
///   and, when it names the app it was taken from, that must be ours.
pub fn mismatch(credentials: &Credentials, handover: &Handover) -> Option<&'static str> {
    let ours = credentials.app_id.as_deref();
    let bot = credentials.bot_app_id.as_deref();
    // `required`: the event must name the app; otherwise it is checked only when named.
    let differs = |configured: Option<&str>, named: &Option<String>, required: bool| match (configured, named)
    {
        (None, _) => false,
        (Some(_), None) => required,
        (Some(configured), Some(named)) => configured != named.as_str(),
    };
    match handover {
        Handover::PassedToUs { apps, .. } => {
            if differs(ours, &apps.new_owner, true) {
                return Some("pass_thread_control to an app other than ours");
            }
            if differs(bot, &apps.previous_owner, false) {
                return Some("pass_thread_control from an app other than the chatbot");
            }
        }
        Handover::TakenBack { apps, .. } => {
            if differs(bot, &apps.new_owner, true) {
                return Some("take_thread_control by an app other than the chatbot");
            }
            if differs(ours, &apps.previous_owner, false) {
                return Some("take_thread_control from an app other than ours");
            }
        }
    }
    None
}

/// Applies one Messenger handover event of `channel`, in one transaction. An event whose app
/// ids do not match the channel's changes nothing (logged at debug, counted as ignored).
pub async fn apply(
    db: &DatabaseConnection,
    channel: &channels::Model,
    handover: &Handover,
) -> DomainResult<Applied> {
    if let Some(why) = mismatch(&Credentials::of(channel), handover) {
        tracing::debug!(
            channel_id = channel.id,
            reason = why,
            "handover ignored: not for this channel's apps"
        );
        return Ok(Applied::Ignored);
    }
    match handover {
        Handover::PassedToUs { customer, .. } => passed_to_us(db, channel, customer).await,
        Handover::TakenBack { customer, .. } => taken_back(db, channel, customer).await,
    }
}

/// Pre-process mode: the chatbot passed the thread to us. Its chat is completed
/// (BOT_HANDOVER) and a child chat opens WAITING, with the bot conversation as its parent.
async fn passed_to_us(
    db: &DatabaseConnection,
    channel: &channels::Model,
    customer: &str,
) -> DomainResult<Applied> {
    let txn = crate::db::write(db).await?;
    let customer = Customer { external_id: customer.to_owned(), ..Customer::default() };
    let (contact, new_contact) = super::contacts::identities::resolve(&txn, channel, &customer).await?;
    let open = open_chat(&txn, ContactId(contact.id), ChannelId(channel.id)).await?;
    let parent = match open {
        Some(chat) if chat.status == ChatStatus::BotProcessing => {
            complete(&txn, &chat, CompletionReason::BotHandover).await?;
            Some(ChatId(chat.id))
        }
        // Already with agents: a repeated handover changes nothing.
        Some(_) => return Ok(Applied::Ignored),
        None => None,
    };
    let child =
        create_chat_for(&txn, &contact, channel, ChatStatus::Waiting, parent, Similar::of(new_contact))
            .await?;
    txn.commit().await?;
    Ok(Applied::PassedToUs(Stored {
        message: MessageId(0),
        chat: ChatId(child.id),
        queue: QueueId(child.queue_id),
        contact: ContactId(contact.id),
        new_contact,
        new_waiting_chat: true,
        pending_attachments: Vec::new(),
    }))
}

/// The chatbot took the thread back. An open agent chat (WAITING or IN_PROGRESS) is completed
/// (BOT_TOOK_BACK: its offers are withdrawn, its owner freed, nothing is handed back since
/// the chatbot holds the thread) and a BOT_PROCESSING child chat opens for what follows, its
/// close deadline counted from now. With no chat open, or a bot chat open already, nothing
/// changes: the next message on `standby` opens a bot chat anyway.
async fn taken_back(
    db: &DatabaseConnection,
    channel: &channels::Model,
    customer: &str,
) -> DomainResult<Applied> {
    let txn = crate::db::write(db).await?;
    let Some(contact) = super::contacts::identities::find(&txn, channel.kind, customer).await? else {
        return Ok(Applied::Ignored);
    };
    let Some(chat) = open_chat(&txn, ContactId(contact.id), ChannelId(channel.id)).await? else {
        return Ok(Applied::Ignored);
    };
    if chat.status == ChatStatus::BotProcessing {
        return Ok(Applied::Ignored);
    }
    super::lifecycle::finish(&txn, &chat, CompletionReason::BotTookBack).await?;
    let bot_chat = create_chat_for(
        &txn,
        &contact,
        channel,
        ChatStatus::BotProcessing,
        Some(ChatId(chat.id)),
        Similar::Search,
    )
    .await?;
    let deadline = bot_deadline(&txn, bot_chat.queue_id, crate::clock::now()).await?;
    chats::Entity::update_many()
        .col_expr(chats::Column::CloseDeadline, Expr::value(Some(deadline)))
        .filter(chats::Column::Id.eq(bot_chat.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(Applied::TakenBack { freed: chat.owner_id.or(chat.directed_agent_id).map(AgentId) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::HandoverApps;

    const OURS: &str = "812345670123456";
    const BOT: &str = "598765432109876";

    fn apps(previous: Option<&str>, new: Option<&str>) -> HandoverApps {
        HandoverApps { previous_owner: previous.map(Into::into), new_owner: new.map(Into::into) }
    }

    fn pass(apps: HandoverApps) -> Handover {
        Handover::PassedToUs { customer: "1".into(), metadata: None, apps }
    }

    fn take(apps: HandoverApps) -> Handover {
        Handover::TakenBack { customer: "1".into(), apps }
    }

    fn configured(ours: Option<&str>, bot: Option<&str>) -> Credentials {
        Credentials {
            app_id: ours.map(Into::into),
            bot_app_id: bot.map(Into::into),
            ..Credentials::default()
        }
    }

    #[test]
    fn handovers_are_checked_against_the_configured_app_ids() {
        let both = configured(Some(OURS), Some(BOT));
        assert_eq!(mismatch(&both, &pass(apps(Some(BOT), Some(OURS)))), None);
        assert_eq!(mismatch(&both, &pass(apps(None, Some(OURS)))), None, "the passing app may go unnamed");
        assert!(mismatch(&both, &pass(apps(Some(BOT), Some("111")))).is_some(), "passed to another app");
        assert!(mismatch(&both, &pass(apps(None, None))).is_some(), "the new owner must be named");
        assert!(mismatch(&both, &pass(apps(Some("222"), Some(OURS)))).is_some(), "passed by another app");

        assert_eq!(mismatch(&both, &take(apps(Some(OURS), Some(BOT)))), None);
        assert_eq!(mismatch(&both, &take(apps(None, Some(BOT)))), None);
        assert!(mismatch(&both, &take(apps(Some(OURS), Some("333")))).is_some(), "taken by another app");
        assert!(mismatch(&both, &take(apps(Some(OURS), None))).is_some(), "the taker must be named");
        assert!(mismatch(&both, &take(apps(Some("444"), Some(BOT)))).is_some(), "taken from another app");
    }

    #[test]
    fn unconfigured_app_ids_are_not_checked() {
        let none = Credentials::default();
        assert_eq!(mismatch(&none, &pass(apps(Some("1"), Some("2")))), None);
        assert_eq!(mismatch(&none, &take(apps(None, None))), None);
        let only_bot = configured(None, Some(BOT));
        assert_eq!(mismatch(&only_bot, &pass(apps(None, Some("999")))), None);
        assert!(mismatch(&only_bot, &take(apps(None, Some("999")))).is_some());
    }
}
