//! Tencent Cloud requests as users write them (CVM ExportImages, SyncImages), and the rules
//! they must follow before anything is sent.

use serde::{Deserialize, Serialize};

pub use super::provider::image_id;
use crate::error::ValidationError;
use crate::validate::{self, Checked};

/// Export formats of ExportImages (`ExportFormat`); RAW when absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ExportFormat {
    #[default]
    #[serde(alias = "raw")]
    Raw,
    #[serde(alias = "qcow2")]
    Qcow2,
    #[serde(alias = "vhd")]
    Vhd,
    #[serde(alias = "vmdk")]
    Vmdk,
}

impl ExportFormat {
    pub fn api_name(self) -> &'static str {
        match self {
            ExportFormat::Raw => "RAW",
            ExportFormat::Qcow2 => "QCOW2",
            ExportFormat::Vhd => "VHD",
            ExportFormat::Vmdk => "VMDK",
        }
    }
}

/// ExportImages: export custom images to a COS bucket of the same region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportImages {
    pub region: String,
    /// `BucketName`: the COS bucket, `<name>-<appid>`.
    pub bucket: String,
    /// `ImageIds`: the images to export.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_ids: Vec<String>,
    /// Instead of ids: choose the images when the job runs (see [`crate::select`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<crate::select::Selector>,
    /// Report what is already done as `skipped` instead of doing it again (see
    /// [`crate::skip`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_existing: bool,
    /// `ExportFormat`.
    #[serde(default)]
    pub format: ExportFormat,
    /// `FileNamePrefixList`: one prefix per image, in the same order; empty for none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file_name_prefixes: Vec<String>,
    /// `OnlyExportRootDisk`.
    #[serde(default)]
    pub only_export_root_disk: bool,
    /// `DryRun`: only check that the images can be exported.
    #[serde(default)]
    pub dry_run: bool,
    /// `RoleName`: the CAM role CVM uses to write to COS (`CVM_QcsRole` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_name: Option<String>,
}

/// The image id placeholders render to when a request is checked before its images are known.
const PROBE_IMAGE_ID: &str = "img-00000000";

impl ExportImages {
    /// The export of `images` (id and, with `select`, name), each prefix rendered for its
    /// image (see [`crate::names`]; with `select`, the one prefix for every image) and checked.
    pub fn for_images(
        &self,
        images: &[(String, Option<String>)],
        start: u64,
        job_id: Option<&str>,
    ) -> Result<Self, ValidationError> {
        let mut prefixes = Vec::new();
        if !self.file_name_prefixes.is_empty() {
            for (i, (id, name)) in images.iter().enumerate() {
                let template = if self.select.is_some() {
                    self.file_name_prefixes.first()
                } else {
                    self.file_name_prefixes.get(i)
                };
                let Some(template) = template else { break };
                let values = crate::names::NameValues {
                    start,
                    job_id,
                    image_id: id,
                    image_name: name.as_deref(),
                };
                let field = format!("file_name_prefixes[{i}]");
                prefixes.push(crate::names::render_owned(&field, template, &values)?);
            }
        }
        let batch = Self {
            image_ids: images.iter().map(|(id, _)| id.clone()).collect(),
            select: None,
            file_name_prefixes: prefixes,
            ..self.clone()
        };
        batch.validate()?;
        Ok(batch)
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::region("region", &self.region)?;
        cos_bucket("bucket", &self.bucket)?;
        crate::select::one_of(
            "image_ids",
            !self.image_ids.is_empty(),
            self.select.as_ref(),
        )?;
        if let Some(selector) = &self.select {
            selector.validate(crate::Cloud::Tencent, "select")?;
            // One prefix for every selected image, as the ids are not known yet.
            validate::at_most("file_name_prefixes", &self.file_name_prefixes, 1).map_err(|_| {
                ValidationError::new(
                    "file_name_prefixes",
                    "with `select`, give at most one prefix: it is used for every selected image",
                )
            })?;
            return validate::each(
                "file_name_prefixes",
                &self.file_name_prefixes,
                |field, prefix| {
                    let prefix =
                        crate::names::probe(field, prefix, PROBE_IMAGE_ID, self.select.is_some())?;
                    validate::key_prefix(field, &prefix, MAX_PREFIX_CHARS)
                },
            )
            .and(
                self.role_name
                    .as_deref()
                    .map_or(Ok(()), |r| role_name("role_name", r)),
            );
        }
        validate::distinct_non_empty("image_ids", &self.image_ids)?;
        validate::at_most("image_ids", &self.image_ids, MAX_EXPORT_IMAGES)?;
        validate::each("image_ids", &self.image_ids, image_id)?;
        if !self.file_name_prefixes.is_empty() {
            if self.file_name_prefixes.len() != self.image_ids.len() {
                return Err(ValidationError::new(
                    "file_name_prefixes",
                    format!(
                        "must have one prefix per image: {} prefixes for {} images",
                        self.file_name_prefixes.len(),
                        self.image_ids.len()
                    ),
                ));
            }
            validate::each(
                "file_name_prefixes",
                &self.file_name_prefixes,
                |field, prefix| {
                    let prefix =
                        crate::names::probe(field, prefix, PROBE_IMAGE_ID, self.select.is_some())?;
                    validate::key_prefix(field, &prefix, MAX_PREFIX_CHARS)
                },
            )?;
        }
        if let Some(role) = &self.role_name {
            role_name("role_name", role)?;
        }
        Ok(())
    }
}

