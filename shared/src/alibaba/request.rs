//! Alibaba Cloud requests as users write them (ECS ExportImage, CopyImage), and their rules.

use serde::{Deserialize, Serialize};

pub use super::provider::image_id;
use crate::error::ValidationError;
use crate::validate::{self, Checked};

/// `ImageFormat` of ExportImage (raw when absent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    #[default]
    Raw,
    Vhd,
    Qcow2,
    Vmdk,
    Vdi,
}

impl ImageFormat {
    pub fn api_name(self) -> &'static str {
        match self {
            ImageFormat::Raw => "raw",
            ImageFormat::Vhd => "vhd",
            ImageFormat::Qcow2 => "qcow2",
            ImageFormat::Vmdk => "vmdk",
            ImageFormat::Vdi => "vdi",
        }
    }
}

/// ExportImage: export a custom image to an OSS bucket of the same region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportImage {
    /// `RegionId`.
    pub region: String,
    /// `ImageId`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image_id: String,
    /// Instead of ids: choose the images when the job runs (see [`crate::select`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<crate::select::Selector>,
    /// Report what is already done as `skipped` instead of doing it again (see
    /// [`crate::skip`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_existing: bool,
    /// `OSSBucket`.
    pub bucket: String,
    /// `OSSPrefix`: 1 to 30 letters or digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// `ImageFormat`.
    #[serde(default)]
    pub format: ImageFormat,
    /// `RoleName` (AliyunECSImageExportDefaultRole when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_name: Option<String>,
    /// `ClientToken`: at most 64 ASCII characters; the same token never starts a second export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
}

impl ExportImage {
    /// The export of one image, its prefix rendered (see [`crate::names`]) and checked.
    pub fn for_image(
        &self,
        values: &crate::names::NameValues<'_>,
    ) -> Result<Self, ValidationError> {
        let one = Self {
            image_id: values.image_id.to_owned(),
            select: None,
            prefix: crate::names::render_optional("prefix", self.prefix.as_deref(), values)?,
            ..self.clone()
        };
        one.validate()?;
        Ok(one)
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::region("region", &self.region)?;
        crate::select::image_or_select(
            crate::Cloud::Alibaba,
            "image_id",
            &self.image_id,
            self.select.as_ref(),
            image_id,
        )?;
        validate::bucket_name("bucket", &self.bucket)?;
        if self.skip_existing {
            return Err(ValidationError::new(
                "skip_existing",
                "is not supported on Alibaba exports: OSS objects are named after the export task, which a rerun cannot know",
            ));
        }
        if let Some(prefix) = &self.prefix {
            let prefix =
                crate::names::probe("prefix", prefix, &self.image_id, self.select.is_some())?;
            validate::alphanumeric("prefix", &prefix, 30)?;
        }
        if let Some(role) = &self.role_name {
            validate::char_length("role_name", role, 1, 64)?;
            validate::no_control_characters("role_name", role)?;
        }
        if let Some(token) = &self.client_token {
            validate::ascii_token("client_token", token, 64)?;
        }
        Ok(())
    }
}

/// CopyImage, once per destination region: copy a custom image to other regions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopyImage {
    /// `RegionId`: the source region.
    pub region: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image_id: String,
    /// Instead of ids: choose the images when the job runs (see [`crate::select`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<crate::select::Selector>,
    /// Report what is already done as `skipped` instead of doing it again (see
    /// [`crate::skip`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_existing: bool,
    /// `DestinationRegionId`, one CopyImage call each.
    pub destination_regions: Vec<String>,
    /// `DestinationImageName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_name: Option<String>,
    /// `DestinationDescription`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `ClientToken` prefix: each region's call sends `<token>-<region>`, so a repeated job
    /// never starts a second copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
}

