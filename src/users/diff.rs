//! The users plan: what `users sync` must do, computed from the file and the pool's listings.
//! Pure.
//!
//! Every user this tool writes carries a stamp in the custom attribute
//! `custom:ecomflow_sync`: `<origin>:<fingerprint>`, where origin is `c` (created by this
//! tool) or `a` (adopted: existed before, but is declared in the file), and the fingerprint
//! hashes the user's declared attributes, groups and enabled flag. So:
//! - a user whose stamp matches the file is known to be as declared without reading its
//!   group memberships (a no-op resync of 10,000 users is ~170 listing calls);
//! - `--prune` only ever touches users whose origin is `c`.
//!
//! A new user gets its final stamp in the call that creates it, and its groups right after.
//! A run that is interrupted between the two is caught by a flag item in the tool's lock table
//! (set before the first change, cleared after a run without failures): the next run then
//! reads every group's members instead of trusting the stamps (see [`triage`]), and finishes
//! exactly what was left.

use super::file::{GroupDecl, UserDecl, UsersFile};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

/// The stamp attribute as users carry it: `custom:` and [`crate::names::SYNC_ATTRIBUTE_NAME`].
pub const SYNC_ATTRIBUTE: &str = "custom:ecomflow_sync";

/// A user as listed by ListUsers.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveUser {
    /// Username.
    pub username: String,
    /// Attributes, stamp included.
    pub attributes: BTreeMap<String, String>,
    /// Enabled flag.
    pub enabled: bool,
}

impl LiveUser {
    /// The stamp, if the user has one.
    pub fn stamp(&self) -> Option<&str> {
        self.attributes.get(SYNC_ATTRIBUTE).map(String::as_str)
    }

    /// True if this tool created the user.
    pub fn created_by_us(&self) -> bool {
        self.stamp().is_some_and(|s| s.starts_with("c:"))
    }
}

/// A group as listed by ListGroups.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveGroup {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Precedence.
    pub precedence: Option<u32>,
}

/// The attributes a declared user must have (the stamp excluded).
pub fn desired_attributes(u: &UserDecl) -> BTreeMap<String, String> {
    let mut a = u.attributes.clone();
    a.insert("email".into(), u.email.clone());
    a.insert("email_verified".into(), "true".into());
    if let Some(name) = &u.name {
        a.insert("name".into(), name.clone());
    }
    a
}

/// Fingerprint of a declared user's attributes, groups and enabled flag.
pub fn fingerprint(u: &UserDecl) -> String {
    let mut groups = u.groups.clone();
    groups.sort();
    let canonical = serde_json::json!({
        "attributes": desired_attributes(u),
        "groups": groups,
        "enabled": u.enabled,
    });
    hex::encode(&Sha256::digest(canonical.to_string().as_bytes())[..8])
}

/// The stamp a finished user carries.
pub fn final_stamp(u: &UserDecl, created_by_us: bool) -> String {
    format!(
        "{}:{}",
        if created_by_us { "c" } else { "a" },
        fingerprint(u)
    )
}

/// A user to create.
#[derive(Debug, Clone, Serialize)]
pub struct UserCreate {
    /// The declaration.
    pub username: String,
    /// Attributes to create it with, stamp included.
    pub attributes: BTreeMap<String, String>,
    /// Groups to add it to afterwards.
    pub groups: Vec<String>,
    /// Disable it afterwards.
    pub disable: bool,
}

impl UserCreate {
    /// True if the user needs calls after AdminCreateUser.
    pub fn has_follow_ups(&self) -> bool {
        !self.groups.is_empty() || self.disable
    }
}

/// An attribute change: name, before (if any), after.
pub type AttributeChange = (String, Option<String>, String);

/// Changes to an existing user.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UserUpdate {
    /// Username.
    pub username: String,
    /// Attributes to set (the stamp is written with them, last).
    pub attributes: Vec<AttributeChange>,
    /// Groups to add.
    pub add_groups: Vec<String>,
    /// Groups to leave.
    pub remove_groups: Vec<String>,
    /// `Some(true)` enable, `Some(false)` disable.
    pub enable: Option<bool>,
    /// The stamp to write last.
    pub stamp: String,
}

