//! Where a suite runs on one backend: a fresh work directory (the server's files, the SQLite
//! database) and, on PostgreSQL, a fresh database on `--postgres-url`.

use std::path::Path;
use std::time::Duration;

use crate::server::WorkDir;
use crate::{Backend, Cli, postgres};

/// A fresh place for one backend's run, removed when dropped unless kept.
pub struct Scratch {
    /// Declared before `dir`, so the database is dropped (and removed) first.
    database: Option<postgres::Database>,
    dir: WorkDir,
    url: String,
    name: &'static str,
}

impl Scratch {
    /// A new directory labelled `suite` and, on PostgreSQL, a new database.
    pub fn new(cli: &Cli, backend: Backend, suite: &str) -> anyhow::Result<Self> {
        let name = backend.name();
        let dir = WorkDir::new(&format!("{suite}-{name}"))?;
        let (database, url) = match backend {
            Backend::Sqlite => (None, format!("sqlite://{}/bench.db?mode=rwc", dir.path().display())),
            Backend::Postgres => {
                let created = postgres::Database::create(cli.postgres_url.as_deref().unwrap_or_default())?;
                eprintln!("bench: postgres: created database {}", created.name());
                let url = created.url().to_owned();
                (Some(created), url)
            }
        };
        Ok(Self { database, dir, url, name })
    }

    /// The database URL the server and the bench use.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The work directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Removes the data now, or keeps it (and says where) when `keep`.
    pub fn finish(mut self, keep: bool) {
        if keep {
            self.dir.keep();
            if let Some(database) = self.database.as_mut() {
                database.keep();
            }
            eprintln!("bench: {}: kept the data: {}", self.name, self.url);
        }
    }
}

/// The HTTP client a suite drives servers with: keep-alive connections without limit.
pub fn http_client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().timeout(timeout).pool_max_idle_per_host(usize::MAX).build()?)
}
