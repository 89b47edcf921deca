//! Contacts: search, change, similar contacts, merge and "not duplicates", duplicate rules.

use std::collections::BTreeMap;

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use entity::enums::Role;
use sea_orm::DatabaseConnection;

use super::connection;
use super::context::{READERS, RoleGuard, STAFF, db, principal};
use super::error::ResultExt;
use super::ids;
use super::types::contact::{Contact, DuplicateRule, DuplicateRuleField};
use crate::domain::contacts::merge::{self, Value};
use crate::domain::contacts::search::{self, Search};
use crate::domain::contacts::{rules, update};
use crate::domain::ids::ContactId;
use crate::state::Limits;

/// Roles that switch and add duplicate rules.
pub const RULE_MANAGERS: &[Role] = &[Role::Supervisor, Role::Admin];

/// `updateContact` input. Omitted fields stay as they are; `null` or an empty string clears
/// one (the name cannot be cleared).
#[derive(InputObject)]
pub struct UpdateContactInput {
    /// The contact to change.
    pub id: ID,
    /// Full name (1 to 200 characters).
    pub name: Option<String>,
    /// E-mail address (`name@example.com`).
    pub email: MaybeUndefined<String>,
    /// Mobile phone: digits (at least 7) with spaces, `+`, `-`, `.`, `( )`, and an optional
    /// extension (`x12`, `ext 12`, `#12`).
    pub mobile_phone: MaybeUndefined<String>,
    /// Business phone (as `mobilePhone`).
    pub business_phone: MaybeUndefined<String>,
    /// Home phone (as `mobilePhone`).
    pub home_phone: MaybeUndefined<String>,
    /// Job title (up to 200 characters).
    pub job_title: MaybeUndefined<String>,
    /// The account the contact belongs to (an `Account` id); `null` unlinks it.
    pub account_id: MaybeUndefined<ID>,
}

/// For each field, the contact (one of the merged ones) whose value the kept contact takes.
/// Fields not named: the kept contact keeps its value, or where it has none takes the most
/// recently updated other contact's.
#[derive(InputObject, Default)]
pub struct MergeValuesInput {
    /// Take the name from this contact.
    pub name: Option<ID>,
    /// Take the picture from this contact.
    pub photo: Option<ID>,
    /// Take the e-mail from this contact.
    pub email: Option<ID>,
    /// Take the mobile phone from this contact.
    pub mobile_phone: Option<ID>,
    /// Take the business phone from this contact.
    pub business_phone: Option<ID>,
    /// Take the home phone from this contact.
    pub home_phone: Option<ID>,
    /// Take the job title from this contact.
    pub job_title: Option<ID>,
    /// Take the account from this contact.
    pub account: Option<ID>,
}

/// `mergeContacts` input.
#[derive(InputObject)]
pub struct MergeContactsInput {
    /// The contact to keep; by default the oldest of all the contacts named.
    pub keep_id: Option<ID>,
    /// The contacts merged into the kept one (1 to 19; at least 2 without `keepId`).
    pub merge_ids: Vec<ID>,
    /// Values to take from a given contact where they conflict.
    #[graphql(default)]
    pub values: MergeValuesInput,
}

/// `createDuplicateRule` input.
#[derive(InputObject)]
pub struct CreateDuplicateRuleInput {
    /// A name unique among rules (1 to 100 characters).
    pub name: String,
    /// The fields that must all match (at least one).
    pub fields: Vec<DuplicateRuleField>,
}

fn contact_id(id: &ID) -> async_graphql::Result<ContactId> {
    Ok(ContactId(ids::decode(id, "Contact")?))
}

fn clearable<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(value) => Some(Some(value)),
    }
}

/// Contact queries.
#[derive(Default)]
pub struct ContactsQuery;

#[Object]
impl ContactsQuery {
    /// Contacts, oldest first, found by `search`: with an `@` an e-mail (addresses starting
    /// with it); written as a phone number any phone compared on the last 10 digits; otherwise
    /// a name (every word starts a word of the name, any order, case and accents ignored).
    /// Supervisors, admins and analysts search every contact; an agent only the contacts of
    /// chats they may read. Merged contacts are never listed.
    #[graphql(
        guard = "RoleGuard::new(READERS)",
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A name, phone number or e-mail (or its start); omitted: every contact.")]
        search: Option<String>,
        #[graphql(desc = "How many contacts to return (default 20, up to the page-size limit).")]
        first: Option<i32>,
        #[graphql(desc = "Return the contacts after this cursor.")] after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Contact>> {
        let page = ids::page(first, after.as_deref(), ctx.data::<Limits>()?.max_page_size)?;
        let found = search::contacts(db(ctx)?, principal(ctx)?, &Search::parse(search.as_deref()), page)
            .await
            .gql()?;
        Ok(connection::build(page, found, |row| row.id, Contact))
    }

    /// The duplicate rules, oldest first (the six defaults first).
    #[graphql(guard = "RoleGuard::new(READERS)")]
    async fn duplicate_rules(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DuplicateRule>> {
        Ok(rules::all(db(ctx)?).await.gql()?.into_iter().map(DuplicateRule).collect())
    }
}

/// Contact changes.
#[derive(Default)]
pub struct ContactsMutation;

