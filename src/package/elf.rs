//! Reading the glibc symbol versions an ELF executable needs at load time.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use object::elf;
use object::read::elf::{FileHeader, Sym};
use object::{Endianness, FileKind};

use super::PackageError;

/// The glibc version of the `provided.al2023` Lambda runtime (Amazon Linux 2023 ships glibc 2.34).
pub const LAMBDA_GLIBC: (u32, u32) = (2, 34);

/// A glibc symbol version such as `GLIBC_2.34` or `GLIBC_2.2.5`.
///
/// Ordered component by component, so `2.34 > 2.3.4 > 2.3 > 2.2.5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GlibcVersion {
    /// The major version (2 for every glibc since 1997).
    pub major: u32,
    /// The minor version.
    pub minor: u32,
    /// The third component, 0 when absent (`GLIBC_2.2.5` has 5).
    pub patch: u32,
}

impl GlibcVersion {
    /// The runtime's glibc, [`LAMBDA_GLIBC`], as a version.
    pub const LAMBDA: GlibcVersion = GlibcVersion::new(LAMBDA_GLIBC.0, LAMBDA_GLIBC.1, 0);

    /// A version from its components.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        GlibcVersion {
            major,
            minor,
            patch,
        }
    }

    /// Parses an ELF version name: `GLIBC_2.34` or `GLIBC_2.2.5`.
    ///
    /// `GLIBC_ABI_DT_RELR` (a marker the linker adds for packed relative relocations, which
    /// only glibc 2.36 and later understand) is taken as 2.36. Any other name, including
    /// `GLIBC_PRIVATE` and versions of other libraries (`GCC_3.0`), gives `None`.
    pub fn from_version_name(name: &str) -> Option<Self> {
        if name == "GLIBC_ABI_DT_RELR" {
            return Some(GlibcVersion::new(2, 36, 0));
        }
        let mut parts = name.strip_prefix("GLIBC_")?.split('.');
        let mut component = || -> Option<Option<u32>> {
            match parts.next() {
                None => Some(None),
                Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                    p.parse().ok().map(Some)
                }
                Some(_) => None,
            }
        };
        let major = component()??;
        let minor = component()??;
        let patch = component()?.unwrap_or(0);
        if component()?.is_some() {
            return None;
        }
        Some(GlibcVersion::new(major, minor, patch))
    }
}

impl From<(u32, u32)> for GlibcVersion {
    fn from((major, minor): (u32, u32)) -> Self {
        GlibcVersion::new(major, minor, 0)
    }
}

impl fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)?;
        if self.patch != 0 {
            write!(f, ".{}", self.patch)?;
        }
        Ok(())
    }
}

/// The glibc versions an executable requires from the dynamic loader.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GlibcReport {
    /// Every required `GLIBC_x.y[.z]` version, with the undefined dynamic symbols bound to it
    /// (sorted). The `GLIBC_ABI_DT_RELR` marker, which no symbol carries, is listed under 2.36
    /// by its own name.
    pub requirements: BTreeMap<GlibcVersion, Vec<String>>,
    /// Required `GLIBC_*` version names that carry no version number (`GLIBC_PRIVATE`):
    /// no other glibc build is guaranteed to provide them.
    pub unrecognized: Vec<String>,
}

impl GlibcReport {
    /// The newest glibc version required, `None` for a binary that needs no versioned glibc
    /// symbol (a static executable).
    pub fn max_version(&self) -> Option<GlibcVersion> {
        self.requirements.keys().next_back().copied()
    }

    /// The symbols bound to the newest required version (see [`GlibcReport::max_version`]).
    pub fn max_version_symbols(&self) -> &[String] {
        self.requirements
            .values()
            .next_back()
            .map_or(&[], Vec::as_slice)
    }

