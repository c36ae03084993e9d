//! `cloud-emulator`: serves the four clouds' image APIs and their buckets on one port.
//! The first line printed is the base URL.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use cloud_emulator::{Catalog, EmulatorConfig, Fault, OutageSpec, RandomFaults};

#[derive(Parser, Debug)]
#[command(name = "cloud-emulator", version, about)]
struct Args {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// An extra access key of the account `default`, as AK:SK (repeatable).
    #[arg(long = "credential", value_name = "AK:SK", value_parser = parse_credential)]
    credentials: Vec<(String, String)>,
    /// An extra Huawei project of the account `default`: ID (region cn-north-4) or REGION=ID
    /// (repeatable).
    #[arg(long = "huawei-project-id", value_name = "[REGION=]ID", value_parser = parse_project)]
    huawei_projects: Vec<(String, String)>,
    /// A catalogue file replacing the built-in one (see tests/emulator/default-catalog.json).
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Cloud seconds per real second: 3600 makes a one-hour export take one second.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// A fault rule KIND[:CLOUD[:ACTION[:TIMES[:DELAY_MS]]]] (`*` for any; repeatable).
    /// KIND: server_error, throttle, reset, slow, truncated, lost.
    #[arg(long = "fault", value_parser = Fault::parse_flag)]
    faults: Vec<Fault>,
    /// Random faults on every cloud action: RATE[:SEED[:KIND,KIND...[:CLOUD]]] (RATE from 0
    /// to 1; `*` for the default: seed 0, every kind, every cloud).
    #[arg(long = "fault-rate", value_name = "RATE[:SEED[:KINDS[:CLOUD]]]", value_parser = RandomFaults::parse_flag)]
    random_faults: Option<RandomFaults>,
    /// A whole-cloud outage CLOUD:SECONDS[:START_IN_SECONDS[:KIND]] in cloud seconds from the
    /// start; KIND server_error (default) or reset (repeatable).
    #[arg(long = "outage", value_parser = OutageSpec::parse_flag)]
    outages: Vec<OutageSpec>,
}

fn parse_credential(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((ak, sk)) if !ak.is_empty() && !sk.is_empty() => Ok((ak.to_owned(), sk.to_owned())),
        _ => Err("expected AK:SK".to_owned()),
    }
}

fn parse_project(text: &str) -> Result<(String, String), String> {
    let (region, id) = text.split_once('=').unwrap_or(("cn-north-4", text));
    if id.is_empty() || region.is_empty() {
        return Err("expected ID or REGION=ID".to_owned());
    }
    Ok((region.to_owned(), id.to_owned()))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if !(args.time_scale > 0.0 && args.time_scale.is_finite()) {
        eprintln!("cloud-emulator: --time-scale must be a positive number");
        return ExitCode::from(2);
    }
    let catalog = match &args.catalog {
        None => Catalog::default_catalog(),
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| Catalog::parse(&t).map_err(|e| e.to_string()))
        {
            Ok(catalog) => catalog,
            Err(err) => {
                eprintln!("cloud-emulator: {}: {err}", path.display());
                return ExitCode::from(2);
            }
        },
    };
    let config = EmulatorConfig {
        listen: args.listen,
        credentials: args.credentials,
        huawei_projects: args.huawei_projects,
        catalog,
        time_scale: args.time_scale,
        faults: args.faults,
        random_faults: args.random_faults,
        outages: args.outages,
    };
    let emulator = match cloud_emulator::start(config).await {
        Ok(emulator) => emulator,
        Err(err) => {
            eprintln!("cloud-emulator: cannot listen on {}: {err}", args.listen);
            return ExitCode::from(1);
        }
    };
    println!("{}", emulator.base_url);
    let _ = tokio::signal::ctrl_c().await;
    emulator.stop().await;
    ExitCode::SUCCESS
}
