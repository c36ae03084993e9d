//! Faults injected per cloud and action, through the control endpoint or `--fault`; random
//! faults at a set rate from a seeded generator (`--fault-rate`, `POST /_emulator/faults/random`);
//! whole-cloud outage windows (`--outage`, `POST /_emulator/outages`).

use std::collections::BTreeMap;

use imgflow_shared::Cloud;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// HTTP 5xx with the cloud's internal-error body; nothing is done.
    ServerError,
    /// The cloud's throttling error; nothing is done.
    Throttle,
    /// The connection is closed before anything is done or answered.
    Reset,
    /// The answer comes after `delay_ms`.
    Slow,
    /// The request is carried out and half of the JSON answer is sent.
    Truncated,
    /// The request is carried out (a start creates its task), then the connection is closed
    /// without an answer.
    Lost,
}

/// One rule: the next `times` requests to `cloud`/`action` (any when absent) get `kind`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    #[serde(default)]
    pub cloud: Option<Cloud>,
    #[serde(default)]
    pub action: Option<String>,
    pub kind: FaultKind,
    #[serde(default = "one")]
    pub times: u32,
    #[serde(default)]
    pub delay_ms: u64,
}

fn one() -> u32 {
    1
}

impl Fault {
    /// Parses the `--fault` form `KIND[:CLOUD[:ACTION[:TIMES[:DELAY_MS]]]]`, `*` for any.
    pub fn parse_flag(text: &str) -> Result<Self, String> {
        let mut parts = text.split(':');
        let kind = parts.next().unwrap_or_default();
        let kind: FaultKind = serde_json::from_value(serde_json::Value::String(kind.to_owned()))
            .map_err(|_| format!("fault kind `{kind}`: expected server_error, throttle, reset, slow, truncated or lost"))?;
        let any = |part: Option<&str>| {
            part.filter(|p| !p.is_empty() && *p != "*")
                .map(str::to_owned)
        };
        let cloud = any(parts.next())
            .map(|c| {
                serde_json::from_value(serde_json::Value::String(c.clone()))
                    .map_err(|_| format!("fault cloud `{c}`"))
            })
            .transpose()?;
        let action = any(parts.next());
        let times = any(parts.next()).map_or(Ok(1), |t| {
            t.parse().map_err(|_| format!("fault times `{t}`"))
        })?;
        let delay_ms = any(parts.next()).map_or(Ok(0), |t| {
            t.parse().map_err(|_| format!("fault delay `{t}`"))
        })?;
        Ok(Self {
            cloud,
            action,
            kind,
            times,
            delay_ms,
        })
    }

    fn matches(&self, cloud: Cloud, action: &str) -> bool {
        self.times > 0
            && self.cloud.is_none_or(|c| c == cloud)
            && self.action.as_deref().is_none_or(|a| a == action)
    }
}

/// Random faults: every cloud action (of `cloud`, or of any cloud) gets, with probability
/// `rate`, one of `kinds` (each as likely), drawn from a generator seeded with `seed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomFaults {
    pub rate: f64,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "every_kind")]
    pub kinds: Vec<FaultKind>,
    #[serde(default)]
    pub cloud: Option<Cloud>,
    /// How late a `slow` answer comes.
    #[serde(default = "slow_ms")]
    pub delay_ms: u64,
}

/// Every fault kind, in the order the generator picks from.
pub fn every_kind() -> Vec<FaultKind> {
    vec![
        FaultKind::ServerError,
        FaultKind::Throttle,
        FaultKind::Reset,
        FaultKind::Slow,
        FaultKind::Truncated,
        FaultKind::Lost,
    ]
}

fn slow_ms() -> u64 {
    500
}

/// Why random faults cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RandomFaultsError {
    #[error("random faults: `rate` must be a number from 0 to 1")]
    Rate,
    #[error("random faults: `kinds` must name at least one fault kind")]
    NoKinds,
    #[error("outage: `kind` must be server_error or reset")]
    OutageKind,
    #[error("outage: `seconds` and `start_in_seconds` must be finite and not negative")]
    OutageSeconds,
}

impl RandomFaults {
    pub fn validate(&self) -> Result<(), RandomFaultsError> {
        if !(0.0..=1.0).contains(&self.rate) {
            return Err(RandomFaultsError::Rate);
        }
        if self.kinds.is_empty() {
            return Err(RandomFaultsError::NoKinds);
        }
        Ok(())
    }

