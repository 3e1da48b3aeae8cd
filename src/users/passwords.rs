//! Temporary passwords: generated strong, written only to a file readable by its owner.

use rand::seq::SliceRandom;
use rand::Rng;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const DIGITS: &[u8] = b"23456789";
/// Symbols from the set Cognito password policies count as special characters.
const SYMBOLS: &[u8] = b"^$*.[]{}()?!@#%&/,><:;|_~+=-";

/// A temporary password of `len` (at least 8) characters with at least one upper-case letter,
/// lower-case letter, digit and symbol, from the thread's cryptographically secure generator.
pub fn generate(len: usize) -> String {
    let len = len.max(8);
    let mut rng = rand::rng();
    let sets = [UPPER, LOWER, DIGITS, SYMBOLS];
    let mut chars: Vec<u8> = sets
        .iter()
        .map(|s| s[rng.random_range(0..s.len())])
        .collect();
    let all: Vec<u8> = sets.concat();
    while chars.len() < len {
        chars.push(all[rng.random_range(0..all.len())]);
    }
    chars.shuffle(&mut rng);
    String::from_utf8(chars).expect("ASCII")
}

/// The file new users' temporary passwords go to: `username,password` lines, mode 0600. A line
/// is written before its user is created, so no password of an existing user is ever lost; a
/// username can then appear more than once (a killed run's line, the rerun's), and its last
/// line is the password in force.
pub struct PasswordFile {
    path: PathBuf,
    file: File,
}

impl PasswordFile {
    /// Opens (creating with mode 0600, or appending and tightening to 0600) the file.
    pub fn open(path: &Path) -> std::io::Result<PasswordFile> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(PasswordFile {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Appends one user's password and flushes it to disk.
    pub fn record(&mut self, username: &str, password: &str) -> std::io::Result<()> {
        writeln!(self.file, "{username},{password}")?;
        self.file.flush()
    }

    /// Where the passwords are.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_strong_and_different() {
        let a = generate(20);
        assert_eq!(a.len(), 20);
        assert!(a.bytes().any(|b| b.is_ascii_uppercase()));
        assert!(a.bytes().any(|b| b.is_ascii_lowercase()));
        assert!(a.bytes().any(|b| b.is_ascii_digit()));
        assert!(a.bytes().any(|b| SYMBOLS.contains(&b)));
        assert_ne!(a, generate(20));
    }

    #[test]
    fn the_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.csv");
        std::fs::write(&path, "").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut f = PasswordFile::open(&path).unwrap();
        f.record("alice", "Secret-1a").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "alice,Secret-1a\n");
    }
}
