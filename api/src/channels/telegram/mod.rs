//! Telegram Bot API: updates in (`webhook`), Bot API calls out (`api`).

pub mod api;
pub mod webhook;