impl CopyImage {
    /// The copy of one image, its name rendered (see [`crate::names`]) and checked.
    pub fn for_image(
        &self,
        values: &crate::names::NameValues<'_>,
    ) -> Result<Self, ValidationError> {
        let one = Self {
            image_id: values.image_id.to_owned(),
            select: None,
            image_name: crate::names::render_optional(
                "image_name",
                self.image_name.as_deref(),
                values,
            )?,
            ..self.clone()
        };
        one.validate()?;
        Ok(one)
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::region("region", &self.region)?;
        crate::select::image_or_select(
            crate::Cloud::Alibaba,
            "image_id",
            &self.image_id,
            self.select.as_ref(),
            image_id,
        )?;
        validate::destination_regions(
            "destination_regions",
            &self.destination_regions,
            &self.region,
        )?;
        if let Some(name) = &self.image_name {
            let name =
                crate::names::probe("image_name", name, &self.image_id, self.select.is_some())?;
            image_name("image_name", &name)?;
        }
        if let Some(description) = &self.description {
            validate::char_length("description", description, 2, 256)?;
            if description.starts_with("http://") || description.starts_with("https://") {
                return Err(ValidationError::new(
                    "description",
                    "must not start with http:// or https://",
                ));
            }
        }
        if let Some(token) = &self.client_token {
            // Room for `-<region>` inside the API's 64 characters.
            validate::ascii_token("client_token", token, 40)?;
            for destination in &self.destination_regions {
                if token.len() + 1 + destination.len() > 64 {
                    return Err(ValidationError::new(
                        "client_token",
                        format!(
                            "with `-{destination}` appended must fit ClientToken's 64 characters"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The ClientToken of the call for `destination`.
    pub fn client_token_for(&self, destination: &str) -> Option<String> {
        self.client_token
            .as_ref()
            .map(|token| format!("{token}-{destination}"))
    }
}

/// The ClientToken of one image of a request with `select`: `ifw-` and 32 hex digits of a
/// SHA-256 of the request's token and the image, so that each image's start has its own
/// token, the same on every attempt (36 characters, room for a copy's `-<region>`).
pub fn token_for_image(token: &str, image_id: &str) -> String {
    let digest = crate::signing::sha256_hex(format!("{token}\n{image_id}").as_bytes());
    format!("ifw-{}", digest.get(..32).unwrap_or(&digest))
}

/// 2 to 128 characters, starting with a letter or a Chinese character, not with `aliyun` or
/// `acs:`, no `http://` or `https://`; letters, digits, `.:_-` and Chinese characters (the
/// SDK model's `DestinationImageName`; "letters" are ASCII ones).
fn image_name(field: &str, value: &str) -> Checked {
    validate::char_length(field, value, 2, 128)?;
    let starts_with_letter = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || validate::is_chinese(c));
    let allowed = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || validate::is_chinese(c) || ".:_-".contains(c));
    let reserved = value.starts_with("aliyun")
        || value.starts_with("acs:")
        || value.contains("http://")
        || value.contains("https://");
    if starts_with_letter && allowed && !reserved {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            "must start with a letter, contain only letters, digits and `.:_-`, and not start with `aliyun` or `acs:` or contain http:// or https://",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_rules_name_their_fields() {
        let valid = ExportImage {
            region: "cn-hangzhou".into(),
            image_id: "m-bp1web000000000000001".into(),
            select: None,
            skip_existing: false,
            bucket: "imgflow-oss-backup".into(),
            prefix: Some("web2025".into()),
            format: ImageFormat::Qcow2,
            role_name: None,
            client_token: Some("job-42".into()),
        };
        assert_eq!(valid.validate(), Ok(()));
        let field = |change: fn(&mut ExportImage)| {
            let mut request = valid.clone();
            change(&mut request);
            request.validate().map_err(|e| e.field)
        };
        assert_eq!(
            field(|r| r.prefix = Some("web_2025".into())),
            Err("prefix".into())
        );
        assert_eq!(
            field(|r| r.prefix = Some("a".repeat(31))),
            Err("prefix".into())
        );
        assert_eq!(
            field(|r| r.image_id = "img-1".into()),
            Err("image_id".into())
        );
        assert_eq!(
            field(|r| r.bucket = "Bad_Bucket".into()),
            Err("bucket".into())
        );
        assert_eq!(
            field(|r| r.client_token = Some("x".repeat(65))),
            Err("client_token".into())
        );
    }

    #[test]
    fn copy_names_follow_the_documented_rule_and_tokens_differ_per_region() {
        let mut copy = CopyImage {
            region: "cn-hangzhou".into(),
            image_id: "m-bp1web000000000000001".into(),
            select: None,
            skip_existing: false,
            destination_regions: vec!["cn-shanghai".into(), "cn-beijing".into()],
            image_name: Some("web-copy".into()),
            description: None,
            client_token: Some("job-42".into()),
        };
        assert_eq!(copy.validate(), Ok(()));
        assert_eq!(
            copy.client_token_for("cn-beijing").as_deref(),
            Some("job-42-cn-beijing")
        );
        copy.image_name = Some("aliyun-copy".into());
        assert_eq!(
            copy.validate().map_err(|e| e.field),
            Err("image_name".into())
        );
        copy.image_name = Some("1copy".into());
        assert_eq!(
            copy.validate().map_err(|e| e.field),
            Err("image_name".into())
        );
        copy.image_name = Some("Éte-copy".into());
        assert_eq!(
            copy.validate().map_err(|e| e.field),
            Err("image_name".into())
        );
        copy.image_name = Some("备份-web".into());
        assert_eq!(copy.validate(), Ok(()));
        copy.client_token = Some("t".repeat(40));
        copy.destination_regions = vec!["cn-beijing".into(), "cn-wulanchabu".into()];
        assert_eq!(copy.validate(), Ok(()));
        copy.destination_regions = vec!["ap-southeast-12345678901".into()];
        assert_eq!(
            copy.validate().map_err(|e| e.field),
            Err("client_token".into())
        );
    }
}
