//! One event to its handler ([`handle`]), and the runtime loop of a function's process
//! ([`run`]): logging, the [`App`] built on the first event, then one handler call per event.

use std::sync::Arc;

use imgflow_shared::{clock, deadline};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;
use tokio::sync::OnceCell;
use tracing::Instrument;

use crate::app::{App, Function};
use crate::envelope::Envelope;
use crate::errors::FunctionError;
use crate::{check, logging, start};

/// Handles one event for `function`, whatever its trigger.
pub async fn handle(function: Function, app: &App, event: Value) -> Result<Value, FunctionError> {
    let envelope = Envelope::detect(event)?;
    match function {
        Function::StartExport | Function::StartSync => start::handle(function, app, envelope).await,
        Function::CheckStatus => check::handle(app, envelope).await,
    }
}

/// The whole life of a function's process: logging, then the runtime loop.
pub async fn run(function: Function) -> Result<(), lambda_runtime::Error> {
    logging::init();
    let app: Arc<OnceCell<App>> = Arc::new(OnceCell::new());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let app = Arc::clone(&app);
        // lambda_runtime's own span carries the request id and the trace id.
        let span = tracing::info_span!("invocation", function = function.name());
        async move {
            let app = app.get_or_try_init(App::from_env).await.map_err(|err| {
                tracing::error!(error = err.name, message = %err.message, "configuration failed");
                Diagnostic::from(err)
            })?;
            // Every cloud call stops in time for the answer to reach the state machine.
            let payload = event.payload;
            let handled = match deadline::from_epoch_millis(event.context.deadline, clock::now()) {
                Some(deadline) => deadline::within(deadline, handle(function, app, payload)).await,
                None => handle(function, app, payload).await,
            };
            handled.map_err(|err| {
                tracing::warn!(error = err.name, message = %err.message, "invocation failed");
                Diagnostic::from(err)
            })
        }
        .instrument(span)
    }))
    .await
}
