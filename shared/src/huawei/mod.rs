//! Huawei Cloud: IMS (REST, project-scoped).

pub mod errors;
pub mod request;
pub mod signer;

pub use signer::SdkHmacSigner;
