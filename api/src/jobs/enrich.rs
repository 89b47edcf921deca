//! Filling in what a webhook lacks about a new contact (Messenger name and picture, Telegram
//! profile photo) from the provider's API, after the message is stored. Failures are logged
//! and never affect ingestion.

use entity::enums::ChannelKind;
use entity::{channels, contact_identities, contacts};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tracing::instrument;

use super::JobContext;
use crate::channels::{self as adapters, MediaSource, Profile};
use crate::domain::channels::Credentials;
use crate::domain::contacts::identities;
use crate::domain::ids::ContactId;

/// Prefix of `contacts.photo_url` values that name a stored file rather than a URL.
pub const STORED_PHOTO: &str = "file:";

async fn profile(ctx: &JobContext, channel: &channels::Model, external_id: &str) -> Option<Profile> {
    let credentials = Credentials::of(channel);
    let result = match channel.kind {
        ChannelKind::Messenger => {
            let token = credentials.access_token.unwrap_or_default();
            adapters::messenger::api::fetch_profile(&ctx.apis, &token, external_id).await
        }
        ChannelKind::Telegram => {
            let token = credentials.bot_token.unwrap_or_default();
            adapters::telegram::api::fetch_profile(&ctx.apis, &token, external_id).await
        }
        // WhatsApp webhooks carry the profile name and no picture API exists.
        ChannelKind::Whatsapp => return None,
    };
    match result {
        Ok(profile) => Some(profile),
        Err(err) => {
            tracing::warn!(error = %err, "profile fetch failed");
            None
        }
    }
}

/// Fetches and stores what is missing about a contact first seen on `channel`.
#[instrument(skip(ctx, channel), fields(contact_id = contact.0, channel_id = channel.id))]
pub async fn enrich(
    ctx: &JobContext,
    channel: &channels::Model,
    contact: ContactId,
) -> Result<(), crate::domain::DomainError> {
    let Some(row) = contacts::Entity::find_by_id(contact.0).one(&ctx.db).await? else { return Ok(()) };
    let Some(identity) = contact_identities::Entity::find()
        .filter(contact_identities::Column::ContactId.eq(contact.0))
        .filter(contact_identities::Column::ChannelKind.eq(channel.kind))
        .one(&ctx.db)
        .await?
    else {
        return Ok(());
    };
    let Some(profile) = profile(ctx, channel, &identity.external_id).await else { return Ok(()) };
    let mut found = identities::Profile { name: profile.name, photo_url: None };
    if row.photo_url.is_none() {
        if let Some(url) = profile.photo_url {
            found.photo_url = Some(url);
        } else if let Some(source @ MediaSource::TelegramFile(_)) = profile.photo_file
            && let Ok(downloaded) = super::media::fetch(ctx, channel, &source).await
            && ctx
                .files
                .check(
                    downloaded.content_type.as_deref().unwrap_or("image/jpeg"),
                    downloaded.bytes.len() as u64,
                )
                .is_ok()
        {
            match ctx.files.put(&downloaded.bytes).await {
                Ok(key) => found.photo_url = Some(format!("{STORED_PHOTO}{key}")),
                Err(err) => tracing::warn!(error = %err, "cannot store a profile photo"),
            }
        }
    }
    // What to fill in, and the event that tells open panels, is the contacts' rule.
    identities::fill_in(&ctx.db, contact, channel.kind, &identity.external_id, found).await?;
    Ok(())
}

/// Enriches new contacts in the background.
pub fn spawn(ctx: &JobContext, channel: channels::Model, contacts: Vec<ContactId>) {
    if contacts.is_empty() || channel.kind == ChannelKind::Whatsapp {
        return;
    }
    let ctx = ctx.clone();
    tokio::spawn(async move {
        for contact in contacts {
            if let Err(err) = enrich(&ctx, &channel, contact).await {
                tracing::error!(error = %err, "contact enrichment could not be recorded");
            }
        }
    });
}
