//! WhatsApp message templates: templates approved by Meta, registered here per WhatsApp
//! channel (name, language code, body text with `{{1}}`... placeholders). Outside the 24-hour
//! window a WhatsApp chat may be started or continued only with one of them; they go out as
//! the Cloud API's template messages, and the stored message shows the rendered body.

use entity::enums::ChannelKind;
use entity::{channels, message_templates, messages, template_sends};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, NotSet, QueryFilter,
    QueryOrder, Set,
};
use tracing::instrument;

use super::error::{DomainError, DomainResult};
use super::ids::{ChannelId, ChatId};
use super::messages::{self as replies, Outgoing};
use super::sessions::Principal;

/// A registered message template's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageTemplateId(pub i64);

/// Longest template name WhatsApp accepts.
pub const MAX_NAME_CHARS: usize = 512;
/// Longest template body WhatsApp accepts.
pub const MAX_BODY_CHARS: usize = 1024;
/// Longest body parameter value accepted.
pub const MAX_PARAMETER_CHARS: usize = 1024;
/// Most body parameters a template may take.
pub const MAX_PARAMETERS: usize = 100;

/// A template to register.
#[derive(Clone, Debug)]
pub struct NewMessageTemplate {
    /// The WhatsApp channel it is approved for.
    pub channel: ChannelId,
    /// Its name in WhatsApp Manager: lower-case letters, digits and underscores.
    pub name: String,
    /// Its language code, e.g. `en_US` or `de`.
    pub language_code: String,
    /// The body text with `{{1}}`, `{{2}}`... placeholders.
    pub body_text: String,
    /// How many body parameters it takes; `None`: as many as the body text's placeholders.
    pub parameter_count: Option<i32>,
}

fn valid_name(name: &str) -> DomainResult<String> {
    let name = name.trim();
    let shaped = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !shaped {
        return Err(DomainError::invalid(
            "a template name is 1 to 512 lower-case letters, digits and underscores, as in WhatsApp Manager",
        ));
    }
    Ok(name.to_owned())
}

fn valid_language(code: &str) -> DomainResult<String> {
    let code = code.trim();
    let shaped = (2..=15).contains(&code.len())
        && code.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
        && code.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if !shaped {
        return Err(DomainError::invalid(
            "languageCode must be a WhatsApp language code such as en or en_US",
        ));
    }
    Ok(code.to_owned())
}

/// The placeholder numbers in a body text (`{{1}}` → 1), in order of appearance.
pub fn placeholders(body: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                if let Ok(n) = after[..end].parse::<usize>() {
                    found.push(n);
                }
                rest = &after[end + 2..];
            }
            None => break,
        }
    }
    found
}

/// The number of parameters a body text takes: its placeholders must be `{{1}}` to `{{n}}`,
/// each at least once.
fn parameters_of(body: &str) -> DomainResult<usize> {
    let found = placeholders(body);
    let n = found.iter().copied().max().unwrap_or(0);
    if n > MAX_PARAMETERS || found.contains(&0) || (1..=n).any(|i| !found.contains(&i)) {
        return Err(DomainError::invalid(
            "the body's placeholders must be {{1}} to {{n}}, each used at least once",
        ));
    }
    Ok(n)
}

