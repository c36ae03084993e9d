//! Names per run (issue 14, item 3): object names, prefixes and copy names may carry
//! placeholders, rendered per image when the request starts and then checked against the
//! cloud's rules like any name.
//!
//! | placeholder | renders as |
//! | --- | --- |
//! | `{date}` | the execution's start date in UTC, `YYYYMMDD` (`20261202`) |
//! | `{time}` | the execution's start time in UTC, `HHMMSS` (`021500`) |
//! | `{job_id}` | the job's id (a bare request has none: refused) |
//! | `{image_name}` | the image's name (known only with `select`: refused with image ids) |
//! | `{image_id}` | the image's id |
//!
//! Date and time come from the start item's window (the execution's start, the same on every
//! attempt), never from the clock at the moment of rendering, so a retried start renders the
//! same names and finds what an earlier attempt made. `{date}` and `{time}` are digits only, so
//! they fit Alibaba's and Volcengine's prefixes (1–30 letters or digits).
//!
//! A request is checked twice: when it is validated (the template's syntax, and the cloud's
//! rules on a probe render: [`probe`]), and at start, every image's render before anything is
//! sent: a render that breaks a rule is a `Request.Invalid` naming the field.

use std::borrow::Cow;

use crate::error::ValidationError;
use crate::signing::Timestamp;

/// The placeholders a name may carry.
pub const PLACEHOLDERS: [&str; 5] = ["date", "time", "job_id", "image_name", "image_id"];

/// What the placeholders of one image's names render to.
#[derive(Clone, Copy, Debug)]
pub struct NameValues<'a> {
    /// Unix seconds of the execution's start.
    pub start: u64,
    /// The job's id; `None` for a bare request.
    pub job_id: Option<&'a str>,
    pub image_id: &'a str,
    /// The image's name; `None` when the request named its image by id.
    pub image_name: Option<&'a str>,
}

impl<'a> NameValues<'a> {
    /// The values of one planned image (its id and, when a selector listed it, its name).
    pub fn of(
        (id, name): &'a (String, Option<String>),
        start: u64,
        job_id: Option<&'a str>,
    ) -> Self {
        Self {
            start,
            job_id,
            image_id: id,
            image_name: name.as_deref(),
        }
    }
}

/// The rule on a copy's name with `skip_existing` (see [`crate::skip`]): the name is how a
/// rerun recognises the copy, so it must name the image and stay the same from run to run.
pub fn copy_name(field: &str, name: Option<&str>) -> Result<(), ValidationError> {
    let Some(name) = name else {
        return Err(ValidationError::new(
            field,
            "is required with skip_existing: the copy is recognised by its name, which must carry {image_id}",
        ));
    };
    if !name.contains("{image_id}") {
        return Err(ValidationError::new(
            field,
            "must carry {image_id} with skip_existing: the name is how a later run recognises the copy of each image",
        ));
    }
    if name.contains("{date}") || name.contains("{time}") {
        return Err(ValidationError::new(
            field,
            "must not carry {date} or {time} with skip_existing: a name that changes every run is never found again",
        ));
    }
    Ok(())
}

/// Whether `template` carries any placeholder (or a brace).
pub fn has_placeholders(template: &str) -> bool {
    template.contains(['{', '}'])
}

/// The placeholders of `template`, in order; a brace that does not open or close a known
/// placeholder is an error naming `field`.
fn parts<'t>(field: &str, template: &'t str) -> Result<Vec<Part<'t>>, ValidationError> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err(ValidationError::new(
                field,
                "has a `}` without its `{` (placeholders are {date}, {time}, {job_id}, {image_name}, {image_id})",
            ));
        }
        parts.push(Part::Text(&rest[..open]));
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| ValidationError::new(field, "has a `{` without its `}`"))?;
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(ValidationError::new(
                field,
                format!(
                    "has the unknown placeholder `{{{name}}}` (known: {{date}}, {{time}}, {{job_id}}, {{image_name}}, {{image_id}})"
                ),
            ));
        }
        parts.push(Part::Placeholder(name));
        rest = &after[close + 1..];
    }
    parts.push(Part::Text(rest));
    Ok(parts)
}

