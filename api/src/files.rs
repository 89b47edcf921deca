//! File storage for message attachments: a local folder, with a size limit and a
//! content-type allowlist.

use std::path::{Path, PathBuf};

/// Why a file was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FileRefusal {
    /// Larger than the configured limit.
    #[error("file is larger than the {0}-byte limit")]
    TooLarge(u64),
    /// Content type not on the allowlist.
    #[error("files of type {0} are not accepted")]
    ContentType(String),
}

/// Where files live and which ones are accepted.
#[derive(Clone, Debug)]
pub struct FileStore {
    root: PathBuf,
    max_bytes: u64,
    allowed: Vec<String>,
}

impl FileStore {
    /// A store under `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>, max_bytes: u64, allowed: Vec<String>) -> Self {
        Self { root: root.into(), max_bytes, allowed }
    }

    /// The largest accepted file.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Checks size and content type before storing.
    pub fn check(&self, content_type: &str, size: u64) -> Result<(), FileRefusal> {
        if size > self.max_bytes {
            return Err(FileRefusal::TooLarge(self.max_bytes));
        }
        let mime = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        let allowed = self.allowed.iter().any(|entry| {
            if entry.ends_with('/') || entry.ends_with('.') {
                mime.starts_with(entry.as_str())
            } else {
                mime == *entry
            }
        });
        if allowed { Ok(()) } else { Err(FileRefusal::ContentType(mime)) }
    }

    /// Writes `bytes` under a fresh random key and returns the key.
    pub async fn put(&self, bytes: &[u8]) -> std::io::Result<String> {
        let key = uuid::Uuid::new_v4().simple().to_string();
        let path = self.path_of(&key);
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        // Write to a temporary name and rename, so a reader never sees half a file.
        let partial = path.with_extension("partial");
        tokio::fs::write(&partial, bytes).await?;
        tokio::fs::rename(&partial, &path).await?;
        Ok(key)
    }

    /// Reads a stored file.
    pub async fn get(&self, key: &str) -> std::io::Result<Vec<u8>> {
        tokio::fs::read(self.path_of(key)).await
    }

    /// The path of a key: two levels of fan-out keep folders small. Keys are ours (hex), so
    /// no path traversal is possible; anything else maps to a path that does not exist.
    fn path_of(&self, key: &str) -> PathBuf {
        let safe = key.len() >= 4 && key.chars().all(|c| c.is_ascii_hexdigit());
        if !safe {
            return self.root.join("invalid");
        }
        self.root.join(&key[..2]).join(&key[2..4]).join(key)
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) -> FileStore {
        FileStore::new(dir, 10, vec!["image/".into(), "application/pdf".into()])
    }

    #[test]
    fn checks_size_and_type() {
        let store = store(Path::new("/nonexistent"));
        assert!(store.check("image/png", 10).is_ok());
        assert!(store.check("application/pdf; charset=binary", 3).is_ok());
        assert_eq!(store.check("image/png", 11), Err(FileRefusal::TooLarge(10)));
        assert_eq!(
            store.check("application/x-msdownload", 1),
            Err(FileRefusal::ContentType("application/x-msdownload".into()))
        );
    }

    #[tokio::test]
    async fn stores_and_reads_files() {
        let dir = std::env::temp_dir().join(format!("sb-files-{}", uuid::Uuid::new_v4().simple()));
        let store = store(&dir);
        let key = store.put(b"hello").await.unwrap();
        assert_eq!(store.get(&key).await.unwrap(), b"hello");
        assert!(store.get("../../etc/passwd").await.is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