impl UserUpdate {
    /// True if nothing changes, the stamp included.
    pub fn is_noop(&self, live_stamp: Option<&str>) -> bool {
        self.stamp_only() && live_stamp == Some(self.stamp.as_str())
    }

    /// True if only the stamp changes.
    pub fn stamp_only(&self) -> bool {
        self.attributes.is_empty()
            && self.add_groups.is_empty()
            && self.remove_groups.is_empty()
            && self.enable.is_none()
    }
}

/// A user in the pool, created by this tool, no longer in the file.
#[derive(Debug, Clone, Serialize)]
pub struct Prune {
    /// Username.
    pub username: String,
    /// Delete (else disable).
    pub delete: bool,
}

/// How `--prune` treats users no longer in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PruneMode {
    /// Leave them alone (default).
    Off,
    /// Disable them.
    Disable,
    /// Delete them.
    Delete,
}

/// First pass over the listings: who must be created, inspected (group lookup), or pruned.
#[derive(Debug, Default)]
pub struct Triage<'a> {
    /// Declared users missing from the pool.
    pub missing: Vec<&'a UserDecl>,
    /// Declared users present whose stamp does not match: their groups must be read.
    pub inspect: Vec<(&'a UserDecl, &'a LiveUser)>,
    /// Declared users known to be as declared.
    pub unchanged: usize,
    /// Users to prune.
    pub prune: Vec<Prune>,
}

/// Sorts users into missing, to inspect, unchanged and prune. With `thorough` (after an
/// interrupted run) every present user is inspected, whatever its stamp says.
pub fn triage<'a>(
    file: &'a UsersFile,
    live: &'a HashMap<String, LiveUser>,
    prune: PruneMode,
    thorough: bool,
) -> Triage<'a> {
    let mut t = Triage::default();
    for u in &file.users {
        match live.get(&u.username.to_lowercase()) {
            None => t.missing.push(u),
            Some(l) => {
                let created = l.created_by_us();
                if !thorough && l.stamp() == Some(final_stamp(u, created).as_str()) {
                    t.unchanged += 1;
                } else {
                    t.inspect.push((u, l));
                }
            }
        }
    }
    if prune != PruneMode::Off {
        let declared: std::collections::HashSet<String> = file
            .users
            .iter()
            .map(|u| u.username.to_lowercase())
            .collect();
        let mut gone: Vec<&LiveUser> = live
            .values()
            .filter(|l| l.created_by_us() && !declared.contains(&l.username.to_lowercase()))
            .filter(|l| prune == PruneMode::Delete || l.enabled)
            .collect();
        gone.sort_by(|a, b| a.username.cmp(&b.username));
        t.prune = gone
            .into_iter()
            .map(|l| Prune {
                username: l.username.clone(),
                delete: prune == PruneMode::Delete,
            })
            .collect();
    }
    t
}

/// What to create for a missing user.
pub fn user_create(u: &UserDecl) -> UserCreate {
    let mut attributes = desired_attributes(u);
    attributes.insert(SYNC_ATTRIBUTE.into(), final_stamp(u, true));
    UserCreate {
        username: u.username.clone(),
        attributes,
        groups: u.groups.clone(),
        disable: !u.enabled,
    }
}

/// What to change on an existing user, given its current groups.
pub fn user_update(u: &UserDecl, live: &LiveUser, live_groups: &[String]) -> UserUpdate {
    let want = desired_attributes(u);
    let attributes = want
        .iter()
        .filter(|(k, v)| live.attributes.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), live.attributes.get(k).cloned(), v.clone()))
        .collect();
    let mut add_groups: Vec<String> = u
        .groups
        .iter()
        .filter(|g| !live_groups.contains(g))
        .cloned()
        .collect();
    let mut remove_groups: Vec<String> = live_groups
        .iter()
        .filter(|g| !u.groups.contains(g))
        .cloned()
        .collect();
    add_groups.sort();
    remove_groups.sort();
    UserUpdate {
        username: live.username.clone(),
        attributes,
        add_groups,
        remove_groups,
        enable: (live.enabled != u.enabled).then_some(u.enabled),
        stamp: final_stamp(u, live.created_by_us()),
    }
}

