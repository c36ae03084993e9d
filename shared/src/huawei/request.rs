//! Huawei Cloud requests as users write them (IMS export, cross-region copy), and their rules.

use serde::{Deserialize, Serialize};

pub use super::provider::image_id;
use crate::error::ValidationError;
use crate::validate::{self, Checked};

/// `file_format` of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    Qcow2,
    Vhd,
    Zvhd,
    Vmdk,
}

impl FileFormat {
    pub fn api_name(self) -> &'static str {
        match self {
            FileFormat::Qcow2 => "qcow2",
            FileFormat::Vhd => "vhd",
            FileFormat::Zvhd => "zvhd",
            FileFormat::Vmdk => "vmdk",
        }
    }
}

/// Export: `POST /v1/cloudimages/{image_id}/file` to an OBS bucket of the same region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportImage {
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
    /// The OBS bucket (the part of `bucket_url` before `:`).
    pub bucket: String,
    /// The object to write (the part of `bucket_url` after `:`).
    pub object_key: String,
    /// `file_format`: required unless `quick_export`, and not allowed with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_format: Option<FileFormat>,
    /// `is_quick_export`: required for images over 128 GB.
    #[serde(default)]
    pub quick_export: bool,
}

impl ExportImage {
    /// The export of one image, its object key rendered (see [`crate::names`]) and checked.
    pub fn for_image(
        &self,
        values: &crate::names::NameValues<'_>,
    ) -> Result<Self, ValidationError> {
        let one = Self {
            image_id: values.image_id.to_owned(),
            select: None,
            object_key: crate::names::render_owned("object_key", &self.object_key, values)?,
            ..self.clone()
        };
        one.validate()?;
        Ok(one)
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::region("region", &self.region)?;
        crate::select::image_or_select(
            crate::Cloud::Huawei,
            "image_id",
            &self.image_id,
            self.select.as_ref(),
            image_id,
        )?;
        validate::bucket_name("bucket", &self.bucket)?;
        if self.select.is_some() && !self.object_key.contains("{image_id}") {
            return Err(ValidationError::new(
                "object_key",
                "must contain {image_id} with `select` (each selected image needs its own object), e.g. `backups/{date}/{image_id}.qcow2`",
            ));
        }
        let key = crate::names::probe(
            "object_key",
            &self.object_key,
            &self.image_id,
            self.select.is_some(),
        )?;
        file_name("object_key", &key)?;
        match (self.quick_export, self.file_format) {
            (true, Some(_)) => Err(ValidationError::new(
                "file_format",
                "must be absent with quick_export: a quick export keeps the image's own format",
            )),
            (false, None) => Err(ValidationError::new(
                "file_format",
                "is required unless quick_export is true (qcow2, vhd, zvhd or vmdk)",
            )),
            _ => Ok(()),
        }
    }

    /// `bucket_url`: `<bucket>:<object key>`.
    pub fn bucket_url(&self) -> String {
        format!("{}:{}", self.bucket, self.object_key)
    }
}

/// Cross-region copy: `POST /v1/cloudimages/{image_id}/cross_region_copy`, once per region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopyImage {
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
    /// `region` of each call.
    pub destination_regions: Vec<String>,
    /// `name` of the copies.
    pub image_name: String,
    /// `description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `agency_name`: the IAM agency IMS uses in the destination region.
    pub agency_name: String,
    /// `vault_id`, for images backed by CBR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_id: Option<String>,
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
            image_name: crate::names::render_owned("image_name", &self.image_name, values)?,
            ..self.clone()
        };
        one.validate()?;
        Ok(one)
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::region("region", &self.region)?;
        crate::select::image_or_select(
            crate::Cloud::Huawei,
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
        let name = crate::names::probe(
            "image_name",
            &self.image_name,
            &self.image_id,
            self.select.is_some(),
        )?;
        image_name("image_name", &name)?;
        if let Some(description) = &self.description {
            validate::char_length("description", description, 0, 1024)?;
            if description.contains(['<', '>', '\r', '\n']) {
                return Err(ValidationError::new(
                    "description",
                    "must not contain `<`, `>` or line breaks",
                ));
            }
        }
        validate::required("agency_name", &self.agency_name)?;
        validate::char_length("agency_name", &self.agency_name, 1, 64)
    }
}