/// Images one ExportImages call takes: the emulator's limit (`InvalidParameterValue.
/// LimitExceeded` above it); neither the API page nor the SDK model documents the cloud's.
pub const MAX_EXPORT_IMAGES: usize = 10;
/// Characters of one file name prefix: the emulator's limit (`InvalidParameterValue.TooLarge`
/// above it), undocumented by the API page and the SDK model.
pub const MAX_PREFIX_CHARS: usize = 64;

/// SyncImages: copy one custom image to other regions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncImages {
    pub region: String,
    /// `ImageIds`: the image to copy (one per call, as the API allows).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image_id: String,
    /// Instead of ids: choose the images when the job runs (see [`crate::select`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<crate::select::Selector>,
    /// Report what is already done as `skipped` instead of doing it again (see
    /// [`crate::skip`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_existing: bool,
    /// `DestinationRegions`.
    pub destination_regions: Vec<String>,
    /// `ImageName`: the name of the copies (the source's name when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_name: Option<String>,
    /// `ImageSetRequired`: return the copies' ids. On unless turned off: without the ids the
    /// copies cannot be followed.
    #[serde(default = "yes")]
    pub image_set_required: bool,
    /// `DryRun`.
    #[serde(default)]
    pub dry_run: bool,
}

fn yes() -> bool {
    true
}

impl SyncImages {
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::region("region", &self.region)?;
        crate::select::image_or_select(
            crate::Cloud::Tencent,
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
        if self.select.is_some()
            && self
                .image_name
                .as_ref()
                .is_some_and(|n| !n.contains("{image_id}"))
        {
            // A retried start finds its copies by name: one name for several images could
            // not tell them apart.
            return Err(ValidationError::new(
                "image_name",
                "with `select`, must contain {image_id} or be absent (each copy then keeps its source's name): a retry finds each copy by its name",
            ));
        }
        if let Some(name) = &self.image_name {
            let name = crate::names::probe(
                "image_name",
                name,
                if self.image_id.is_empty() {
                    PROBE_IMAGE_ID
                } else {
                    &self.image_id
                },
                self.select.is_some(),
            )?;
            // SyncImages' ImageName: at most 60 characters.
            validate::char_length("image_name", &name, 1, 60)?;
            validate::no_control_characters("image_name", &name)?;
        }
        Ok(())
    }

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
}

/// COS bucket names end in `-<APPID>`: lowercase letters, digits and `-` (not first or last),
/// then the 10-digit APPID (`InvalidParameterValue.InvalidAppIdFormat` otherwise); at most 63
/// characters in all, as the bucket is a DNS label of its host.
pub fn cos_bucket(field: &str, value: &str) -> Checked {
    let ok = value.len() <= 63
        && value.rsplit_once('-').is_some_and(|(name, appid)| {
            !name.is_empty()
                && appid.len() == 10
                && appid.bytes().all(|b| b.is_ascii_digit())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !name.starts_with('-')
                && !name.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            format!(
                "must be a COS bucket `<name>-<appid>` of at most 63 characters (lowercase letters, digits, `-`, then the 10-digit APPID), got `{value}`"
            ),
        ))
    }
}

