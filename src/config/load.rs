//! Parsing a stack file into [`StackConfig`], collecting every error with its position.

use super::errors::{ConfigError, ConfigErrors};
use super::schema::StackConfig;
use super::validate::validate;
use marked_yaml::loader::DuplicateKeyInner;
use marked_yaml::{LoadError, LoaderOptions, Marker, Node};
use std::path::Path;

/// Stack files larger than this are refused before parsing (a stack file is a few KiB).
pub const MAX_STACK_FILE_BYTES: usize = 1 << 20;

/// Users files larger than this are refused before parsing: about 40,000 users. The YAML
/// node tree of a file of many tiny items takes up to about 175 bytes per input byte
/// (measured by `tests/config_fuzz.rs`), so this also bounds the loader's memory.
pub const MAX_USERS_FILE_BYTES: usize = 4 << 20;

/// Most deserialisation errors collected from one file before giving up.
const MAX_ERRORS: usize = 100;

/// Reads and validates a stack file. `instance` is the `--instance` suffix, if any.
pub fn load_file(path: &Path, instance: Option<&str>) -> Result<StackConfig, ConfigErrors> {
    let file = path.display().to_string();
    let text = std::fs::read(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: file.clone(),
            line: 0,
            column: 0,
            field: String::new(),
            message: format!("cannot read the stack file: {e}"),
        }])
    })?;
    let text = String::from_utf8(text).map_err(|e| {
        ConfigErrors(vec![error_at(
            &file,
            None,
            "",
            format!(
                "the file is not UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )])
    })?;
    load_str(&file, &text, instance)
}

/// Parses and validates stack YAML held in memory; `file` names it in errors.
pub fn load_str(
    file: &str,
    text: &str,
    instance: Option<&str>,
) -> Result<StackConfig, ConfigErrors> {
    let (config, root, mut errors) = parse_yaml::<StackConfig>(file, text, "a stack file")?;
    if let Some(config) = &config {
        errors.extend(validate(file, &root, config, instance));
    }
    match config {
        Some(config) if errors.is_empty() => Ok(config),
        _ => {
            errors.sort_by_key(|e| (e.line, e.column));
            Err(ConfigErrors(errors))
        }
    }
}

/// Parses YAML into `T`, collecting every deserialisation error with its position. Returns the
/// value (if it could be built), the untouched node tree (to point later checks at lines) and
/// the errors. Fails outright only when the text is not YAML at all. `what` names the kind of
/// file in messages. Shared by every YAML file the tool reads.
pub(crate) fn parse_yaml<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
    what: &str,
) -> Result<(Option<T>, Node, Vec<ConfigError>), ConfigErrors> {
    let limit = if what == "a stack file" {
        MAX_STACK_FILE_BYTES
    } else {
        MAX_USERS_FILE_BYTES
    };
    if text.len() > limit {
        return Err(ConfigErrors(vec![error_at(
            file,
            None,
            "",
            format!(
                "the file is {} bytes; {what} may be at most {limit}",
                text.len()
            ),
        )]));
    }
    // A byte-order mark is not part of the text; a control character (a NUL would end the
    // YAML parser's input early and silently drop the rest of the file) is refused.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some((i, c)) = text
        .char_indices()
        .find(|&(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        let before = &text[..i];
        return Err(ConfigErrors(vec![ConfigError {
            file: file.to_string(),
            line: before.matches('\n').count() + 1,
            column: before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
            field: String::new(),
            message: format!(
                "the file contains the control character U+{:04X}; {what} must be plain text",
                c as u32
            ),
        }]));
    }
    let options = LoaderOptions::default().error_on_duplicate_keys(true);
    let mut root = marked_yaml::parse_yaml_with_options(0, text, options)
        .map_err(|e| ConfigErrors(vec![load_error(file, e)]))?;
    let pristine = root.clone();
    let mut errors = Vec::new();
    // Keys removed after reporting them: a required one then reads as missing, which is a
    // consequence of the removal, not another mistake in the file.
    let mut removed: Vec<String> = Vec::new();
    let value = loop {
        match marked_yaml::from_node::<T>(&root) {
            Ok(v) => break Some(v),
            Err(e) => {
                let path = e.path().unwrap_or_default().to_string();
                let inner = e.into_inner();
                let mark = inner.start_mark();
                let (field, message, removal) = describe(&path, &inner);
                if let Some(name) = missing_field(&message) {
                    let full = if field.is_empty() {
                        name.to_string()
                    } else {
                        format!("{field}.{name}")
                    };
                    if removed.contains(&full) {
                        break None;
                    }
                }
                let already = errors
                    .iter()
                    .any(|x: &ConfigError| x.field == field && x.message == message);
                if !already {
                    errors.push(error_at(file, mark, &field, message));
                }
                // Drop the offending key and deserialise again, so one run reports every
                // problem instead of the first one only.
                if already || errors.len() >= MAX_ERRORS || !remove_path(&mut root, &removal) {
                    break None;
                }
                removed.push(removal.join("."));
            }
        }
    };
    Ok((value, pristine, errors))
}

/// The key named by serde's "missing field `name`" message.
fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name)
}

/// Turns a deserialisation error into (field, message, key path to remove).
fn describe(path: &str, error: &marked_yaml::Error) -> (String, String, Vec<String>) {
    // serde paths write sequence indices as `users[3]`; fields are dotted: `users.3`.
    let path = path.replace('[', ".").replace(']', "");
    let mut segments: Vec<String> = if path.is_empty() || path == "?" {
        Vec::new()
    } else {
        path.split('.')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    match error {
        marked_yaml::Error::UnknownFieldError(name, expected, _) => {
            if segments.last() != Some(name) {
                segments.push(name.clone());
            }
            let mut message = format!("unknown key `{name}`");
            if let Some(close) = closest(name, expected) {
                message.push_str(&format!("; did you mean `{close}`?"));
            } else if !expected.is_empty() {
                message.push_str(&format!("; expected one of: {}", expected.join(", ")));
            }
            (segments.join("."), message, segments)
        }
        marked_yaml::Error::NotBoolean(_) => (
            segments.join("."),
            "expected true or false".into(),
            segments,
        ),
        marked_yaml::Error::IntegerParseFailure(e, _) => (
            segments.join("."),
            format!("expected a whole number ({e})"),
            segments,
        ),
        marked_yaml::Error::FloatParseFailure(e, _) => (
            segments.join("."),
            format!("expected a number ({e})"),
            segments,
        ),
        marked_yaml::Error::Other(msg, _) => {
            let msg = msg.replace("invalid type: ", "wrong type: ");
            // A missing required key cannot be removed: stop after reporting it.
            let removal = if msg.starts_with("missing field") {
                Vec::new()
            } else {
                segments.clone()
            };
            (segments.join("."), msg, removal)
        }
    }
}

/// The expected key closest to a misspelled one, if any is close enough.
fn closest<'a>(name: &str, expected: &[&'a str]) -> Option<&'a str> {
    expected
        .iter()
        .map(|candidate| (strsim_distance(name, candidate), *candidate))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance; tiny inputs only (key names).
