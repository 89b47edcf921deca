//! First migration: the whole domain schema of `docs/data-model.md`.

use sea_orm_migration::{prelude::*, schema::*};

/// Creates every table, foreign key and index of the domain.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// Builds a named foreign key `from_table.from_col -> to_table.to_col`.
fn fk(
    name: &str,
    from_table: impl IntoIden,
    from_col: impl IntoIden,
    to_table: impl IntoIden,
    to_col: impl IntoIden,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from_table, from_col)
        .to(to_table, to_col)
        .on_delete(on_delete)
        .to_owned()
}

/// Builds a named (non-unique) index on `table (cols...)`.
fn index<T, C>(name: &str, table: T, cols: impl IntoIterator<Item = C>) -> IndexCreateStatement
where
    T: IntoIden,
    C: IntoIndexColumn,
{
    let mut stmt = Index::create();
    stmt.name(name).table(table).if_not_exists();
    for col in cols {
        stmt.col(col);
    }
    stmt.to_owned()
}

/// Builds a named unique index on `table (cols...)`.
fn unique<T, C>(name: &str, table: T, cols: impl IntoIterator<Item = C>) -> IndexCreateStatement
where
    T: IntoIden,
    C: IntoIndexColumn,
{
    index(name, table, cols).unique().to_owned()
}

