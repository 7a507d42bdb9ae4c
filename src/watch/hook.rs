//! `--on-failure CMD`: a command run through `sh -c` when a run fails, told
//! what failed in its environment: `HAUL_ERROR` (the error line haul
//! prints), `HAUL_COMMAND` (`dump`, `verify`, `prune`) and `HAUL_EXIT_CODE`.
//! Its output goes to haul's stderr (stdout may carry an archive).

use std::process::{Command, Stdio};

/// Run `cmd`; a warning when it cannot start or does not exit 0. The
/// command's text is never repeated (it may hold a token).
pub fn on_failure(cmd: &str, command: &str, error: &str, code: i32) -> Option<String> {
    use std::os::fd::AsFd;
    let stdout = match std::io::stderr().as_fd().try_clone_to_owned() {
        Ok(fd) => Stdio::from(fd),
        Err(_) => Stdio::null(),
    };
    let status = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .env("HAUL_ERROR", error)
        .env("HAUL_COMMAND", command)
        .env("HAUL_EXIT_CODE", code.to_string())
        .stdin(Stdio::null())
        .stdout(stdout)
        .status();
    match status {
        Ok(s) if s.success() => None,
        Ok(s) => Some(match s.code() {
            Some(c) => format!("the --on-failure command exited with status {c}"),
            None => format!("the --on-failure command was killed ({s})"),
        }),
        Err(e) => Some(format!("cannot run the --on-failure command with sh: {e}")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn gets_the_error_and_its_failure_is_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("got");
        let cmd = format!(
            "printf '%s|%s|%s' \"$HAUL_COMMAND\" \"$HAUL_EXIT_CODE\" \"$HAUL_ERROR\" > {}",
            out.display()
        );
        assert_eq!(super::on_failure(&cmd, "dump", "it broke: 'x'", 3), None);
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "dump|3|it broke: 'x'"
        );
        let w = super::on_failure("exit 4", "prune", "e", 1).unwrap();
        assert!(w.contains("status 4"), "{w}");
    }
}
