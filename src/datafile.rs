//! Opening dataset files: plain or gzip-compressed (by the `.gz` extension).

use anyhow::{Context, Result};
use std::io::{BufReader, Read};
use std::path::Path;

/// Opens a data file for reading, decompressing it when its name ends in `.gz`.
pub fn open(path: &Path) -> Result<Box<dyn Read + Send>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("failed to open {}", path.display()))?;
    Ok(if is_gzip(path) {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(BufReader::new(file))
    })
}

/// Whether the file name says gzip.
pub fn is_gzip(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "gz")
}

/// Writes one JSON document per line to `path`.
pub fn write_json_lines<T: serde::Serialize>(path: &Path, items: &[T]) -> Result<()> {
    use std::io::Write;
    let file = std::fs::File::create(path)
        .with_context(|| format!("failed to create {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    for item in items {
        serde_json::to_writer(&mut out, item)?;
        out.write_all(b"\n")?;
    }
    out.flush()
        .with_context(|| format!("failed to write {}", path.display()))
}
