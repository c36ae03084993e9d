//! Logs: what lambda_runtime's `tracing::init_default_subscriber` does, without its `RUST_LOG`
//! directive parser (tracing-subscriber's `env-filter`, which brings in a regex engine: about
//! 0.3 MB of each bootstrap). JSON when the function's log format is JSON
//! (`AWS_LAMBDA_LOG_FORMAT`), at the level of `AWS_LAMBDA_LOG_LEVEL` (`RUST_LOG` locally, a
//! level name only; INFO when unset or unknown), no timestamps (CloudWatch adds them), no
//! targets. Handlers log ids, clouds, regions and states: never a credential, a secret, a
//! signature or a request body. Secrets are held in types that print `***`.

use std::str::FromStr;

use tracing_subscriber::filter::LevelFilter;

/// The level named by `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`; INFO when neither names one.
pub fn level(lambda_level: Option<&str>, rust_log: Option<&str>) -> LevelFilter {
    lambda_level
        .or(rust_log)
        .and_then(|name| LevelFilter::from_str(name.trim()).ok())
        .unwrap_or(LevelFilter::INFO)
}

pub fn init() {
    let format = std::env::var("AWS_LAMBDA_LOG_FORMAT").unwrap_or_default();
    let lambda_level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok();
    let rust_log = std::env::var("RUST_LOG").ok();
    let collector = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_max_level(level(lambda_level.as_deref(), rust_log.as_deref()))
        .with_writer(std::io::stdout);
    if format.eq_ignore_ascii_case("json") {
        collector.json().init()
    } else {
        collector.init()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lambda_level_wins_and_an_unknown_one_means_info() {
        assert_eq!(level(Some("debug"), Some("error")), LevelFilter::DEBUG);
        assert_eq!(level(None, Some("WARN")), LevelFilter::WARN);
        assert_eq!(level(Some("loud"), None), LevelFilter::INFO);
        assert_eq!(level(None, None), LevelFilter::INFO);
    }
}
