//! The `Contact` type.

use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};
use entity::contacts;

use crate::graphql::ids;

/// A customer, known by one or more channel identities.
#[derive(Clone, Debug)]
pub struct Contact(pub contacts::Model);

/// A customer, known by one or more channel identities.
#[Object]
impl Contact {
    /// Global id: opaque, stable; fetch the object again with `node(id)`.
    pub async fn id(&self) -> ID {
        ids::encode("Contact", self.0.id)
    }

    /// Full name, as the provider gave it or an agent corrected it.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Profile picture URL: the provider's, or a path on this server for photos stored here
    /// (send the same `Authorization` header).
    async fn photo_url(&self) -> Option<String> {
        let url = self.0.photo_url.as_deref()?;
        Some(match url.strip_prefix(crate::jobs::enrich::STORED_PHOTO) {
            Some(_) => format!("/files/contacts/{}/photo", ids::encode("Contact", self.0.id).0),
            None => url.to_owned(),
        })
    }

    /// Email address.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }

    /// Mobile phone (the WhatsApp number for WhatsApp contacts).
    async fn mobile_phone(&self) -> Option<&str> {
        self.0.mobile_phone.as_deref()
    }

    /// Business phone.
    async fn business_phone(&self) -> Option<&str> {
        self.0.business_phone.as_deref()
    }

    /// Job title.
    async fn job_title(&self) -> Option<&str> {
        self.0.job_title.as_deref()
    }

    /// When the contact was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The account (customer organisation) the contact belongs to.
    async fn account(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Option<super::account::Account>> {
        let Some(id) = self.0.account_id.map(crate::domain::accounts::AccountId) else { return Ok(None) };
        let loader = crate::graphql::loaders::loader(ctx)?;
        Ok(loader.load_one(id).await?.map(super::account::Account))
    }

    /// The contact's cases the caller may read, newest first.
    async fn cases(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<Vec<super::case::Case>> {
        super::case::of_contact(ctx, crate::domain::ids::ContactId(self.0.id)).await
    }
}