enum Part<'t> {
    Text(&'t str),
    Placeholder(&'t str),
}

/// `template` with its placeholders rendered from `values`; `field` names it in errors.
pub fn render<'t>(
    field: &str,
    template: &'t str,
    values: &NameValues<'_>,
) -> Result<Cow<'t, str>, ValidationError> {
    if !has_placeholders(template) {
        return Ok(Cow::Borrowed(template));
    }
    let civil = Timestamp::from_unix_seconds(values.start).civil();
    let mut out = String::with_capacity(template.len() + 16);
    for part in parts(field, template)? {
        match part {
            Part::Text(text) => out.push_str(text),
            Part::Placeholder("date") => out.push_str(&format!(
                "{:04}{:02}{:02}",
                civil.year, civil.month, civil.day
            )),
            Part::Placeholder("time") => out.push_str(&format!(
                "{:02}{:02}{:02}",
                civil.hour, civil.minute, civil.second
            )),
            Part::Placeholder("job_id") => out.push_str(values.job_id.ok_or_else(|| {
                ValidationError::new(
                    field,
                    "uses {job_id}, which renders only in a job (this request runs on its own)",
                )
            })?),
            Part::Placeholder("image_name") => out
                .push_str(values.image_name.ok_or_else(|| {
                ValidationError::new(
                    field,
                    "uses {image_name}, which renders only with `select` (image ids say no name)",
                )
            })?),
            Part::Placeholder(_) => out.push_str(values.image_id),
        }
    }
    Ok(Cow::Owned(out))
}

/// [`render`] as an owned name, for a request of one image.
pub fn render_owned(
    field: &str,
    template: &str,
    values: &NameValues<'_>,
) -> Result<String, ValidationError> {
    render(field, template, values).map(Cow::into_owned)
}

/// An optional template rendered (see [`render`]); a field left out stays out.
pub fn render_optional(
    field: &str,
    template: Option<&str>,
    values: &NameValues<'_>,
) -> Result<Option<String>, ValidationError> {
    template
        .map(|template| render_owned(field, template, values))
        .transpose()
}

/// The render checked when a request is validated, before its images are known: the date
/// 2026-12-02 at 00:00:00, the job `job`, the image `image` and `image_id` (the request's id,
/// or `image0` with `select`); `{image_name}` without `select` is refused here already. The
/// real render of every image is checked again at start.
pub fn probe<'t>(
    field: &str,
    template: &'t str,
    image_id: &str,
    has_select: bool,
) -> Result<Cow<'t, str>, ValidationError> {
    let image_id = if image_id.is_empty() {
        "image0"
    } else {
        image_id
    };
    render(
        field,
        template,
        &NameValues {
            start: PROBE_START,
            job_id: Some("job"),
            image_id,
            image_name: has_select.then_some("image"),
        },
    )
}

/// 2026-12-02T00:00:00Z.
const PROBE_START: u64 = 1_796_169_600;

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-02T02:15:09Z: a fixed time, never the clock.
    const START: u64 = 1_796_177_709;

    fn values<'a>(image_name: Option<&'a str>) -> NameValues<'a> {
        NameValues {
            start: START,
            job_id: Some("nightly"),
            image_id: "img-web00001",
            image_name,
        }
    }

    #[test]
    fn each_placeholder_renders_from_the_start_and_the_image() {
        assert_eq!(
            render(
                "object_key",
                "backups/{job_id}/{date}-{time}/{image_name}_{image_id}.qcow2",
                &values(Some("web"))
            )
            .as_deref(),
            Ok("backups/nightly/20261202-021509/web_img-web00001.qcow2")
        );
        assert_eq!(
            render("prefix", "web{date}", &values(None)).as_deref(),
            Ok("web20261202")
        );
        assert_eq!(
            render("prefix", "plain", &values(None)).as_deref(),
            Ok("plain")
        );
        assert_eq!(
            probe("prefix", "n{date}", "", true).as_deref(),
            Ok("n20261202")
        );
    }

    #[test]
    fn unknown_placeholders_stray_braces_and_missing_values_name_the_field() {
        for (template, rule) in [
            ("a{colour}", "unknown placeholder `{colour}`"),
            ("a{date", "without its `}`"),
            ("a}b", "without its `{`"),
            ("{image_name}", "only with `select`"),
        ] {
            let err = render("image_name", template, &values(None)).expect_err(template);
            assert_eq!(err.field, "image_name");
            assert!(err.rule.contains(rule), "{template}: {}", err.rule);
        }
        let bare = NameValues {
            job_id: None,
            ..values(None)
        };
        let err = render("prefix", "{job_id}", &bare).expect_err("no job");
        assert!(err.rule.contains("only in a job"), "{}", err.rule);
        assert!(probe("prefix", "{image_name}", "m-1", false).is_err());
    }

    #[test]
    fn an_optional_template_renders_when_given_and_stays_out_otherwise() {
        let values = values(None);
        assert_eq!(
            render_optional("image_name", Some("copy-{image_id}"), &values),
            Ok(Some("copy-img-web00001".to_owned()))
        );
        assert_eq!(render_optional("image_name", None, &values), Ok(None));
        let err = render_optional("image_name", Some("{image_name}"), &values)
            .expect_err("no name without select");
        assert_eq!(err.field, "image_name");
    }
}
