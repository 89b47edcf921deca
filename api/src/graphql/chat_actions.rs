//! Chat actions: their administration (per queue), the actions an agent may run on a chat,
//! running one, and the delivery state of webhook runs.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use sea_orm::DatabaseConnection;

use super::context::{ADMINS, READERS, RoleGuard, STAFF, db, principal};
use super::error::ResultExt;
use super::ids;
use super::types::case::Case;
use super::types::chat_action::{ChatAction, ChatActionKind, ChatActionRun};
use crate::domain::chat_actions::run::{self as runs, Ran};
use crate::domain::chat_actions::{self, ChatActionChange, ChatActionId, NewChatAction};
use crate::domain::ids::{ChatId, QueueId};
use crate::jobs::JobContext;

/// `createChatAction` input.
#[derive(InputObject)]
pub struct CreateChatActionInput {
    /// The queue whose chats offer the action (a `Queue` id).
    pub queue_id: ID,
    /// The label agents see (trimmed; 1 to 100 characters).
    pub caption: String,
    /// What the action does.
    pub kind: ChatActionKind,
    /// WEBHOOK (required): where runs are posted; `http` or `https` with a host, otherwise
    /// INVALID_URL. CREATE_CASE: leave out.
    pub url: Option<String>,
    /// WEBHOOK: the signing secret, `whsec_` + base64 of 24 to 64 random bytes. Leave out to
    /// have one generated and returned once, in `generatedSecret`. Write-only: never answered.
    pub secret: Option<String>,
}

/// `updateChatAction` input; fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdateChatActionInput {
    /// The action (a `ChatAction` id).
    pub id: ID,
    /// A new caption.
    pub caption: Option<String>,
    /// WEBHOOK: a new URL (the rules of `createChatAction`); also used by deliveries still pending.
    pub url: Option<String>,
    /// WEBHOOK: a new secret (rotation), by the rules of `createChatAction`.
    pub secret: Option<String>,
}

/// What `createChatAction` answers.
#[derive(SimpleObject)]
pub struct CreateChatActionPayload {
    /// The action.
    pub action: ChatAction,
    /// WEBHOOK without a given secret: the secret generated for it. Shown this once and
    /// never again — store it in the receiver now. Null when a secret was given, and for
    /// CREATE_CASE.
    pub generated_secret: Option<String>,
}

/// What `runChatAction` answers: the case (CREATE_CASE) or the queued delivery (WEBHOOK).
#[derive(SimpleObject)]
pub struct RunChatActionPayload {
    /// The action run.
    pub action: ChatAction,
    /// CREATE_CASE: the case raised. Null for WEBHOOK.
    pub case: Option<Case>,
    /// WEBHOOK: the delivery, PENDING until the worker posts it (follow it in
    /// `chatActionRuns`). Null for CREATE_CASE.
    pub run: Option<ChatActionRun>,
}

fn decode_action(id: &ID) -> async_graphql::Result<ChatActionId> {
    Ok(ChatActionId(ids::decode(id, "ChatAction")?))
}

/// Chat action queries.
#[derive(Default)]
pub struct ChatActionsQuery;

#[Object]
impl ChatActionsQuery {
    /// The actions the caller may run on a chat (AGENT, SUPERVISOR, ADMIN): those of the
    /// chat's queue, in creation order, for the queue's agents, supervisors and admins; an
    /// empty list for an agent outside the queue. A chat the caller may not read: NOT_FOUND.
    #[graphql(guard = "RoleGuard::new(STAFF)")]
    async fn chat_actions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The chat (a `Chat` id).")] chat_id: ID,
    ) -> async_graphql::Result<Vec<ChatAction>> {
        let chat = ChatId(ids::decode(&chat_id, "Chat")?);
        let rows = runs::for_chat(db(ctx)?, principal(ctx)?, chat).await.gql()?;
        Ok(rows.into_iter().map(ChatAction).collect())
    }

    /// Every action configured on a queue, in creation order (ADMIN). An unknown queue: an
    /// empty list.
    #[graphql(guard = "RoleGuard::new(ADMINS)")]
    async fn queue_chat_actions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The queue (a `Queue` id).")] queue_id: ID,
    ) -> async_graphql::Result<Vec<ChatAction>> {
        let queue = QueueId(ids::decode(&queue_id, "Queue")?);
        let rows = chat_actions::of_queue(db(ctx)?, queue).await.gql()?;
        Ok(rows.into_iter().map(ChatAction).collect())
    }

    /// The webhook runs made on a chat, newest first (at most 100), with their delivery
    /// state (AGENT, SUPERVISOR, ADMIN, ANALYST). A chat the caller may not read: NOT_FOUND.
    #[graphql(guard = "RoleGuard::new(READERS)")]
    async fn chat_action_runs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The chat (a `Chat` id).")] chat_id: ID,
    ) -> async_graphql::Result<Vec<ChatActionRun>> {
        let chat = ChatId(ids::decode(&chat_id, "Chat")?);
        let rows = runs::runs_of_chat(db(ctx)?, principal(ctx)?, chat).await.gql()?;
        Ok(rows.into_iter().map(|(run, action)| ChatActionRun(run, action)).collect())
    }
}

