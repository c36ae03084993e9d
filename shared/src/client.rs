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
use crate::endpoints::{Endpoints, Target};
use crate::error::{CloudError, ErrorKind};
use crate::model::ObjectRef;
use crate::protocol;
use crate::retry::{Jitter, Pacer, RetryPolicy};
use crate::signing::{Credentials, HttpRequest, SigningParams, Timestamp};
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

/// The longest wait between two attempts of one call, whatever the policy's cap or the
/// cloud's hint: a configured cap of minutes must not hold one call (and its invocation) that
/// long.
const MAX_WAIT: Duration = Duration::from_secs(120);

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
            count ^ crate::clock::unix_seconds()
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
        self.with_retries(|| {
            self.send_once(
                cloud,
                action,
                region,
                service,
                request,
                repeat,
                credentials,
                &target,
            )
        })
        .await
    }

    /// One signed attempt of [`call`](Self::call), paced; its error is already settled for
    /// `repeat`, so a start that must not repeat never comes back retryable.
    #[allow(clippy::too_many_arguments)]
    async fn send_once(
        &self,
        cloud: Cloud,
        action: &str,
        region: &str,
        service: &str,
        request: &HttpRequest,
        repeat: Repeat,
        credentials: &Credentials,
        target: &Target,
    ) -> Result<Value, CloudError> {
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
        match sent {
            Ok(response) => {
                protocol::parse(cloud, &response).map_err(|error| self.settle(error, repeat))
            }
            Err(TransportError::NotSent(message)) => Err(CloudError::new(
                cloud,
                ErrorKind::Transient,
                "Transport.NotSent",
                message,
            )),
            Err(TransportError::Refused(message)) => Err(CloudError::new(
                cloud,
                ErrorKind::InvalidRequest,
                "Request.Refused",
                message,
            )),
            Err(TransportError::OutcomeUnknown(message)) => Err(self.settle(
                CloudError::new(
                    cloud,
                    ErrorKind::UnknownOutcome,
                    "Transport.OutcomeUnknown",
                    message,
                ),
                repeat,
            )),
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
        self.with_retries(|| {
            storage::head_object(
                &self.transport,
                &self.endpoints,
                cloud,
                region,
                credentials,
                &object.bucket,
                &object.key,
                not_before,
            )
        })
        .await
    }

    /// Runs `attempt` until it succeeds, fails for good, has been made `max_attempts` times,
    /// or the deadline leaves no room for the wait and another attempt.
    async fn with_retries<T, Attempted>(
        &self,
        mut attempt: impl FnMut() -> Attempted,
    ) -> Result<T, CloudError>
    where
        Attempted: Future<Output = Result<T, CloudError>>,
    {
        let mut made = 1;
        loop {
            let error = match attempt().await {
                Err(error) if error.retryable && made < self.retry.max_attempts => error,
                other => return other,
            };
            let Some(wait) = self.wait_before_retry(made, &error) else {
                return Err(error);
            };
            tokio::time::sleep(wait).await;
            made += 1;
        }
    }

    /// The wait before attempt `made + 1` after `error`, at most [`MAX_WAIT`]; `None` when
    /// the deadline leaves no room for the policy's wait and one more attempt.
    fn wait_before_retry(&self, made: u32, error: &CloudError) -> Option<Duration> {
        let delay = {
            let mut jitter = self
                .jitter
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            self.retry.delay(made, error.retry_after, &mut jitter)
        };
        deadline::allows(delay + MIN_ATTEMPT_TIME).then(|| delay.min(MAX_WAIT))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::Jitter;

    #[test]
    fn a_retry_never_waits_longer_than_the_cap_whatever_the_policy_or_hint() {
        let hour = Duration::from_secs(3_600);
        let transport = Transport::new(Duration::from_secs(1), Duration::from_secs(1))
            .expect("an HTTP client without a proxy builds");
        let mut client = CloudClient::new(
            transport,
            Endpoints::real(),
            CloudCredentials::default(),
            RetryPolicy {
                max_attempts: 20,
                base: hour,
                cap: hour,
            },
        );
        client.jitter = Mutex::new(Jitter::seeded(7));
        let throttled = CloudError::new(
            Cloud::ALL[0],
            ErrorKind::Throttled,
            "Throttled",
            "slow down",
        )
        .with_retry_after(Some(hour));
        let waits: Vec<Duration> = (1..20)
            .map(|made| {
                client
                    .wait_before_retry(made, &throttled)
                    .expect("no deadline outside an invocation")
            })
            .collect();
        assert!(waits.iter().all(|wait| *wait <= MAX_WAIT), "{waits:?}");
        assert!(waits.contains(&MAX_WAIT), "{waits:?}");
    }
}
