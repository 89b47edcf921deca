//! Node.js for the tests that need it (the graphql-http audit, front-end examples): packages
//! installed once per test run from a committed lock file with `npm ci`.
//!
//! Node and npm come from the machine (Debian's `nodejs` and `npm`; `scripts/test.sh`
//! installs them when missing). A missing one fails the test that needs it: it is never
//! skipped.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Folders whose packages this test run installed.
static INSTALLED: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

/// The repository folder `relative` (e.g. `tests/audit`), with its packages installed.
pub fn with_packages(relative: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    // Held while installing, so the SQLite and PostgreSQL variants do not race.
    let mut installed = INSTALLED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let installed = installed.get_or_insert_with(HashSet::new);
    if installed.contains(&dir) {
        return dir;
    }
    let version = Command::new("node").arg("--version").output();
    assert!(
        version.as_ref().is_ok_and(|out| out.status.success()),
        "node is not installed: run scripts/test.sh, which installs Debian's nodejs and npm"
    );
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .status()
        .unwrap_or_else(|err| panic!("npm could not run ({err}): run scripts/test.sh, which installs it"));
    assert!(status.success(), "npm ci failed in {}", dir.display());
    installed.insert(dir.clone());
    dir
}
