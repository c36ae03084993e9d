//! Request parameters as the Volcengine SDK sends them: flat query pairs, lists as
//! `Name.1`, `Name.2`, … (1-based), booleans as `true`/`false`.

use imgflow_shared::signing::decode_query;

use super::errors::{self, ApiError};
use crate::http::ApiRequest;

/// The most `MaxResults` any of the emulated Describe calls accepts.
const MAX_PAGE_SIZE: usize = 100;

/// Where a page starts and how long it is, from `NextToken` and `MaxResults`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub offset: usize,
    pub size: usize,
}

impl Page {
    /// The items of this page, and the `NextToken` of the next one (`""` on the last page).
    pub fn cut<T>(self, items: Vec<T>) -> (Vec<T>, String) {
        let end = self.offset.saturating_add(self.size);
        let next_token = if end < items.len() {
            end.to_string()
        } else {
            String::new()
        };
        let page = items
            .into_iter()
            .skip(self.offset)
            .take(self.size)
            .collect();
        (page, next_token)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// The query, plus a form body when a client POSTs one (the gateway accepts both).
    pub fn from_request(request: &ApiRequest) -> Self {
        let mut pairs = request.query_pairs();
        let is_form = request
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        if is_form
            && let Ok(body) = std::str::from_utf8(&request.body)
            && let Ok(decoded) = decode_query(body)
        {
            pairs.extend(
                decoded
                    .into_iter()
                    .map(|(k, v)| (k.into_owned(), v.into_owned())),
            );
        }
        Self { pairs }
    }

    /// The first value of `name`, as sent (possibly empty).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The value of `name` when present and not empty.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|value| !value.is_empty())
    }

    /// The list `name.1`, `name.2`, … in index order; empty values are dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        let prefix = format!("{name}.");
        let mut indexed: Vec<(usize, &str)> = self
            .pairs
            .iter()
            .filter_map(|(key, value)| {
                let index = key.strip_prefix(&prefix)?.parse::<usize>().ok()?;
                (index >= 1 && !value.is_empty()).then_some((index, value.as_str()))
            })
            .collect();
        indexed.sort_by_key(|(index, _)| *index);
        indexed.dedup_by_key(|(index, _)| *index);
        indexed
            .into_iter()
            .map(|(_, value)| value.to_owned())
            .collect()
    }

    /// `MaxResults` (1–100, `default_size` when absent) and `NextToken` (an offset this
    /// emulator handed out); anything else is `InvalidArgument`.
    pub fn page(&self, default_size: usize) -> Result<Page, ApiError> {
        let size = match self.non_empty("MaxResults") {
            None => default_size,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|size| (1..=MAX_PAGE_SIZE).contains(size))
                .ok_or_else(errors::invalid_argument)?,
        };
        let offset = match self.non_empty("NextToken") {
            None => 0,
            Some(token) => token.parse().map_err(|_| errors::invalid_argument())?,
        };
        Ok(Page { offset, size })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> Params {
        Params::from_request(&ApiRequest {
            method: "GET".into(),
            path: "/".into(),
            query: query.into(),
            headers: Vec::new(),
            body: bytes::Bytes::new(),
        })
    }

    #[test]
    fn lists_are_one_based_and_ordered_by_index() {
        let p = params("TaskIds.2=b&TaskIds.1=a&TaskIds.10=c&TaskIds.0=zero&TaskIdsX.1=no");
        assert_eq!(p.list("TaskIds"), ["a", "b", "c"]);
        assert!(p.list("ResourceIds").is_empty());
    }

    #[test]
    fn pages_follow_max_results_and_next_token() {
        let page = params("MaxResults=2&NextToken=2").page(20).expect("valid");
        assert_eq!(page, Page { offset: 2, size: 2 });
        let (items, next) = page.cut(vec![1, 2, 3, 4, 5]);
        assert_eq!((items, next.as_str()), (vec![3, 4], "4"));
        let (items, next) = Page { offset: 4, size: 2 }.cut(vec![1, 2, 3, 4, 5]);
        assert_eq!((items, next.as_str()), (vec![5], ""));
        assert_eq!(params("").page(15).expect("valid").size, 15);
        for bad in [
            "MaxResults=0",
            "MaxResults=101",
            "MaxResults=x",
            "NextToken=abc",
        ] {
            assert!(params(bad).page(20).is_err(), "{bad}");
        }
    }

    #[test]
    fn empty_values_count_as_missing() {
        let p = params("ImageId=&TOSBucket=b");
        assert_eq!(p.get("ImageId"), Some(""));
        assert_eq!(p.non_empty("ImageId"), None);
        assert_eq!(p.non_empty("TOSBucket"), Some("b"));
    }
}
