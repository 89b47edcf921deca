//! The `Contact` type and what hangs off it: identities, similar contacts, duplicate rules.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::contacts;
use futures_util::FutureExt;

use super::channel::Channel;
use super::chat::Chat;
use super::enums::ChannelKind;
use crate::domain::contacts::{self as contact_rules, identities, rules, similar};
use crate::domain::ids::{ChannelId, ContactId};
use crate::graphql::context::db;
use crate::graphql::error::ResultExt;
use crate::graphql::ids;
use crate::graphql::loaders::loader;
use crate::state::Limits;

/// A customer, known by one or more channel identities.
#[derive(Clone, Debug)]
pub struct Contact(pub contacts::Model);

impl Contact {
    /// Its photo's URL, with photos stored here under this server's path.
    fn photo(&self) -> Option<String> {
        photo_of(&self.0)
    }
}

/// The photo URL of contact `row`, with photos stored here under this server's path.
fn photo_of(row: &contacts::Model) -> Option<String> {
    let url = row.photo_url.as_deref()?;
    Some(match url.strip_prefix(crate::jobs::enrich::STORED_PHOTO) {
        Some(_) => format!("/files/contacts/{}/photo", ids::encode("Contact", row.id).0),
        None => url.to_owned(),
    })
}

/// A contact's row, borrowed, answered plain (a chat's contact read with it).
pub struct ContactRef<'a>(pub &'a contacts::Model);

impl crate::graphql::plain::PlainFields for Contact {
    fn typename(&self) -> std::borrow::Cow<'static, str> {
        <Self as async_graphql::OutputType>::type_name()
    }

    fn plain_field(
        &self,
        name: &str,
        selection: &async_graphql::parser::types::SelectionSet,
        out: &mut dyn crate::graphql::plain::Out,
    ) -> bool {
        ContactRef(&self.0).plain_field(name, selection, out)
    }
}

impl crate::graphql::plain::PlainFields for ContactRef<'_> {
    fn typename(&self) -> std::borrow::Cow<'static, str> {
        <Contact as async_graphql::OutputType>::type_name()
    }

    /// The fields `page_columns` lists as plain for `Contact`, as the resolvers below answer
    /// them.
    fn plain_field(
        &self,
        name: &str,
        _: &async_graphql::parser::types::SelectionSet,
        out: &mut dyn crate::graphql::plain::Out,
    ) -> bool {
        let row = self.0;
        match name {
            "id" => out.global_id(crate::domain::ids::GlobalId::new("Contact", row.id)),
            "name" => out.string(&row.name),
            "photoUrl" => out.optional_string(photo_of(row).as_deref()),
            "email" => out.optional_string(row.email.as_deref()),
            "mobilePhone" => out.optional_string(row.mobile_phone.as_deref()),
            "businessPhone" => out.optional_string(row.business_phone.as_deref()),
            "homePhone" => out.optional_string(row.home_phone.as_deref()),
            "jobTitle" => out.optional_string(row.job_title.as_deref()),
            "createdAt" => out.time(row.created_at),
            "updatedAt" => out.time(row.updated_at),
            _ => return false,
        }
        true
    }
}

