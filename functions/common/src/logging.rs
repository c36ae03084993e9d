//! Logs: lambda_runtime's tracing set-up, which writes JSON when the function's log format
//! is JSON (`AWS_LAMBDA_LOG_FORMAT`) and filters by `AWS_LAMBDA_LOG_LEVEL` (`RUST_LOG`
//! locally). Handlers log ids, clouds, regions and states: never a credential, a secret, a
//! signature or a request body. Secrets are held in types that print `***`.

pub fn init() {
    lambda_runtime::tracing::init_default_subscriber();
}
