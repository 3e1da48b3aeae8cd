//! `stacks/*.yaml` -> a typed, validated [`StackConfig`].
//!
//! Loading is pure: it takes the file's text, never touches the network, and reports every
//! problem it finds at once, each with file:line:column and the field it concerns.

mod errors;
mod load;
mod schema;
mod validate;

pub use errors::{ConfigError, ConfigErrors};
pub(crate) use load::parse_yaml;
pub use load::{load_file, load_str};
pub use schema::*;
pub(crate) use validate::Checker;
pub use validate::{is_valid_email, validate_instance_suffix};

#[cfg(test)]
mod tests;