/// Registers a template for a WhatsApp channel (admins). A name and language already
/// registered for the channel: CONFLICT.
#[instrument(skip_all, fields(channel_id = new.channel.0))]
pub async fn create(
    db: &DatabaseConnection,
    new: NewMessageTemplate,
) -> DomainResult<message_templates::Model> {
    let name = valid_name(&new.name)?;
    let language_code = valid_language(&new.language_code)?;
    let body_text = new.body_text.trim().to_owned();
    if body_text.is_empty() || body_text.chars().count() > MAX_BODY_CHARS {
        return Err(DomainError::invalid(format!("bodyText must be 1 to {MAX_BODY_CHARS} characters")));
    }
    let placeholders = parameters_of(&body_text)?;
    let count = match new.parameter_count {
        None => placeholders,
        Some(count) if usize::try_from(count).ok() == Some(placeholders) => placeholders,
        Some(count) => {
            return Err(DomainError::invalid(format!(
                "parameterCount is {count} but the body text has {placeholders} placeholders"
            )));
        }
    };
    let channel =
        channels::Entity::find_by_id(new.channel.0).one(db).await?.ok_or(DomainError::NotFound("channel"))?;
    if channel.kind != ChannelKind::Whatsapp {
        return Err(DomainError::invalid("message templates are for WhatsApp channels only"));
    }
    let now = crate::clock::now();
    message_templates::ActiveModel {
        id: NotSet,
        channel_id: Set(channel.id),
        name: Set(name),
        language_code: Set(language_code),
        body_text: Set(body_text),
        parameter_count: Set(count as i32),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .map_err(|err| {
        super::error::classify(
            err,
            "a template with this name and language is already registered for the channel",
        )
    })
}

/// Removes a template (admins). Messages already sent with it keep their copy.
pub async fn delete(db: &DatabaseConnection, id: MessageTemplateId) -> DomainResult<()> {
    let deleted = message_templates::Entity::delete_by_id(id.0).exec(db).await?;
    if deleted.rows_affected == 0 {
        return Err(DomainError::NotFound("message template"));
    }
    Ok(())
}

/// One template by id.
pub async fn get(
    db: &impl ConnectionTrait,
    id: MessageTemplateId,
) -> DomainResult<Option<message_templates::Model>> {
    Ok(message_templates::Entity::find_by_id(id.0).one(db).await?)
}

/// A channel's templates, by name and language.
pub async fn of_channel(
    db: &impl ConnectionTrait,
    channel: ChannelId,
) -> DomainResult<Vec<message_templates::Model>> {
    Ok(message_templates::Entity::find()
        .filter(message_templates::Column::ChannelId.eq(channel.0))
        .order_by_asc(message_templates::Column::Name)
        .order_by_asc(message_templates::Column::LanguageCode)
        .order_by_asc(message_templates::Column::Id)
        .all(db)
        .await?)
}

/// Checks parameter values on their own, before the template is known: each 1 to 1024
/// characters, with no line break or tab (WhatsApp refuses those in body parameters).
pub fn check_parameter_values(parameters: &[String]) -> DomainResult<()> {
    let bad = |p: &String| {
        p.trim().is_empty() || p.chars().count() > MAX_PARAMETER_CHARS || p.contains(['\n', '\r', '\t'])
    };
    if parameters.iter().any(bad) {
        return Err(DomainError::invalid(format!(
            "each template parameter must be 1 to {MAX_PARAMETER_CHARS} characters, without line breaks or tabs"
        )));
    }
    Ok(())
}

/// A template with its parameters, and the body as the customer sees it.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// The template.
    pub template: message_templates::Model,
    /// The body parameters, in order.
    pub parameters: Vec<String>,
    /// The body text with the placeholders filled in.
    pub text: String,
}

/// Fills in a template's body: TEMPLATE_PARAMETERS unless exactly its number of parameters is
/// given.
pub fn render(template: message_templates::Model, parameters: Vec<String>) -> DomainResult<Rendered> {
    check_parameter_values(&parameters)?;
    let expected = usize::try_from(template.parameter_count).unwrap_or_default();
    if parameters.len() != expected {
        return Err(DomainError::TemplateParameters { expected, given: parameters.len() });
    }
    // One pass, so a value that itself looks like a placeholder stays as it is.
    let mut text = String::with_capacity(template.body_text.len());
    let mut rest = template.body_text.as_str();
    while let Some(start) = rest.find("{{") {
        text.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let value = after.find("}}").and_then(|end| {
            let n = after[..end].parse::<usize>().ok()?;
            Some((parameters.get(n.checked_sub(1)?)?, end))
        });
        match value {
            Some((value, end)) => {
                text.push_str(value);
                rest = &after[end + 2..];
            }
            None => {
                text.push_str("{{");
                rest = after;
            }
        }
    }
    text.push_str(rest);
    Ok(Rendered { template, parameters, text })
}

