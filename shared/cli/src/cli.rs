//! The command line, as clap parses it.

use clap::{Args, Parser, Subcommand};
use imgflow_shared::{Cloud, providers};

use crate::exit::EXIT_CODES_HELP;

#[derive(Debug, Parser)]
#[command(
    name = "imgflow",
    version,
    about = about(),
    after_help = after_help(),
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What the command does, naming the clouds it knows.
fn about() -> String {
    let names: Vec<&str> = Cloud::ALL
        .iter()
        .map(|cloud| providers::of(*cloud).display_name())
        .collect();
    let clouds = match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    };
    format!(
        "Export custom VM images of {clouds} to object storage, copy them to other regions, \
         and follow the tasks."
    )
}

/// The text after the options in `--help`: where credentials come from, and the exit codes.
pub fn after_help() -> String {
    let clouds: Vec<String> = Cloud::ALL
        .iter()
        .map(|cloud| {
            let provider = providers::of(*cloud);
            let keys = provider.credential_variables();
            let mut text = format!("{}/{}/{}", keys.key_id, keys.secret, keys.session_token);
            if let Some(setting) = provider.regional_setting() {
                text.push_str(&format!(" with {}=region=id,...", setting.variable));
            }
            text
        })
        .collect();
    format!(
        "Credentials come from the environment: {}\n\n{EXIT_CODES_HELP}",
        clouds.join(", ")
    )
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every seed scenario against an in-process cloud emulator (no account needed):
    /// exports and copies on all four clouds, plus one expected failure, with progress bars
    /// and a summary table.
    #[cfg(feature = "demo")]
    #[command(after_help = after_help())]
    Demo(DemoArgs),
    /// Start an export (the JSON of an ExportRequest) and print the started tasks.
    #[command(after_help = after_help())]
    Export(StartArgs),
    /// Start a copy to other regions (the JSON of a CopyRequest) and print the started tasks.
    #[command(after_help = after_help())]
    Sync(StartArgs),
    /// Print the status of tasks (the JSON `export`/`sync --json` printed).
    #[command(after_help = after_help())]
    Status(StatusArgs),
}

#[cfg(feature = "demo")]
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Print the summary as one JSON document on stdout, without progress bars.
    #[arg(long)]
    pub json: bool,
    /// Cloud seconds per real second on the emulator (and in the waits).
    #[arg(long, default_value_t = crate::demo::DEFAULT_TIME_SCALE, value_name = "N")]
    pub time_scale: f64,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// The request: a JSON file, or `-` for standard input.
    #[arg(long, value_name = "FILE|-")]
    pub request: String,
    /// Start nothing: show what the request would do now (the images its selector matches,
    /// the requests it would send with their names rendered, what `skip_existing` would
    /// skip) after checking every rule. Only reads (listings, HEADs of objects).
    #[arg(long, conflicts_with = "wait")]
    pub dry_run: bool,
    /// With --dry-run: the job id `{job_id}` renders to.
    #[arg(long, value_name = "ID", requires = "dry_run")]
    pub job_id: Option<String>,
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The tasks: what `export`/`sync --json` printed (or a list of task references, or what
    /// `status --json` printed); `-` for standard input.
    #[arg(long, value_name = "FILE|-")]
    pub tasks: String,
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Send every request to this base URL (the cloud emulator, `http://127.0.0.1:PORT`)
    /// instead of the clouds' real hosts.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Print exactly one JSON document on stdout (no progress bars).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Follow the tasks until they finish, checking as the state machine does.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up (exit 1) when the tasks have not finished this many minutes after
    /// they started.
    #[arg(long, value_name = "N", default_value_t = 24 * 60)]
    pub deadline_minutes: u64,
    /// For tests and the demo only: cloud seconds per real second of an emulator that runs
    /// faster than real time; the waits shrink by this factor.
    #[arg(long, hide = true, default_value_t = 1.0, value_name = "N")]
    pub time_scale: f64,
}
