#![warn(missing_docs)]
//! `ecomflow-infra`: plan, apply and destroy the EcomFlow data pipeline on AWS.
//!
//! The pure core (`config`, `names`, `model`, `blueprint`, `plan`, `engine::graph`) never does
//! I/O; `aws` is the only module that talks to AWS, and `engine` drives it.

pub mod aws;
pub mod blueprint;
pub mod cli;
pub mod cloudformation;
pub mod commands;
pub mod config;
pub mod datafile;
pub mod engine;
pub mod gc;
pub mod lake;
pub mod load;
pub mod local;
pub mod model;
pub mod names;
pub mod outputs;
pub mod package;
pub mod plan;
pub mod session;
pub mod stream;
pub mod users;
