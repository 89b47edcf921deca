//! Logging set-up: `tracing` with a level from `RUST_LOG` and a configured format.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber. `RUST_LOG` sets levels (default `info`). Everything goes
/// to stderr; colours only when stderr is a terminal; `json` writes one JSON object a line.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(format == LogFormat::Pretty && std::io::stderr().is_terminal());
    // A second init (tests) keeps the first subscriber; that is fine.
    let _already_set = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
