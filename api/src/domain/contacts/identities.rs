//! Who writes: the contact behind a channel identity (DESIGN §1 "Contacts and channels"). The
//! first message from an unknown identity creates a contact with the provider's name, picture
//! and id (the phone for WhatsApp); the provider's profile later fills in what the webhook
//! lacked.

use entity::enums::ChannelKind;
use entity::{channels, chats, contact_identities, contacts};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, NotSet,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::{keys, normalize};
use crate::channels::Customer;
use crate::domain::error::DomainResult;
use crate::domain::ids::ContactId;
use crate::events::EventKind;

/// The contact behind a customer identity on `channel`'s kind, created (with its identity and
/// keys) when unknown; `true` when created now. Call it inside the ingesting transaction.
pub async fn resolve(
    db: &impl ConnectionTrait,
    channel: &channels::Model,
    customer: &Customer,
) -> Result<(contacts::Model, bool), DbErr> {
    if let Some(contact) = find(db, channel.kind, &customer.external_id).await? {
        return Ok((contact, false));
    }
    let mut row = contacts::ActiveModel::from(new_contact(channel, customer));
    row.id = NotSet;
    let contact = row.insert(db).await?;
    keys::insert(db, &contact).await?;
    contact_identities::ActiveModel {
        id: NotSet,
        contact_id: Set(contact.id),
        channel_kind: Set(channel.kind),
        external_id: Set(customer.external_id.clone()),
        created_at: Set(contact.created_at),
    }
    .insert(db)
    .await?;
    Ok((contact, true))
}

/// The contact behind the identity `external_id` on channels of `kind`, if known.
pub async fn find(
    db: &impl ConnectionTrait,
    kind: ChannelKind,
    external_id: &str,
) -> Result<Option<contacts::Model>, DbErr> {
    let identity = contact_identities::Entity::find()
        .filter(contact_identities::Column::ChannelKind.eq(kind))
        .filter(contact_identities::Column::ExternalId.eq(external_id))
        .find_also_related(contacts::Entity)
        .one(db)
        .await?;
    Ok(identity.and_then(|(_, contact)| contact))
}

/// The contact [`resolve`] creates for an unknown customer, not stored yet (its id is 0):
/// what the similar-contact search of a new customer looks for before the contact exists.
pub fn new_contact(channel: &channels::Model, customer: &Customer) -> contacts::Model {
    let now = crate::clock::now();
    let name = customer
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .or_else(|| customer.username.as_ref().map(|u| format!("@{u}")))
        .or_else(|| customer.phone.clone())
        .unwrap_or_else(|| placeholder_name(channel.kind, &customer.external_id));
    contacts::Model {
        id: 0,
        name,
        photo_url: None,
        email: None,
        mobile_phone: customer.phone.clone(),
        business_phone: None,
        home_phone: None,
        job_title: None,
        account_id: None,
        created_at: now,
        updated_at: now,
        merged_into_id: None,
        keys_version: normalize::VERSION,
    }
}

/// The name a contact gets when the provider gave none.
pub fn placeholder_name(kind: ChannelKind, external_id: &str) -> String {
    format!("{} {external_id}", kind.as_str().to_lowercase())
}

/// A channel identity of a contact, with the channels it has written through.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The identity row.
    pub row: contact_identities::Model,
    /// Channels of that kind the contact has chats on, by id.
    pub channels: Vec<i64>,
}

/// A contact's channel identities, oldest first, each with the channels it wrote through.
pub async fn of_contact(db: &impl ConnectionTrait, contact: ContactId) -> DomainResult<Vec<Identity>> {
    let rows = contact_identities::Entity::find()
        .filter(contact_identities::Column::ContactId.eq(contact.0))
        .order_by_asc(contact_identities::Column::Id)
        .all(db)
        .await?;
    let used: Vec<(i64, ChannelKind)> = chats::Entity::find()
        .select_only()
        .column(chats::Column::ChannelId)
        .column(channels::Column::Kind)
        .inner_join(channels::Entity)
        .filter(chats::Column::ContactId.eq(contact.0))
        .distinct()
        .order_by_asc(chats::Column::ChannelId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let channels =
                used.iter().filter(|(_, kind)| *kind == row.channel_kind).map(|(id, _)| *id).collect();
            Identity { row, channels }
        })
        .collect())
}

/// What a provider's profile says about a contact.
#[derive(Clone, Debug, Default)]
pub struct Profile {
    /// The customer's name.
    pub name: Option<String>,
    /// A picture: a URL, or a stored file's reference.
    pub photo_url: Option<String>,
}

/// Fills in from the provider's profile what is missing: the name while it is still the
/// placeholder given at creation, the picture while there is none. One transaction, which
/// re-keys the contact and records CONTACT_UPDATED on its open chats; `false` when nothing
/// was missing.
pub async fn fill_in(
    db: &DatabaseConnection,
    contact: ContactId,
    kind: ChannelKind,
    external_id: &str,
    profile: Profile,
) -> DomainResult<bool> {
    let txn = crate::db::write(db).await?;
    let Some(row) = contacts::Entity::find_by_id(contact.0).one(&txn).await? else { return Ok(false) };
    if row.merged_into_id.is_some() {
        return Ok(false);
    }
    let mut update: contacts::ActiveModel = row.clone().into();
    let mut changed = Vec::new();
    if let Some(name) = profile.name.filter(|n| !n.trim().is_empty())
        && row.name == placeholder_name(kind, external_id)
    {
        update.name = Set(name);
        changed.push("name");
    }
    if row.photo_url.is_none()
        && let Some(url) = profile.photo_url
    {
        update.photo_url = Set(Some(url));
        changed.push("photoUrl");
    }
    if changed.is_empty() {
        return Ok(false);
    }
    update.updated_at = Set(crate::clock::now());
    let updated = update.update(&txn).await?;
    keys::write(&txn, &updated).await?;
    let similar = super::similar::find(&txn, &updated, super::similar::LIMIT).await?.len();
    let payload =
        serde_json::json!({ "contactId": contact.0, "changed": changed, "similarContacts": similar });
    super::record_on_open_chats(&txn, EventKind::ContactUpdated, &[contact.0], payload).await?;
    txn.commit().await?;
    Ok(true)
}