    /// Every requirement newer than `limit`, as `symbol@GLIBC_x.y` (or the bare version name
    /// when no symbol is bound to it), oldest version first; then the unrecognized names.
    pub fn newer_than(&self, limit: GlibcVersion) -> Vec<String> {
        let mut out = Vec::new();
        for (version, symbols) in self.requirements.range(limit..) {
            if *version == limit {
                continue;
            }
            if symbols.is_empty() {
                out.push(format!("GLIBC_{version}"));
            }
            out.extend(symbols.iter().map(|s| format!("{s}@GLIBC_{version}")));
        }
        out.extend(self.unrecognized.iter().cloned());
        out
    }
}

/// Reads the glibc version requirements of the ELF executable at `binary`.
///
/// The versions come from the `.gnu.version_r` section (what the dynamic loader checks before
/// running anything); the symbols from the undefined entries of `.dynsym` and their versions
/// in `.gnu.version`.
pub fn glibc_requirements(binary: &Path) -> Result<GlibcReport, PackageError> {
    let data = std::fs::read(binary).map_err(|source| PackageError::Io {
        path: binary.to_path_buf(),
        source,
    })?;
    inspect(&data)
        .map(|(_, report)| report)
        .map_err(|message| PackageError::Elf {
            path: binary.to_path_buf(),
            message,
        })
}

/// The ELF machine (`e_machine`) and glibc requirements of an executable's bytes.
pub(crate) fn inspect(data: &[u8]) -> Result<(u16, GlibcReport), String> {
    let result = match FileKind::parse(data).map_err(|e| format!("not an ELF file ({e})"))? {
        FileKind::Elf64 => inspect_elf::<elf::FileHeader64<Endianness>>(data),
        FileKind::Elf32 => inspect_elf::<elf::FileHeader32<Endianness>>(data),
        other => return Err(format!("not an ELF file (found {other:?})")),
    };
    result.map_err(|e| e.to_string())
}

