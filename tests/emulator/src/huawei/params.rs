//! Reading IMS request bodies: a JSON object whose fields the SDK omits when `None`, so an
//! absent field and `null` mean the same; a field of the wrong type is a malformed request.

use serde_json::{Map, Value};

use super::errors::{EMPTY_BODY, ImsError, MALFORMED_REQUEST};

pub type Body = Map<String, Value>;

pub fn json_object(body: &[u8]) -> Result<Body, ImsError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(EMPTY_BODY);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        _ => Err(MALFORMED_REQUEST),
    }
}

pub fn optional_string<'a>(body: &'a Body, name: &str) -> Result<Option<&'a str>, ImsError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(MALFORMED_REQUEST),
    }
}

/// A required string: absent, `null` or empty is `missing`.
pub fn required_string<'a>(
    body: &'a Body,
    name: &str,
    missing: ImsError,
) -> Result<&'a str, ImsError> {
    optional_string(body, name)?
        .filter(|text| !text.is_empty())
        .ok_or(missing)
}

pub fn optional_bool(body: &Body, name: &str) -> Result<Option<bool>, ImsError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(*flag)),
        Some(_) => Err(MALFORMED_REQUEST),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_and_null_fields_are_the_same_and_wrong_types_are_malformed() {
        assert_eq!(json_object(b"  "), Err(EMPTY_BODY));
        assert_eq!(json_object(b"[1]"), Err(MALFORMED_REQUEST));
        assert_eq!(json_object(b"{"), Err(MALFORMED_REQUEST));
        let body = json_object(br#"{"a": null, "b": "x", "c": true, "d": 1}"#).expect("object");
        assert_eq!(optional_string(&body, "a"), Ok(None));
        assert_eq!(optional_string(&body, "b"), Ok(Some("x")));
        assert_eq!(optional_string(&body, "d"), Err(MALFORMED_REQUEST));
        assert_eq!(optional_bool(&body, "c"), Ok(Some(true)));
        assert_eq!(optional_bool(&body, "b"), Err(MALFORMED_REQUEST));
        assert_eq!(required_string(&body, "a", EMPTY_BODY), Err(EMPTY_BODY));
    }
}
