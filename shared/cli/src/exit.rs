//! The exit codes of `imgflow`, and how an error or an outcome maps to one.

use imgflow_shared::error::{CloudError, ErrorKind};

/// What the process tells its caller. The numbers are stable (scripts rely on them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exit {
    /// Started, or (with `--wait`) every task finished successfully; the demo ran as expected.
    Success,
    /// A task failed or timed out (or the demo had an unexpected outcome).
    TaskFailed,
    /// Bad JSON or a request that breaks a rule: nothing was sent.
    InvalidInput,
    /// The cloud refused or answered with an error.
    CloudError,
    /// A start may or may not have happened: check before retrying.
    OutcomeUnknown,
    /// Credentials or configuration are missing or wrong: nothing was sent.
    Configuration,
}

/// The text `--help` and the README show.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success: the tasks started (or, with --wait, all finished successfully)
  1  a task failed or did not finish before the deadline (demo: an unexpected outcome)
  2  invalid input: bad JSON or a request breaking a rule (the field and the rule are
     printed); nothing was sent
  3  the cloud refused or errored (its code, message and request id are printed)
  4  outcome unknown: a start may have been carried out although no answer came back;
     check (imgflow status, the cloud console) before retrying
  5  missing credentials or configuration; nothing was sent
The input is checked first (2), then the configuration (5), before anything is sent.
When a run ends with several outcomes, the first of 4, 3, 1 wins.";

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::TaskFailed => 1,
            Exit::InvalidInput => 2,
            Exit::CloudError => 3,
            Exit::OutcomeUnknown => 4,
            Exit::Configuration => 5,
        }
    }

    /// Which of two outcomes a caller must hear about first.
    fn rank(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::TaskFailed => 1,
            Exit::CloudError => 2,
            Exit::OutcomeUnknown => 3,
            Exit::InvalidInput => 4,
            Exit::Configuration => 5,
        }
    }

    /// The more important of `self` and `other`.
    pub fn max(self, other: Exit) -> Exit {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    /// A cloud error's exit: our own configuration codes (`Config.*`) are 5, an unknown
    /// outcome is 4, anything else the cloud said is 3.
    pub fn for_cloud_error(error: &CloudError) -> Exit {
        if error.code.starts_with("Config.") {
            Exit::Configuration
        } else if error.kind == ErrorKind::UnknownOutcome {
            Exit::OutcomeUnknown
        } else {
            Exit::CloudError
        }
    }

    /// The word the JSON error document uses.
    pub fn name(self) -> &'static str {
        match self {
            Exit::Success => "success",
            Exit::TaskFailed => "task_failed",
            Exit::InvalidInput => "invalid_input",
            Exit::CloudError => "cloud_error",
            Exit::OutcomeUnknown => "outcome_unknown",
            Exit::Configuration => "configuration",
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgflow_shared::Cloud;

    #[test]
    fn the_most_important_exit_wins() {
        assert_eq!(Exit::TaskFailed.max(Exit::CloudError), Exit::CloudError);
        assert_eq!(
            Exit::OutcomeUnknown.max(Exit::CloudError),
            Exit::OutcomeUnknown
        );
        assert_eq!(Exit::Success.max(Exit::Success), Exit::Success);
        assert_eq!(
            Exit::Configuration.max(Exit::InvalidInput),
            Exit::Configuration
        );
    }

    #[test]
    fn cloud_errors_map_by_code_and_kind() {
        let refused = CloudError::new(Cloud::Tencent, ErrorKind::NotFound, "X.NotFound", "m");
        assert_eq!(Exit::for_cloud_error(&refused), Exit::CloudError);
        let lost = CloudError::new(Cloud::Tencent, ErrorKind::UnknownOutcome, "T", "m");
        assert_eq!(Exit::for_cloud_error(&lost), Exit::OutcomeUnknown);
        let config = CloudError::new(
            Cloud::Huawei,
            ErrorKind::Permission,
            "Config.NoProject",
            "m",
        );
        assert_eq!(Exit::for_cloud_error(&config), Exit::Configuration);
    }
}
