//! The `imgflow` command line, as a library so that tests can call its parts directly:
//! `demo::run` (with the `demo` feature) runs every seed scenario against an in-process cloud
//! emulator, and
//! [`commands::run`] runs one parsed command line.
//!
//! The commands use only the shared crate's public operations (`CloudClient::start_export`,
//! `start_copy`, `status`) and its wait policy: what the command line does is what the Lambda
//! functions and the state machine do.

pub mod cli;
pub mod commands;
#[cfg(feature = "demo")]
pub mod demo;
pub mod exit;
pub mod follow;
pub mod format;
pub mod input;
pub mod report;

pub use exit::Exit;