/// Chat action mutations.
#[derive(Default)]
pub struct ChatActionsMutation;

#[Object]
impl ChatActionsMutation {
    /// Configures an action on a queue (ADMIN). An unknown queue: NOT_FOUND; a WEBHOOK URL
    /// that is missing, not http(s) or without a host: INVALID_URL; a bad secret, a blank
    /// caption, or a url or secret on CREATE_CASE: BAD_USER_INPUT.
    #[graphql(guard = "RoleGuard::new(ADMINS)")]
    async fn create_chat_action(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The queue, caption, kind, and for WEBHOOK the URL and secret.")]
        input: CreateChatActionInput,
    ) -> async_graphql::Result<CreateChatActionPayload> {
        let new = NewChatAction {
            queue_id: QueueId(ids::decode(&input.queue_id, "Queue")?),
            caption: input.caption,
            kind: input.kind.into(),
            url: input.url,
            secret: input.secret,
        };
        let created = chat_actions::create(ctx.data::<DatabaseConnection>()?, new).await.gql()?;
        Ok(CreateChatActionPayload {
            action: ChatAction(created.action),
            generated_secret: created.generated_secret,
        })
    }

    /// Changes an action (ADMIN), by the rules of `createChatAction`; its kind and queue do
    /// not change. An unknown or deleted action: NOT_FOUND.
    #[graphql(guard = "RoleGuard::new(ADMINS)")]
    async fn update_chat_action(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The action and what changes.")] input: UpdateChatActionInput,
    ) -> async_graphql::Result<ChatAction> {
        let id = decode_action(&input.id)?;
        let change = ChatActionChange { caption: input.caption, url: input.url, secret: input.secret };
        let updated = chat_actions::update(ctx.data::<DatabaseConnection>()?, id, change).await.gql()?;
        Ok(ChatAction(updated))
    }

    /// Deletes an action (ADMIN): chats stop offering it; its runs stay readable, and
    /// deliveries still pending fail. An unknown or deleted action: NOT_FOUND. Returns true.
    #[graphql(guard = "RoleGuard::new(ADMINS)")]
    async fn delete_chat_action(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The action (a `ChatAction` id).")] id: ID,
    ) -> async_graphql::Result<bool> {
        chat_actions::delete(ctx.data::<DatabaseConnection>()?, decode_action(&id)?).await.gql()?;
        Ok(true)
    }

    /// Runs an action on a chat (AGENT, SUPERVISOR, ADMIN): the queue's agents, supervisors
    /// and admins, on a chat they may read of the action's queue. CREATE_CASE raises a case
    /// (the rules of `createCaseFromChat`: the chat's owner, supervisors and admins); WEBHOOK
    /// queues a signed delivery, retried until delivered or FAILED. Refused, with nothing
    /// written: an unreadable chat or unknown action, NOT_FOUND; an action of another queue,
    /// ACTION_NOT_IN_QUEUE; an agent outside the action's queue, FORBIDDEN.
    #[graphql(guard = "RoleGuard::new(STAFF)")]
    async fn run_chat_action(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The chat (a `Chat` id).")] chat_id: ID,
        #[graphql(desc = "The action (a `ChatAction` id).")] action_id: ID,
    ) -> async_graphql::Result<RunChatActionPayload> {
        let chat = ChatId(ids::decode(&chat_id, "Chat")?);
        let action = decode_action(&action_id)?;
        let (action, ran) =
            runs::run(ctx.data::<DatabaseConnection>()?, principal(ctx)?, chat, action).await.gql()?;
        Ok(match ran {
            Ran::Case(case) => {
                RunChatActionPayload { action: ChatAction(action), case: Some(Case(case)), run: None }
            }
            Ran::Webhook(run) => {
                ctx.data::<JobContext>()?.actions_ready.notify_one();
                RunChatActionPayload {
                    action: ChatAction(action.clone()),
                    case: None,
                    run: Some(ChatActionRun(run, action)),
                }
            }
        })
    }
}
