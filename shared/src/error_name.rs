//! The error names imgflow reports, as one closed set: the functions' error types (Lambda's
//! `errorType`, which the state machine's Retry and Catch match), the `error` of their HTTP
//! answers, the state machine's own Fail names, and the codes imgflow gives a task's reason
//! when no cloud named it. The wire value of each is its dotted name, which never changes:
//! deployed state machines, dashboards and callers match on it.
//!
//! The codes a cloud client uses in place of a cloud's own code (`Transport.Timeout`,
//! `Task.NotFound`, ...) are a [`CloudError`](crate::error::CloudError)'s `code`, not names
//! of this set.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One of imgflow's error names; [`ErrorName::as_str`] is its wire value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorName {
    /// The event or job breaks a rule; the message names the field.
    #[serde(rename = "Request.Invalid")]
    RequestInvalid,
    /// An HTTP trigger was called with a method other than POST.
    #[serde(rename = "Request.Method")]
    RequestMethod,
    /// An idempotency key was used before for a different job.
    #[serde(rename = "Request.Conflict")]
    RequestConflict,
    /// The function's configuration or secret is missing or malformed.
    #[serde(rename = "Config.Invalid")]
    ConfigInvalid,
    /// The cloud asked us to slow down and the retries were spent.
    #[serde(rename = "Cloud.Throttled")]
    CloudThrottled,
    /// A server or network failure a retry may cure.
    #[serde(rename = "Cloud.Transient")]
    CloudTransient,
    /// An account limit (running exports, queued copies).
    #[serde(rename = "Cloud.Quota")]
    CloudQuota,
    /// The image is busy with another operation.
    #[serde(rename = "Cloud.Conflict")]
    CloudConflict,
    /// A start may have taken effect and cannot be confirmed.
    #[serde(rename = "Cloud.UnknownOutcome")]
    CloudUnknownOutcome,
    /// The cloud refused for good (not found, permission, invalid, unsupported).
    #[serde(rename = "Cloud.Rejected")]
    CloudRejected,
    /// A Step Functions, S3 or Secrets Manager call failed.
    #[serde(rename = "Aws.Error")]
    AwsError,
    /// The event is of a trigger no function takes.
    #[serde(rename = "Trigger.Unsupported")]
    TriggerUnsupported,
    /// A webhook call without a valid, fresh signature.
    #[serde(rename = "Webhook.Unauthorized")]
    WebhookUnauthorized,
    /// The deployment has no webhook secret.
    #[serde(rename = "Webhook.Unavailable")]
    WebhookUnavailable,
    /// No execution of the job asked about.
    #[serde(rename = "Job.NotFound")]
    JobNotFound,
    /// The job's state outgrew what Step Functions carries; its tasks are no longer followed.
    #[serde(rename = "Job.StateTooLarge")]
    JobStateTooLarge,
    /// A task may run that its start item cannot prove its own.
    #[serde(rename = "Start.Unconfirmed")]
    StartUnconfirmed,
    /// A queued start never ran: the job ended while it still waited behind the cloud's
    /// concurrency limit.
    #[serde(rename = "Start.StillQueued")]
    StartStillQueued,
    /// check-status could not be reached for too many rounds in a row.
    #[serde(rename = "Check.Unreachable")]
    CheckUnreachable,
    /// An export ended with no object in the bucket (no API names a failed export).
    #[serde(rename = "Export.EndedWithoutObjects")]
    ExportEndedWithoutObjects,
    /// Every task of the job failed.
    #[serde(rename = "Task.Failed")]
    TaskFailed,
    /// Some tasks of the job failed.
    #[serde(rename = "Task.PartiallyFailed")]
    TaskPartiallyFailed,
    /// The job's deadline passed before every task ended.
    #[serde(rename = "Task.TimedOut")]
    TaskTimedOut,
    /// A task's progress stood still for too long.
    #[serde(rename = "Task.Stalled")]
    TaskStalled,
}

impl ErrorName {
    /// Every name, in the order above.
    pub const ALL: [ErrorName; 24] = [
        ErrorName::RequestInvalid,
        ErrorName::RequestMethod,
        ErrorName::RequestConflict,
        ErrorName::ConfigInvalid,
        ErrorName::CloudThrottled,
        ErrorName::CloudTransient,
        ErrorName::CloudQuota,
        ErrorName::CloudConflict,
        ErrorName::CloudUnknownOutcome,
        ErrorName::CloudRejected,
        ErrorName::AwsError,
        ErrorName::TriggerUnsupported,
        ErrorName::WebhookUnauthorized,
        ErrorName::WebhookUnavailable,
        ErrorName::JobNotFound,
        ErrorName::JobStateTooLarge,
        ErrorName::StartUnconfirmed,
        ErrorName::StartStillQueued,
        ErrorName::CheckUnreachable,
        ErrorName::ExportEndedWithoutObjects,
        ErrorName::TaskFailed,
        ErrorName::TaskPartiallyFailed,
        ErrorName::TaskTimedOut,
        ErrorName::TaskStalled,
    ];