/// Groups to create, and groups to update (declared vs listed).
pub fn group_changes(
    declared: &[GroupDecl],
    live: &[LiveGroup],
) -> (Vec<GroupDecl>, Vec<(GroupDecl, LiveGroup)>) {
    let mut create = Vec::new();
    let mut update = Vec::new();
    for g in declared {
        match live.iter().find(|l| l.name == g.name) {
            None => create.push(g.clone()),
            Some(l) if l.description != g.description || l.precedence != g.precedence => {
                update.push((g.clone(), l.clone()))
            }
            Some(_) => {}
        }
    }
    (create, update)
}

/// The complete plan of a sync.
#[derive(Debug, Default, Serialize)]
pub struct UsersPlan {
    /// Groups to create.
    #[serde(skip)]
    pub groups_create: Vec<GroupDecl>,
    /// Groups to update (declared, live).
    #[serde(skip)]
    pub groups_update: Vec<(GroupDecl, LiveGroup)>,
    /// Users to create.
    pub create: Vec<UserCreate>,
    /// Users to change.
    pub update: Vec<UserUpdate>,
    /// Users to disable or delete.
    pub prune: Vec<Prune>,
    /// Declared users already as declared.
    pub unchanged: usize,
    /// The previous sync was interrupted: every membership was read, not trusted to stamps.
    pub resume: bool,
}

impl UsersPlan {
    /// True if nothing would change.
    pub fn is_empty(&self) -> bool {
        !self.resume
            && self.groups_create.is_empty()
            && self.groups_update.is_empty()
            && self.create.is_empty()
            && self.update.is_empty()
            && self.prune.is_empty()
    }

    /// Invitations Cognito would e-mail with `--invite`.
    pub fn invitations(&self) -> usize {
        self.create.len()
    }