    /// Parses the `--fault-rate` form `RATE[:SEED[:KIND,KIND...[:CLOUD]]]` (`*` for any).
    pub fn parse_flag(text: &str) -> Result<Self, String> {
        let mut parts = text.split(':');
        let rate = parts.next().unwrap_or_default();
        let rate: f64 = rate
            .parse()
            .map_err(|_| format!("fault rate `{rate}`: expected a number from 0 to 1"))?;
        let given = |part: Option<&str>| {
            part.filter(|p| !p.is_empty() && *p != "*")
                .map(str::to_owned)
        };
        let seed = given(parts.next()).map_or(Ok(0), |s| {
            s.parse().map_err(|_| format!("fault seed `{s}`"))
        })?;
        let kinds = match given(parts.next()) {
            None => every_kind(),
            Some(list) => list
                .split(',')
                .map(|k| {
                    serde_json::from_value(serde_json::Value::String(k.to_owned()))
                        .map_err(|_| format!("fault kind `{k}`"))
                })
                .collect::<Result<_, _>>()?,
        };
        let cloud = given(parts.next())
            .map(|c| {
                serde_json::from_value(serde_json::Value::String(c.clone()))
                    .map_err(|_| format!("fault cloud `{c}`"))
            })
            .transpose()?;
        let random = Self {
            rate,
            seed,
            kinds,
            cloud,
            delay_ms: slow_ms(),
        };
        random.validate().map_err(|e| e.to_string())?;
        Ok(random)
    }
}

/// A whole-cloud outage: every call to `cloud` fails with `kind` (`server_error` or `reset`)
/// from `start_in_seconds` after it is set, for `seconds`, both in cloud time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutageSpec {
    pub cloud: Cloud,
    pub seconds: f64,
    #[serde(default)]
    pub start_in_seconds: f64,
    #[serde(default = "server_error")]
    pub kind: FaultKind,
}

fn server_error() -> FaultKind {
    FaultKind::ServerError
}

impl OutageSpec {
    pub fn validate(&self) -> Result<(), RandomFaultsError> {
        if !matches!(self.kind, FaultKind::ServerError | FaultKind::Reset) {
            return Err(RandomFaultsError::OutageKind);
        }
        let fine = |s: f64| s.is_finite() && s >= 0.0;
        if !(fine(self.seconds) && fine(self.start_in_seconds)) {
            return Err(RandomFaultsError::OutageSeconds);
        }
        Ok(())
    }

    /// Parses the `--outage` form `CLOUD:SECONDS[:START_IN_SECONDS[:KIND]]`.
    pub fn parse_flag(text: &str) -> Result<Self, String> {
        let mut parts = text.split(':');
        let cloud = parts.next().unwrap_or_default();
        let cloud = serde_json::from_value(serde_json::Value::String(cloud.to_owned()))
            .map_err(|_| format!("outage cloud `{cloud}`"))?;
        let number = |part: Option<&str>, what: &str| {
            part.filter(|p| !p.is_empty()).map_or(Ok(0.0), |p| {
                p.parse::<f64>().map_err(|_| format!("outage {what} `{p}`"))
            })
        };
        let seconds = number(parts.next(), "seconds")?;
        let start_in_seconds = number(parts.next(), "start")?;
        let kind = match parts.next().filter(|p| !p.is_empty()) {
            None => FaultKind::ServerError,
            Some(k) => serde_json::from_value(serde_json::Value::String(k.to_owned()))
                .map_err(|_| format!("outage kind `{k}`"))?,
        };
        let outage = Self {
            cloud,
            seconds,
            start_in_seconds,
            kind,
        };
        outage.validate().map_err(|e| e.to_string())?;
        Ok(outage)
    }
}

/// An outage placed on the cloud clock.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outage {
    pub cloud: Cloud,
    pub kind: FaultKind,
    /// Cloud unix seconds.
    pub starts: f64,
    pub ends: f64,
    /// Calls failed by this outage so far.
    pub calls_failed: u64,
}

impl Outage {
    pub fn is_active(&self, now: f64) -> bool {
        (self.starts..self.ends).contains(&now)
    }
}

