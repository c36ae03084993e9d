//! Alibaba Cloud: ECS 2014-05-26 (RPC style).

pub mod api;
pub mod errors;
pub mod operation;
pub mod provider;
pub mod regions;
pub mod request;
pub mod signer;

pub use signer::Acs3Signer;
