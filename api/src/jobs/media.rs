//! Downloading inbound media into file storage, after the message is stored. A download never
//! holds up ingestion; files that break the size limit or the content-type allowlist are
//! refused and the attachment says why.

use entity::enums::{AttachmentStatus, ChannelKind};
use entity::{attachments, channels, messages};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use tokio_util::sync::CancellationToken;
use tracing::instrument;

use super::JobContext;
use crate::channels::{self as adapters, Downloaded, MediaError, MediaSource};
use crate::domain::channels::Credentials;

/// Attempts at one download before it is marked FAILED.
const ATTEMPTS: u32 = 3;

/// Stores a media source in `attachments.provider_file_id`.
pub fn encode_source(source: &MediaSource) -> String {
    match source {
        MediaSource::WhatsappMedia(id) => format!("wa:{id}"),
        MediaSource::Url(url) => format!("url:{url}"),
        MediaSource::TelegramFile(id) => format!("tg:{id}"),
    }
}

/// Reads back what [`encode_source`] stored.
pub fn decode_source(stored: &str) -> Option<MediaSource> {
    let (scheme, rest) = stored.split_once(':')?;
    match scheme {
        "wa" => Some(MediaSource::WhatsappMedia(rest.to_owned())),
        "url" => Some(MediaSource::Url(rest.to_owned())),
        "tg" => Some(MediaSource::TelegramFile(rest.to_owned())),
        _ => None,
    }
}

/// Fetches a media file from the channel's provider.
pub async fn fetch(
    ctx: &JobContext,
    channel: &channels::Model,
    source: &MediaSource,
) -> Result<Downloaded, MediaError> {
    let credentials = Credentials::of(channel);
    let max = ctx.files.max_bytes();
    let secret = |value: &Option<String>| value.clone().unwrap_or_default();
    match (channel.kind, source) {
        (ChannelKind::Whatsapp, MediaSource::WhatsappMedia(id)) => {
            adapters::whatsapp::api::fetch_media(&ctx.apis, &secret(&credentials.access_token), id, max).await
        }
        (ChannelKind::Telegram, MediaSource::TelegramFile(id)) => {
            adapters::telegram::api::fetch_media(&ctx.apis, &secret(&credentials.bot_token), id, max).await
        }
        (_, MediaSource::Url(url)) => adapters::messenger::api::fetch_media(&ctx.apis, url, max).await,
        _ => Err(MediaError::Failed("this channel cannot fetch that kind of media".into())),
    }
}

/// Downloads one attachment and records the outcome.
#[instrument(skip(ctx), fields(attachment_id = id))]
pub async fn download(ctx: &JobContext, id: i64) -> Result<(), sea_orm::DbErr> {
    let Some(attachment) = attachments::Entity::find_by_id(id).one(&ctx.db).await? else { return Ok(()) };
    if attachment.status != AttachmentStatus::Pending {
        return Ok(());
    }
    let Some((_, Some(channel))) = messages::Entity::find_by_id(attachment.message_id)
        .find_also_related(channels::Entity)
        .one(&ctx.db)
        .await?
    else {
        return Ok(());
    };
    let Some(source) = attachment.provider_file_id.as_deref().and_then(decode_source) else {
        return finish(ctx, attachment, AttachmentStatus::Failed, None, Some("unknown media source".into()))
            .await;
    };
    let mut attempt = 0;
    let downloaded = loop {
        attempt += 1;
        match fetch(ctx, &channel, &source).await {
            Ok(downloaded) => break downloaded,
            Err(MediaError::TooLarge { limit }) => {
                let reason = format!("refused: the file is larger than the {limit}-byte limit");
                return finish(ctx, attachment, AttachmentStatus::Refused, None, Some(reason)).await;
            }
            Err(MediaError::Failed(reason)) if attempt >= ATTEMPTS => {
                tracing::warn!(%reason, "media download failed");
                return finish(ctx, attachment, AttachmentStatus::Failed, None, Some(reason)).await;
            }
            Err(MediaError::Failed(reason)) => {
                tracing::debug!(%reason, attempt, "media download failed; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(200 * 4u64.pow(attempt))).await;
            }
        }
    };
    let content_type = downloaded
        .content_type
        .clone()
        .or_else(|| attachment.content_type.clone())
        .unwrap_or_else(|| "application/octet-stream".into());
    if let Err(refusal) = ctx.files.check(&content_type, downloaded.bytes.len() as u64) {
        return finish(ctx, attachment, AttachmentStatus::Refused, None, Some(format!("refused: {refusal}")))
            .await;
    }
    match ctx.files.put(&downloaded.bytes).await {
        Ok(key) => {
            let mut row: attachments::ActiveModel = attachment.clone().into();
            row.content_type = Set(Some(content_type));
            row.size_bytes = Set(Some(downloaded.bytes.len() as i64));
            if attachment.file_name.is_none() {
                row.file_name = Set(downloaded.file_name.clone());
            }
            row.storage_key = Set(Some(key));
            row.status = Set(AttachmentStatus::Stored);
            row.error = Set(None);
            row.update(&ctx.db).await?;
            Ok(())
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot write a file to storage");
            finish(ctx, attachment, AttachmentStatus::Failed, None, Some("could not store the file".into()))
                .await
        }
    }
}

async fn finish(
    ctx: &JobContext,
    attachment: attachments::Model,
    status: AttachmentStatus,
    key: Option<String>,
    error: Option<String>,
) -> Result<(), sea_orm::DbErr> {
    let mut row: attachments::ActiveModel = attachment.into();
    row.status = Set(status);
    row.storage_key = Set(key);
    row.error = Set(error);
    row.update(&ctx.db).await?;
    Ok(())
}

/// Downloads the given attachments now (called right after ingestion).
pub fn spawn_downloads(ctx: &JobContext, ids: Vec<i64>) {
    if ids.is_empty() {
        return;
    }
    let ctx = ctx.clone();
    tokio::spawn(async move {
        for id in ids {
            if let Err(err) = download(&ctx, id).await {
                tracing::error!(error = %err, attachment_id = id, "media download could not be recorded");
            }
        }
    });
}

/// Picks up attachments still pending (for example after a restart) every few poll periods.
pub async fn run(ctx: JobContext, cancel: CancellationToken) {
    // Leave fresh attachments to the downloads spawned at ingestion.
    let grace = chrono::Duration::seconds(30);
    loop {
        let due = attachments::Entity::find()
            .filter(attachments::Column::Status.eq(AttachmentStatus::Pending))
            .filter(attachments::Column::CreatedAt.lt(crate::clock::now() - grace))
            .order_by_asc(attachments::Column::Id)
            .limit(32)
            .all(&ctx.db)
            .await;
        match due {
            Ok(rows) => {
                for row in rows {
                    if let Err(err) = download(&ctx, row.id).await {
                        tracing::error!(error = %err, "media worker failed");
                    }
                }
            }
            Err(err) => tracing::error!(error = %err, "media worker cannot read pending attachments"),
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(ctx.poll * 10) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_round_trip() {
        for source in [
            MediaSource::WhatsappMedia("123".into()),
            MediaSource::Url("https://cdn.example/x?a=b:c".into()),
            MediaSource::TelegramFile("AgAC:x".into()),
        ] {
            assert_eq!(decode_source(&encode_source(&source)), Some(source));
        }
        assert_eq!(decode_source("nope"), None);
    }
}
