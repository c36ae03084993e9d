//! The derived signing key of Tencent (TC3) and Volcengine changes once a day per secret,
//! region and service, yet deriving it costs four HMACs: more than a third of a signature.
//! Each thread keeps the last key it derived, as the AWS SDKs keep their SigV4 keys.

use std::cell::RefCell;

use super::digest::hmac_chain;

struct Entry {
    seed: Vec<u8>,
    steps: Vec<String>,
    key: [u8; 32],
}

thread_local! {
    static LAST_KEY: RefCell<Option<Entry>> = const { RefCell::new(None) };
}

/// `hmac_chain(seed, steps)`, remembered for the next call with the same inputs.
pub fn derived_key(seed: &[u8], steps: &[&str]) -> [u8; 32] {
    LAST_KEY.with(|last| {
        let mut last = last.borrow_mut();
        if let Some(entry) = last.as_ref()
            && entry.seed == seed
            && entry
                .steps
                .iter()
                .map(String::as_str)
                .eq(steps.iter().copied())
        {
            return entry.key;
        }
        let key = hmac_chain(seed, steps);
        *last = Some(Entry {
            seed: seed.to_vec(),
            steps: steps.iter().map(|s| (*s).to_owned()).collect(),
            key,
        });
        key
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_key_is_the_derived_one_and_any_change_derives_again() {
        let first = derived_key(b"seed", &["20251231", "cvm", "tc3_request"]);
        assert_eq!(
            first,
            hmac_chain(b"seed", &["20251231", "cvm", "tc3_request"])
        );
        assert_eq!(
            derived_key(b"seed", &["20251231", "cvm", "tc3_request"]),
            first
        );
        let next_day = derived_key(b"seed", &["20260101", "cvm", "tc3_request"]);
        assert_eq!(
            next_day,
            hmac_chain(b"seed", &["20260101", "cvm", "tc3_request"])
        );
        let other_secret = derived_key(b"seed2", &["20260101", "cvm", "tc3_request"]);
        assert_ne!(other_secret, next_day);
    }
}
