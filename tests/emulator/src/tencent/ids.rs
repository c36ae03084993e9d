//! Tencent's identifier shapes: `img-xxxxxxxx`, `snap-xxxxxxxx`, COS `<name>-<appid>` buckets,
//! and the ids the emulator makes up for new images and export tasks.

use imgflow_shared::signing::sha256_hex;

use crate::world::World;

/// Eight lowercase letters or digits after `prefix`.
fn has_short_id(text: &str, prefix: &str) -> bool {
    text.strip_prefix(prefix).is_some_and(|rest| {
        rest.len() == 8
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

pub fn is_image_id(text: &str) -> bool {
    has_short_id(text, "img-")
}

pub fn is_snapshot_id(text: &str) -> bool {
    has_short_id(text, "snap-")
}

/// The snapshot behind disk `index` (0 = system disk) of an image: stable, so `DescribeImages`
/// and the exported object names agree.
pub fn snapshot_id(image_id: &str, index: usize) -> String {
    format!(
        "snap-{}",
        &sha256_hex(format!("{image_id}/disk/{index}").as_bytes())[..8]
    )
}

/// A new image id no image of any account has yet.
pub fn fresh_image_id(world: &mut World) -> String {
    loop {
        let n = world.next_number();
        let id = format!("img-{}", &sha256_hex(format!("image/{n}").as_bytes())[..8]);
        if !world.images.iter().any(|image| image.spec.id == id) {
            return id;
        }
    }
}

/// An export `TaskId`: an integer in the range the real service prints.
pub fn export_task_id(world: &mut World) -> u64 {
    105_000_000 + world.next_number()
}

/// Digits of the APPID a COS bucket name ends with.
const APPID_DIGITS: usize = 10;

/// Whether `bucket` ends in `-<appid>`, as every COS bucket name does.
pub fn has_appid_suffix(bucket: &str) -> bool {
    bucket.rsplit_once('-').is_some_and(|(name, appid)| {
        !name.is_empty() && appid.len() == APPID_DIGITS && appid.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The account's UIN as `ImageCreator` prints it: twelve digits, stable per account.
pub fn account_uin(account: &str) -> String {
    let digest = sha256_hex(account.as_bytes());
    let number = u64::from_str_radix(&digest[..8], 16).unwrap_or(0) % 100_000_000;
    format!("1000{number:08}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_shapes() {
        assert!(is_image_id("img-web00001"));
        assert!(!is_image_id("img-WEB00001"));
        assert!(!is_image_id("img-web0001"));
        assert!(!is_image_id("m-web00001x"));
        let snap = snapshot_id("img-web00001", 0);
        assert!(is_snapshot_id(&snap), "{snap}");
        assert_ne!(snap, snapshot_id("img-web00001", 1));
        assert!(has_appid_suffix("imgflow-backup-1250000000"));
        assert!(!has_appid_suffix("imgflow-backup"));
        assert!(!has_appid_suffix("-1250000000"));
        assert_eq!(account_uin("default").len(), 12);
    }
}
