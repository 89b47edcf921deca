//! Aggregates over the chat history: `chatStats`.

use async_graphql::{Context, Enum, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::{RoleGuard, analytics_db, principal};
use super::error::ResultExt;
use super::history::ChatFilter;
use super::loaders::loader;
use super::types::agent::Agent;
use super::types::channel::Channel;
use super::types::queue::Queue;
use std::sync::Arc;

use crate::domain::analytics::{self, GroupBy, StatsCache, StatsLimits, Summary};
use crate::domain::ids::{AgentId, ChannelId, QueueId};
use crate::state::Limits;
use entity::enums::Role;

/// Roles that read aggregates over every chat.
pub const ANALYSTS: &[Role] = &[Role::Supervisor, Role::Admin, Role::Analyst];

/// A dimension (or time bucket) statistics are grouped by.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::domain::analytics::GroupBy")]
pub enum ChatGroupBy {
    /// The chat's queue.
    Queue,
    /// The agent who owns (accepted) the chat; chats without an owner form one group.
    Agent,
    /// The chat's channel.
    Channel,
    /// The chat's status.
    Status,
    /// The hour the chat was created in, in `timeZone`.
    Hour,
    /// The day (in `timeZone`; a DST day has 23 or 25 hours).
    Day,
    /// The week, from Monday.
    Week,
    /// The month.
    Month,
}

/// A duration summarized over the chats of a group that have it, in seconds.
#[derive(SimpleObject)]
pub struct DurationStats {
    /// How many chats of the group have it.
    pub count: i64,
    /// The mean.
    pub average: Option<f64>,
    /// The median (continuous, as `percentile_cont(0.5)`).
    pub median: Option<f64>,
    /// The 90th percentile (continuous).
    pub p90: Option<f64>,
}

impl From<Summary> for DurationStats {
    fn from(summary: Summary) -> Self {
        Self {
            count: i64::try_from(summary.count).unwrap_or(i64::MAX),
            average: summary.average,
            median: summary.median,
            p90: summary.p90,
        }
    }
}

/// One group of `chatStats`: its key (the dimensions grouped by) and its figures.
pub struct ChatStatsGroup(analytics::Group);

/// One group of `chatStats`: its key (the dimensions grouped by) and its figures.
#[Object]
impl ChatStatsGroup {
    /// The queue, when grouped by QUEUE.
    async fn queue(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Queue>> {
        let Some(id) = self.0.key.queue else { return Ok(None) };
        Ok(loader(ctx)?.load_one(QueueId(id)).await?.map(Queue::from))
    }

    /// The owner, when grouped by AGENT (null: the chats nobody accepted).
    async fn agent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Agent>> {
        let Some(id) = self.0.key.agent else { return Ok(None) };
        Ok(loader(ctx)?.load_one(AgentId(id)).await?.map(Agent::from))
    }

    /// The channel, when grouped by CHANNEL.
    async fn channel(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Channel>> {
        let Some(id) = self.0.key.channel else { return Ok(None) };
        Ok(loader(ctx)?.load_one(ChannelId(id)).await?.map(Channel::from))
    }

    /// The status, when grouped by STATUS.
    async fn status(&self) -> Option<super::types::enums::ChatStatus> {
        let status = self.0.key.status.as_deref()?;
        use sea_orm::Iterable;
        entity::enums::ChatStatus::iter().find(|known| known.as_str() == status).map(Into::into)
    }

    /// Start of the time bucket (inclusive), when grouped by a time.
    async fn bucket_start(&self) -> Option<DateTime<Utc>> {
        self.0.key.bucket.map(|(start, _)| start)
    }

    /// End of the time bucket (exclusive).
    async fn bucket_end(&self) -> Option<DateTime<Utc>> {
        self.0.key.bucket.map(|(_, end)| end)
    }

    /// Chats in the group.
    async fn count(&self) -> i64 {
        i64::try_from(self.0.count).unwrap_or(i64::MAX)
    }

    /// Time to accept (chats that waited and were accepted).
    async fn time_to_accept(&self) -> DurationStats {
        self.0.time_to_accept.into()
    }

    /// First response time (chats an agent answered).
    async fn first_response_time(&self) -> DurationStats {
        self.0.first_response_time.into()
    }

    /// Chat duration (completed chats).
    async fn duration(&self) -> DurationStats {
        self.0.duration.into()
    }

    /// Handling time (completed chats that were accepted, or never waited).
    async fn handling_time(&self) -> DurationStats {
        self.0.handling_time.into()
    }
}

/// Analytics queries.
#[derive(Default)]
pub struct AnalyticsQuery;

#[Object]
impl AnalyticsQuery {
    /// Counts and duration figures (average, median, 90th percentile of time to accept, first
    /// response time, duration and handling time) of the chats matching `filter`, grouped by
    /// `groupBy` (none: one group of everything), ordered by their keys (docs/metrics.md has
    /// the definitions). Time buckets are in `timeZone` (IANA, default UTC), half-open, weeks
    /// from Monday, by creation time, and need `filter.created` with both bounds. More groups
    /// than the server's limit (1,000 unless configured): TOO_MANY_GROUPS. SUPERVISOR, ADMIN,
    /// ANALYST.
    #[graphql(guard = "RoleGuard::new(ANALYSTS)")]
    async fn chat_stats(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which chats (as `chats`).")] filter: Option<ChatFilter>,
        #[graphql(desc = "Dimensions to group by; at most one time bucket. Omitted: one group.")]
        group_by: Option<Vec<ChatGroupBy>>,
        #[graphql(desc = "IANA time zone of the buckets, e.g. `Europe/Berlin` (default UTC).")]
        time_zone: Option<String>,
    ) -> async_graphql::Result<Vec<ChatStatsGroup>> {
        let zone = analytics::zone(time_zone.as_deref().unwrap_or("UTC")).gql()?;
        let filter = filter.unwrap_or_default().into_domain()?;
        let by: Vec<GroupBy> = group_by.unwrap_or_default().into_iter().map(Into::into).collect();
        let limits = StatsLimits { max_groups: ctx.data::<Limits>()?.max_stats_groups };
        let reads = analytics_db(ctx)?;
        let cache = ctx.data::<Arc<StatsCache>>()?;
        let read = analytics::chat_stats(reads.db(), principal(ctx)?, &filter, &by, zone, limits, cache);
        let groups = crate::domain::reads::timed(&reads, read).await.gql()?;
        Ok(groups.into_iter().map(ChatStatsGroup).collect())
    }
}
