//! The crate's own source files, for the tests that turn a convention into a check (STYLE 23).

use std::path::{Path, PathBuf};

/// One `.rs` file of `api/src`.
pub struct Source {
    /// The path under `api/src`, e.g. `domain/lifecycle.rs`.
    pub path: PathBuf,
    /// The whole file.
    pub text: String,
}

impl Source {
    /// The file before its first `#[cfg(test)]`: the code that ships.
    pub fn code(&self) -> &str {
        self.text.split("#[cfg(test)]").next().unwrap_or_default()
    }
}

/// Every `.rs` file under `api/src/{folder}` (`""` for all of `api/src`), in path order.
pub fn under(folder: &str) -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    let mut stack = vec![root.join(folder)];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("a source folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("readable source");
                let path = path.strip_prefix(&root).expect("under src").to_path_buf();
                found.push(Source { path, text });
            }
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    assert!(found.len() > 1, "no sources found under src/{folder}");
    found
}