    /// The plan as text, in the style of `plan`. At most `limit` lines per section.
    pub fn render(&self, limit: usize) -> String {
        let mut out = String::new();
        let mut section = |title: &str, lines: Vec<String>| {
            if lines.is_empty() {
                return;
            }
            let _ = writeln!(out, "{title}:");
            for l in lines.iter().take(limit) {
                let _ = writeln!(out, "  {l}");
            }
            if lines.len() > limit {
                let _ = writeln!(out, "  ... and {} more", lines.len() - limit);
            }
        };
        section(
            "Groups to create",
            self.groups_create
                .iter()
                .map(|g| format!("+ group {}", g.name))
                .collect(),
        );
        section(
            "Groups to update",
            self.groups_update
                .iter()
                .map(|(g, l)| {
                    format!(
                        "~ group {}: description {:?} -> {:?}, precedence {:?} -> {:?}",
                        g.name, l.description, g.description, l.precedence, g.precedence
                    )
                })
                .collect(),
        );
        section(
            "Users to create",
            self.create
                .iter()
                .map(|c| {
                    let status = if c.disable { ", disabled" } else { "" };
                    format!("+ {} (groups: {}{status})", c.username, c.groups.join(", "))
                })
                .collect(),
        );
        section(
            "Attributes to update",
            self.update
                .iter()
                .flat_map(|u| {
                    u.attributes.iter().map(move |(k, before, after)| {
                        format!(
                            "~ {}: {k} = {:?} -> {after:?}",
                            u.username,
                            before.as_deref().unwrap_or("")
                        )
                    })
                })
                .collect(),
        );
        section(
            "Group memberships",
            self.update
                .iter()
                .flat_map(|u| {
                    u.add_groups
                        .iter()
                        .map(move |g| format!("+ {} -> {g}", u.username))
                        .chain(
                            u.remove_groups
                                .iter()
                                .map(move |g| format!("- {} -> {g}", u.username)),
                        )
                })
                .collect(),
        );
        section(
            "Users to enable or disable",
            self.update
                .iter()
                .filter_map(|u| {
                    u.enable
                        .map(|e| format!("{} {}", if e { "enable" } else { "disable" }, u.username))
                })
                .chain(self.prune.iter().map(|p| {
                    format!(
                        "{} {} (not in the file)",
                        if p.delete { "delete" } else { "disable" },
                        p.username
                    )
                }))
                .collect(),
        );
        if self.resume {
            let _ = writeln!(
                out,
                "The previous sync was interrupted: every group membership was read to resume it."
            );
        }
        let stamp_only = self.update.iter().filter(|u| u.stamp_only()).count();
        if stamp_only > 0 {
            let _ = writeln!(
                out,
                "Sync stamps to record (users already as declared): {stamp_only}"
            );
        }
        let _ = writeln!(
            out,
            "Users: {} to create, {} to update, {} to disable, {} to delete, {} unchanged. Groups: {} to create, {} to update.",
            self.create.len(),
            self.update.len(),
            self.prune.iter().filter(|p| !p.delete).count()
                + self.update.iter().filter(|u| u.enable == Some(false)).count(),
            self.prune.iter().filter(|p| p.delete).count(),
            self.unchanged,
            self.groups_create.len(),
            self.groups_update.len()
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(name: &str, groups: &[&str]) -> UserDecl {
        UserDecl {
            username: name.into(),
            email: format!("{name}@example.com"),
            name: None,
            attributes: BTreeMap::new(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            enabled: true,
        }
    }

    fn live_of(u: &UserDecl, stamp: Option<String>) -> LiveUser {
        let mut attributes = desired_attributes(u);
        if let Some(s) = stamp {
            attributes.insert(SYNC_ATTRIBUTE.into(), s);
        }
        LiveUser {
            username: u.username.clone(),
            attributes,
            enabled: u.enabled,
        }
    }

    #[test]
    fn stamped_users_are_unchanged_without_reading_groups() {
        let a = decl("alice", &["analysts"]);
        let file = UsersFile {
            groups: vec![],
            users: vec![a.clone(), decl("bob", &[])],
        };
        let live = HashMap::from([(
            "alice".to_string(),
            live_of(&a, Some(final_stamp(&a, true))),
        )]);
        let t = triage(&file, &live, PruneMode::Off, false);
        assert_eq!(t.unchanged, 1);
        assert_eq!(t.missing.len(), 1);
        assert!(t.inspect.is_empty());
        let t = triage(&file, &live, PruneMode::Off, true);
        assert_eq!(
            t.inspect.len(),
            1,
            "after an interrupted run every user is inspected"
        );
    }

    #[test]
    fn an_edit_changes_the_fingerprint_and_the_update_is_exact() {
        let before = decl("carol", &["analysts"]);
        let mut after = before.clone();
        after.email = "carol@new.example.com".into();
        after.groups = vec!["producers".into()];
        after.enabled = false;
        assert_ne!(fingerprint(&before), fingerprint(&after));
        let live = live_of(&before, Some(final_stamp(&before, true)));
        let u = user_update(&after, &live, &["analysts".to_string()]);
        assert_eq!(
            u.attributes,
            vec![(
                "email".into(),
                Some("carol@example.com".into()),
                "carol@new.example.com".into()
            )]
        );
        assert_eq!(u.add_groups, ["producers"]);
        assert_eq!(u.remove_groups, ["analysts"]);
        assert_eq!(u.enable, Some(false));
        assert!(u.stamp.starts_with("c:"));
    }

    #[test]
    fn a_create_carries_its_final_stamp_and_follow_ups() {
        let dave = decl("dave", &["analysts"]);
        let c = user_create(&dave);
        assert_eq!(c.attributes[SYNC_ATTRIBUTE], final_stamp(&dave, true));
        assert!(c.has_follow_ups());
        assert!(!user_create(&decl("erin", &[])).has_follow_ups());
    }

    #[test]
    fn prune_touches_only_users_this_tool_created() {
        let mine = decl("mine", &[]);
        let theirs = decl("theirs", &[]);
        let adopted = decl("adopted", &[]);
        let live = HashMap::from([
            (
                "mine".to_string(),
                live_of(&mine, Some(final_stamp(&mine, true))),
            ),
            ("theirs".to_string(), live_of(&theirs, None)),
            (
                "adopted".to_string(),
                live_of(&adopted, Some(final_stamp(&adopted, false))),
            ),
        ]);
        let file = UsersFile::default();
        assert!(triage(&file, &live, PruneMode::Off, false).prune.is_empty());
        let t = triage(&file, &live, PruneMode::Disable, false);
        assert_eq!(t.prune.len(), 1);
        assert_eq!(t.prune[0].username, "mine");
        assert!(!t.prune[0].delete);
        assert!(triage(&file, &live, PruneMode::Delete, false).prune[0].delete);
    }
}
