//! Where each cloud's [`Provider`] is registered, and the methods that pick a provider by the
//! cloud's name: [`Cloud::sign`], [`Cloud::prepare`] and [`CloudError::is_concurrency_limit`].
//! They are here, not beside their types in cloud.rs and error.rs, because a cloud's folder
//! uses those types to implement the trait: were the types to ask the registry, every cloud
//! folder would import, through them, the list of clouds that imports it.

use crate::Cloud;
use crate::error::CloudError;
use crate::provider::Provider;
use crate::signing::{HttpRequest, Signature, SigningError, SigningParams};

/// The provider of `cloud`: the one place a cloud is registered.
pub fn of(cloud: Cloud) -> &'static dyn Provider {
    match cloud {
        Cloud::Tencent => &crate::tencent::provider::TencentCloud,
        Cloud::Alibaba => &crate::alibaba::provider::AlibabaCloud,
        Cloud::Volcengine => &crate::volcengine::provider::Volcengine,
        Cloud::Huawei => &crate::huawei::provider::HuaweiCloud,
    }
}

impl Cloud {
    /// Signs `request` over `signed_headers` with this cloud's algorithm.
    pub fn sign(
        self,
        request: &HttpRequest,
        signed_headers: &[&str],
        params: &SigningParams<'_>,
    ) -> Result<Signature, SigningError> {
        of(self).sign(request, signed_headers, params)
    }

    /// Adds this cloud's signing headers to `request` and signs it as the official SDK does.
    pub fn prepare(
        self,
        request: &mut HttpRequest,
        params: &SigningParams<'_>,
    ) -> Result<Signature, SigningError> {
        of(self).prepare(request, params)
    }
}

impl CloudError {
    /// Whether the cloud refused because too many such tasks run at once (each cloud's
    /// `errors::CONCURRENCY_LIMITS`): the same start succeeds once one of them ends, so a job
    /// queues it instead of failing it (see [`crate::job::queue`]).
    pub fn is_concurrency_limit(&self) -> bool {
        of(self.cloud)
            .concurrency_limits()
            .contains(&self.code.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cloud_is_registered_under_its_own_name() {
        for cloud in Cloud::ALL {
            assert_eq!(of(cloud).cloud(), cloud);
            assert!(!of(cloud).regions().is_empty(), "{cloud}");
        }
    }
}
