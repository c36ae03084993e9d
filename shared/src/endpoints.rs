//! Where each cloud's API and object storage live. Real hosts by default; one base URL (the
//! emulator's) when configured. Only configuration can change them, never a request payload:
//! a region must be on the cloud's closed list ([`crate::regions`]) or declared by
//! configuration, a bucket and a key must pass their cloud's rules, and every host is built
//! only from those.

use std::collections::BTreeSet;

use crate::Cloud;
use crate::error::ValidationError;
use crate::transport::Scheme;
use crate::validate;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// `(scheme, host:port)` serving every cloud, path-style buckets included.
    override_base: Option<(Scheme, String)>,
    /// Regions configuration declares beyond the closed lists (`IMGFLOW_EXTRA_REGIONS`).
    extra_regions: BTreeSet<(Cloud, String)>,
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

/// `IMGFLOW_EXTRA_REGIONS` that is not a list of `cloud:region`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("extra regions: `{entry}`: {rule}")]
pub struct ExtraRegionError {
    pub entry: String,
    pub rule: String,
}

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
                extra_regions: BTreeSet::new(),
            }),
            _ => Err(EndpointError(base.to_owned())),
        }
    }

    pub fn is_overridden(&self) -> bool {
        self.override_base.is_some()
    }

    /// Also accepts `regions` of `cloud`: regions the closed lists do not have yet, or an
    /// emulator's made-up ones. Each must still be a well-formed region id.
    pub fn with_extra_regions<'a>(
        mut self,
        cloud: Cloud,
        regions: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, ExtraRegionError> {
        for region in regions {
            validate::region("region", region).map_err(|err| ExtraRegionError {
                entry: format!("{cloud}:{region}"),
                rule: err.rule,
            })?;
            self.extra_regions.insert((cloud, region.to_owned()));
        }
        Ok(self)
    }

    /// Declares the regions of `list`, `cloud:region` separated by commas
    /// (`IMGFLOW_EXTRA_REGIONS=huawei:cn-north-13,tencent:ap-taipei`).
    pub fn with_extra_region_list(mut self, list: &str) -> Result<Self, ExtraRegionError> {
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let parsed = entry.split_once(':').and_then(|(cloud, region)| {
                let cloud = Cloud::ALL.into_iter().find(|c| c.name() == cloud.trim())?;
                Some((cloud, region.trim()))
            });
            let Some((cloud, region)) = parsed else {
                return Err(ExtraRegionError {
                    entry: entry.to_owned(),
                    rule: format!(
                        "expected `<cloud>:<region>` with cloud {}",
                        Cloud::ALL.map(Cloud::name).join(", ")
                    ),
                });
            };
            self = self.with_extra_regions(cloud, [region])?;
        }
        Ok(self)
    }

    /// Whether `region` is one of `cloud`'s: on the closed list or declared by configuration.
    pub fn knows_region(&self, cloud: Cloud, region: &str) -> bool {
        crate::regions::is_known(cloud, region)
            || self.extra_regions.contains(&(cloud, region.to_owned()))
    }

    /// `region` (the value of `field`) as a region of `cloud` this deployment may send to.
    pub fn check_region(
        &self,
        cloud: Cloud,
        field: &str,
        region: &str,
    ) -> Result<(), ValidationError> {
        validate::region(field, region)?;
        if self.knows_region(cloud, region) {
            Ok(())
        } else {
            Err(ValidationError::new(
                field,
                format!(
                    "`{region}` is not a {cloud} region this deployment knows (see the closed list in the README; IMGFLOW_EXTRA_REGIONS declares more)"
                ),
            ))
        }
    }

    /// The API host of `cloud` in `region`; refused unless the region is one of the cloud's.
    pub fn api(&self, cloud: Cloud, region: &str) -> Result<Target, ValidationError> {
        self.check_region(cloud, "region", region)?;
        Ok(self.api_host(cloud, region))
    }

    fn api_host(&self, cloud: Cloud, region: &str) -> Target {
        if let Some((scheme, host)) = &self.override_base {
            return Target {
                scheme: *scheme,
                host: host.clone(),
                path: "/".into(),
            };
        }
        let host = crate::providers::of(cloud).api_host(region);
        Target {
            scheme: Scheme::Https,
            host,
            path: "/".into(),
        }
    }

    /// The S3-compatible address of `key` in `bucket`: virtual-hosted on the real clouds,
    /// path-style on the emulator. Refused unless the region is one of the cloud's and the
    /// bucket and key pass the cloud's rules, so that neither can change the host or the path.
    pub fn object(
        &self,
        cloud: Cloud,
        region: &str,
        bucket: &str,
        key: &str,
    ) -> Result<Target, ValidationError> {
        self.check_region(cloud, "region", region)?;
        validate_bucket(cloud, "bucket", bucket)?;
        validate::object_key("key", key)?;
        Ok(self.object_address(cloud, region, bucket, key))
    }

    fn object_address(&self, cloud: Cloud, region: &str, bucket: &str, key: &str) -> Target {
        let encoded_key = encode_key(key);
        if let Some((scheme, host)) = &self.override_base {
            return Target {
                scheme: *scheme,
                host: host.clone(),
                path: format!("/{bucket}/{encoded_key}"),
            };
        }
        let host = crate::providers::of(cloud).object_host(bucket, region);
        Target {
            scheme: Scheme::Https,
            host,
            path: format!("/{encoded_key}"),
        }
    }
}