/// SplitMix64: small, seeded, the same sequence on every platform.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<Fault>,
    random: Option<(RandomFaults, Rng)>,
    outages: Vec<Outage>,
    /// Faults injected so far, per kind (rules, random faults and outages together).
    injected: BTreeMap<FaultKind, u64>,
    /// Of those, the calls an outage failed.
    outage_calls: u64,
}

/// What `GET /_emulator/stats` reports of the faults.
#[derive(Debug, Clone, Serialize)]
pub struct FaultCounts {
    pub faults_injected: BTreeMap<FaultKind, u64>,
    pub outage_calls_failed: u64,
}

impl Faults {
    pub fn add(&mut self, fault: Fault) {
        self.rules.push(fault);
    }

    /// Removes every rule (random faults and outages stay).
    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// Starts (or replaces, restarting its sequence) random faults; `None` stops them.
    pub fn set_random(&mut self, random: Option<RandomFaults>) {
        self.random = random.map(|r| {
            let seed = r.seed;
            (r, Rng(seed))
        });
    }

    pub fn random(&self) -> Option<&RandomFaults> {
        self.random.as_ref().map(|(r, _)| r)
    }

    /// Places an outage on the cloud clock, `now` being the cloud time.
    pub fn add_outage(&mut self, spec: &OutageSpec, now: f64) -> Outage {
        let starts = now + spec.start_in_seconds;
        let outage = Outage {
            cloud: spec.cloud,
            kind: spec.kind,
            starts,
            ends: starts + spec.seconds,
            calls_failed: 0,
        };
        self.outages.push(outage.clone());
        outage
    }

    pub fn outages(&self) -> &[Outage] {
        &self.outages
    }

    pub fn clear_outages(&mut self) {
        self.outages.clear();
    }

    pub fn counts(&self) -> FaultCounts {
        FaultCounts {
            faults_injected: self.injected.clone(),
            outage_calls_failed: self.outage_calls,
        }
    }

    pub fn reset_counts(&mut self) {
        self.injected.clear();
        self.outage_calls = 0;
    }

    /// The fault for this request to `cloud`/`action` at cloud time `now`: a rule first (using
    /// up one of its times), then an outage of the cloud, then a random draw. Counted.
    pub fn next(&mut self, cloud: Cloud, action: &str, now: f64) -> Option<Fault> {
        let fault = self
            .take(cloud, action)
            .or_else(|| self.outage(cloud, action, now))
            .or_else(|| self.draw(cloud, action));
        if let Some(fault) = &fault {
            *self.injected.entry(fault.kind).or_default() += 1;
        }
        fault
    }

    fn outage(&mut self, cloud: Cloud, action: &str, now: f64) -> Option<Fault> {
        let outage = self
            .outages
            .iter_mut()
            .find(|o| o.cloud == cloud && o.is_active(now))?;
        outage.calls_failed += 1;
        self.outage_calls += 1;
        Some(Fault {
            cloud: Some(cloud),
            action: Some(action.to_owned()),
            kind: outage.kind,
            times: 1,
            delay_ms: 0,
        })
    }

    fn draw(&mut self, cloud: Cloud, action: &str) -> Option<Fault> {
        let (random, rng) = self.random.as_mut()?;
        if random.cloud.is_some_and(|c| c != cloud) || random.kinds.is_empty() {
            return None;
        }
        // Two draws per call whether or not it faults, so the sequence depends only on the
        // number of calls.
        let hit = rng.unit() < random.rate;
        let pick = (rng.next_u64() % random.kinds.len() as u64) as usize;
        hit.then(|| Fault {
            cloud: Some(cloud),
            action: Some(action.to_owned()),
            kind: random.kinds[pick],
            times: 1,
            delay_ms: random.delay_ms,
        })
    }

    pub fn pending(&self) -> Vec<Fault> {
        self.rules.iter().filter(|f| f.times > 0).cloned().collect()
    }