/// CAM role names: 1 to 128 of letters, digits and `+=,.@_-`.
fn role_name(field: &str, value: &str) -> Checked {
    let ok = (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            "must be 1 to 128 letters, digits or `+=,.@_-`",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export() -> ExportImages {
        serde_json::from_value(serde_json::json!({
            "region": "ap-guangzhou", "bucket": "backup-1250000000",
            "image_ids": ["img-web00001", "img-db000001"], "format": "qcow2",
            "file_name_prefixes": ["web", "db"]
        }))
        .expect("parses")
    }

    #[test]
    fn a_valid_export_passes_and_keeps_its_fields() {
        let request = export();
        assert_eq!(request.validate(), Ok(()));
        assert_eq!(request.format, ExportFormat::Qcow2);
        assert!(!request.dry_run);
    }

    #[test]
    fn each_rule_names_its_field() {
        type Breakage = (fn(&mut ExportImages), &'static str);
        let cases: [Breakage; 15] = [
            (|r| r.image_ids[1] = "img-BAD".into(), "image_ids[1]"),
            (|r| r.image_ids.clear(), "image_ids"),
            (|r| r.file_name_prefixes.truncate(1), "file_name_prefixes"),
            (
                |r| r.file_name_prefixes[0] = String::new(),
                "file_name_prefixes[0]",
            ),
            (|r| r.bucket = "backup".into(), "bucket"),
            (|r| r.region = "guangzhou".into(), "region"),
            (|r| r.role_name = Some("bad role".into()), "role_name"),
            (|r| r.bucket = "backup-125".into(), "bucket"),
            (
                |r| {
                    r.image_ids = (0..11).map(|i| format!("img-{i:08}")).collect();
                    r.file_name_prefixes.clear();
                },
                "image_ids",
            ),
            (
                |r| r.file_name_prefixes[1] = "p".repeat(65),
                "file_name_prefixes[1]",
            ),
            (
                |r| r.file_name_prefixes[0] = "exports/../web".into(),
                "file_name_prefixes[0]",
            ),
            (
                |r| r.file_name_prefixes[0] = "/web".into(),
                "file_name_prefixes[0]",
            ),
            (
                |r| r.file_name_prefixes[0] = "a//b".into(),
                "file_name_prefixes[0]",
            ),
            (
                |r| r.file_name_prefixes[0] = "a\\b".into(),
                "file_name_prefixes[0]",
            ),
            (
                |r| r.file_name_prefixes[0] = "./web".into(),
                "file_name_prefixes[0]",
            ),
        ];
        for (break_it, field) in cases {
            let mut request = export();
            break_it(&mut request);
            assert_eq!(
                request.validate().map_err(|e| e.field),
                Err(field.to_owned())
            );
        }
    }

    #[test]
    fn the_clouds_limits_hold_at_their_edges() {
        let mut request = export();
        request.image_ids = (0..10).map(|i| format!("img-{i:08}")).collect();
        request.file_name_prefixes = vec!["p".repeat(64); 10];
        assert_eq!(request.validate(), Ok(()));
        request.file_name_prefixes[0] = "exports/2025/web".into();
        assert_eq!(request.validate(), Ok(()));
    }

    #[test]
    fn unknown_fields_and_formats_are_refused_when_parsing() {
        let unknown = serde_json::from_value::<ExportImages>(serde_json::json!({
            "region": "ap-guangzhou", "bucket": "b-1", "image_ids": [], "colour": "red"}));
        assert!(
            unknown
                .expect_err("unknown field")
                .to_string()
                .contains("colour")
        );
        let format = serde_json::from_value::<ExportImages>(serde_json::json!({
            "region": "ap-guangzhou", "bucket": "b-1", "image_ids": [], "format": "iso"}));
        assert!(format.is_err());
    }

    #[test]
    fn a_sync_must_leave_its_region_and_keep_names_short() {
        let mut sync = SyncImages {
            region: "ap-guangzhou".into(),
            image_id: "img-web00001".into(),
            select: None,
            skip_existing: false,
            destination_regions: vec!["ap-shanghai".into(), "ap-guangzhou".into()],
            image_name: None,
            image_set_required: true,
            dry_run: false,
        };
        assert_eq!(
            sync.validate().map_err(|e| e.field),
            Err("destination_regions[1]".to_owned())
        );
        sync.destination_regions.pop();
        sync.image_name = Some("x".repeat(61));
        assert_eq!(
            sync.validate().map_err(|e| e.field),
            Err("image_name".to_owned())
        );
        sync.image_name = Some("备份 2025".into());
        assert_eq!(sync.validate(), Ok(()));
    }
}
