//! The action parameters, from either form the SDK can send: a JSON body (`POST`, the default)
//! or a query string (`GET`, lists flattened 0-based as `ImageIds.0`, nested objects as
//! `Filters.0.Values.1`, booleans as Python prints them, `True`). Both become one JSON object;
//! the typed getters accept strings for scalars only when the parameters came from a query.

use serde_json::{Map, Value};

use super::errors::TcError;
use crate::http::ApiRequest;

/// Parameters every Tencent request may carry in a query string besides the action's own
/// (the API 3.0 common parameters of the query form).
const COMMON_QUERY_PARAMETERS: [&str; 11] = [
    "Action",
    "Version",
    "Region",
    "Timestamp",
    "Nonce",
    "SecretId",
    "Signature",
    "SignatureMethod",
    "Token",
    "Language",
    "RequestClient",
];

#[derive(Clone, Debug)]
pub struct Params {
    values: Map<String, Value>,
    from_query: bool,
}

/// One `Filters` entry of `DescribeImages`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    pub name: String,
    pub values: Vec<String>,
}

impl Params {
    pub fn from_request(request: &ApiRequest) -> Result<Self, TcError> {
        if request.method == "GET" {
            return from_query(request);
        }
        let content_type = request.header("content-type").unwrap_or_default();
        if !content_type
            .to_ascii_lowercase()
            .starts_with("application/json")
        {
            return Err(TcError::new(
                "InvalidParameter",
                format!(
                    "A POST signed with TC3-HMAC-SHA256 must carry \
                     `Content-Type: application/json`, not `{content_type}`."
                ),
            ));
        }
        if request.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self {
                values: Map::new(),
                from_query: false,
            });
        }
        match serde_json::from_slice::<Value>(&request.body) {
            Ok(Value::Object(values)) => Ok(Self {
                values: values.into_iter().filter(|(_, v)| !v.is_null()).collect(),
                from_query: false,
            }),
            _ => Err(TcError::new(
                "InvalidParameter",
                "The request body is not a JSON object.",
            )),
        }
    }

    /// `UnknownParameter` for a parameter the action does not define.
    pub fn reject_unknown(&self, known: &[&str]) -> Result<(), TcError> {
        let common = |name: &str| self.from_query && COMMON_QUERY_PARAMETERS.contains(&name);
        let unknown = self
            .values
            .keys()
            .find(|name| !(known.contains(&name.as_str()) || common(name)));
        match unknown {
            Some(name) => Err(TcError::new(
                "UnknownParameter",
                format!("The parameter `{name}` is not recognized."),
            )),
            None => Ok(()),
        }
    }

    pub fn string(&self, name: &str) -> Result<Option<String>, TcError> {
        self.values
            .get(name)
            .map(|value| scalar_string(name, value))
            .transpose()
    }

    pub fn strings(&self, name: &str) -> Result<Option<Vec<String>>, TcError> {
        let Some(value) = self.values.get(name) else {
            return Ok(None);
        };
        let Value::Array(items) = value else {
            return Err(TcError::wrong_type(name, "an array of strings"));
        };
        items
            .iter()
            .map(|item| scalar_string(name, item))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, TcError> {
        let parsed = match self.values.get(name) {
            None => return Ok(None),
            Some(Value::Bool(flag)) => Some(*flag),
            Some(Value::String(text)) if self.from_query => {
                match text.to_ascii_lowercase().as_str() {
                    "true" => Some(true),
                    "false" => Some(false),
                    _ => None,
                }
            }
            Some(_) => None,
        };
        parsed
            .map(Some)
            .ok_or_else(|| TcError::wrong_type(name, "a boolean"))
    }

    pub fn integer(&self, name: &str) -> Result<Option<i64>, TcError> {
        let parsed = match self.values.get(name) {
            None => return Ok(None),
            Some(Value::Number(number)) => number.as_i64(),
            Some(Value::String(text)) if self.from_query => text.parse().ok(),
            Some(_) => None,
        };
        parsed
            .map(Some)
            .ok_or_else(|| TcError::wrong_type(name, "an integer"))
    }

    pub fn filters(&self) -> Result<Option<Vec<Filter>>, TcError> {
        let Some(value) = self.values.get("Filters") else {
            return Ok(None);
        };
        let Value::Array(items) = value else {
            return Err(TcError::wrong_type("Filters", "an array of Filter"));
        };
        let mut filters = Vec::with_capacity(items.len());
        for item in items {
            let Value::Object(fields) = item else {
                return Err(TcError::wrong_type("Filters", "an array of Filter"));
            };
            let name = match fields.get("Name") {
                Some(value) => scalar_string("Filters.Name", value)?,
                None => return Err(TcError::missing("Filters.Name")),
            };
            let values = match fields.get("Values") {
                Some(Value::Array(values)) => values
                    .iter()
                    .map(|value| scalar_string("Filters.Values", value))
                    .collect::<Result<Vec<_>, _>>()?,
                Some(_) => {
                    return Err(TcError::wrong_type("Filters.Values", "an array of strings"));
                }
                None => return Err(TcError::missing("Filters.Values")),
            };
            if let Some(extra) = fields.keys().find(|k| *k != "Name" && *k != "Values") {
                return Err(TcError::new(
                    "UnknownParameter",
                    format!("The parameter `Filters.{extra}` is not recognized."),
                ));
            }
            filters.push(Filter { name, values });
        }
        Ok(Some(filters))
    }
}

