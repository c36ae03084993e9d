//! `imgflow`: see `imgflow --help` and `shared/cli/README.md`.

use std::process::ExitCode;

use clap::Parser;
use imgflow::cli::Cli;
use imgflow::exit::Exit;

fn main() -> ExitCode {
    // Usage errors exit 2 (invalid input), `--help` and `--version` exit 0: clap's own codes
    // agree with ours.
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return Exit::Configuration.into();
        }
    };
    runtime.block_on(imgflow::commands::run(cli)).into()
}
