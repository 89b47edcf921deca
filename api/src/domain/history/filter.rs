//! Which chats a history read selects: the filter, with the principal's read rule, as a
//! condition on `chats`.

use chrono::{DateTime, Utc};
use entity::chats;
use entity::enums::{ChatStatus, CompletionReason, Role};
use sea_orm::sea_query::{Expr, ExprTrait, IntoCondition};
use sea_orm::{ColumnTrait, Condition};

use crate::domain::chats::{literal_in, readable_by_agent, status_in};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::sessions::Principal;

/// A half-open time range `[from, to)`; either bound may be open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Range {
    /// Inclusive lower bound.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound.
    pub to: Option<DateTime<Utc>>,
}

impl Range {
    /// Refuses an inverted range.
    pub fn check(&self, name: &str) -> DomainResult<()> {
        match (self.from, self.to) {
            (Some(from), Some(to)) if from >= to => {
                Err(DomainError::invalid(format!("{name}: `from` must be before `to`")))
            }
            _ => Ok(()),
        }
    }

    fn condition(&self, column: chats::Column) -> Condition {
        let mut condition = Condition::all();
        if let Some(from) = self.from {
            condition = condition.add(column.gte(from));
        }
        if let Some(to) = self.to {
            condition = condition.add(column.lt(to));
        }
        condition
    }
}

/// `chats.completion_reason` is one of `reasons`, as literals (see [`status_in`]).
fn reason_in(reasons: impl IntoIterator<Item = CompletionReason>) -> Expr {
    literal_in(chats::Column::CompletionReason, reasons.into_iter().map(|reason| reason.as_str()))
}

/// Which chats: every given part must hold (AND); an empty list means any.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Any of these statuses.
    pub statuses: Vec<ChatStatus>,
    /// In any of these queues.
    pub queues: Vec<i64>,
    /// On any of these channels.
    pub channels: Vec<i64>,
    /// Owned by any of these agents.
    pub owners: Vec<i64>,
    /// Of this contact.
    pub contact: Option<i64>,
    /// Created in this range.
    pub created: Range,
    /// Completed in this range (open chats are left out when it has a bound).
    pub completed: Range,
    /// Completed for any of these reasons.
    pub completion_reasons: Vec<CompletionReason>,
    /// Transferred away (completed TRANSFERRED), or not.
    pub transferred: Option<bool>,
    /// A chatbot conversation (BOT_PROCESSING, or completed by a bot handover or timeout), or not.
    pub bot_handled: Option<bool>,
}

/// Most values one filter list takes.
pub const MAX_LIST: usize = 100;

impl Filter {
    /// Refuses inverted ranges and oversized lists.
    pub fn check(&self) -> DomainResult<()> {
        self.created.check("created")?;
        self.completed.check("completed")?;
        let longest = [self.statuses.len(), self.queues.len(), self.channels.len(), self.owners.len()]
            .into_iter()
            .max()
            .unwrap_or(0);
        if longest > MAX_LIST {
            return Err(DomainError::invalid(format!("a filter list takes at most {MAX_LIST} values")));
        }
        Ok(())
    }

    /// The filter as a condition on `chats`, with the principal's read rule.
    pub fn condition(&self, principal: &Principal) -> DomainResult<Condition> {
        let mut all = Condition::all();
        match principal.role {
            Role::Supervisor | Role::Admin | Role::Analyst => {}
            Role::Agent => all = all.add(readable_by_agent(principal.agent_id)),
            Role::Bot => return Err(DomainError::Forbidden("bots do not read the history".into())),
        }
        if !self.statuses.is_empty() {
            all = all.add(status_in(self.statuses.iter().copied()));
        }
        if !self.queues.is_empty() {
            all = all.add(chats::Column::QueueId.is_in(self.queues.iter().copied()));
        }
        if !self.channels.is_empty() {
            all = all.add(chats::Column::ChannelId.is_in(self.channels.iter().copied()));
        }
        if !self.owners.is_empty() {
            all = all.add(chats::Column::OwnerId.is_in(self.owners.iter().copied()));
        }
        if let Some(contact) = self.contact {
            all = all.add(chats::Column::ContactId.eq(contact));
        }
        all = all.add(self.created.condition(chats::Column::CreatedAt));
        all = all.add(self.completed.condition(chats::Column::CompletedAt));
        if !self.completion_reasons.is_empty() {
            all = all.add(reason_in(self.completion_reasons.iter().copied()));
        }
        if let Some(transferred) = self.transferred {
            let is = reason_in([CompletionReason::Transferred]);
            all = all.add(if transferred {
                is.into_condition()
            } else {
                Condition::any().add(chats::Column::CompletionReason.is_null()).add(is.not())
            });
        }
        if let Some(bot) = self.bot_handled {
            let bot_reasons = || reason_in([CompletionReason::BotHandover, CompletionReason::BotTimeout]);
            let is_bot = Condition::any().add(status_in([ChatStatus::BotProcessing])).add(bot_reasons());
            // Spelled out rather than negated: `completion_reason` is NULL on open chats, and
            // NOT (… IN …) of NULL is NULL.
            let not_bot = Condition::all().add(status_in([ChatStatus::BotProcessing]).not()).add(
                Condition::any().add(chats::Column::CompletionReason.is_null()).add(bot_reasons().not()),
            );
            all = all.add(if bot { is_bot } else { not_bot });
        }
        Ok(all)
    }
}