fn inspect_elf<Elf: FileHeader<Endian = Endianness>>(
    data: &[u8],
) -> object::read::Result<(u16, GlibcReport)> {
    let header = Elf::parse(data)?;
    let endian = header.endian()?;
    let sections = header.sections(endian, data)?;

    let mut requirements: BTreeMap<GlibcVersion, BTreeSet<String>> = BTreeMap::new();
    let mut unrecognized = BTreeSet::new();
    let mut note = |name: &[u8]| -> Option<GlibcVersion> {
        let name = String::from_utf8_lossy(name);
        let version = GlibcVersion::from_version_name(&name);
        match version {
            Some(v) => {
                let symbols = requirements.entry(v).or_default();
                if name == "GLIBC_ABI_DT_RELR" {
                    // No symbol carries this version: name the marker itself.
                    symbols.insert(name.into_owned());
                }
            }
            None if name.starts_with("GLIBC_") => {
                unrecognized.insert(name.into_owned());
            }
            None => {}
        }
        version
    };

    if let Some((mut needs, link)) = sections.gnu_verneed(endian, data)? {
        let strings = sections.strings(endian, data, link)?;
        while let Some((_, mut entries)) = needs.next()? {
            while let Some(entry) = entries.next()? {
                note(entry.name(endian, strings)?);
            }
        }
    }

    let mut bound: Vec<(GlibcVersion, String)> = Vec::new();
    if let Some(versions) = sections.versions(endian, data)? {
        let dynsym = sections.symbols(endian, data, elf::SHT_DYNSYM)?;
        for (index, symbol) in dynsym.enumerate() {
            if !symbol.is_undefined(endian) {
                continue;
            }
            let Some(version) = versions.version(versions.version_index(endian, index))? else {
                continue;
            };
            if let Some(v) = note(version.name()) {
                let name = symbol.name(endian, dynsym.strings())?;
                bound.push((v, String::from_utf8_lossy(name).into_owned()));
            }
        }
    }
    for (version, name) in bound {
        requirements.entry(version).or_default().insert(name);
    }

    let report = GlibcReport {
        requirements: requirements
            .into_iter()
            .map(|(v, symbols)| (v, symbols.into_iter().collect()))
            .collect(),
        unrecognized: unrecognized.into_iter().collect(),
    };
    Ok((header.e_machine(endian), report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(name: &str) -> GlibcVersion {
        GlibcVersion::from_version_name(name).unwrap()
    }

    #[test]
    fn parses_two_and_three_component_versions() {
        assert_eq!(v("GLIBC_2.34"), GlibcVersion::new(2, 34, 0));
        assert_eq!(v("GLIBC_2.2.5"), GlibcVersion::new(2, 2, 5));
        assert_eq!(v("GLIBC_2.3.4"), GlibcVersion::new(2, 3, 4));
        assert_eq!(v("GLIBC_ABI_DT_RELR"), GlibcVersion::new(2, 36, 0));
        for bad in [
            "GLIBC_PRIVATE",
            "GCC_3.0",
            "GLIBC_2",
            "GLIBC_2.",
            "GLIBC_2.x",
            "GLIBC_2.1.2.3",
            "GLIBC_+2.3",
            "glibc_2.34",
            "",
        ] {
            assert_eq!(GlibcVersion::from_version_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn orders_numerically_by_component() {
        assert!(v("GLIBC_2.34") > v("GLIBC_2.3.4"));
        assert!(v("GLIBC_2.3.4") > v("GLIBC_2.3"));
        assert!(v("GLIBC_2.3") > v("GLIBC_2.2.5"));
        assert!(v("GLIBC_2.10") > v("GLIBC_2.9"));
        assert!(v("GLIBC_2.35") > GlibcVersion::LAMBDA);
        assert_eq!(v("GLIBC_2.34"), GlibcVersion::from(LAMBDA_GLIBC));
        assert_eq!(GlibcVersion::LAMBDA.to_string(), "2.34");
        assert_eq!(v("GLIBC_2.2.5").to_string(), "2.2.5");
    }

    #[test]
    fn report_names_what_exceeds_a_limit() {
        let mut report = GlibcReport::default();
        report
            .requirements
            .insert(v("GLIBC_2.2.5"), vec!["malloc".into()]);
        report
            .requirements
            .insert(v("GLIBC_2.34"), vec!["__libc_start_main".into()]);
        assert_eq!(report.max_version(), Some(GlibcVersion::LAMBDA));
        assert!(report.newer_than(GlibcVersion::LAMBDA).is_empty());

        report.requirements.insert(
            v("GLIBC_2.38"),
            vec!["__isoc23_strtol".into(), "strlcpy".into()],
        );
        report.requirements.insert(v("GLIBC_2.36"), vec![]);
        report.unrecognized.push("GLIBC_PRIVATE".into());
        assert_eq!(report.max_version(), Some(v("GLIBC_2.38")));
        assert_eq!(report.max_version_symbols(), ["__isoc23_strtol", "strlcpy"]);
        assert_eq!(
            report.newer_than(GlibcVersion::LAMBDA),
            [
                "GLIBC_2.36",
                "__isoc23_strtol@GLIBC_2.38",
                "strlcpy@GLIBC_2.38",
                "GLIBC_PRIVATE"
            ]
        );
    }

    #[test]
    fn rejects_non_elf_input() {
        let err = inspect(b"#!/bin/sh\necho hi\n").unwrap_err();
        assert!(err.contains("not an ELF file"), "{err}");
    }

    /// This test executable is itself a dynamically linked glibc program.
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn reads_the_running_test_binary() {
        let exe = std::env::current_exe().unwrap();
        let report = glibc_requirements(&exe).unwrap();
        let max = report
            .max_version()
            .expect("a glibc executable needs glibc");
        assert!(max >= GlibcVersion::new(2, 2, 5), "{max}");
        assert!(report
            .requirements
            .values()
            .flatten()
            .any(|s| s == "__libc_start_main"));
    }
}