#[Object]
impl ContactsMutation {
    /// Changes a contact's details (AGENT for the contacts of chats they may read, SUPERVISOR,
    /// ADMIN). Records CONTACT_UPDATED on the contact's open chats so open panels refresh.
    /// Errors: NOT_FOUND (unknown or unreadable contact, unknown account), CONTACT_MERGED,
    /// BAD_USER_INPUT (an e-mail or phone that is not one, an empty name); nothing changes.
    #[graphql(guard = "RoleGuard::new(STAFF)")]
    async fn update_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact and the changes.")] input: UpdateContactInput,
    ) -> async_graphql::Result<Contact> {
        let id = contact_id(&input.id)?;
        let account = match clearable(input.account_id) {
            Some(Some(account)) => Some(Some(ids::decode(&account, "Account")?)),
            Some(None) => Some(None),
            None => None,
        };
        let changes = update::Changes {
            name: input.name,
            email: clearable(input.email),
            mobile_phone: clearable(input.mobile_phone),
            business_phone: clearable(input.business_phone),
            home_phone: clearable(input.home_phone),
            job_title: clearable(input.job_title),
            account,
        };
        let db = ctx.data::<DatabaseConnection>()?;
        Ok(Contact(update::update(db, principal(ctx)?, id, changes).await.gql()?))
    }

    /// Merges contacts into one (AGENT — when they may read one of the contacts and the others
    /// are its similar contacts —, SUPERVISOR, ADMIN). The kept contact (by default the
    /// oldest) keeps its values, takes the others' where it has none (the most recently
    /// updated first) or the ones `values` picks, and gets all their identities, chats (with
    /// drafts), cases and "not duplicates" pairs; the others become tombstones
    /// (`mergedInto`). One transaction; CONTACTS_MERGED is recorded on the kept contact's open
    /// chats. Errors: BAD_USER_INPUT (a contact with itself or twice), NOT_FOUND,
    /// MERGE_CONFLICT (a contact already merged, perhaps by a merge at the same moment:
    /// `extensions.mergedIntoId`), OPEN_CHATS_CONFLICT (open chats on one channel:
    /// `extensions.chatIds`; complete all but one first). Nothing changes on an error.
    #[graphql(guard = "RoleGuard::new(STAFF)")]
    async fn merge_contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to merge.")] input: MergeContactsInput,
    ) -> async_graphql::Result<Contact> {
        let keep = input.keep_id.as_ref().map(contact_id).transpose()?;
        let merge = input.merge_ids.iter().map(contact_id).collect::<async_graphql::Result<Vec<_>>>()?;
        let v = input.values;
        let mut values = BTreeMap::new();
        for (field, pick) in [
            (Value::Name, v.name),
            (Value::Photo, v.photo),
            (Value::Email, v.email),
            (Value::MobilePhone, v.mobile_phone),
            (Value::BusinessPhone, v.business_phone),
            (Value::HomePhone, v.home_phone),
            (Value::JobTitle, v.job_title),
            (Value::Account, v.account),
        ] {
            if let Some(pick) = pick {
                values.insert(field, contact_id(&pick)?);
            }
        }
        let request = merge::Request { keep, merge, values };
        let db = ctx.data::<DatabaseConnection>()?;
        Ok(Contact(merge::merge(db, principal(ctx)?, request).await.gql()?.kept))
    }

    /// Marks contacts "not duplicates" of each other (every pair among them): they no longer
    /// show as similar (AGENT as for `mergeContacts`, SUPERVISOR, ADMIN). Returns the contacts.
    /// Errors: BAD_USER_INPUT (fewer than two different contacts), NOT_FOUND, MERGE_CONFLICT.
    #[graphql(guard = "RoleGuard::new(STAFF)")]
    async fn mark_not_duplicates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contacts (2 to 20).")] contact_ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Contact>> {
        let ids = contact_ids.iter().map(contact_id).collect::<async_graphql::Result<Vec<_>>>()?;
        let db = ctx.data::<DatabaseConnection>()?;
        let rows = merge::mark_not_duplicates(db, principal(ctx)?, &ids).await.gql()?;
        Ok(rows.into_iter().map(Contact).collect())
    }

    /// Switches a duplicate rule on or off (SUPERVISOR, ADMIN). Takes effect for the next
    /// search.
    #[graphql(guard = "RoleGuard::new(RULE_MANAGERS)")]
    async fn set_duplicate_rule_enabled(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The rule.")] id: ID,
        #[graphql(desc = "Whether the rule is searched.")] enabled: bool,
    ) -> async_graphql::Result<DuplicateRule> {
        let id = ids::decode(&id, "DuplicateRule")?;
        let db = ctx.data::<DatabaseConnection>()?;
        Ok(DuplicateRule(rules::set_enabled(db, id, enabled).await.gql()?))
    }

    /// Adds a duplicate rule, switched on (SUPERVISOR, ADMIN). Errors: BAD_USER_INPUT (no
    /// fields, a bad name), CONFLICT (the name is taken).
    #[graphql(guard = "RoleGuard::new(RULE_MANAGERS)")]
    async fn create_duplicate_rule(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new rule.")] input: CreateDuplicateRuleInput,
    ) -> async_graphql::Result<DuplicateRule> {
        let fields: Vec<rules::Field> = input.fields.into_iter().map(Into::into).collect();
        let db = ctx.data::<DatabaseConnection>()?;
        Ok(DuplicateRule(rules::create(db, &input.name, &fields).await.gql()?))
    }
}
