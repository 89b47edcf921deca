//! A fresh PostgreSQL database per run, created and dropped with the `psql` client (the
//! webhook suite needs no driver; the panel suite talks to the new database with sqlx).

use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// A database created for one run; dropped (with its connections) when this is dropped.
pub struct Database {
    server_url: String,
    name: String,
    url: String,
    keep: bool,
}

impl Database {
    /// Creates `bench_<random>` on the server `server_url` names (its user must be allowed to
    /// CREATE DATABASE).
    pub fn create(server_url: &str) -> anyhow::Result<Self> {
        let name = format!("bench_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let mut url = reqwest::Url::parse(server_url)
            .with_context(|| format!("--postgres-url / TEST_DATABASE_URL is not a URL: {server_url}"))?;
        url.set_path(&format!("/{name}"));
        psql(server_url, &format!("CREATE DATABASE {name}"))?;
        Ok(Self { server_url: server_url.to_owned(), name, url: url.to_string(), keep: false })
    }

    /// The URL of the new database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Leaves the database in place when this is dropped.
    pub fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if let Err(err) =
            psql(&self.server_url, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
        {
            eprintln!("bench: could not drop the database {}: {err:#}", self.name);
        }
    }
}

/// Runs one SQL statement with `psql`.
fn psql(url: &str, sql: &str) -> anyhow::Result<()> {
    let output = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .env("PGCONNECT_TIMEOUT", "10")
        .stdin(Stdio::null())
        .output()
        .map_err(|err| match err.kind() {
            std::io::ErrorKind::NotFound => anyhow::anyhow!(
                "`psql` not found: install the PostgreSQL client (Debian: apt-get install postgresql-client)"
            ),
            _ => anyhow::anyhow!("cannot run psql: {err}"),
        })?;
    if !output.status.success() {
        bail!("psql `{sql}` failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}
