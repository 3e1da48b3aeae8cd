//! The stream poller's checkpoint: `{shardId: lastProcessedSequenceNumber}` as JSON, written
//! atomically (temporary file, then rename) after every processed batch, so a restart resumes
//! after the last record done and a crash mid-write never leaves a torn file.

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Per-shard position: the sequence number of the last record processed (or sent to the
/// on-failure destination), by shard ID.
pub type Positions = BTreeMap<String, String>;

/// The checkpoint file and its contents in memory. Shared by the shard readers; every commit
/// rewrites the whole (small) file.
#[derive(Debug)]
pub struct Checkpoint {
    path: PathBuf,
    positions: Mutex<Positions>,
}

impl Checkpoint {
    /// Opens the checkpoint at `path`: its positions if the file exists, none if it does not.
    /// A file that is not a JSON object of strings is an error (never silently reset: that
    /// would reprocess the stream).
    pub fn open(path: &Path) -> Result<Checkpoint> {
        let positions = match std::fs::read(path) {
            Ok(bytes) => parse(&bytes).with_context(|| {
                format!(
                    "{} is not a checkpoint (a JSON object of shard ID -> sequence number); \
                     move it away to start from the beginning of the stream",
                    path.display()
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Positions::new(),
            Err(e) => return Err(e).with_context(|| format!("failed to read {}", path.display())),
        };
        Ok(Checkpoint {
            path: path.to_path_buf(),
            positions: Mutex::new(positions),
        })
    }

    /// Where the checkpoint is kept.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The last sequence number processed on `shard`, if any.
    pub fn get(&self, shard: &str) -> Option<String> {
        self.lock().get(shard).cloned()
    }

    /// A copy of every position.
    pub fn positions(&self) -> Positions {
        self.lock().clone()
    }

    /// Records `sequence_number` as the last one processed on `shard` and writes the file.
    pub fn commit(&self, shard: &str, sequence_number: &str) -> Result<()> {
        let mut positions = self.lock();
        positions.insert(shard.to_string(), sequence_number.to_string());
        write_atomically(&self.path, &positions)
    }

    /// Writes the file as it is in memory (at shutdown).
    pub fn save(&self) -> Result<()> {
        let positions = self.lock();
        write_atomically(&self.path, &positions)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Positions> {
        // A panic while holding the lock cannot leave the map half-updated (one insert).
        self.positions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Parses a checkpoint file's contents.
pub fn parse(bytes: &[u8]) -> Result<Positions> {
    Ok(serde_json::from_slice(bytes)?)
}

/// Writes `positions` to `path` through a temporary file in the same directory (created if
/// missing), synced before the rename, so readers see the old or the new file, never a mix.
pub fn write_atomically(path: &Path, positions: &Positions) -> Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "checkpoint".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut body = serde_json::to_vec_pretty(positions)?;
    body.push(b'\n');
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&body)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::Error::new(e).context(format!("failed to write the checkpoint {}", path.display()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/cp.json");
        let cp = Checkpoint::open(&path).unwrap();
        assert!(cp.positions().is_empty());
        assert_eq!(cp.get("shardId-000000000000"), None);
        cp.commit("shardId-000000000000", "4959000000000000000001")
            .unwrap();
        cp.commit("shardId-000000000001", "4959000000000000000007")
            .unwrap();
        cp.commit("shardId-000000000000", "4959000000000000000002")
            .unwrap();
        let again = Checkpoint::open(&path).unwrap();
        assert_eq!(
            again.positions(),
            Positions::from([
                (
                    "shardId-000000000000".to_string(),
                    "4959000000000000000002".to_string()
                ),
                (
                    "shardId-000000000001".to_string(),
                    "4959000000000000000007".to_string()
                ),
            ])
        );
        // Exactly the documented format, and no temporary file left behind.
        let text = std::fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["shardId-000000000001"], "4959000000000000000007");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["cp.json"]);
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_a_reset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        std::fs::write(&path, "{\"shardId-000000000000\": 12").unwrap();
        let err = Checkpoint::open(&path).unwrap_err();
        assert!(
            format!("{err:#}").contains("is not a checkpoint"),
            "{err:#}"
        );
    }
}
