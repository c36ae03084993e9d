//! Huawei Cloud: IMS (REST, project-scoped).

pub mod signer;

pub use signer::SdkHmacSigner;
