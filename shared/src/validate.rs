//! Small checks the four clouds' request rules are built from. Each returns a
//! [`ValidationError`] naming the field and the rule it breaks.

use crate::error::ValidationError;

pub type Checked = Result<(), ValidationError>;

fn fail(field: &str, rule: impl Into<String>) -> Checked {
    Err(ValidationError::new(field, rule))
}

pub fn required(field: &str, value: &str) -> Checked {
    if value.trim().is_empty() {
        fail(field, "is required and must not be empty")
    } else {
        Ok(())
    }
}

/// `prefix` followed by at least `min_tail` characters from `[a-z0-9]` (cloud resource ids).
pub fn resource_id(field: &str, value: &str, prefix: &str, min_tail: usize) -> Checked {
    let ok = value.strip_prefix(prefix).is_some_and(|tail| {
        tail.len() >= min_tail
            && tail
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if ok {
        Ok(())
    } else {
        fail(
            field,
            format!(
                "must be `{prefix}` followed by at least {min_tail} lowercase letters or digits, got `{value}`"
            ),
        )
    }
}

/// A region id such as `ap-guangzhou`, `cn-north-4` or `eu-central-1`: at most 32 characters,
/// `-`-separated words of lowercase letters and digits, the first of letters only. Whether
/// the cloud has the region is [`crate::endpoints::Endpoints::check_region`]'s question.
pub fn region(field: &str, value: &str) -> Checked {
    let parts: Vec<&str> = value.split('-').collect();
    let ok = parts.len() >= 2
        && value.len() <= 32
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        fail(
            field,
            format!("must be a region id like `cn-beijing`, got `{value}`"),
        )
    }
}

/// Between `min` and `max` characters (Unicode scalar values).
pub fn char_length(field: &str, value: &str, min: usize, max: usize) -> Checked {
    let n = value.chars().count();
    if (min..=max).contains(&n) {
        Ok(())
    } else {
        fail(
            field,
            format!("must be {min} to {max} characters long, got {n}"),
        )
    }
}

/// Letters and digits only, 1 to `max` of them (Alibaba's OSSPrefix, Volcengine's TOSPrefix).
pub fn alphanumeric(field: &str, value: &str, max: usize) -> Checked {
    if !value.is_empty() && value.len() <= max && value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        fail(
            field,
            format!("must be 1 to {max} ASCII letters or digits, got `{value}`"),
        )
    }
}

/// At most `max` printable ASCII characters (idempotency tokens).
pub fn ascii_token(field: &str, value: &str, max: usize) -> Checked {
    if !value.is_empty() && value.len() <= max && value.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        fail(
            field,
            format!("must be 1 to {max} printable ASCII characters"),
        )
    }
}

/// An S3-style bucket name (OSS, TOS, OBS): 3 to 63 of `[a-z0-9-]`, starting and ending with
/// a letter or digit.
pub fn bucket_name(field: &str, value: &str) -> Checked {
    let bytes = value.as_bytes();
    let ok = (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric);
    if ok {
        Ok(())
    } else {
        fail(
            field,
            format!(
                "must be 3 to 63 lowercase letters, digits or `-`, starting and ending with a letter or digit, got `{value}`"
            ),
        )
    }
}

