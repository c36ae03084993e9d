//! Tencent Cloud (API 3.0): CVM 2017-03-12.

pub mod api;
pub mod errors;
pub mod operation;
pub mod provider;
pub mod regions;
pub mod request;
pub mod signer;

pub use signer::Tc3Signer;
