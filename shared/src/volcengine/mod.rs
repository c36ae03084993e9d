//! Volcengine: ECS 2020-04-01 (RPC over GET).

pub mod api;
pub mod errors;
pub mod operation;
pub mod provider;
pub mod regions;
pub mod request;
pub mod signer;

pub use signer::VolcSigner;
