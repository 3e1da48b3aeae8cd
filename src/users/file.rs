//! `cognito-users.yaml`: the users and groups to provision, parsed and validated before any
//! API call. Every problem is reported at once, each with file:line:column.

use crate::config::{is_valid_email, parse_yaml, Checker, ConfigError, ConfigErrors};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// A group to create or keep up to date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupDecl {
    /// Group name.
    pub name: String,
    /// What the group is for.
    #[serde(default)]
    pub description: String,
    /// Precedence (lower wins when a user is in several groups).
    #[serde(default)]
    pub precedence: Option<u32>,
}

/// A user to provision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserDecl {
    /// Sign-in name (case-insensitive in the pool).
    pub username: String,
    /// E-mail address (marked verified).
    pub email: String,
    /// Full name (the standard `name` attribute).
    #[serde(default)]
    pub name: Option<String>,
    /// Other standard attributes, and `custom:<name>` attributes the stack declares.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Groups the user belongs to (declared under `groups`).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Whether the user may sign in.
    #[serde(default = "enabled")]
    pub enabled: bool,
}

fn enabled() -> bool {
    true
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersFile {
    /// Groups.
    #[serde(default)]
    pub groups: Vec<GroupDecl>,
    /// Users.
    #[serde(default)]
    pub users: Vec<UserDecl>,
}

/// Standard OpenID Connect attributes a Cognito pool knows. `email` and `name` have their own
/// keys in the file; `sub` and `updated_at` are set by Cognito.
pub const STANDARD_ATTRIBUTES: &[&str] = &[
    "address",
    "birthdate",
    "family_name",
    "gender",
    "given_name",
    "locale",
    "middle_name",
    "nickname",
    "phone_number",
    "phone_number_verified",
    "picture",
    "preferred_username",
    "profile",
    "website",
    "zoneinfo",
];

/// Longest attribute value Cognito accepts.
pub const MAX_ATTRIBUTE_LEN: usize = 2048;
/// Longest user or group name Cognito accepts.
pub const MAX_NAME_LEN: usize = 128;

/// Reads and validates a users file. `custom` lists the custom attributes the pool declares
/// (without the `custom:` prefix).
pub fn load_file(path: &Path, custom: &[String]) -> Result<UsersFile, ConfigErrors> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: file.clone(),
            line: 0,
            column: 0,
            field: String::new(),
            message: format!("cannot read the users file: {e}"),
        }])
    })?;
    load_str(&file, &text, custom)
}

/// Parses and validates users YAML held in memory.
pub fn load_str(file: &str, text: &str, custom: &[String]) -> Result<UsersFile, ConfigErrors> {
    let (parsed, root, mut errors) = parse_yaml::<UsersFile>(file, text, "a users file")?;
    // An empty file would mean "no users": with `--prune` that deletes every user the tool
    // made. Saying so takes an explicit `users: []`.
    if root
        .as_mapping()
        .is_none_or(|m| m.get_node("users").is_none())
    {
        errors.push(ConfigError {
            file: file.to_string(),
            line: 1,
            column: 1,
            field: "users".into(),
            message: "the users file has no `users:` list (write `users: []` to mean no users)"
                .into(),
        });
    }
    if let Some(users) = &parsed {
        let mut ck = Checker {
            file,
            root: &root,
            errors: Vec::new(),
        };
        validate(&mut ck, users, custom);
        errors.extend(ck.errors);
    }
    match parsed {
        Some(users) if errors.is_empty() => Ok(users),
        _ => {
            errors.sort_by_key(|e| (e.line, e.column));
            Err(ConfigErrors(errors))
        }
    }
}

fn bad_name(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("must not be empty".into())
    } else if name.chars().count() > MAX_NAME_LEN {
        Some(format!("must be at most {MAX_NAME_LEN} characters"))
    } else if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some(format!(
            "`{}` must not contain spaces or control characters",
            name.escape_debug()
        ))
    } else {
        None
    }
}

fn bad_value(value: &str) -> Option<String> {
    if value.is_empty() {
        Some("must not be empty".into())
    } else if value.chars().count() > MAX_ATTRIBUTE_LEN {
        Some(format!("must be at most {MAX_ATTRIBUTE_LEN} characters"))
    } else if value.chars().any(|c| c.is_control()) {
        Some("must not contain control characters".into())
    } else {
        None
    }
}

