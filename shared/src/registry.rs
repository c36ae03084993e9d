//! Where each cloud's [`CloudOperations`] is registered. Apart from the traits
//! ([`crate::operation`]) so that a cloud's own modules, which implement them, never import the
//! list of clouds.

use crate::Cloud;
use crate::operation::CloudOperations;

/// The operations of `cloud`: the one place they are registered.
pub fn operations(cloud: Cloud) -> &'static dyn CloudOperations {
    match cloud {
        Cloud::Tencent => &crate::tencent::operation::TencentOperations,
        Cloud::Alibaba => &crate::alibaba::operation::AlibabaOperations,
        Cloud::Volcengine => &crate::volcengine::operation::VolcengineOperations,
        Cloud::Huawei => &crate::huawei::operation::HuaweiOperations,
    }
}
