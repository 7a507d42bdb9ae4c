//! haul: move relational databases. See README.md and docs/architecture.md.

use clap::{CommandFactory, FromArgMatches};
use haul::display::escape_lines;
use haul::{cli, cmd, error};
use std::process::ExitCode;

fn main() -> ExitCode {
    // Die quietly on a closed pipe (`haul inspect x | head`), like other
    // Unix tools, instead of panicking on the next print.
    // SAFETY: resetting a signal disposition before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let matches = cli::Cli::command().get_matches();
    let cli = match cli::Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let verbose = cli.verbose;
    match cmd::run(cli, &matches) {
        Ok(()) if error::has_warned() => ExitCode::from(error::Exit::Warnings as u8),
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = error::exit_code(&e);
            if verbose {
                eprintln!("haul: error: {}", escape_lines(&e.to_string()));
                for cause in e.chain().skip(1) {
                    eprintln!("  caused by: {}", escape_lines(&cause.to_string()));
                }
            } else {
                eprintln!("haul: error: {}", escape_lines(&error::one_line(&e)));
            }
            ExitCode::from(code as u8)
        }
    }
}
