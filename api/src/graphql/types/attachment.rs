//! The `Attachment` type.

use async_graphql::{Enum, ID, Object};
use entity::attachments;

use crate::graphql::ids;

/// Where a file is in its life.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::AttachmentStatus")]
pub enum AttachmentStatus {
    /// Being downloaded from the provider.
    Pending,
    /// Stored; download it from `url`.
    Stored,
    /// Refused (too large, or a content type that is not accepted); `error` says why.
    Refused,
    /// The download failed; `error` says why.
    Failed,
}

/// A file sent with a message.
#[derive(Clone, Debug)]
pub struct Attachment(pub attachments::Model);

/// A file sent with a message. Fetchable with `node(id)` by whoever may read the message's
/// chat; download it from `url` once `status` is STORED.
#[Object]
impl Attachment {
    /// Global id: opaque, stable; fetch the object again with `node(id)`.
    pub async fn id(&self) -> ID {
        ids::encode("Attachment", self.0.id)
    }

    /// File name, when known.
    async fn file_name(&self) -> Option<&str> {
        self.0.file_name.as_deref()
    }

    /// MIME type, when known.
    async fn content_type(&self) -> Option<&str> {
        self.0.content_type.as_deref()
    }

    /// Size in bytes, when known.
    async fn size_bytes(&self) -> Option<i64> {
        self.0.size_bytes
    }

    /// Whether the file is stored, still coming, or refused.
    async fn status(&self) -> AttachmentStatus {
        self.0.status.into()
    }

    /// Why the file was refused or could not be downloaded.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }

    /// Path to download the stored file (send the same `Authorization` header); null until
    /// it is stored.
    async fn url(&self) -> Option<String> {
        (self.0.status == entity::enums::AttachmentStatus::Stored)
            .then(|| format!("/files/{}", ids::encode("Attachment", self.0.id).0))
    }
}