fn scalar_string(name: &str, value: &Value) -> Result<String, TcError> {
    match value {
        Value::String(text) => Ok(text.clone()),
        _ => Err(TcError::wrong_type(name, "a string")),
    }
}

/// Rebuilds the JSON object the SDK flattened into `Name.0.Field` keys.
fn from_query(request: &ApiRequest) -> Result<Params, TcError> {
    let mut root = Value::Object(Map::new());
    for (key, value) in request.query_pairs() {
        let mut node = &mut root;
        let segments: Vec<&str> = key.split('.').collect();
        let Some((last, parents)) = segments.split_last() else {
            continue;
        };
        for segment in parents {
            let Value::Object(map) = node else {
                return Err(conflicting(&key));
            };
            node = map
                .entry((*segment).to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
        }
        let Value::Object(map) = node else {
            return Err(conflicting(&key));
        };
        if map
            .insert((*last).to_owned(), Value::String(value))
            .is_some()
        {
            return Err(conflicting(&key));
        }
    }
    let Value::Object(values) = lists_from_indices(root) else {
        return Err(TcError::new(
            "InvalidParameter",
            "The query string does not form a parameter object.",
        ));
    };
    Ok(Params {
        values,
        from_query: true,
    })
}

fn conflicting(key: &str) -> TcError {
    TcError::new(
        "InvalidParameter",
        format!("The query parameter `{key}` is given twice or conflicts with another."),
    )
}

/// Objects whose keys are all indices (`0`, `1`, ...) become arrays in index order.
fn lists_from_indices(value: Value) -> Value {
    let Value::Object(map) = value else {
        return value;
    };
    let all_indices = !map.is_empty() && map.keys().all(|k| k.parse::<usize>().is_ok());
    if all_indices {
        let mut items: Vec<(usize, Value)> = map
            .into_iter()
            .filter_map(|(k, v)| k.parse().ok().map(|i| (i, lists_from_indices(v))))
            .collect();
        items.sort_by_key(|(index, _)| *index);
        return Value::Array(items.into_iter().map(|(_, v)| v).collect());
    }
    Value::Object(
        map.into_iter()
            .map(|(k, v)| (k, lists_from_indices(v)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(query: &str) -> ApiRequest {
        ApiRequest {
            method: "GET".into(),
            path: "/".into(),
            query: query.into(),
            headers: Vec::new(),
            body: bytes::Bytes::new(),
        }
    }

    #[test]
    fn the_query_form_rebuilds_lists_and_nested_filters() {
        let params = Params::from_request(&get(
            "ImageIds.1=img-b&ImageIds.0=img-a&DryRun=True&Limit=5\
             &Filters.0.Name=image-type&Filters.0.Values.0=PRIVATE_IMAGE",
        ))
        .expect("parses");
        assert_eq!(
            params.strings("ImageIds").expect("list"),
            Some(vec!["img-a".to_owned(), "img-b".to_owned()])
        );
        assert_eq!(params.bool("DryRun").expect("bool"), Some(true));
        assert_eq!(params.integer("Limit").expect("int"), Some(5));
        assert_eq!(
            params.filters().expect("filters"),
            Some(vec![Filter {
                name: "image-type".into(),
                values: vec!["PRIVATE_IMAGE".into()]
            }])
        );
    }

    #[test]
    fn json_bodies_keep_strict_types() {
        let request = ApiRequest {
            method: "POST".into(),
            path: "/".into(),
            query: String::new(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: bytes::Bytes::from_static(br#"{"DryRun":"true","ImageIds":"img-a"}"#),
        };
        let params = Params::from_request(&request).expect("parses");
        assert_eq!(
            params.bool("DryRun").map_err(|e| e.code),
            Err("InvalidParameter")
        );
        assert_eq!(
            params.strings("ImageIds").map_err(|e| e.code),
            Err("InvalidParameter")
        );
        assert_eq!(
            params.reject_unknown(&["DryRun"]).map_err(|e| e.code),
            Err("UnknownParameter")
        );
    }
}
