//! Where each cloud's API and object storage live. Real hosts by default; one base URL (the
//! emulator's) when configured. Only configuration can change them, never a request payload.

use crate::Cloud;
use crate::transport::Scheme;

/// Volcengine regions served from their own host rather than `open.volcengineapi.com`
/// (the SDK's bootstrap list).
const VOLCENGINE_OWN_HOST_REGIONS: [&str; 5] = [
    "cn-beijing-autodriving",
    "ap-southeast-2",
    "ap-southeast-3",
    "cn-shanghai-autodriving",
    "cn-beijing-selfdrive",
];

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// `(scheme, host:port)` serving every cloud, path-style buckets included.
    override_base: Option<(Scheme, String)>,
}

/// A resolved target: scheme, `Host`, and for objects the path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub scheme: Scheme,
    pub host: String,
    pub path: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("endpoint `{0}`: expected http://host:port or https://host[:port] with no path")]
pub struct EndpointError(pub String);

impl Endpoints {
    /// The clouds' real endpoints.
    pub fn real() -> Self {
        Self::default()
    }

    /// Every request to `base` (`http://127.0.0.1:4566`): the emulator's one port.
    pub fn single(base: &str) -> Result<Self, EndpointError> {
        match split_base_url(base) {
            Some((scheme, host, path)) if path.trim_end_matches('/').is_empty() => Ok(Self {
                override_base: Some((scheme, host.to_owned())),
            }),
            _ => Err(EndpointError(base.to_owned())),
        }
    }

    pub fn is_overridden(&self) -> bool {
        self.override_base.is_some()
    }

    /// The API host of `cloud` in `region`.
    pub fn api(&self, cloud: Cloud, region: &str) -> Target {
        if let Some((scheme, host)) = &self.override_base {
            return Target {
                scheme: *scheme,
                host: host.clone(),
                path: "/".into(),
            };
        }
        let host = match cloud {
            Cloud::Tencent => "cvm.tencentcloudapi.com".to_owned(),
            Cloud::Alibaba if region == "cn-hangzhou" => "ecs-cn-hangzhou.aliyuncs.com".to_owned(),
            Cloud::Alibaba => format!("ecs.{region}.aliyuncs.com"),
            Cloud::Volcengine if VOLCENGINE_OWN_HOST_REGIONS.contains(&region) => {
                format!("ecs.{region}.volcengineapi.com")
            }
            Cloud::Volcengine => "open.volcengineapi.com".to_owned(),
            Cloud::Huawei => format!("ims.{region}.myhuaweicloud.com"),
        };
        Target {
            scheme: Scheme::Https,
            host,
            path: "/".into(),
        }
    }

    /// The S3-compatible address of `key` in `bucket`: virtual-hosted on the real clouds,
    /// path-style on the emulator.
    pub fn object(&self, cloud: Cloud, region: &str, bucket: &str, key: &str) -> Target {
        let encoded_key = encode_key(key);
        if let Some((scheme, host)) = &self.override_base {
            return Target {
                scheme: *scheme,
                host: host.clone(),
                path: format!("/{bucket}/{encoded_key}"),
            };
        }
        let host = match cloud {
            Cloud::Tencent => format!("{bucket}.cos.{region}.myqcloud.com"),
            Cloud::Alibaba => format!("{bucket}.oss-{region}.aliyuncs.com"),
            Cloud::Volcengine => format!("{bucket}.tos-s3-{region}.volces.com"),
            Cloud::Huawei => format!("{bucket}.obs.{region}.myhuaweicloud.com"),
        };
        Target {
            scheme: Scheme::Https,
            host,
            path: format!("/{encoded_key}"),
        }
    }
}

/// Each segment of an object key encoded on its own, `/` kept, as S3 clients do.
/// `http(s)://host[:port][/path]` as its scheme, a non-empty host and the path (`/` when
/// none); `None` for another scheme, no host, or a query.
pub fn split_base_url(url: &str) -> Option<(Scheme, &str, &str)> {
    let (scheme, rest) = if let Some(rest) = url.strip_prefix("http://") {
        (Scheme::Http, rest)
    } else if let Some(rest) = url.strip_prefix("https://") {
        (Scheme::Https, rest)
    } else {
        return None;
    };
    if rest.contains('?') {
        return None;
    }
    let (host, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    (!host.is_empty()).then_some((scheme, host, path))
}

fn encode_key(key: &str) -> String {
    key.split('/')
        .map(|segment| crate::signing::uri_encode(segment).into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_hosts_follow_each_cloud_rule() {
        let real = Endpoints::real();
        assert_eq!(
            real.api(Cloud::Alibaba, "cn-hangzhou").host,
            "ecs-cn-hangzhou.aliyuncs.com"
        );
        assert_eq!(
            real.api(Cloud::Alibaba, "cn-beijing").host,
            "ecs.cn-beijing.aliyuncs.com"
        );
        assert_eq!(
            real.api(Cloud::Volcengine, "cn-beijing").host,
            "open.volcengineapi.com"
        );
        assert_eq!(
            real.api(Cloud::Volcengine, "ap-southeast-3").host,
            "ecs.ap-southeast-3.volcengineapi.com"
        );
        assert_eq!(
            real.api(Cloud::Huawei, "cn-north-4").host,
            "ims.cn-north-4.myhuaweicloud.com"
        );
        let object = real.object(
            Cloud::Tencent,
            "ap-guangzhou",
            "b-1250000000",
            "dir/a b.qcow2",
        );
        assert_eq!(
            (object.host.as_str(), object.path.as_str()),
            (
                "b-1250000000.cos.ap-guangzhou.myqcloud.com",
                "/dir/a%20b.qcow2"
            )
        );
        assert_eq!(object.scheme, Scheme::Https);
    }

    #[test]
    fn a_single_base_serves_everything_path_style() {
        let emulator = Endpoints::single("http://127.0.0.1:4566/").expect("valid");
        assert_eq!(
            emulator.api(Cloud::Huawei, "cn-north-4").host,
            "127.0.0.1:4566"
        );
        let object = emulator.object(Cloud::Huawei, "cn-north-4", "bkt", "exports/x.qcow2");
        assert_eq!(
            (object.scheme, object.path.as_str()),
            (Scheme::Http, "/bkt/exports/x.qcow2")
        );
        assert!(Endpoints::single("ftp://x").is_err());
        assert!(Endpoints::single("http://host/path").is_err());
    }
}