/// Stores which template `message` is sent as, in the caller's transaction.
pub async fn record_send(
    db: &impl ConnectionTrait,
    message: &messages::Model,
    rendered: &Rendered,
) -> Result<(), sea_orm::DbErr> {
    template_sends::ActiveModel {
        message_id: Set(message.id),
        template_id: Set(Some(rendered.template.id)),
        name: Set(rendered.template.name.clone()),
        language_code: Set(rendered.template.language_code.clone()),
        parameters: Set(serde_json::json!(rendered.parameters)),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The template a message is sent as, if it is a template message.
pub async fn send_of(
    db: &impl ConnectionTrait,
    message_id: i64,
) -> Result<Option<template_sends::Model>, sea_orm::DbErr> {
    template_sends::Entity::find_by_id(message_id).one(db).await
}

/// `sendTemplate`: sends a registered template in a WhatsApp chat, inside or outside the
/// window. Who may: as for a reply (the owner or a supervisor, IN_PROGRESS chats). The
/// template must be registered for the chat's channel; TEMPLATE_PARAMETERS for a wrong number
/// of parameters.
#[instrument(skip_all, fields(chat_id = chat_id.0, template_id = template_id.0, agent_id = principal.agent_id.0))]
pub async fn send(
    db: &DatabaseConnection,
    principal: &Principal,
    chat_id: ChatId,
    template_id: MessageTemplateId,
    parameters: Vec<String>,
) -> DomainResult<messages::Model> {
    check_parameter_values(&parameters)?;
    let chat =
        super::chats::get_visible(db, principal, chat_id).await?.ok_or(DomainError::NotFound("chat"))?;
    replies::check_can_reply(principal, &chat)?;
    let template = get(db, template_id).await?.ok_or(DomainError::NotFound("message template"))?;
    if template.channel_id != chat.channel_id {
        return Err(DomainError::invalid("the template is not registered for this chat's channel"));
    }
    let rendered = render(template, parameters)?;

    let txn = crate::db::write(db).await?;
    let chat =
        entity::chats::Entity::find_by_id(chat_id.0).one(&txn).await?.ok_or(DomainError::NotFound("chat"))?;
    replies::check_can_reply(principal, &chat)?;
    let message = replies::queue(&txn, principal, &chat, Outgoing::Template(rendered)).await?;
    txn.commit().await?;
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(body: &str, count: i32) -> message_templates::Model {
        let now = chrono::DateTime::parse_from_rfc3339("2026-06-01T09:00:00Z").unwrap().to_utc();
        message_templates::Model {
            id: 1,
            channel_id: 1,
            name: "order_update".into(),
            language_code: "en_US".into(),
            body_text: body.into(),
            parameter_count: count,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn placeholders_are_counted_and_must_be_complete() {
        assert_eq!(parameters_of("Hi {{1}}, order {{2}} ships {{1}}").unwrap(), 2);
        assert_eq!(parameters_of("No parameters").unwrap(), 0);
        assert!(parameters_of("Hi {{2}}").is_err(), "{{1}} is missing");
    }

    #[test]
    fn render_fills_the_body_and_checks_the_count() {
        let t = template("Hi {{1}}, your order {{2}} has shipped.", 2);
        let rendered = render(t.clone(), vec!["Amelia".into(), "#48213".into()]).unwrap();
        assert_eq!(rendered.text, "Hi Amelia, your order #48213 has shipped.");
        let rendered = render(t.clone(), vec!["{{2}}".into(), "x".into()]).unwrap();
        assert_eq!(rendered.text, "Hi {{2}}, your order x has shipped.", "values are not rendered again");
        let err = render(t.clone(), vec!["Amelia".into()]).unwrap_err();
        assert_eq!(err.code(), "TEMPLATE_PARAMETERS");
        let err = render(t, vec!["a".into(), "b".into(), "c".into()]).unwrap_err();
        assert_eq!(err.code(), "TEMPLATE_PARAMETERS");
    }

    #[test]
    fn names_and_languages_follow_whatsapp() {
        assert!(valid_name("order_update_2").is_ok());
        assert!(valid_name("Order Update").is_err());
        assert!(valid_language("en_US").is_ok());
        assert!(valid_language("e").is_err());
        assert!(valid_language("en-US").is_err());
    }
}
