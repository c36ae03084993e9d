//! RPC parameters: the query string (where the SDK puts every business parameter), plus a
//! form-encoded body should a client send one. Lists are `Name.1`, `Name.2`, …; booleans
//! arrive as Python's `True`/`False`.

use imgflow_shared::signing::decode_query;

use crate::http::ApiRequest;

use super::error::AcsError;

#[derive(Clone, Debug, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    pub fn from_request(request: &ApiRequest) -> Self {
        let mut pairs = request.query_pairs();
        let form = request
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        if form {
            let body = String::from_utf8_lossy(&request.body);
            if let Ok(decoded) = decode_query(&body) {
                pairs.extend(
                    decoded
                        .into_iter()
                        .map(|(k, v)| (k.into_owned(), v.into_owned())),
                );
            }
        }
        Self { pairs }
    }

    #[cfg(test)]
    pub fn of(pairs: &[(&str, &str)]) -> Self {
        Self {
            pairs: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    /// The value of `name`; an empty value counts as absent, as the service treats it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// The first of several spellings that is present (`OSSBucket`, or the seed's `OssBucket`).
    pub fn get_any(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|name| self.get(name))
    }

    /// A required parameter, or `MissingParameter` naming it as `shown`.
    pub fn required(&self, names: &[&str], shown: &str) -> Result<&str, AcsError> {
        self.get_any(names).ok_or_else(|| AcsError::missing(shown))
    }

    /// A boolean: `True`/`true` is true, anything else (or nothing) false.
    pub fn flag(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// The values of `Name.1`, `Name.2`, … in index order.
    pub fn list(&self, name: &str) -> Vec<&str> {
        let prefix = format!("{name}.");
        let mut indexed: Vec<(u32, &str)> = self
            .pairs
            .iter()
            .filter_map(|(k, v)| {
                let index = k.strip_prefix(&prefix)?.parse().ok()?;
                Some((index, v.as_str()))
            })
            .collect();
        indexed.sort_by_key(|(index, _)| *index);
        indexed.into_iter().map(|(_, v)| v).collect()
    }

    /// A comma-joined list (`TaskIds=t-1,t-2`, `ImageId=m-1,m-2`), trimmed, empties dropped.
    pub fn comma_list(&self, name: &str) -> Vec<&str> {
        self.get(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A page number or size: `default` when absent, `None` when not an integer in range.
    pub fn number_in(
        &self,
        name: &str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Option<u64> {
        match self.get(name) {
            None => Some(default),
            Some(text) => text.trim().parse().ok().filter(|n| range.contains(n)),
        }
    }
}

/// A client token: at most 64 ASCII characters (seed 003, CopyImage page).
pub fn client_token(params: &Params) -> Result<Option<&str>, AcsError> {
    match params.get("ClientToken") {
        None => Ok(None),
        Some(token) if token.len() <= 64 && token.is_ascii() => Ok(Some(token)),
        Some(_) => Err(AcsError::client_token_invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_read_in_index_order_and_booleans_in_python_spelling() {
        let params = Params::of(&[
            ("ResourceIds.2", "m-b"),
            ("ResourceIds.1", "m-a"),
            ("ResourceIds.x", "ignored"),
            ("DryRun", "True"),
            ("Encrypted", "False"),
            ("TaskIds", "t-1, t-2,,"),
            ("Empty", ""),
        ]);
        assert_eq!(params.list("ResourceIds"), ["m-a", "m-b"]);
        assert!(params.flag("DryRun"));
        assert!(!params.flag("Encrypted"));
        assert!(!params.flag("Absent"));
        assert_eq!(params.comma_list("TaskIds"), ["t-1", "t-2"]);
        assert_eq!(params.get("Empty"), None);
        assert_eq!(
            params.required(&["RegionId"], "RegionId"),
            Err(AcsError::missing("RegionId"))
        );
    }

    #[test]
    fn page_numbers_must_be_integers_in_range() {
        let params = Params::of(&[("PageSize", "101"), ("PageNumber", "x")]);
        assert_eq!(params.number_in("PageSize", 10, 1..=100), None);
        assert_eq!(params.number_in("PageNumber", 1, 1..=u64::MAX), None);
        assert_eq!(params.number_in("Absent", 10, 1..=100), Some(10));
    }

    #[test]
    fn client_tokens_are_short_ascii() {
        let long = "x".repeat(65);
        assert!(client_token(&Params::of(&[("ClientToken", &long)])).is_err());
        assert!(client_token(&Params::of(&[("ClientToken", "令牌")])).is_err());
        assert_eq!(
            client_token(&Params::of(&[("ClientToken", "abc-123")])),
            Ok(Some("abc-123"))
        );
    }
}
