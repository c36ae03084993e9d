//! Faults injected per cloud and action, through the control endpoint or `--fault`.

use imgflow_shared::Cloud;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<Fault>,
}

impl Faults {
    pub fn add(&mut self, fault: Fault) {
        self.rules.push(fault);
    }

    pub fn clear(&mut self) {
        self.rules.clear();
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
}
