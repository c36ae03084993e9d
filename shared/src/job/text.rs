//! How much of a message a job keeps: every message a job's state carries goes through
//! [`capped`], so that the state of a hundred tasks stays within what Step Functions passes.

/// The longest cloud message a job keeps per task: a state of a hundred tasks must fit in
/// Step Functions' 256 KiB, and a message repeats in the summary.
pub const MAX_MESSAGE_CHARS: usize = 300;

/// The most tasks and start errors the job's `reason` names one by one.
pub const MAX_REASON_LINES: usize = 10;

/// `message` cut to [`MAX_MESSAGE_CHARS`] characters (marked with `…`).
pub fn capped(message: &str) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((end, _)) => format!("{}…", &message[..end]),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let message = "é".repeat(MAX_MESSAGE_CHARS + 5);
        let cut = capped(&message);
        assert_eq!(cut.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(capped("short"), "short");
    }
}
