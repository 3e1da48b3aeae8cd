//! `gc`: the safety net that reaps a stack's ephemeral `--instance` copies.
//!
//! Every taggable resource of a copy made with `--instance` carries `ecomflow:stack=<instance>`,
//! `ecomflow:expires-at=<RFC 3339>`: the time of the apply that wrote the tags plus the stack
//! file's `ephemeral_ttl_hours` (apply writes tags when it creates a resource, and again
//! whenever it updates one), and `ecomflow:created-at=<RFC 3339>`: the time of the apply that
//! created the resource (stamped once; later applies write the live value back). `gc` lists
//! every taggable kind under the name prefix `<app>-<env>-` with the providers' own listing
//! (the one the leak sweep uses), groups what it finds by the `ecomflow:stack` tag, and
//! destroys the copies that are due, one at a time, through the destroy workflow of
//! [`crate::engine::workflow`]: a session for the copy's suffix, its stack lock, the destroy
//! plan (which only ever deletes resources tagged as that copy's), the run, and the leak sweep.
//!
//! When a copy is due:
//!
//! - By default, when its expiry has passed. The resources of one copy can carry different
//!   expiries (apply rewrites the tag only on the resources it updates); the latest counts, so
//!   a copy is due only once every one of its resources has expired.
//! - With `--older-than D`, when it was created at least `D` ago, however recently it was
//!   applied again. Its creation time is the earliest creation tag among its resources (a
//!   resource added to the copy by a later apply carries that apply's time, and so does a
//!   resource of an older copy that a later update stamped; the copy is as old as its oldest
//!   stamp, which is never earlier than its creation). The listing carries no creation time of
//!   its own (that would mean a describe call per resource in every provider): the tags are
//!   what every resource has. A copy made before the creation tag existed has none; its age is
//!   then derived from the expiry, as the latest expiry minus the stack file's TTL, i.e. the
//!   time of the latest apply that wrote tags, and the reason says so. For such a copy updated
//!   since its creation the age counts from the update, so `gc` errs towards keeping it, never
//!   towards reaping it early; if the file's TTL changed after the tags were written, the
//!   derived time moves by the difference. An unreadable creation tag keeps the copy under
//!   this rule.
//!
//! Never collected: the stack's own instance (`<app>-<env>`, no suffix), instances without an
//! expiry tag, instances with an unreadable one, and every instance of a protected stack file.
//! Just before destroying a copy, `gc` lists it again under its lock and checks it is still
//! due, so an apply that refreshed its expiry in the meantime wins under the default rule (an
//! apply leaves its creation tags as they are, so under `--older-than` it stays due).

mod assessment;
mod collect;
mod listing;
mod report;
#[cfg(test)]
mod tests;

pub use assessment::{assess, Assessment, Rule};
pub use collect::{collect, Collected};
pub use listing::{group, list_tagged, FoundInstance, TaggedResource};
pub use report::{survey, Action, InstanceReport, Report, Summary};
