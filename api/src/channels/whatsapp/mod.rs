//! WhatsApp Cloud API: webhooks in (`webhook`), Graph API calls out (`api`).

pub mod api;
pub mod webhook;