/// A Chinese (CJK unified) character, as the clouds' name rules count them.
pub fn is_chinese(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

/// No control characters (they cannot be part of an object key or a name).
pub fn no_control_characters(field: &str, value: &str) -> Checked {
    if value.chars().any(char::is_control) {
        fail(field, "must not contain control characters")
    } else {
        Ok(())
    }
}

/// An object key no URL parser can rewrite: 1 to 1024 bytes, and a safe path
/// ([`safe_path`]).
pub fn object_key(field: &str, value: &str) -> Checked {
    if value.is_empty() || value.len() > 1024 {
        return fail(
            field,
            format!("must be 1 to 1024 bytes long, got {}", value.len()),
        );
    }
    safe_path(field, value)
}

/// The start of object keys (Tencent's file name prefixes): 1 to `max_chars` characters and
/// a safe path ([`safe_path`]).
pub fn key_prefix(field: &str, value: &str, max_chars: usize) -> Checked {
    char_length(field, value, 1, max_chars)?;
    safe_path(field, value)
}

/// A `/`-separated path that reaches the object store as written: no control characters, no
/// `\` (URL parsers read it as `/`), and no segment that is empty (a leading or trailing `/`,
/// `//`) or `.` or `..` (a URL parser resolves them, and the request would name another
/// object than the one the cloud writes).
pub fn safe_path(field: &str, value: &str) -> Checked {
    no_control_characters(field, value)?;
    if value.contains('\\') {
        return fail(field, "must not contain `\\`");
    }
    for segment in value.split('/') {
        if segment.is_empty() {
            return fail(
                field,
                "must not start or end with `/` or contain `//` (no empty path segments)",
            );
        }
        if segment == "." || segment == ".." {
            return fail(
                field,
                "must not contain a `.` or `..` path segment (a URL parser would resolve it)",
            );
        }
    }
    Ok(())
}

/// An identifier a cloud gave (a task or job id): 1 to `max` ASCII letters, digits, `-` and
/// `_`, so that it stays one path segment or query value whatever encodes it.
pub fn identifier(field: &str, value: &str, max: usize) -> Checked {
    let ok = !value.is_empty()
        && value.len() <= max
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        fail(
            field,
            format!("must be 1 to {max} ASCII letters, digits, `-` or `_`"),
        )
    }
}

/// At most `max` entries.
pub fn at_most<T>(field: &str, values: &[T], max: usize) -> Checked {
    if values.len() > max {
        fail(
            field,
            format!("must list at most {max} values, got {}", values.len()),
        )
    } else {
        Ok(())
    }
}

/// A list with at least one entry and no entry twice.
pub fn distinct_non_empty(field: &str, values: &[String]) -> Checked {
    if values.is_empty() {
        return fail(field, "must list at least one value");
    }
    for (index, value) in values.iter().enumerate() {
        if values[..index].contains(value) {
            return fail(
                &format!("{field}[{index}]"),
                format!("`{value}` is listed twice"),
            );
        }
    }
    Ok(())
}

/// Destination regions: at least one, distinct, each a region id, none the source region.
pub fn destination_regions(field: &str, regions: &[String], source: &str) -> Checked {
    distinct_non_empty(field, regions)?;
    for (index, destination) in regions.iter().enumerate() {
        let item = format!("{field}[{index}]");
        region(&item, destination)?;
        if destination == source {
            return fail(
                &item,
                format!("must differ from the source region `{source}`"),
            );
        }
    }
    Ok(())
}

/// Checks each list item with `check`, naming the item `field[i]`.
pub fn each(field: &str, values: &[String], check: impl Fn(&str, &str) -> Checked) -> Checked {
    values
        .iter()
        .enumerate()
        .try_for_each(|(i, value)| check(&format!("{field}[{i}]"), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_check_names_the_field_and_the_rule() {
        let err = resource_id("image_id", "img-ABC", "img-", 8).expect_err("uppercase");
        assert_eq!(err.field, "image_id");
        assert!(err.rule.contains("`img-`"), "{}", err.rule);
        assert!(region("region", "ap-guangzhou").is_ok());
        assert!(region("region", "guangzhou").is_err());
        assert!(alphanumeric("prefix", "abc123", 30).is_ok());
        assert!(alphanumeric("prefix", "ab c", 30).is_err());
        assert!(alphanumeric("prefix", &"a".repeat(31), 30).is_err());
        assert!(bucket_name("bucket", "my-bucket-1").is_ok());
        assert!(bucket_name("bucket", "-bad").is_err());
        assert!(char_length("name", "备份", 2, 128).is_ok());
        let err = distinct_non_empty("regions", &["a".into(), "a".into()]).expect_err("twice");
        assert_eq!(err.field, "regions[1]");
        let err = destination_regions("destination_regions", &["cn-beijing".into()], "cn-beijing")
            .expect_err("same as source");
        assert_eq!(err.field, "destination_regions[0]");
    }
}