/// A customer, known by one or more channel identities. Reading a contact's fields needs the
/// right to read the contact (see `contact(id)`), which every path to a `Contact` checks.
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
        self.photo()
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

    /// Home phone.
    async fn home_phone(&self) -> Option<&str> {
        self.0.home_phone.as_deref()
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
        super::case::of_contact(ctx, crate::domain::ids::ContactId(self.0.id)).boxed().await
    }

    /// When the contact's details last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// The contact this one was merged into, if it was: a merged contact is kept only so old
    /// ids still answer; use the one it points at (null for contacts not merged).
    async fn merged_into(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        let Some(into) = self.0.merged_into_id else { return Ok(None) };
        Ok(loader(ctx)?.load_one(ContactId(into)).await?.map(Contact))
    }

    /// Who the contact is on each channel kind: the provider's id for them (WhatsApp number,
    /// Messenger page-scoped id, Telegram user id) and the channels they wrote through.
    async fn identities(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ContactIdentity>> {
        let found = identities::of_contact(db(ctx)?, ContactId(self.0.id)).boxed().await.gql()?;
        Ok(found.into_iter().map(ContactIdentity).collect())
    }

    /// Per channel of a kind the contact has an identity on (by channel id): whether a chat
    /// can be started now, why not, and when the 24-hour window closes. Costs a few reads per
    /// channel: ask for it on one contact, not on a list.
    #[graphql(complexity = "10 * child_complexity")]
    async fn reachability(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<super::reachability::ChannelReachability>> {
        let found =
            crate::domain::initiate::reachability(db(ctx)?, ContactId(self.0.id)).boxed().await.gql()?;
        Ok(found.into_iter().map(super::reachability::ChannelReachability).collect())
    }

    /// The contact's timeline: every chat on every channel, completed ones included, newest
    /// first; each chat has its messages and files.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1")]
    async fn chats(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many chats to return (default 20, up to the page-size limit).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Return the chats after this cursor (older ones).")] after: Option<String>,
    ) -> async_graphql::Result<super::chat::ChatConnection> {
        let page = ids::page(first, after.as_deref(), ctx.data::<Limits>()?.max_page_size)?;
        let found = contact_rules::timeline(db(ctx)?, ContactId(self.0.id), page).boxed().await.gql()?;
        let count = super::chat::ChatCount::Contact(ContactId(self.0.id));
        let mut connection = Connection::with_additional_fields(page.after.is_some(), found.has_next, count);
        connection.edges.extend(
            found
                .items
                .into_iter()
                .map(|row| async_graphql::connection::Edge::new(ids::cursor(row.id), Chat::from(row))),
        );
        Ok(connection)
    }

    /// Contacts the active duplicate rules find for this one (pairs marked "not duplicates"
    /// excluded), with this contact marked as the current one.
    #[graphql(complexity = "similar::LIMIT * child_complexity + 1")]
    async fn similar_contacts(&self, ctx: &Context<'_>) -> async_graphql::Result<SimilarContacts> {
        SimilarContacts::of(ctx, self.0.clone()).boxed().await
    }
}

/// A contact's identity on one channel kind.
pub struct ContactIdentity(pub identities::Identity);

/// A contact's identity on one channel kind.
#[Object]
impl ContactIdentity {
    /// The provider.
    async fn kind(&self) -> ChannelKind {
        self.0.row.channel_kind.into()
    }

    /// The provider's id for the customer: WhatsApp phone number, Messenger page-scoped user
    /// id, Telegram user id.
    async fn external_id(&self) -> &str {
        &self.0.row.external_id
    }

    /// The channels of this kind the customer has written through.
    async fn channels(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Channel>> {
        let keys: Vec<ChannelId> = self.0.channels.iter().map(|id| ChannelId(*id)).collect();
        let mut found = loader(ctx)?.load_many(keys).await?;
        Ok(self.0.channels.iter().filter_map(|id| found.remove(&ChannelId(*id))).map(Channel::from).collect())
    }

    /// When the identity was first seen.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.row.created_at
    }
}

/// The similar contacts of a contact (`Chat.similarContacts`, `Contact.similarContacts`).
#[derive(SimpleObject)]
pub struct SimilarContacts {
    /// How many similar contacts were found (the current contact not counted).
    pub count: i32,
    /// The current contact first, then the similar ones, oldest first (up to 50).
    pub contacts: Vec<SimilarContact>,
}

impl SimilarContacts {
    /// The similar contacts of `current`.
    pub async fn of(ctx: &Context<'_>, current: contacts::Model) -> async_graphql::Result<Self> {
        let found = similar::of_contact(db(ctx)?, current).await.gql()?;
        let count = i32::try_from(found.matches.len()).unwrap_or(i32::MAX);
        let mut contacts =
            vec![SimilarContact { contact: Contact(found.current), is_current: true, rules: Vec::new() }];
        contacts.extend(found.matches.into_iter().map(|(row, rules)| SimilarContact {
            contact: Contact(row),
            is_current: false,
            rules,
        }));
        Ok(Self { count, contacts })
    }
}

/// One contact in a similar-contacts list.
#[derive(SimpleObject)]
pub struct SimilarContact {
    /// The contact.
    pub contact: Contact,
    /// Whether this is the contact the list is about (the chat's contact).
    pub is_current: bool,
    /// Names of the duplicate rules that found it (empty for the current contact).
    pub rules: Vec<String>,
}

/// A contact field a duplicate rule compares (values normalised: NFKC, lower-cased,
/// accent-folded; names as word sets; phones on their last 10 digits).
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::domain::contacts::rules::Field")]
pub enum DuplicateRuleField {
    /// The full name, in any word order.
    Name,
    /// The e-mail (dots and plus-tags kept).
    Email,
    /// The mobile phone, compared with every phone of the other contact.
    MobilePhone,
    /// The business phone, compared with every phone of the other contact.
    BusinessPhone,
    /// The home phone, compared with every phone of the other contact.
    HomePhone,
    /// Any phone of one contact equal to any phone of the other.
    AnyPhone,
}

/// A duplicate rule: contacts are similar when every field of the rule matches (AND); a
/// contact is similar to another when any active rule finds it (OR).
pub struct DuplicateRule(pub rules::Rule);

/// A duplicate rule: contacts are similar when every field of the rule matches (AND); a
/// contact is similar to another when any active rule finds it (OR).
#[Object]
impl DuplicateRule {
    /// Global id.
    async fn id(&self) -> ID {
        ids::encode("DuplicateRule", self.0.id)
    }

    /// The rule's name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The fields that must all match.
    async fn fields(&self) -> Vec<DuplicateRuleField> {
        self.0.fields.iter().copied().map(Into::into).collect()
    }

    /// Whether the rule is searched.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }

    /// When the rule was added.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
