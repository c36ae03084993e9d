//! Huawei Cloud: IMS (REST, project-scoped).

pub mod errors;
pub mod signer;

pub use signer::SdkHmacSigner;
