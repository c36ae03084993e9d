//! Ids and times as ECS prints them: `t-bp1…`/`m-uf6…` (prefix, region code, 17 characters),
//! 16-digit account ids, and the two time formats of the image and task APIs.

use imgflow_shared::signing::{Timestamp, sha256_hex};

use crate::world::World;

use super::regions;

const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// A new task id in `region`, e.g. `t-bp1a8k2…`.
pub fn new_task_id(world: &mut World, region: &str) -> String {
    new_id("t", world, region)
}

/// A new image id in `region`, e.g. `m-uf6c91…`.
pub fn new_image_id(world: &mut World, region: &str) -> String {
    new_id("m", world, region)
}

/// The id of the snapshot behind disk `index` of `image_id`: stable, so repeated
/// DescribeImages calls agree.
pub fn snapshot_id(image_id: &str, region: &str, index: usize) -> String {
    let digest = sha256_hex(format!("{image_id}/{index}").as_bytes());
    format!("s-{}{}", regions::id_code(region), base36(&digest, 17))
}

/// The 16-digit numeric id ECS reports as `ImageOwnerId` for an account name.
pub fn account_number(account: &str) -> u64 {
    let digest = sha256_hex(account.as_bytes());
    let value = u64::from_str_radix(&digest[..15], 16).unwrap_or(0);
    1_000_000_000_000_000 + value % 9_000_000_000_000_000
}

fn new_id(prefix: &str, world: &mut World, region: &str) -> String {
    let number = world.next_number();
    // The serial keeps ids unique; the hashed tail makes them look like the cloud's.
    let serial = to_base36(number, 5);
    let tail = base36(
        &sha256_hex(format!("{prefix}{region}{number}").as_bytes()),
        12,
    );
    format!("{prefix}-{}{serial}{tail}", regions::id_code(region))
}

fn to_base36(mut value: u64, width: usize) -> String {
    let mut digits = vec![b'0'; width];
    for slot in digits.iter_mut().rev() {
        *slot = ALPHABET[(value % 36) as usize];
        value /= 36;
    }
    String::from_utf8_lossy(&digits).into_owned()
}

/// `len` base-36 characters drawn from a hex digest.
fn base36(hex_digest: &str, len: usize) -> String {
    hex_digest
        .as_bytes()
        .chunks(2)
        .take(len)
        .map(|pair| {
            let byte =
                u8::from_str_radix(std::str::from_utf8(pair).unwrap_or("0"), 16).unwrap_or(0);
            ALPHABET[(byte % 36) as usize] as char
        })
        .collect()
}

/// `YYYY-MM-DDTHH:MMZ`, the minute-precision format of task times.
pub fn minute_time(unix: f64) -> String {
    let full = Timestamp::from_unix_seconds(unix.max(0.0) as u64).extended_iso8601();
    format!("{}Z", &full[..16])
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the format of image creation times.
pub fn second_time(unix: f64) -> String {
    Timestamp::from_unix_seconds(unix.max(0.0) as u64).extended_iso8601()
}

/// Parses a task-time filter: `YYYY-MM-DDTHH:MMZ`, with or without seconds.
pub fn parse_filter_time(text: &str) -> Option<u64> {
    let with_seconds = match text.len() {
        17 => format!("{}:00Z", text.strip_suffix('Z')?),
        _ => text.to_owned(),
    };
    crate::api::parse_extended_iso8601(&with_seconds).map(Timestamp::unix_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_the_region_code_and_are_unique() {
        let mut world = World::new(crate::Catalog::default_catalog(), 1.0);
        let first = new_task_id(&mut world, "cn-hangzhou");
        let second = new_task_id(&mut world, "cn-hangzhou");
        assert!(first.starts_with("t-bp1"), "{first}");
        assert_eq!(first.len(), 2 + 20);
        assert_ne!(first, second);
        assert!(new_image_id(&mut world, "cn-shanghai").starts_with("m-uf6"));
        assert!(
            first[2..]
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        );
    }

    #[test]
    fn times_print_and_parse_in_both_precisions() {
        assert_eq!(minute_time(1_741_076_100.0), "2025-03-04T08:15Z");
        assert_eq!(second_time(1_741_076_111.0), "2025-03-04T08:15:11Z");
        assert_eq!(parse_filter_time("2025-03-04T08:15Z"), Some(1_741_076_100));
        assert_eq!(
            parse_filter_time("2025-03-04T08:15:11Z"),
            Some(1_741_076_111)
        );
        assert_eq!(parse_filter_time("yesterday"), None);
    }

    #[test]
    fn account_numbers_have_sixteen_digits() {
        let number = account_number("default");
        assert_eq!(number.to_string().len(), 16);
        assert_ne!(number, account_number("other"));
    }
}
