//! WhatsApp message templates (`message_templates`, registered per channel) and the template
//! an outgoing message is sent as (`template_sends`), for starting and continuing WhatsApp
//! chats outside the 24-hour window.

use sea_orm_migration::{prelude::*, schema::*};

/// Creates `message_templates` and `template_sends`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MessageTemplates::Table)
                    .if_not_exists()
                    .col(big_integer(MessageTemplates::Id).auto_increment().primary_key().to_owned())
                    .col(big_integer(MessageTemplates::ChannelId))
                    .col(string(MessageTemplates::Name))
                    .col(string(MessageTemplates::LanguageCode))
                    .col(text(MessageTemplates::BodyText))
                    .col(integer(MessageTemplates::ParameterCount))
                    .col(timestamp_with_time_zone(MessageTemplates::CreatedAt))
                    .col(timestamp_with_time_zone(MessageTemplates::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_message_templates_channel_id")
                            .from(MessageTemplates::Table, MessageTemplates::ChannelId)
                            .to(Channels::Table, Channels::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One registration per approved template: WhatsApp names a template by name and
        // language within the business account.
        manager
            .create_index(
                Index::create()
                    .name("uq_message_templates_channel_name_language")
                    .table(MessageTemplates::Table)
                    .col(MessageTemplates::ChannelId)
                    .col(MessageTemplates::Name)
                    .col(MessageTemplates::LanguageCode)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TemplateSends::Table)
                    .if_not_exists()
                    .col(big_integer(TemplateSends::MessageId).primary_key().to_owned())
                    .col(big_integer_null(TemplateSends::TemplateId))
                    .col(string(TemplateSends::Name))
                    .col(string(TemplateSends::LanguageCode))
                    .col(json_binary(TemplateSends::Parameters))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_template_sends_message_id")
                            .from(TemplateSends::Table, TemplateSends::MessageId)
                            .to(Messages::Table, Messages::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_template_sends_template_id")
                            .from(TemplateSends::Table, TemplateSends::TemplateId)
                            .to(MessageTemplates::Table, MessageTemplates::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_template_sends_template_id")
                    .table(TemplateSends::Table)
                    .col(TemplateSends::TemplateId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(TemplateSends::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(MessageTemplates::Table).if_exists().to_owned()).await?;
        Ok(())
    }
}

/// `message_templates` table and columns.
#[derive(DeriveIden)]
enum MessageTemplates {
    Table,
    Id,
    ChannelId,
    Name,
    LanguageCode,
    BodyText,
    ParameterCount,
    CreatedAt,
    UpdatedAt,
}

/// `template_sends` table and columns.
#[derive(DeriveIden)]
enum TemplateSends {
    Table,
    MessageId,
    TemplateId,
    Name,
    LanguageCode,
    Parameters,
}

/// `channels` (referenced).
#[derive(DeriveIden)]
enum Channels {
    Table,
    Id,
}

/// `messages` (referenced).
#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
}