fn strsim_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Removes the mapping entry at `path`; false if nothing could be removed.
fn remove_path(root: &mut Node, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut node = root;
    for seg in parents {
        node = match node {
            Node::Mapping(map) => match map.get_mut(seg.as_str()) {
                Some(child) => child,
                None => return false,
            },
            Node::Sequence(seq) => {
                match seg.trim_matches(|c| c == '[' || c == ']').parse::<usize>() {
                    Ok(i) if i < seq.len() => &mut seq[i],
                    _ => return false,
                }
            }
            Node::Scalar(_) => return false,
        };
    }
    match node {
        Node::Mapping(map) => map.remove(last.as_str()).is_some(),
        _ => false,
    }
}

/// The node at a dotted path, for pointing validation errors at their line.
pub(crate) fn find<'a>(root: &'a Node, path: &str) -> Option<&'a Node> {
    let mut node = root;
    for seg in path.split('.').filter(|s| !s.is_empty()) {
        node = match node {
            Node::Mapping(map) => map.get_node(seg)?,
            Node::Sequence(seq) => seq.get_node(seg.parse().ok()?)?,
            Node::Scalar(_) => return None,
        };
    }
    Some(node)
}

/// Builds an error at a marker (or at the start of the file when there is none).
pub(crate) fn error_at(
    file: &str,
    mark: Option<Marker>,
    field: &str,
    message: String,
) -> ConfigError {
    ConfigError {
        file: file.to_string(),
        line: mark.map(|m| m.line()).unwrap_or(0),
        column: mark.map(|m| m.column()).unwrap_or(0),
        field: field.to_string(),
        message,
    }
}

fn load_error(file: &str, e: LoadError) -> ConfigError {
    let (mark, message) = match &e {
        LoadError::TopLevelMustBeMapping(m) => {
            (*m, "the document must be a mapping of keys".to_string())
        }
        LoadError::TopLevelMustBeSequence(m) => (*m, "the document must be a sequence".to_string()),
        LoadError::UnexpectedAnchor(m) => (
            *m,
            "YAML anchors and aliases are not allowed in stack files".to_string(),
        ),
        LoadError::MappingKeyMustBeScalar(m) => {
            (*m, "mapping keys must be plain strings".to_string())
        }
        LoadError::UnexpectedTag(m) => (*m, "YAML tags (`!something`) are not allowed".to_string()),
        LoadError::ScanError(m, scan) => (*m, format!("invalid YAML: {scan}")),
        LoadError::DuplicateKey(inner) => {
            let DuplicateKeyInner { prev_key, key } = inner.as_ref();
            let first = prev_key.span().start().map(|m| m.line()).unwrap_or(0);
            (
                key.span()
                    .start()
                    .copied()
                    .unwrap_or_else(|| Marker::new(0, 0, 0, 0)),
                format!(
                    "duplicate key `{}` (first defined on line {first})",
                    key.as_str()
                ),
            )
        }
    };
    error_at(file, Some(mark), "", message)
}
