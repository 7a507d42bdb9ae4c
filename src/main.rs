//! haul: move relational databases. See README.md and docs/architecture.md.

mod archive;
mod cli;
mod cmd;
mod config;
mod conn;
mod engine;
mod error;
mod markers;
mod pipeline;
mod progress;
mod restore;
mod retention;
mod schema;
mod transform;

use clap::{CommandFactory, FromArgMatches};
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
                eprintln!("haul: error: {e}");
                for cause in e.chain().skip(1) {
                    eprintln!("  caused by: {cause}");
                }
            } else {
                // The command's context and the root cause, once.
                let top = e.to_string();
                match e.chain().last().map(|r| r.to_string()) {
                    Some(root) if !top.contains(&root) => eprintln!("haul: error: {top}: {root}"),
                    _ => eprintln!("haul: error: {top}"),
                }
            }
            ExitCode::from(code as u8)
        }
    }
}
