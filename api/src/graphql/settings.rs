//! Reading and changing settings.

use async_graphql::{Context, InputObject, Object};
use sea_orm::DatabaseConnection;

use super::context::{ADMINS, READERS, RoleGuard, db};
use super::error::ResultExt;
use super::types::settings::Settings;
use crate::domain::settings::{self, SettingsChange};

/// `updateSettings` input; omitted settings stay as they are. Out-of-range values (a
/// negative number, say) are refused with BAD_USER_INPUT and nothing changes.
#[derive(InputObject)]
pub struct UpdateSettingsInput {
    /// `SimultaneousChats`: 0 (no limit) to 1000.
    pub simultaneous_chats: Option<i64>,
    /// `OmniChatOperatorAcceptChatTimeout` in seconds: 1 to 86400.
    pub accept_chat_timeout_seconds: Option<i64>,
}

/// Settings queries.
#[derive(Default)]
pub struct SettingsQuery;

#[Object]
impl SettingsQuery {
    /// The settings in force.
    #[graphql(guard = "RoleGuard::new(READERS)")]
    async fn settings(&self, ctx: &Context<'_>) -> async_graphql::Result<Settings> {
        Ok(settings::load(db(ctx)?).await.gql()?.into())
    }
}

/// Settings administration.
#[derive(Default)]
pub struct SettingsMutation;

#[Object]
impl SettingsMutation {
    /// Changes settings (ADMIN); they take effect at once, without a restart.
    #[graphql(guard = "RoleGuard::new(ADMINS)")]
    async fn update_settings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The changes; omitted fields stay as they are.")] input: UpdateSettingsInput,
    ) -> async_graphql::Result<Settings> {
        let change = SettingsChange {
            simultaneous_chats: input.simultaneous_chats,
            accept_chat_timeout_seconds: input.accept_chat_timeout_seconds,
        };
        let db = ctx.data::<DatabaseConnection>()?;
        Ok(settings::update(db, change).await.gql()?.routed(db).await.into())
    }
}
