//! The deployment package: a deterministic zip holding one executable `bootstrap`.

use std::io::{Cursor, Write};

use base64::Engine as _;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// The name of the single entry: what the `provided.*` runtimes execute.
pub const BOOTSTRAP: &str = "bootstrap";

/// The unix mode stored for `bootstrap` (`rwxr-xr-x`).
pub const BOOTSTRAP_MODE: u32 = 0o755;

/// Zips `binary` as the single entry `bootstrap` with mode 0755.
///
/// The output depends only on the input bytes: the modification time is the zip epoch
/// (1980-01-01 00:00:00), no extra fields are written and the compression level is fixed.
pub fn zip_bootstrap(binary: &[u8]) -> zip::result::ZipResult<Vec<u8>> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(6))
        .last_modified_time(DateTime::default())
        .unix_permissions(BOOTSTRAP_MODE)
        .large_file(binary.len() as u64 >= u64::from(u32::MAX));
    let mut writer = ZipWriter::new(Cursor::new(Vec::with_capacity(binary.len() / 3)));
    writer.start_file(BOOTSTRAP, options)?;
    writer.write_all(binary)?;
    Ok(writer.finish()?.into_inner())
}

/// The base64 of the SHA-256 of a deployment package: the form in which AWS Lambda reports a
/// function's `CodeSha256`, so comparing the two tells whether the code changed.
pub fn code_sha256(package: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(package))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn sample(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 7) as u8)
            .collect()
    }

    #[test]
    fn same_bytes_give_the_same_package_and_sha() {
        let binary = sample(200_000, 7);
        let a = zip_bootstrap(&binary).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let b = zip_bootstrap(&binary).unwrap();
        assert_eq!(a, b);
        assert_eq!(code_sha256(&a), code_sha256(&b));

        let other = zip_bootstrap(&sample(200_000, 8)).unwrap();
        assert_ne!(code_sha256(&a), code_sha256(&other));
    }

    #[test]
    fn stores_one_executable_bootstrap_entry() {
        let binary = sample(50_000, 1);
        let package = zip_bootstrap(&binary).unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(package)).unwrap();
        assert_eq!(archive.len(), 1);
        let mut entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name(), "bootstrap");
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
        assert_eq!(entry.compression(), CompressionMethod::Deflated);
        assert_eq!(entry.last_modified(), Some(DateTime::default()));
        let mut contents = Vec::new();
        entry.read_to_end(&mut contents).unwrap();
        assert_eq!(contents, binary);
    }

    #[test]
    fn sha_is_base64_of_sha256() {
        // SHA-256 of the empty string, base64-encoded.
        assert_eq!(
            code_sha256(b""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }
}
