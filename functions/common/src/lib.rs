//! What the three imgflow Lambda functions share. Each function's `main` is one line: it
//! calls [`run`] with its [`Function`]. A handler recognises its trigger from the event
//! itself ([`envelope`]), calls the shared crate, and shapes the answer for that trigger.
//!
//! | trigger | start-export / start-sync | check-status |
//! | --- | --- | --- |
//! | Step Functions task | starts one request, returns its task references | checks the job, returns its next state |
//! | EventBridge event (rule, Scheduler) | starts a state machine execution for the job | refused (`Request.Invalid`) |
//! | webhook (Function URL, HTTP API v2) | HMAC-checked; starts an execution, answers 202 | HMAC-checked; answers the job's status |
//! | any other (SQS, SNS, S3, ALB, API Gateway REST, ...) | refused (`Trigger.Unsupported`) | refused (`Trigger.Unsupported`) |

pub mod app;
pub mod aws;
pub mod base64;
pub mod check;
pub mod dispatch;
pub mod envelope;
pub mod errors;
pub mod logging;
pub mod records;
pub mod settings;
pub mod sfn;
pub mod start;
pub mod webhook;

pub use app::{App, Function};
pub use dispatch::{handle, run};
pub use errors::FunctionError;