    /// The fault for this request, if a rule applies; uses up one of its times.
    pub fn take(&mut self, cloud: Cloud, action: &str) -> Option<Fault> {
        let rule = self.rules.iter_mut().find(|f| f.matches(cloud, action))?;
        rule.times -= 1;
        Some(rule.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_with_wildcards_and_defaults() {
        let fault = Fault::parse_flag("lost:alibaba:ExportImage:2").expect("valid");
        assert_eq!(fault.kind, FaultKind::Lost);
        assert_eq!(fault.cloud, Some(Cloud::Alibaba));
        assert_eq!(fault.action.as_deref(), Some("ExportImage"));
        assert_eq!(fault.times, 2);
        let fault = Fault::parse_flag("slow:*:*:1:250").expect("valid");
        assert_eq!(
            (fault.cloud, fault.action, fault.delay_ms),
            (None, None, 250)
        );
        assert!(Fault::parse_flag("explode").is_err());
        assert!(Fault::parse_flag("reset:aws").is_err());
    }

    #[test]
    fn a_rule_applies_as_many_times_as_asked_then_stops() {
        let mut faults = Faults::default();
        faults.add(Fault::parse_flag("reset:tencent:SyncImages:2").expect("valid"));
        assert!(faults.take(Cloud::Tencent, "ExportImages").is_none());
        assert!(faults.take(Cloud::Tencent, "SyncImages").is_some());
        assert!(faults.take(Cloud::Tencent, "SyncImages").is_some());
        assert!(faults.take(Cloud::Tencent, "SyncImages").is_none());
    }

    #[test]
    fn random_faults_honour_the_rate_and_repeat_for_a_seed() {
        let run = |seed| {
            let mut faults = Faults::default();
            faults.set_random(Some(
                RandomFaults::parse_flag(&format!("0.1:{seed}")).expect("valid"),
            ));
            (0..20_000)
                .map(|_| {
                    faults
                        .next(Cloud::Alibaba, "DescribeImages", 0.0)
                        .map(|f| f.kind)
                })
                .collect::<Vec<_>>()
        };
        let first = run(7);
        assert_eq!(first, run(7), "the same seed gives the same faults");
        assert_ne!(first, run(8));
        let hits = first.iter().flatten().count();
        assert!(
            (1_800..=2_200).contains(&hits),
            "{hits} faults in 20,000 calls at 10 %"
        );
        for kind in every_kind() {
            let n = first.iter().flatten().filter(|k| **k == kind).count();
            assert!((200..=470).contains(&n), "{kind:?}: {n} of {hits}");
        }
    }

    #[test]
    fn random_fault_flags_are_checked() {
        let random = RandomFaults::parse_flag("0.05:3:reset,lost:huawei").expect("valid");
        assert_eq!(random.kinds, vec![FaultKind::Reset, FaultKind::Lost]);
        assert_eq!((random.seed, random.cloud), (3, Some(Cloud::Huawei)));
        assert!(RandomFaults::parse_flag("1.5").is_err());
        assert!(RandomFaults::parse_flag("0.1:x").is_err());
        assert!(RandomFaults::parse_flag("0.1:1:boom").is_err());
        let outage = OutageSpec::parse_flag("tencent:300:60:reset").expect("valid");
        assert_eq!(
            (outage.seconds, outage.start_in_seconds, outage.kind),
            (300.0, 60.0, FaultKind::Reset)
        );
        assert!(OutageSpec::parse_flag("tencent:300:0:lost").is_err());
        assert!(OutageSpec::parse_flag("tencent:-1").is_err());
    }

    #[test]
    fn an_outage_fails_every_call_to_its_cloud_inside_its_window_only() {
        let mut faults = Faults::default();
        let spec = OutageSpec::parse_flag("volcengine:300:100").expect("valid");
        faults.add_outage(&spec, 1_000.0);
        assert!(
            faults
                .next(Cloud::Volcengine, "DescribeTasks", 1_099.0)
                .is_none()
        );
        assert!(
            faults
                .next(Cloud::Volcengine, "DescribeTasks", 1_100.0)
                .is_some()
        );
        assert!(
            faults
                .next(Cloud::Tencent, "DescribeImages", 1_200.0)
                .is_none()
        );
        assert!(
            faults
                .next(Cloud::Volcengine, "ExportImage", 1_399.0)
                .is_some()
        );
        assert!(
            faults
                .next(Cloud::Volcengine, "DescribeTasks", 1_400.0)
                .is_none()
        );
        let counts = faults.counts();
        assert_eq!(counts.outage_calls_failed, 2);
        assert_eq!(
            counts.faults_injected.get(&FaultKind::ServerError),
            Some(&2)
        );
    }
}
