//! Huawei Cloud: IMS (REST, project-scoped).

pub mod api;
pub mod errors;
pub mod operation;
pub mod projects;
pub mod provider;
pub mod regions;
pub mod request;
pub mod signer;

pub use signer::SdkHmacSigner;
