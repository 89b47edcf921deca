//! Cases: listing them, raising one from a chat, and working it through its statuses.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use super::connection;
use super::context::{READERS, RoleGuard, STAFF, db, principal};
use super::error::ResultExt;
use super::ids;
use super::types::case::{Case, CaseStatus};
use crate::domain::accounts::AccountId;
use crate::domain::cases::{self, CaseChange, CaseFilter, CaseId};
use crate::domain::ids::{AgentId, ChatId, ContactId};
use crate::state::Limits;

/// `cases` filter: every field given must hold.
#[derive(InputObject, Default)]
pub struct CasesFilter {
    /// Only cases in this status.
    pub status: Option<CaseStatus>,
    /// Only cases assigned to this agent (an `Agent` id).
    pub assignee_id: Option<ID>,
    /// Only cases about this contact (a `Contact` id).
    pub contact_id: Option<ID>,
    /// Only cases about this account (an `Account` id).
    pub account_id: Option<ID>,
    /// Only cases registered at or after this time.
    pub registered_from: Option<DateTime<Utc>>,
    /// Only cases registered before this time.
    pub registered_to: Option<DateTime<Utc>>,
}

impl CasesFilter {
    /// The domain filter; ids of the wrong type: BAD_USER_INPUT.
    pub fn into_domain(self) -> async_graphql::Result<CaseFilter> {
        let decode =
            |id: &Option<ID>, type_name| id.as_ref().map(|id| ids::decode(id, type_name)).transpose();
        Ok(CaseFilter {
            status: self.status.map(Into::into),
            assignee: decode(&self.assignee_id, "Agent")?.map(AgentId),
            contact: decode(&self.contact_id, "Contact")?.map(ContactId),
            account: decode(&self.account_id, "Account")?.map(AccountId),
            registered_from: self.registered_from,
            registered_to: self.registered_to,
        })
    }
}

/// `updateCase` input: fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdateCaseInput {
    /// The case to change (a `Case` id).
    pub id: ID,
    /// A later status (statuses only move forward: NEW → IN_PROGRESS → RESOLVED → CLOSED;
    /// steps may be skipped). An earlier one: INVALID_STATE.
    pub status: Option<CaseStatus>,
    /// The agent to assign it to (an `Agent` id): an enabled agent, supervisor or admin.
    pub assignee_id: Option<ID>,
    /// A new subject (trimmed; 1 to 200 characters).
    pub subject: Option<String>,
    /// A new description (trimmed; up to 20000 characters).
    pub description: Option<String>,
}

/// Case queries.
#[derive(Default)]
pub struct CasesQuery;

#[Object]
impl CasesQuery {
    /// Cases, newest first: every case for supervisors, admins and analysts; for an agent,
    /// those assigned to them or raised from (or about the contact of) a chat they may read.
    /// One case: `node(id)`. Ids of the wrong type in `filter`: BAD_USER_INPUT.
    #[graphql(
        guard = "RoleGuard::new(READERS)",
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn cases(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the list; every field given must hold.")] filter: Option<CasesFilter>,
        #[graphql(
            desc = "How many to return, from 0 to the server's page-size limit (default 20, limit 100 unless configured)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Return the cases after this cursor (older ones).")] after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Case>> {
        let page = ids::page(first, after.as_deref(), ctx.data::<Limits>()?.max_page_size)?;
        let filter = filter.unwrap_or_default().into_domain()?;
        let found = cases::list(db(ctx)?, principal(ctx)?, &filter, page).await.gql()?;
        Ok(connection::build(page, found, |row| row.id, Case))
    }
}

/// Case mutations.
#[derive(Default)]
pub struct CasesMutation;

#[Object]
impl CasesMutation {
    /// "Create case" on a chat: the chat's owner, supervisors and admins. Subject = the text
    /// of the chat's first message; description = the customer's messages before the first
    /// agent reply, one per line; source CHAT, status NEW, registered now; the chat's
    /// contact, that contact's account, the chat's owner as assignee. A CASE_CREATED event
    /// reaches the chat's streams. A chat the caller may not read: NOT_FOUND; one they read
    /// but do not own: FORBIDDEN.
    #[graphql(guard = "RoleGuard::new(STAFF)")]
    async fn create_case_from_chat(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The chat to raise the case from (a `Chat` id).")] chat_id: ID,
    ) -> async_graphql::Result<Case> {
        let chat = ChatId(ids::decode(&chat_id, "Chat")?);
        let case =
            cases::create_from_chat(ctx.data::<DatabaseConnection>()?, principal(ctx)?, chat).await.gql()?;
        Ok(Case(case))
    }

    /// Changes a case: its assignee, supervisors and admins. A case the caller may not read:
    /// NOT_FOUND; one they read but are not assigned: FORBIDDEN; a status going back:
    /// INVALID_STATE; an unknown assignee: NOT_FOUND; a disabled one, an analyst or a bot, or
    /// a blank subject: BAD_USER_INPUT.
    #[graphql(guard = "RoleGuard::new(STAFF)")]
    async fn update_case(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case and what changes.")] input: UpdateCaseInput,
    ) -> async_graphql::Result<Case> {
        let id = CaseId(ids::decode(&input.id, "Case")?);
        let assignee =
            input.assignee_id.as_ref().map(|id| ids::decode(id, "Agent")).transpose()?.map(AgentId);
        let change = CaseChange {
            status: input.status.map(Into::into),
            assignee,
            subject: input.subject,
            description: input.description,
        };
        let case =
            cases::update(ctx.data::<DatabaseConnection>()?, principal(ctx)?, id, change).await.gql()?;
        Ok(Case(case))
    }
}