/// A bucket name by `cloud`'s rule: COS names end in `-<APPID>`; OSS, TOS and OBS names are
/// S3-style.
pub fn validate_bucket(cloud: Cloud, field: &str, bucket: &str) -> Result<(), ValidationError> {
    crate::providers::of(cloud).validate_bucket(field, bucket)
}

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

/// Each segment of an object key encoded on its own, `/` kept, as S3 clients do. A segment of
/// dots only is encoded whole (`%2E%2E`): RFC 3986 normalisers leave it alone. (WHATWG URL
/// parsers still read `%2E` as a dot, so the keys' rule refuses such segments and the
/// transport refuses any URL its parser would change.)
fn encode_key(key: &str) -> String {
    key.split('/')
        .map(|segment| {
            if !segment.is_empty() && segment.bytes().all(|b| b == b'.') {
                "%2E".repeat(segment.len())
            } else {
                crate::signing::uri_encode(segment).into_owned()
            }
        })
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
            real.api(Cloud::Alibaba, "cn-hangzhou").expect("known").host,
            "ecs-cn-hangzhou.aliyuncs.com"
        );
        assert_eq!(
            real.api(Cloud::Alibaba, "cn-beijing").expect("known").host,
            "ecs.cn-beijing.aliyuncs.com"
        );
        assert_eq!(
            real.api(Cloud::Volcengine, "cn-beijing")
                .expect("known")
                .host,
            "open.volcengineapi.com"
        );
        assert_eq!(
            real.api(Cloud::Volcengine, "ap-southeast-3")
                .expect("known")
                .host,
            "ecs.ap-southeast-3.volcengineapi.com"
        );
        assert_eq!(
            real.api(Cloud::Huawei, "cn-north-4").expect("known").host,
            "ims.cn-north-4.myhuaweicloud.com"
        );
        let object = real
            .object(
                Cloud::Tencent,
                "ap-guangzhou",
                "b-1250000000",
                "dir/a b.qcow2",
            )
            .expect("valid");
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
            emulator
                .api(Cloud::Huawei, "cn-north-4")
                .expect("known")
                .host,
            "127.0.0.1:4566"
        );
        let object = emulator
            .object(Cloud::Huawei, "cn-north-4", "bkt", "exports/x.qcow2")
            .expect("valid");
        assert_eq!(
            (object.scheme, object.path.as_str()),
            (Scheme::Http, "/bkt/exports/x.qcow2")
        );
        assert!(Endpoints::single("ftp://x").is_err());
        assert!(Endpoints::single("http://host/path").is_err());
    }

    #[test]
    fn hosts_come_only_from_known_regions_and_valid_names() {
        let real = Endpoints::real();
        let hostile = "x@127.0.0.1:9/";
        let err = real.api(Cloud::Alibaba, hostile).expect_err("not a region");
        assert_eq!(err.field, "region");
        let err = real
            .api(Cloud::Huawei, "cn-moon-1")
            .expect_err("well formed, not on the list");
        assert!(err.rule.contains("IMGFLOW_EXTRA_REGIONS"), "{}", err.rule);
        let err = real
            .object(Cloud::Tencent, "ap-guangzhou", hostile, "k")
            .expect_err("bucket");
        assert_eq!(err.field, "bucket");
        let err = real
            .object(Cloud::Huawei, "cn-north-4", "bkt", "exports/../web2.qcow2")
            .expect_err("dot segment");
        assert_eq!(err.field, "key");
        let extra = Endpoints::real()
            .with_extra_region_list("huawei:cn-moon-1, tencent:ap-moon")
            .expect("declared");
        assert!(extra.api(Cloud::Huawei, "cn-moon-1").is_ok());
        assert!(extra.api(Cloud::Alibaba, "cn-moon-1").is_err());
        assert!(
            Endpoints::real()
                .with_extra_region_list("aws:us-east-1")
                .is_err()
        );
        assert!(
            Endpoints::real()
                .with_extra_region_list("huawei:x@y")
                .is_err()
        );
    }

    #[test]
    fn dot_segments_are_encoded_whole() {
        assert_eq!(encode_key("a/../b/./c d"), "a/%2E%2E/b/%2E/c%20d");
        assert_eq!(encode_key("a/..b/c."), "a/..b/c.");
    }
}
