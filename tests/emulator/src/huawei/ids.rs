//! Ids and times as IMS prints them: job ids of 32 hex digits, image ids as UUIDs, request ids
//! of 32 hex digits, and UTC times with or without milliseconds.

use imgflow_shared::signing::Timestamp;

use crate::world::World;

/// A request id as the gateway prints it: 32 hex digits, no dashes.
pub fn request_id(world: &mut World) -> String {
    world.request_id().replace('-', "")
}

/// A job id like `ff8080828c1e2a3f018c2bd94a4e6b1c` (a Java-style hex UUID).
pub fn job_id(world: &mut World) -> String {
    let n = world.next_number();
    format!("ff808082{:08x}{:016x}", scramble(n) as u32, scramble(!n))
}

/// A version-4-shaped UUID for a new image.
pub fn image_id(world: &mut World) -> String {
    let n = world.next_number();
    let (high, low) = (scramble(n), scramble(n.rotate_left(17) ^ 0x5bd1_e995));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0x0fff,
        0x8000 | ((low >> 48) & 0x3fff),
        low & 0xffff_ffff_ffff
    )
}

/// `8-4-4-4-12` hex digits, as IMS image ids are.
pub fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            8 | 13 | 18 | 23 => *byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

/// SplitMix64: spreads consecutive numbers over the whole range, so ids look random but
/// stay reproducible.
fn scramble(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `2025-03-04T08:15:30.123Z`, as job times are printed.
pub fn utc_millis(unix: f64) -> String {
    let unix = unix.max(0.0);
    let seconds = Timestamp::from_unix_seconds(unix as u64).extended_iso8601();
    let millis = ((unix.fract() * 1000.0) as u32).min(999);
    format!("{}.{millis:03}Z", seconds.trim_end_matches('Z'))
}

/// `2025-03-04T08:15:31Z`, as image times are printed.
pub fn utc_seconds(unix: f64) -> String {
    Timestamp::from_unix_seconds(unix.max(0.0) as u64).extended_iso8601()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_ids_have_the_clouds_shapes() {
        let mut world = World::new(crate::catalog::Catalog::default_catalog(), 1.0);
        let job = job_id(&mut world);
        assert_eq!(job.len(), 32);
        assert!(job.bytes().all(|b| b.is_ascii_hexdigit()), "{job}");
        let image = image_id(&mut world);
        assert!(is_uuid(&image), "{image}");
        assert_ne!(image_id(&mut world), image);
        assert!(!is_uuid("4d0ab5e2-3114-578f-81d7-2d843f36e39"));
        assert!(!is_uuid("4d0ab5e2x3114-578f-81d7-2d843f36e39b"));
        let request = request_id(&mut world);
        assert_eq!(request.len(), 32);
    }

    #[test]
    fn times_print_in_utc() {
        assert_eq!(utc_millis(1_741_076_130.123_9), "2025-03-04T08:15:30.123Z");
        assert_eq!(utc_seconds(1_741_076_131.9), "2025-03-04T08:15:31Z");
    }
}
