//! The command line: `switchboard [serve]`, `switchboard schema`, `switchboard migrate`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, LogFormat, redact_url};
use crate::domain::agents::{self, NewAgent};
use crate::domain::demo::{DEMO_AGENTS, DEMO_PASSWORD};
use crate::{Server, db, graphql, telemetry};
use entity::enums::Role;

/// Switchboard: the GraphQL back end for omnichannel customer chat.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: Config,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Print the GraphQL schema (SDL); `schema.graphql` is its output.
    Schema,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create an administrator (how a fresh installation gets its first sign-in). The
    /// password is read from SWITCHBOARD_ADMIN_PASSWORD so it stays out of shell history.
    CreateAdmin {
        /// Sign-in email.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long, default_value = "Administrator")]
        name: String,
        /// Password (at least 8 characters).
        #[arg(long, env = "SWITCHBOARD_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

/// Runs the command line and returns the process exit code. Errors are one line on stderr.
pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Schema => {
            print!("{}", graphql::sdl());
            ExitCode::SUCCESS
        }
        Command::Migrate => report(migrate(&cli.config).await.map(|_| ())),
        Command::CreateAdmin { email, name, password } => {
            report(create_admin(&cli.config, NewAgent { name, email, password, role: Role::Admin }).await)
        }
        Command::Serve => {
            let format = cli.config.log_format;
            telemetry::init(format);
            match serve(cli.config).await {
                Err(err) if format == LogFormat::Json => {
                    tracing::error!(error = format!("{err:#}"), "switchboard cannot run");
                    ExitCode::FAILURE
                }
                result => report(result),
            }
        }
    }
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("switchboard: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn create_admin(config: &Config, new: NewAgent) -> anyhow::Result<()> {
    let db = migrate(config).await?;
    let hashing = crate::auth::PasswordHashing::default();
    let agent = agents::create(&db, &hashing, new)
        .await
        .map_err(|err| anyhow::anyhow!("cannot create the admin: {err}"))?;
    eprintln!("switchboard: created admin {} ({})", agent.email, agent.name);
    Ok(())
}

async fn migrate(config: &Config) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let url = redact_url(&config.database_url);
    let db = db::connect(&config.database_url, 1)
        .await
        .map_err(|err| anyhow::anyhow!("cannot open the database {url}: {err}"))?;
    db::migrate(&db).await.map_err(|err| anyhow::anyhow!("cannot apply migrations to {url}: {err}"))?;
    eprintln!("switchboard: migrations applied to {url}");
    Ok(db)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let demo = config.demo;
    // With JSON logs, stderr carries nothing but JSON lines: the banner goes through tracing.
    let json = config.log_format == LogFormat::Json;
    let say = |line: &str| {
        if json {
            tracing::info!(target: "switchboard::banner", "{line}");
        } else {
            eprintln!("{line}");
        }
    };
    let server = Server::build(config).await?;
    let addr = server.local_addr();
    tracing::info!(%addr, "listening");
    say(&format!(
        "Switchboard is listening on http://{addr}/ (GraphiQL) — GraphQL at /graphql, WebSocket at /graphql/ws"
    ));
    if demo {
        if server.seeded_demo() {
            say("Demo data seeded.");
        }
        say(&format!("Demo sign-ins (password \"{DEMO_PASSWORD}\"):"));
        for (name, email, role) in DEMO_AGENTS {
            say(&format!("  {:<11} {email:<30} {name}", role.as_str()));
        }
        say(&format!(
            "In GraphiQL: mutation {{ login(email: \"admin@demo.switchboard\", password: \"{DEMO_PASSWORD}\") {{ token }} }}"
        ));
        say("then set the header {\"Authorization\": \"Bearer <token>\"}.");
    }
    server.run_until_stopped().await
}