fn validate(ck: &mut Checker<'_>, f: &UsersFile, custom: &[String]) {
    let mut groups = BTreeSet::new();
    for (i, g) in f.groups.iter().enumerate() {
        let field = format!("groups.{i}.name");
        if let Some(why) = bad_name(&g.name) {
            ck.fail(&field, why);
        } else if g.name.contains([',', '[', ']']) {
            // API Gateway passes a user's groups to the handlers as one claim, comma-joined
            // (`[a b]` in HTTP APIs): `producers,x` would read as membership of `producers`.
            ck.fail(
                &field,
                format!(
                    "`{}` must not contain `,`, `[` or `]`: the API reads a user's groups \
                     from one comma-separated claim",
                    g.name.escape_debug()
                ),
            );
        } else if !groups.insert(g.name.clone()) {
            ck.fail(&field, format!("group `{}` is declared twice", g.name));
        }
        if g.description.chars().count() > MAX_ATTRIBUTE_LEN {
            ck.fail(
                &format!("groups.{i}.description"),
                format!("must be at most {MAX_ATTRIBUTE_LEN} characters"),
            );
        }
    }
    let mut usernames: HashMap<String, usize> = HashMap::new();
    let mut emails: HashMap<String, usize> = HashMap::new();
    for (i, u) in f.users.iter().enumerate() {
        let at = |k: &str| format!("users.{i}.{k}");
        if let Some(why) = bad_name(&u.username) {
            ck.fail(&at("username"), why);
        } else if let Some(first) = usernames.insert(u.username.to_lowercase(), i) {
            ck.fail(
                &at("username"),
                format!(
                    "`{}` is already used by users.{first} (usernames are case-insensitive)",
                    u.username
                ),
            );
        }
        if !is_valid_email(&u.email) {
            ck.fail(
                &at("email"),
                format!("`{}` is not a valid e-mail address", u.email.escape_debug()),
            );
        } else if let Some(first) = emails.insert(u.email.to_lowercase(), i) {
            ck.fail(
                &at("email"),
                format!("`{}` is already used by users.{first}", u.email),
            );
        }
        if let Some(name) = &u.name {
            if let Some(why) = bad_value(name) {
                ck.fail(&at("name"), why);
            }
        }
        for (key, value) in &u.attributes {
            let field = format!("users.{i}.attributes.{key}");
            let known = match key.strip_prefix("custom:") {
                Some(c) => custom.iter().any(|d| d == c),
                None => STANDARD_ATTRIBUTES.contains(&key.as_str()),
            };
            if key == "email" || key == "name" {
                ck.fail(
                    &field,
                    format!("set `{key}` with the user's own `{key}:` key"),
                );
            } else if !known {
                let hint = if key.starts_with("custom:") {
                    "declare it under `cognito.custom_attributes` in the stack file".to_string()
                } else {
                    format!(
                        "standard attributes are: {}",
                        STANDARD_ATTRIBUTES.join(", ")
                    )
                };
                ck.fail(
                    &field,
                    format!("the user pool has no attribute `{key}`; {hint}"),
                );
            } else if let Some(why) = bad_value(value) {
                ck.fail(&field, why);
            }
        }
        let mut seen = BTreeSet::new();
        for (j, g) in u.groups.iter().enumerate() {
            let field = format!("users.{i}.groups.{j}");
            if !groups.contains(g) {
                ck.fail(
                    &field,
                    format!("group `{g}` is not declared under `groups`"),
                );
            } else if !seen.insert(g) {
                ck.fail(&field, format!("group `{g}` is listed twice"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str =
        "groups:\n  - name: analysts\n    precedence: 20\n  - name: producers\nusers:\n";

    fn errors(users: &str) -> Vec<ConfigError> {
        load_str("u.yaml", &format!("{HEAD}{users}"), &["team".to_string()])
            .expect_err("should be rejected")
            .0
    }

    #[test]
    fn a_valid_file() {
        let f = load_str(
            "u.yaml",
            &format!(
                "{HEAD}  - username: alice\n    email: alice@example.com\n    name: Alice\n    \
                 attributes: {{custom:team: finance, locale: en-GB}}\n    groups: [analysts]\n"
            ),
            &["team".to_string()],
        )
        .unwrap();
        assert_eq!(f.users[0].groups, ["analysts"]);
        assert!(f.users[0].enabled);
    }

    #[test]
    fn group_names_may_not_hold_the_claims_separators() {
        for name in ["producers,admins", "[producers]"] {
            let errs = load_str(
                "u.yaml",
                &format!("groups:\n  - name: '{name}'\nusers: []\n"),
                &[],
            )
            .expect_err("should be rejected")
            .0;
            assert_eq!(errs.len(), 1, "{errs:?}");
            assert_eq!((errs[0].field.as_str(), errs[0].line), ("groups.0.name", 2));
            assert!(
                errs[0].message.contains("comma-separated claim"),
                "{}",
                errs[0]
            );
        }
    }

    #[test]
    fn every_class_of_error_at_once() {
        let errs = errors(
            "  - username: alice\n    email: alice@example.com\n    groups: [admins]\n\
             \x20 - username: ALICE\n    email: Alice@Example.com\n\
             \x20 - username: bob\n    email: not-an-email\n    attributes: {shoe_size: '42', custom:team: ''}\n\
             \x20 - username: carol\n    email: carol@example.com\n    nickname: c\n",
        );
        let fields: Vec<(&str, usize)> = errs.iter().map(|e| (e.field.as_str(), e.line)).collect();
        assert_eq!(
            fields,
            vec![
                ("users.0.groups.0", 8),
                ("users.1.username", 9),
                ("users.1.email", 10),
                ("users.2.email", 12),
                ("users.2.attributes.shoe_size", 13),
                ("users.2.attributes.custom:team", 13),
                ("users.3.nickname", 16),
            ],
            "{errs:#?}"
        );
        assert!(errs[1].message.contains("case-insensitive"));
        assert!(errs[4].message.contains("no attribute `shoe_size`"));
        assert!(errs[6].message.contains("unknown key `nickname`"));
    }

    #[test]
    fn injection_looking_strings_are_plain_values_but_control_characters_are_not() {
        let f = load_str(
            "u.yaml",
            &format!("{HEAD}  - username: \"robert');DROP\"\n    email: bobby@example.com\n    name: \"$(rm -rf /)\"\n"),
            &[],
        )
        .unwrap();
        assert_eq!(f.users[0].name.as_deref(), Some("$(rm -rf /)"));
        let errs =
            errors("  - username: eve\n    email: eve@example.com\n    name: \"a\\u0007b\"\n");
        assert!(errs[0].message.contains("control characters"), "{errs:?}");
    }

    #[test]
    fn too_long_and_empty_values() {
        let long = "x".repeat(MAX_NAME_LEN + 1);
        let errs = errors(&format!(
            "  - username: {long}\n    email: a@example.com\n    name: ''\n"
        ));
        assert_eq!(errs.len(), 2, "{errs:?}");
    }
}
