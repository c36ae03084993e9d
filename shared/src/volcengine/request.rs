//! Volcengine requests as users write them (ECS ExportImage, CopyImage), and their rules.

use serde::{Deserialize, Serialize};

pub use super::provider::image_id;
use crate::error::ValidationError;
use crate::validate::{self, Checked};

/// ExportImage: export an image to a TOS bucket as `<TOSPrefix>_<ImageId>_system.qcow2`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportImage {
    /// The region (it travels only in the signature's credential scope).
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
    /// `TOSBucket`.
    pub bucket: String,
    /// `TOSPrefix`: required, 1 to 30 letters or digits.
    pub prefix: String,
}

impl ExportImage {
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::region("region", &self.region)?;
        crate::select::image_or_select(
            crate::Cloud::Volcengine,
            "image_id",
            &self.image_id,
            self.select.as_ref(),
            image_id,
        )?;
        validate::bucket_name("bucket", &self.bucket)?;
        let prefix = crate::names::probe(
            "prefix",
            &self.prefix,
            &self.image_id,
            self.select.is_some(),
        )?;
        validate::alphanumeric("prefix", &prefix, 30)
    }

    /// The export of one image, its prefix rendered (see [`crate::names`]) and checked.
    pub fn for_image(
        &self,
        values: &crate::names::NameValues<'_>,
    ) -> Result<Self, ValidationError> {
        let one = Self {
            image_id: values.image_id.to_owned(),
            select: None,
            prefix: crate::names::render_owned("prefix", &self.prefix, values)?,
            ..self.clone()
        };
        one.validate()?;
        Ok(one)
    }

    /// The object the export writes (ExportImage's documented naming).
    pub fn object_key(&self) -> String {
        format!("{}_{}_system.qcow2", self.prefix, self.image_id)
    }
}

/// CopyImage, once per destination region.
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
    /// `DestinationRegion`, one CopyImage call each.
    pub destination_regions: Vec<String>,
    /// `ImageName` of the copies.
    pub image_name: String,
    /// `Description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `ProjectName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_name: Option<String>,
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
        if self.select.is_some() && !self.image_name.contains("{image_id}") {
            // A retried copy is found by its name in the destination: each selected image's
            // copies need a name of their own.
            return Err(ValidationError::new(
                "image_name",
                "must contain {image_id} with `select` (a retry finds each copy by its name, so each image's copies need their own), e.g. `backup-{image_id}`",
            ));
        }
        validate::region("region", &self.region)?;
        crate::select::image_or_select(
            crate::Cloud::Volcengine,
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
            description_text("description", description)?;
        }
        if let Some(project) = &self.project_name {
            validate::char_length("project_name", project, 1, 64)?;
        }
        Ok(())
    }
}

fn starts_with_letter(value: &str) -> bool {
    value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || validate::is_chinese(c))
}

/// CopyImage's `ImageName`: 1 to 128 characters, starting with a letter or a Chinese
/// character; Chinese characters, letters, digits, `_`, `-` and `.`.
fn image_name(field: &str, value: &str) -> Checked {
    validate::char_length(field, value, 1, 128)?;
    let allowed =
        |c: char| c.is_ascii_alphanumeric() || validate::is_chinese(c) || "_-.".contains(c);
    if starts_with_letter(value) && value.chars().all(allowed) {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            "must start with a letter or a Chinese character and contain only Chinese characters, letters, digits, `_`, `-` and `.`",
        ))
    }
}

/// CopyImage's `Description`: empty, or up to 255 characters starting with a letter or a
/// Chinese character; Chinese characters, letters, digits, spaces and `_ - = , .`, `，`, `。`.
fn description_text(field: &str, value: &str) -> Checked {
    if value.is_empty() {
        return Ok(());
    }
    validate::char_length(field, value, 1, 255)?;
    let allowed =
        |c: char| c.is_ascii_alphanumeric() || validate::is_chinese(c) || "_-=,.，。 ".contains(c);
    if starts_with_letter(value) && value.chars().all(allowed) {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            "must start with a letter or a Chinese character and contain only Chinese characters, letters, digits, spaces, `_ - = , .`, `，` and `。`",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_is_required_and_names_the_object() {
        let mut export = ExportImage {
            region: "cn-beijing".into(),
            image_id: "image-ycweb000000000000001".into(),
            select: None,
            skip_existing: false,
            bucket: "imgflow-tos-backup".into(),
            prefix: "web2025".into(),
        };
        assert_eq!(export.validate(), Ok(()));
        assert_eq!(
            export.object_key(),
            "web2025_image-ycweb000000000000001_system.qcow2"
        );
        export.prefix = String::new();
        assert_eq!(export.validate().map_err(|e| e.field), Err("prefix".into()));
        export.prefix = "web/2025".into();
        assert_eq!(export.validate().map_err(|e| e.field), Err("prefix".into()));
    }

    #[test]
    fn a_copy_needs_a_name_and_another_region() {
        let copy = CopyImage {
            region: "cn-beijing".into(),
            image_id: "image-ycweb000000000000001".into(),
            select: None,
            skip_existing: false,
            destination_regions: vec!["cn-shanghai".into()],
            image_name: String::new(),
            description: None,
            project_name: None,
        };
        assert_eq!(
            copy.validate().map_err(|e| e.field),
            Err("image_name".into())
        );
        let named = |name: &str, description: Option<&str>| CopyImage {
            image_name: name.into(),
            description: description.map(str::to_owned),
            ..copy.clone()
        };
        assert_eq!(
            named("web-2025.1", Some("nightly copy, 备份。")).validate(),
            Ok(())
        );
        for (name, description, field) in [
            ("2025-web", None, "image_name"),
            ("web copy", None, "image_name"),
            ("web/copy", None, "image_name"),
            ("web", Some("<b>copy</b>"), "description"),
            ("web", Some(" copy"), "description"),
        ] {
            assert_eq!(
                named(name, description).validate().map_err(|e| e.field),
                Err(field.into()),
                "{name} {description:?}"
            );
        }
    }

    #[test]
    fn tos_prefixes_are_letters_and_digits_only() {
        let mut export = ExportImage {
            region: "cn-beijing".into(),
            image_id: "image-ycweb000000000000001".into(),
            select: None,
            skip_existing: false,
            bucket: "imgflow-tos-backup".into(),
            prefix: "web".into(),
        };
        for prefix in ["..", ".", "a/..", "/web", "a\\b", "web\n"] {
            export.prefix = prefix.into();
            assert_eq!(
                export.validate().map_err(|e| e.field),
                Err("prefix".into()),
                "{prefix}"
            );
        }
    }
}
