//! `sign-check`: reads JSON lines describing requests (see `imgflow_shared::sign_check`) on
//! standard input and writes one JSON line per input with the `Authorization` header, the
//! canonical request and the string to sign. A line that cannot be checked gets an error
//! line (`{"id", "line", "error"}`) and the checker goes on; the exit status is 1 if any
//! line failed.

use std::io::{self, BufRead, BufWriter, Write};
use std::process::ExitCode;

use imgflow_shared::sign_check::check_line;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("sign-check: {err}");
            ExitCode::from(2)
        }
    }
}

/// Returns whether every line was signed.
fn run() -> io::Result<bool> {
    let stdin = io::stdin().lock();
    let mut stdout = BufWriter::new(io::stdout().lock());
    let mut all_signed = true;
    for (index, line) in stdin.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = match check_line(index + 1, &line) {
            Ok(output) => serde_json::to_string(&output),
            Err(error) => {
                all_signed = false;
                serde_json::to_string(&error)
            }
        };
        writeln!(stdout, "{}", answer.map_err(io::Error::other)?)?;
    }
    stdout.flush()?;
    Ok(all_signed)
}