/// 64-bit auto-increment primary key.
fn id_pk(col: impl IntoIden) -> ColumnDef {
    big_integer(col).auto_increment().primary_key().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // accounts
        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .if_not_exists()
                    .col(id_pk(Accounts::Id))
                    .col(string(Accounts::Name))
                    .col(timestamp_with_time_zone(Accounts::CreatedAt))
                    .col(timestamp_with_time_zone(Accounts::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        // contacts
        manager
            .create_table(
                Table::create()
                    .table(Contacts::Table)
                    .if_not_exists()
                    .col(id_pk(Contacts::Id))
                    .col(string(Contacts::Name))
                    .col(text_null(Contacts::PhotoUrl))
                    .col(string_null(Contacts::Email))
                    .col(string_null(Contacts::MobilePhone))
                    .col(string_null(Contacts::BusinessPhone))
                    .col(string_null(Contacts::JobTitle))
                    .col(big_integer_null(Contacts::AccountId))
                    .col(timestamp_with_time_zone(Contacts::CreatedAt))
                    .col(timestamp_with_time_zone(Contacts::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_contacts_account_id",
                        Contacts::Table,
                        Contacts::AccountId,
                        Accounts::Table,
                        Accounts::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("idx_contacts_account_id", Contacts::Table, [Contacts::AccountId]))
            .await?;

        // contact_identities
        manager
            .create_table(
                Table::create()
                    .table(ContactIdentities::Table)
                    .if_not_exists()
                    .col(id_pk(ContactIdentities::Id))
                    .col(big_integer(ContactIdentities::ContactId))
                    .col(string(ContactIdentities::ChannelKind))
                    .col(string(ContactIdentities::ExternalId))
                    .col(timestamp_with_time_zone(ContactIdentities::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_contact_identities_contact_id",
                        ContactIdentities::Table,
                        ContactIdentities::ContactId,
                        Contacts::Table,
                        Contacts::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique(
                "uq_contact_identities_channel_kind_external_id",
                ContactIdentities::Table,
                [ContactIdentities::ChannelKind, ContactIdentities::ExternalId],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_contact_identities_contact_id",
                ContactIdentities::Table,
                [ContactIdentities::ContactId],
            ))
            .await?;

        // agents
        manager
            .create_table(
                Table::create()
                    .table(Agents::Table)
                    .if_not_exists()
                    .col(id_pk(Agents::Id))
                    .col(string(Agents::Name))
                    .col(string(Agents::Email))
                    .col(string(Agents::PasswordHash))
                    .col(string(Agents::Role))
                    .col(string(Agents::Status))
                    .col(boolean(Agents::Enabled).default(true))
                    .col(timestamp_with_time_zone_null(Agents::LastAcceptedAt))
                    .col(timestamp_with_time_zone(Agents::CreatedAt))
                    .col(timestamp_with_time_zone(Agents::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager.create_index(unique("uq_agents_email", Agents::Table, [Agents::Email])).await?;

        // sessions
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .if_not_exists()
                    .col(string(Sessions::Id).primary_key())
                    .col(big_integer(Sessions::AgentId))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Sessions::EndedAt))
                    .foreign_key(&mut fk(
                        "fk_sessions_agent_id",
                        Sessions::Table,
                        Sessions::AgentId,
                        Agents::Table,
                        Agents::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_sessions_agent_id_ended_at",
                Sessions::Table,
                [Sessions::AgentId, Sessions::EndedAt],
            ))
            .await?;

        // queues
        manager
            .create_table(
                Table::create()
                    .table(Queues::Table)
                    .if_not_exists()
                    .col(id_pk(Queues::Id))
                    .col(string(Queues::Name))
                    .col(string(Queues::RoutingRule))
                    .col(integer_null(Queues::CompletionTimeoutMinutes))
                    .col(timestamp_with_time_zone(Queues::CreatedAt))
                    .col(timestamp_with_time_zone(Queues::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager.create_index(unique("uq_queues_name", Queues::Table, [Queues::Name])).await?;

        // queue_agents
        manager
            .create_table(
                Table::create()
                    .table(QueueAgents::Table)
                    .if_not_exists()
                    .col(big_integer(QueueAgents::QueueId))
                    .col(big_integer(QueueAgents::AgentId))
                    .col(timestamp_with_time_zone(QueueAgents::CreatedAt))
                    .primary_key(Index::create().col(QueueAgents::QueueId).col(QueueAgents::AgentId))
                    .foreign_key(&mut fk(
                        "fk_queue_agents_queue_id",
                        QueueAgents::Table,
                        QueueAgents::QueueId,
                        Queues::Table,
                        Queues::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_queue_agents_agent_id",
                        QueueAgents::Table,
                        QueueAgents::AgentId,
                        Agents::Table,
                        Agents::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("idx_queue_agents_agent_id", QueueAgents::Table, [QueueAgents::AgentId]))
            .await?;

        // channels
        manager
            .create_table(
                Table::create()
                    .table(Channels::Table)
                    .if_not_exists()
                    .col(id_pk(Channels::Id))
                    .col(string(Channels::Kind))
                    .col(string(Channels::Name))
                    .col(boolean(Channels::Active).default(true))
                    .col(string_null(Channels::Language))
                    .col(big_integer(Channels::QueueId))
                    .col(json_binary(Channels::Credentials))
                    .col(timestamp_with_time_zone(Channels::CreatedAt))
                    .col(timestamp_with_time_zone(Channels::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_channels_queue_id",
                        Channels::Table,
                        Channels::QueueId,
                        Queues::Table,
                        Queues::Id,
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("idx_channels_queue_id", Channels::Table, [Channels::QueueId])).await?;

        // chats
        manager
            .create_table(
                Table::create()
                    .table(Chats::Table)
                    .if_not_exists()
                    .col(id_pk(Chats::Id))
                    .col(big_integer(Chats::ContactId))
                    .col(big_integer(Chats::ChannelId))
                    .col(big_integer(Chats::QueueId))
                    .col(big_integer_null(Chats::OwnerId))
                    .col(big_integer_null(Chats::DirectedAgentId))
                    .col(big_integer_null(Chats::ParentChatId))
                    .col(string(Chats::Status))
                    .col(string_null(Chats::CompletionReason))
                    .col(timestamp_with_time_zone(Chats::CreatedAt))
                    .col(timestamp_with_time_zone_null(Chats::AcceptedAt))
                    .col(timestamp_with_time_zone_null(Chats::FirstResponseAt))
                    .col(timestamp_with_time_zone_null(Chats::CompletedAt))
                    .col(timestamp_with_time_zone_null(Chats::CloseDeadline))
                    .col(timestamp_with_time_zone_null(Chats::LastMessageAt))
                    .col(timestamp_with_time_zone(Chats::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_chats_contact_id",
                        Chats::Table,
                        Chats::ContactId,
                        Contacts::Table,
                        Contacts::Id,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_chats_channel_id",
                        Chats::Table,
                        Chats::ChannelId,
                        Channels::Table,
                        Channels::Id,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_chats_queue_id",
                        Chats::Table,
                        Chats::QueueId,
                        Queues::Table,
                        Queues::Id,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_chats_owner_id",
                        Chats::Table,
                        Chats::OwnerId,
                        Agents::Table,
                        Agents::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_chats_directed_agent_id",
                        Chats::Table,
                        Chats::DirectedAgentId,
                        Agents::Table,
                        Agents::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_chats_parent_chat_id",
                        Chats::Table,
                        Chats::ParentChatId,
                        Chats::Table,
                        Chats::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for stmt in [
            index(
                "idx_chats_contact_id_channel_id_status",
                Chats::Table,
                [Chats::ContactId, Chats::ChannelId, Chats::Status],
            ),
            index(
                "idx_chats_queue_id_status_created_at",
                Chats::Table,
                [Chats::QueueId, Chats::Status, Chats::CreatedAt],
            ),
            index("idx_chats_owner_id_status", Chats::Table, [Chats::OwnerId, Chats::Status]),
            index(
                "idx_chats_directed_agent_id_status",
                Chats::Table,
                [Chats::DirectedAgentId, Chats::Status],
            ),
            index("idx_chats_status_close_deadline", Chats::Table, [Chats::Status, Chats::CloseDeadline]),
            index("idx_chats_parent_chat_id", Chats::Table, [Chats::ParentChatId]),
            index("idx_chats_created_at", Chats::Table, [Chats::CreatedAt]),
        ] {
            manager.create_index(stmt).await?;
        }

        // messages
        manager
            .create_table(
                Table::create()
                    .table(Messages::Table)
                    .if_not_exists()
                    .col(id_pk(Messages::Id))
                    .col(big_integer(Messages::ChatId))
                    .col(big_integer(Messages::ChannelId))
                    .col(string(Messages::Direction))
                    .col(string(Messages::AuthorKind))
                    .col(big_integer_null(Messages::AuthorAgentId))
                    .col(string(Messages::Kind))
                    .col(text_null(Messages::Text))
                    .col(string_null(Messages::ProviderMessageId))
                    .col(string_null(Messages::DeliveryStatus))
                    .col(text_null(Messages::DeliveryError))
                    .col(timestamp_with_time_zone_null(Messages::EditedAt))
                    .col(timestamp_with_time_zone(Messages::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_messages_chat_id",
                        Messages::Table,
                        Messages::ChatId,
                        Chats::Table,
                        Chats::Id,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_messages_channel_id",
                        Messages::Table,
                        Messages::ChannelId,
                        Channels::Table,
                        Channels::Id,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_messages_author_agent_id",
                        Messages::Table,
                        Messages::AuthorAgentId,
                        Agents::Table,
                        Agents::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique(
                "uq_messages_channel_id_provider_message_id",
                Messages::Table,
                [Messages::ChannelId, Messages::ProviderMessageId],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_messages_chat_id_created_at_id",
                Messages::Table,
                [Messages::ChatId, Messages::CreatedAt, Messages::Id],
            ))
            .await?;

        // message_edits
        manager
            .create_table(
                Table::create()
                    .table(MessageEdits::Table)
                    .if_not_exists()
                    .col(id_pk(MessageEdits::Id))
                    .col(big_integer(MessageEdits::MessageId))
                    .col(text_null(MessageEdits::PreviousText))
                    .col(text_null(MessageEdits::Text))
                    .col(timestamp_with_time_zone(MessageEdits::EditedAt))
                    .foreign_key(&mut fk(
                        "fk_message_edits_message_id",
                        MessageEdits::Table,
                        MessageEdits::MessageId,
                        Messages::Table,
                        Messages::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_message_edits_message_id",
                MessageEdits::Table,
                [MessageEdits::MessageId],
            ))
            .await?;

        // message_reactions
        manager
            .create_table(
                Table::create()
                    .table(MessageReactions::Table)
                    .if_not_exists()
                    .col(id_pk(MessageReactions::Id))
                    .col(big_integer(MessageReactions::MessageId))
                    .col(string(MessageReactions::Reaction))
                    .col(string(MessageReactions::AuthorKind))
                    .col(timestamp_with_time_zone(MessageReactions::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_message_reactions_message_id",
                        MessageReactions::Table,
                        MessageReactions::MessageId,
                        Messages::Table,
                        Messages::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_message_reactions_message_id",
                MessageReactions::Table,
                [MessageReactions::MessageId],
            ))
            .await?;

        // attachments
        manager
            .create_table(
                Table::create()
                    .table(Attachments::Table)
                    .if_not_exists()
                    .col(id_pk(Attachments::Id))
                    .col(big_integer(Attachments::MessageId))
                    .col(text_null(Attachments::FileName))
                    .col(string_null(Attachments::ContentType))
                    .col(big_integer_null(Attachments::SizeBytes))
                    .col(text_null(Attachments::StorageKey))
                    .col(text_null(Attachments::ProviderFileId))
                    .col(string(Attachments::Status))
                    .col(text_null(Attachments::Error))
                    .col(timestamp_with_time_zone(Attachments::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_attachments_message_id",
                        Attachments::Table,
                        Attachments::MessageId,
                        Messages::Table,
                        Messages::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("idx_attachments_message_id", Attachments::Table, [Attachments::MessageId]))
            .await?;

        // assignments
        manager
            .create_table(
                Table::create()
                    .table(Assignments::Table)
                    .if_not_exists()
                    .col(id_pk(Assignments::Id))
                    .col(big_integer(Assignments::ChatId))
                    .col(big_integer_null(Assignments::AgentId))
                    .col(big_integer_null(Assignments::QueueId))
                    .col(string(Assignments::Kind))
                    .col(string_null(Assignments::Outcome))
                    .col(timestamp_with_time_zone(Assignments::CreatedAt))
                    .col(timestamp_with_time_zone_null(Assignments::Deadline))
                    .col(timestamp_with_time_zone_null(Assignments::EndedAt))
                    .foreign_key(&mut fk(
                        "fk_assignments_chat_id",
                        Assignments::Table,
                        Assignments::ChatId,
                        Chats::Table,
                        Chats::Id,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_assignments_agent_id",
                        Assignments::Table,
                        Assignments::AgentId,
                        Agents::Table,
                        Agents::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_assignments_queue_id",
                        Assignments::Table,
                        Assignments::QueueId,
                        Queues::Table,
                        Queues::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for stmt in [
            index("idx_assignments_chat_id", Assignments::Table, [Assignments::ChatId]),
            index(
                "idx_assignments_agent_id_created_at",
                Assignments::Table,
                [Assignments::AgentId, Assignments::CreatedAt],
            ),
            index("idx_assignments_deadline", Assignments::Table, [Assignments::Deadline]),
        ] {
            manager.create_index(stmt).await?;
        }

        // drafts
        manager
            .create_table(
                Table::create()
                    .table(Drafts::Table)
                    .if_not_exists()
                    .col(big_integer(Drafts::ChatId))
                    .col(big_integer(Drafts::AgentId))
                    .col(text(Drafts::Text))
                    .col(timestamp_with_time_zone(Drafts::UpdatedAt))
                    .primary_key(Index::create().col(Drafts::ChatId).col(Drafts::AgentId))
                    .foreign_key(&mut fk(
                        "fk_drafts_chat_id",
                        Drafts::Table,
                        Drafts::ChatId,
                        Chats::Table,
                        Chats::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_drafts_agent_id",
                        Drafts::Table,
                        Drafts::AgentId,
                        Agents::Table,
                        Agents::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        // reply_templates
        manager
            .create_table(
                Table::create()
                    .table(ReplyTemplates::Table)
                    .if_not_exists()
                    .col(id_pk(ReplyTemplates::Id))
                    .col(string(ReplyTemplates::Name))
                    .col(text(ReplyTemplates::Text))
                    .col(string_null(ReplyTemplates::Language))
                    .col(timestamp_with_time_zone(ReplyTemplates::CreatedAt))
                    .col(timestamp_with_time_zone(ReplyTemplates::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("idx_reply_templates_name", ReplyTemplates::Table, [ReplyTemplates::Name]))
            .await?;

        // cases
        manager
            .create_table(
                Table::create()
                    .table(Cases::Table)
                    .if_not_exists()
                    .col(id_pk(Cases::Id))
                    .col(string(Cases::Number))
                    .col(string(Cases::Subject))
                    .col(text(Cases::Description))
                    .col(string(Cases::Source))
                    .col(timestamp_with_time_zone(Cases::RegisteredAt))
                    .col(string(Cases::Status))
                    .col(big_integer_null(Cases::ContactId))
                    .col(big_integer_null(Cases::AccountId))
                    .col(big_integer_null(Cases::AssigneeId))
                    .col(big_integer_null(Cases::ChatId))
                    .col(timestamp_with_time_zone(Cases::CreatedAt))
                    .col(timestamp_with_time_zone(Cases::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_cases_contact_id",
                        Cases::Table,
                        Cases::ContactId,
                        Contacts::Table,
                        Contacts::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_cases_account_id",
                        Cases::Table,
                        Cases::AccountId,
                        Accounts::Table,
                        Accounts::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_cases_assignee_id",
                        Cases::Table,
                        Cases::AssigneeId,
                        Agents::Table,
                        Agents::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_cases_chat_id",
                        Cases::Table,
                        Cases::ChatId,
                        Chats::Table,
                        Chats::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for stmt in [
            unique("uq_cases_number", Cases::Table, [Cases::Number]),
            index("idx_cases_contact_id", Cases::Table, [Cases::ContactId]),
            index("idx_cases_chat_id", Cases::Table, [Cases::ChatId]),
            index("idx_cases_created_at", Cases::Table, [Cases::CreatedAt]),
        ] {
            manager.create_index(stmt).await?;
        }

        // settings
        manager
            .create_table(
                Table::create()
                    .table(Settings::Table)
                    .if_not_exists()
                    .col(string(Settings::Key).primary_key())
                    .col(json_binary(Settings::Value))
                    .col(timestamp_with_time_zone(Settings::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        // duplicate_rules
        manager
            .create_table(
                Table::create()
                    .table(DuplicateRules::Table)
                    .if_not_exists()
                    .col(id_pk(DuplicateRules::Id))
                    .col(string(DuplicateRules::Name))
                    .col(json_binary(DuplicateRules::Fields))
                    .col(boolean(DuplicateRules::Enabled).default(true))
                    .col(timestamp_with_time_zone(DuplicateRules::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique("uq_duplicate_rules_name", DuplicateRules::Table, [DuplicateRules::Name]))
            .await?;

        // not_duplicate_pairs
        manager
            .create_table(
                Table::create()
                    .table(NotDuplicatePairs::Table)
                    .if_not_exists()
                    .col(big_integer(NotDuplicatePairs::ContactAId))
                    .col(big_integer(NotDuplicatePairs::ContactBId))
                    .col(timestamp_with_time_zone(NotDuplicatePairs::CreatedAt))
                    .primary_key(
                        Index::create().col(NotDuplicatePairs::ContactAId).col(NotDuplicatePairs::ContactBId),
                    )
                    .check((
                        Alias::new("ck_not_duplicate_pairs_ordered"),
                        Expr::col(NotDuplicatePairs::ContactAId).lt(Expr::col(NotDuplicatePairs::ContactBId)),
                    ))
                    .foreign_key(&mut fk(
                        "fk_not_duplicate_pairs_contact_a_id",
                        NotDuplicatePairs::Table,
                        NotDuplicatePairs::ContactAId,
                        Contacts::Table,
                        Contacts::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_not_duplicate_pairs_contact_b_id",
                        NotDuplicatePairs::Table,
                        NotDuplicatePairs::ContactBId,
                        Contacts::Table,
                        Contacts::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        // events (no foreign keys: the log outlives what it mentions)
        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .if_not_exists()
                    .col(id_pk(Events::Id))
                    .col(string(Events::Kind))
                    .col(big_integer_null(Events::ChatId))
                    .col(big_integer_null(Events::AgentId))
                    .col(big_integer_null(Events::QueueId))
                    .col(json_binary(Events::Payload))
                    .col(timestamp_with_time_zone(Events::CreatedAt))
                    .to_owned(),
            )
            .await?;
        for stmt in [
            index("idx_events_created_at", Events::Table, [Events::CreatedAt]),
            index("idx_events_agent_id_id", Events::Table, [Events::AgentId, Events::Id]),
            index("idx_events_chat_id_id", Events::Table, [Events::ChatId, Events::Id]),
        ] {
            manager.create_index(stmt).await?;
        }

        // outbox
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .if_not_exists()
                    .col(id_pk(Outbox::Id))
                    .col(big_integer(Outbox::MessageId))
                    .col(big_integer(Outbox::ChannelId))
                    .col(string(Outbox::Status))
                    .col(integer(Outbox::Attempts).default(0))
                    .col(timestamp_with_time_zone(Outbox::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(Outbox::LockedUntil))
                    .col(text_null(Outbox::LastError))
                    .col(timestamp_with_time_zone(Outbox::CreatedAt))
                    .col(timestamp_with_time_zone(Outbox::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_outbox_message_id",
                        Outbox::Table,
                        Outbox::MessageId,
                        Messages::Table,
                        Messages::Id,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_outbox_channel_id",
                        Outbox::Table,
                        Outbox::ChannelId,
                        Channels::Table,
                        Channels::Id,
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_outbox_status_next_attempt_at",
                Outbox::Table,
                [Outbox::Status, Outbox::NextAttemptAt],
            ))
            .await?;
        manager.create_index(index("idx_outbox_message_id", Outbox::Table, [Outbox::MessageId])).await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Reverse dependency order; indexes go with their tables.
        let tables: [DynIden; 22] = [
            Outbox::Table.into_iden(),
            Events::Table.into_iden(),
            NotDuplicatePairs::Table.into_iden(),
            DuplicateRules::Table.into_iden(),
            Settings::Table.into_iden(),
            Cases::Table.into_iden(),
            ReplyTemplates::Table.into_iden(),
            Drafts::Table.into_iden(),
            Assignments::Table.into_iden(),
            Attachments::Table.into_iden(),
            MessageReactions::Table.into_iden(),
            MessageEdits::Table.into_iden(),
            Messages::Table.into_iden(),
            Chats::Table.into_iden(),
            Channels::Table.into_iden(),
            QueueAgents::Table.into_iden(),
            Queues::Table.into_iden(),
            Sessions::Table.into_iden(),
            Agents::Table.into_iden(),
            ContactIdentities::Table.into_iden(),
            Contacts::Table.into_iden(),
            Accounts::Table.into_iden(),
        ];
        for table in tables {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}

/// `accounts` table and columns.
#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    Name,
    CreatedAt,
    UpdatedAt,
}

/// `contacts` table and columns.
#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
    Name,
    PhotoUrl,
    Email,
    MobilePhone,
    BusinessPhone,
    JobTitle,
    AccountId,
    CreatedAt,
    UpdatedAt,
}

/// `contact_identities` table and columns.
#[derive(DeriveIden)]
enum ContactIdentities {
    Table,
    Id,
    ContactId,
    ChannelKind,
    ExternalId,
    CreatedAt,
}

/// `agents` table and columns.
#[derive(DeriveIden)]
enum Agents {
    Table,
    Id,
    Name,
    Email,
    PasswordHash,
    Role,
    Status,
    Enabled,
    LastAcceptedAt,
    CreatedAt,
    UpdatedAt,
}

/// `sessions` table and columns.
#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    AgentId,
    CreatedAt,
    ExpiresAt,
    EndedAt,
}

/// `queues` table and columns.
#[derive(DeriveIden)]
enum Queues {
    Table,
    Id,
    Name,
    RoutingRule,
    CompletionTimeoutMinutes,
    CreatedAt,
    UpdatedAt,
}

/// `queue_agents` table and columns.
#[derive(DeriveIden)]
enum QueueAgents {
    Table,
    QueueId,
    AgentId,
    CreatedAt,
}

/// `channels` table and columns.
#[derive(DeriveIden)]
enum Channels {
    Table,
    Id,
    Kind,
    Name,
    Active,
    Language,
    QueueId,
    Credentials,
    CreatedAt,
    UpdatedAt,
}

/// `chats` table and columns.
#[derive(DeriveIden)]
enum Chats {
    Table,
    Id,
    ContactId,
    ChannelId,
    QueueId,
    OwnerId,
    DirectedAgentId,
    ParentChatId,
    Status,
    CompletionReason,
    CreatedAt,
    AcceptedAt,
    FirstResponseAt,
    CompletedAt,
    CloseDeadline,
    LastMessageAt,
    UpdatedAt,
}

/// `messages` table and columns.
#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    ChatId,
    ChannelId,
    Direction,
    AuthorKind,
    AuthorAgentId,
    Kind,
    Text,
    ProviderMessageId,
    DeliveryStatus,
    DeliveryError,
    EditedAt,
    CreatedAt,
}

/// `message_edits` table and columns.
#[derive(DeriveIden)]
enum MessageEdits {
    Table,
    Id,
    MessageId,
    PreviousText,
    Text,
    EditedAt,
}

/// `message_reactions` table and columns.
#[derive(DeriveIden)]
enum MessageReactions {
    Table,
    Id,
    MessageId,
    Reaction,
    AuthorKind,
    CreatedAt,
}

/// `attachments` table and columns.
#[derive(DeriveIden)]
enum Attachments {
    Table,
    Id,
    MessageId,
    FileName,
    ContentType,
    SizeBytes,
    StorageKey,
    ProviderFileId,
    Status,
    Error,
    CreatedAt,
}

/// `assignments` table and columns.
#[derive(DeriveIden)]
enum Assignments {
    Table,
    Id,
    ChatId,
    AgentId,
    QueueId,
    Kind,
    Outcome,
    CreatedAt,
    Deadline,
    EndedAt,
}

/// `drafts` table and columns.
#[derive(DeriveIden)]
enum Drafts {
    Table,
    ChatId,
    AgentId,
    Text,
    UpdatedAt,
}

/// `reply_templates` table and columns.
#[derive(DeriveIden)]
enum ReplyTemplates {
    Table,
    Id,
    Name,
    Text,
    Language,
    CreatedAt,
    UpdatedAt,
}

/// `cases` table and columns.
#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
    Number,
    Subject,
    Description,
    Source,
    RegisteredAt,
    Status,
    ContactId,
    AccountId,
    AssigneeId,
    ChatId,
    CreatedAt,
    UpdatedAt,
}

/// `settings` table and columns.
#[derive(DeriveIden)]
enum Settings {
    Table,
    Key,
    Value,
    UpdatedAt,
}

/// `duplicate_rules` table and columns.
#[derive(DeriveIden)]
enum DuplicateRules {
    Table,
    Id,
    Name,
    Fields,
    Enabled,
    CreatedAt,
}

/// `not_duplicate_pairs` table and columns.
#[derive(DeriveIden)]
enum NotDuplicatePairs {
    Table,
    #[sea_orm(iden = "contact_a_id")]
    ContactAId,
    #[sea_orm(iden = "contact_b_id")]
    ContactBId,
    CreatedAt,
}

/// `events` table and columns.
#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    Kind,
    ChatId,
    AgentId,
    QueueId,
    Payload,
    CreatedAt,
}

/// `outbox` table and columns.
#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    MessageId,
    ChannelId,
    Status,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    LastError,
    CreatedAt,
    UpdatedAt,
}
