//! One client for the four clouds: signs with the cloud's signer, paces each action below its
//! documented rate, retries throttling and transient failures with jittered backoff, and
//! never repeats a start whose outcome is unknown.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Cloud;
use crate::config::CloudCredentials;
use crate::deadline;
use crate::endpoints::Endpoints;
use crate::error::{CloudError, ErrorKind};
use crate::model::ObjectRef;
use crate::protocol;
use crate::retry::{Jitter, Pacer, RetryPolicy};
use crate::signing::{HttpRequest, SigningParams, Timestamp};
use crate::storage;
use crate::transport::{Transport, TransportError};

/// Whether a call may be repeated when its outcome is unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeat {
    /// Reads, and starts the cloud deduplicates (a ClientToken): repeating is harmless.
    Safe,
    /// Starts without deduplication: an unknown outcome is returned to the caller, who must
    /// look for what the first attempt may have created before starting again.
    Never,
}

/// An attempt that cannot have this long before the invocation's deadline is not made: the
/// caller gets the last error (retryable) and the state machine retries with a fresh invocation.
const MIN_ATTEMPT_TIME: Duration = Duration::from_secs(2);

pub struct CloudClient {
    transport: Transport,
    endpoints: Endpoints,
    credentials: CloudCredentials,
    retry: RetryPolicy,
    pacer: Pacer,
    jitter: Mutex<Jitter>,
    nonce_counter: AtomicU64,
}

impl std::fmt::Debug for CloudClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudClient")
            .field("endpoints", &self.endpoints)
            .field("credentials", &self.credentials)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl CloudClient {
    pub fn new(
        transport: Transport,
        endpoints: Endpoints,
        credentials: CloudCredentials,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            transport,
            endpoints,
            credentials,
            retry,
            pacer: Pacer::default(),
            jitter: Mutex::new(Jitter::from_clock()),
            nonce_counter: AtomicU64::new(0),
        }
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    pub fn credentials(&self) -> &CloudCredentials {
        &self.credentials
    }

    /// A nonce no other request of this process uses (Alibaba rejects a reused one).
    fn nonce(&self) -> String {
        let count = self.nonce_counter.fetch_add(1, Ordering::Relaxed);
        let random = (self.draw() * u64::MAX as f64) as u64;
        format!(
            "{:016x}{:016x}",
            random,
            count ^ Timestamp::now().unix_seconds()
        )
    }

    fn draw(&self) -> f64 {
        self.jitter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .unit()
    }

    /// Sends `request` (unsigned; it is signed afresh on each attempt) as `action` of `cloud`
    /// in `region`, and returns the cloud's success document.
    pub async fn call(
        &self,
        cloud: Cloud,
        action: &str,
        region: &str,
        service: &str,
        request: &HttpRequest,
        repeat: Repeat,
    ) -> Result<Value, CloudError> {
        let credentials = self.credentials.get(cloud).ok_or_else(|| {
            CloudError::new(
                cloud,
                ErrorKind::Permission,
                "Config.NoCredentials",
                format!("no {cloud} credentials are configured"),
            )
        })?;
        let target = self.endpoints.api(cloud, region).map_err(|err| {
            CloudError::new(
                cloud,
                ErrorKind::InvalidRequest,
                "Request.Invalid",
                err.to_string(),
            )
        })?;
        let mut attempt = 1;
        loop {
            self.pacer.wait(cloud, action).await;
            let mut signed = request.clone();
            signed.host = target.host.clone();
            let nonce = self.nonce();
            let params = SigningParams {
                credentials,
                time: Timestamp::now(),
                region,
                service,
                nonce: &nonce,
            };
            cloud.prepare(&mut signed, &params).map_err(|err| {
                CloudError::new(
                    cloud,
                    ErrorKind::InvalidRequest,
                    "Request.Unsignable",
                    err.to_string(),
                )
            })?;
            // A start that must not repeat keeps half of the time left for the lookup that
            // follows a lost answer.
            let sent = match (repeat, deadline::remaining()) {
                (Repeat::Never, Some(left)) => {
                    let limit = Instant::now() + deadline::RESERVE + left / 2;
                    deadline::within(limit, self.transport.send(target.scheme, &signed)).await
                }
                _ => self.transport.send(target.scheme, &signed).await,
            };
            let error = match sent {
                Ok(response) => match protocol::parse(cloud, &response) {
                    Ok(document) => return Ok(document),
                    Err(error) => self.settle(error, repeat),
                },
                Err(TransportError::NotSent(message)) => {
                    CloudError::new(cloud, ErrorKind::Transient, "Transport.NotSent", message)
                }
                Err(TransportError::Refused(message)) => {
                    return Err(CloudError::new(
                        cloud,
                        ErrorKind::InvalidRequest,
                        "Request.Refused",
                        message,
                    ));
                }
                Err(TransportError::OutcomeUnknown(message)) => self.settle(
                    CloudError::new(
                        cloud,
                        ErrorKind::UnknownOutcome,
                        "Transport.OutcomeUnknown",
                        message,
                    ),
                    repeat,
                ),
            };
            if !error.retryable || attempt >= self.retry.max_attempts {
                return Err(error);
            }
            let delay = {
                let mut jitter = self
                    .jitter
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                self.retry.delay(attempt, error.retry_after, &mut jitter)
            };
            if !deadline::allows(delay + MIN_ATTEMPT_TIME) {
                return Err(error);
            }
            tokio::time::sleep(delay.min(Duration::from_secs(120))).await;
            attempt += 1;
        }
    }

    /// The size of an exported object, `None` while it is absent (or, with `not_before`, only
    /// an older file of that name exists). A `HEAD` changes nothing, so throttled and
    /// transient failures are retried like any read.
    pub async fn head_object(
        &self,
        cloud: Cloud,
        region: &str,
        object: &ObjectRef,
        not_before: Option<u64>,
    ) -> Result<Option<u64>, CloudError> {
        let credentials = self.credentials.get(cloud).ok_or_else(|| {
            CloudError::new(
                cloud,
                ErrorKind::Permission,
                "Config.NoCredentials",
                format!("no {cloud} credentials are configured"),
            )
        })?;
        let mut attempt = 1;
        loop {
            let result = storage::head_object(
                &self.transport,
                &self.endpoints,
                cloud,
                region,
                credentials,
                &object.bucket,
                &object.key,
                not_before,
            )
            .await;
            let error = match result {
                Err(error) if error.retryable && attempt < self.retry.max_attempts => error,
                other => return other,
            };
            let delay = {
                let mut jitter = self
                    .jitter
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                self.retry.delay(attempt, error.retry_after, &mut jitter)
            };
            if !deadline::allows(delay + MIN_ATTEMPT_TIME) {
                return Err(error);
            }
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// What an error means for this call: for a start that must not repeat, anything that may
    /// have been carried out (a server error, a lost answer) is an unknown outcome, not a retry.
    fn settle(&self, error: CloudError, repeat: Repeat) -> CloudError {
        let may_have_run = matches!(error.kind, ErrorKind::Transient | ErrorKind::UnknownOutcome);
        match (repeat, may_have_run) {
            (Repeat::Never, true) => CloudError {
                kind: ErrorKind::UnknownOutcome,
                retryable: false,
                ..error
            },
            (Repeat::Safe, true) => CloudError {
                kind: ErrorKind::Transient,
                retryable: true,
                ..error
            },
            _ => error,
        }
    }
}