    /// The wire value (the same as its serde form).
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorName::RequestInvalid => "Request.Invalid",
            ErrorName::RequestMethod => "Request.Method",
            ErrorName::RequestConflict => "Request.Conflict",
            ErrorName::ConfigInvalid => "Config.Invalid",
            ErrorName::CloudThrottled => "Cloud.Throttled",
            ErrorName::CloudTransient => "Cloud.Transient",
            ErrorName::CloudQuota => "Cloud.Quota",
            ErrorName::CloudConflict => "Cloud.Conflict",
            ErrorName::CloudUnknownOutcome => "Cloud.UnknownOutcome",
            ErrorName::CloudRejected => "Cloud.Rejected",
            ErrorName::AwsError => "Aws.Error",
            ErrorName::TriggerUnsupported => "Trigger.Unsupported",
            ErrorName::WebhookUnauthorized => "Webhook.Unauthorized",
            ErrorName::WebhookUnavailable => "Webhook.Unavailable",
            ErrorName::JobNotFound => "Job.NotFound",
            ErrorName::JobStateTooLarge => "Job.StateTooLarge",
            ErrorName::StartUnconfirmed => "Start.Unconfirmed",
            ErrorName::StartStillQueued => "Start.StillQueued",
            ErrorName::CheckUnreachable => "Check.Unreachable",
            ErrorName::ExportEndedWithoutObjects => "Export.EndedWithoutObjects",
            ErrorName::TaskFailed => "Task.Failed",
            ErrorName::TaskPartiallyFailed => "Task.PartiallyFailed",
            ErrorName::TaskTimedOut => "Task.TimedOut",
            ErrorName::TaskStalled => "Task.Stalled",
        }
    }

    /// The name whose wire value this is, if any.
    pub fn from_wire(name: &str) -> Option<ErrorName> {
        ErrorName::ALL
            .into_iter()
            .find(|known| known.as_str() == name)
    }
}

impl fmt::Display for ErrorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<ErrorName> for &'static str {
    fn from(name: ErrorName) -> Self {
        name.as_str()
    }
}

impl PartialEq<str> for ErrorName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<ErrorName> for str {
    fn eq(&self, other: &ErrorName) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<ErrorName> for &str {
    fn eq(&self, other: &ErrorName) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<ErrorName> for String {
    fn eq(&self, other: &ErrorName) -> bool {
        self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_value_is_the_serde_form_and_names_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for name in ErrorName::ALL {
            let json = serde_json::to_value(name).expect("a name serializes");
            assert_eq!(json, serde_json::Value::String(name.as_str().to_owned()));
            let back: ErrorName = serde_json::from_value(json).expect("and reads back");
            assert_eq!(back, name);
            assert_eq!(name.to_string(), name.as_str());
            assert_eq!(ErrorName::from_wire(name.as_str()), Some(name));
            assert!(seen.insert(name.as_str()), "{name} twice");
        }
        assert_eq!(ErrorName::from_wire("States.ALL"), None);
    }

    /// Names of Step Functions and Lambda themselves, which the state machine may match or
    /// raise besides imgflow's own.
    fn built_in(name: &str) -> bool {
        name.starts_with("States.") || name.starts_with("Lambda.") || name == "Sandbox.Timedout"
    }

    /// Every `ErrorEquals` entry, the `Error` of every Fail state and every `"Error"` a Pass
    /// state writes, anywhere in the definition (the Maps' states included).
    fn state_machine_names(node: &serde_json::Value, in_pass: bool, names: &mut Vec<String>) {
        match node {
            serde_json::Value::Object(fields) => {
                let kind = fields.get("Type").and_then(serde_json::Value::as_str);
                let in_pass = in_pass || kind == Some("Pass");
                if (kind == Some("Fail") || in_pass)
                    && let Some(error) = fields.get("Error").and_then(serde_json::Value::as_str)
                {
                    names.push(error.to_owned());
                }
                if let Some(list) = fields
                    .get("ErrorEquals")
                    .and_then(serde_json::Value::as_array)
                {
                    names.extend(list.iter().filter_map(|e| e.as_str().map(str::to_owned)));
                }
                for (key, value) in fields {
                    // A nested state list is a new scope: a Pass state's children are its
                    // parameters, a Map's are states of their own.
                    let nested = key == "States";
                    state_machine_names(value, in_pass && !nested, names);
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    state_machine_names(item, in_pass, names);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn every_error_the_state_machine_names_is_built_in_or_ours() {
        let definition: serde_json::Value =
            serde_json::from_str(include_str!("../../infra/statemachine/imgflow.asl.json"))
                .expect("the state machine is JSON");
        let mut names = Vec::new();
        state_machine_names(&definition, false, &mut names);
        // The walk reaches what the state machine is known to hold: a Retry, a Fail, a Pass.
        for known in ["Cloud.Throttled", "Task.Failed", "Check.Unreachable"] {
            assert!(
                names.iter().any(|n| n == known),
                "{known} not found in {names:?}"
            );
        }
        for name in &names {
            assert!(
                built_in(name) || ErrorName::from_wire(name).is_some(),
                "the state machine names {name}, which is neither a Step Functions or Lambda \
                 error nor an ErrorName"
            );
        }
    }
}