/// The exported file (the `<file>` of `bucket_url`): 1 to 128 ASCII letters, digits, `-`, `.`
/// and `_`, with `/` between folder names (IMS's IMG.0073, IMG.0074, IMG.0075 and IMG.0175),
/// and no `.` or `..` folder ([`validate::safe_path`]: the object must be found where IMS
/// writes it).
fn file_name(field: &str, value: &str) -> Checked {
    validate::char_length(field, value, 1, 128)?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-._/".contains(c);
    if !value.chars().all(allowed) {
        return Err(ValidationError::new(
            field,
            "must contain only ASCII letters, digits, `-`, `.`, `_` and `/` (between folder names)",
        ));
    }
    validate::safe_path(field, value)
}

/// 1 to 128 characters of letters, digits, spaces, `-`, `_` and `.`, not starting or ending
/// with a space.
fn image_name(field: &str, value: &str) -> Checked {
    validate::char_length(field, value, 1, 128)?;
    let allowed = value
        .chars()
        .all(|c| c.is_alphanumeric() || " -_.".contains(c));
    if allowed && value.trim() == value {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            "must contain only letters, digits, spaces, `-`, `_` and `.`, and not start or end with a space",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export() -> ExportImage {
        ExportImage {
            region: "cn-north-4".into(),
            image_id: "4d0ab5e2-3114-578f-81d7-2d843f36e39b".into(),
            select: None,
            skip_existing: false,
            bucket: "imgflow-obs-backup".into(),
            object_key: "exports/web.qcow2".into(),
            file_format: Some(FileFormat::Qcow2),
            quick_export: false,
        }
    }

    #[test]
    fn quick_export_and_file_format_exclude_each_other() {
        assert_eq!(export().validate(), Ok(()));
        assert_eq!(
            export().bucket_url(),
            "imgflow-obs-backup:exports/web.qcow2"
        );
        let mut quick_with_format = export();
        quick_with_format.quick_export = true;
        assert_eq!(
            quick_with_format.validate().map_err(|e| e.field),
            Err("file_format".into())
        );
        let mut neither = export();
        neither.file_format = None;
        assert_eq!(
            neither.validate().map_err(|e| e.field),
            Err("file_format".into())
        );
        let mut quick = neither;
        quick.quick_export = true;
        assert_eq!(quick.validate(), Ok(()));
    }

    #[test]
    fn object_keys_reach_the_object_store_as_written() {
        for key in [
            "exports/../web2.qcow2",
            "exports/./web2.qcow2",
            "../web2.qcow2",
            "/exports/web2.qcow2",
            "exports//web2.qcow2",
            "exports/",
            "exports\\web2.qcow2",
            "exports/web 2.qcow2",
            "exports/web\u{7}.qcow2",
            "导出/web2.qcow2",
        ] {
            let mut request = export();
            request.object_key = key.into();
            assert_eq!(
                request.validate().map_err(|e| e.field),
                Err("object_key".into()),
                "{key:?}"
            );
        }
        let mut long = export();
        long.object_key = format!("exports/{}", "a".repeat(121));
        assert_eq!(
            long.validate().map_err(|e| e.field),
            Err("object_key".into())
        );
        long.object_key = format!("exports/{}", "a".repeat(120));
        assert_eq!(long.validate(), Ok(()));
        long.object_key = "exports/web..2.qcow2".into();
        assert_eq!(long.validate(), Ok(()));
    }

    #[test]
    fn image_ids_are_uuids_and_copies_need_an_agency() {
        let mut bad = export();
        bad.image_id = "img-web00001".into();
        assert_eq!(bad.validate().map_err(|e| e.field), Err("image_id".into()));
        let copy = CopyImage {
            region: "cn-north-4".into(),
            image_id: "4d0ab5e2-3114-578f-81d7-2d843f36e39b".into(),
            select: None,
            skip_existing: false,
            destination_regions: vec!["cn-east-3".into()],
            image_name: "web copy".into(),
            description: None,
            agency_name: String::new(),
            vault_id: None,
        };
        assert_eq!(
            copy.validate().map_err(|e| e.field),
            Err("agency_name".into())
        );
    }
}
