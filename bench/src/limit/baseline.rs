//! The bench's handle on the baseline process (`src/bin/baseline/main.rs`): started on the server's
//! database, its port read from its first line, killed when dropped. Its standard input is a
//! pipe the bench holds, so it also exits by itself if the bench dies without dropping it.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

/// How long the baseline may take to open its connections and print its address.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running baseline; killed when dropped.
pub struct Baseline {
    child: Child,
    /// Held open: the baseline exits when it closes.
    _stdin: Option<ChildStdin>,
    base: String,
    log: PathBuf,
}

impl Baseline {
    /// Starts `bin` on `database_url` with `connections` database connections and `args`
    /// besides, and waits for its `listening on ADDR` line. Its standard error goes to
    /// `<dir>/baseline.log`.
    pub async fn start(
        bin: &Path,
        database_url: &str,
        connections: usize,
        args: &[String],
        dir: &Path,
    ) -> anyhow::Result<Self> {
        if !bin.is_file() {
            bail!(
                "baseline binary {} not found: build it with `cargo build --release -p bench` \
                 (or pass --baseline-bin)",
                bin.display()
            );
        }
        let log = dir.join("baseline.log");
        let log_file = fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut child = Command::new(bin)
            .arg("--database-url")
            .arg(database_url)
            .args(["--listen", "127.0.0.1:0", "--connections", &connections.to_string()])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let stdout = child.stdout.take().context("the baseline's stdout is not piped")?;
        let mut baseline = Self { _stdin: child.stdin.take(), child, base: String::new(), log };
        // A blocking read of one line; on timeout the thread ends when the process is killed.
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        });
        let line = match tokio::time::timeout(READY_TIMEOUT, line).await {
            Ok(read) => read??,
            Err(_) => {
                bail!("the baseline printed no address within {READY_TIMEOUT:?}; {}", baseline.log_tail())
            }
        };
        let Some(addr) = line.trim().strip_prefix("listening on ") else {
            bail!("the baseline did not start (first line {:?}); {}", line.trim(), baseline.log_tail());
        };
        baseline.base = format!("http://{addr}");
        Ok(baseline)
    }

    /// The base URL, such as `http://127.0.0.1:40123`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        format!("its log:\n{}", lines[lines.len().saturating_sub(20)..].join("\n"))
    }
}

impl Drop for Baseline {
    fn drop(&mut self) {
        // Errors only mean it is already gone.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
