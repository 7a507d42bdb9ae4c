//! `haul restore` and `haul plan` (the same path without the writes).

use super::{filter, jobs, Global};
use crate::cli::{LoadArgs, RestoreArgs};
use crate::conn::ConnSpec;
use crate::display::{escape, escape_lines};
use crate::error::UsageError;
use crate::progress::human_bytes;
use crate::restore;
use crate::restore::plan::Options;
use crate::restore::session::{Input, Outcome, Request};
use crate::transform::{Backfill, Rules, PROFILES};
use anyhow::Result;
use std::path::PathBuf;

pub fn run(args: RestoreArgs, g: &Global, dry_run: bool) -> Result<()> {
    if args.list_profiles {
        for (name, text) in PROFILES {
            let r = Rules::parse(name, text)?;
            println!("{name:<12} {}", r.description);
        }
        return Ok(());
    }
    let (Some(archive), Some(target_url)) = (args.archive.clone(), args.target.clone()) else {
        return Err(UsageError("give an ARCHIVE and a TARGET".into()).into());
    };
    let access = super::access(&args.key, g)?;
    load(
        Input::Archive(archive),
        access,
        &target_url,
        &args.load,
        g,
        dry_run,
    )
}

/// Validate the flags into a request, run it, and print what it came to:
/// the one path of `restore`, `plan` and `copy`.
pub fn load(
    input: Input,
    access: crate::archive::reader::Access,
    target_url: &str,
    args: &LoadArgs,
    g: &Global,
    dry_run: bool,
) -> Result<()> {
    let spec = ConnSpec::parse(target_url, g.password_file.as_deref())?;
    let verb = match input {
        Input::Archive(_) => "restore",
        Input::Live { .. } => "copy",
    };
    let what = match &input {
        Input::Archive(path) => path.display().to_string(),
        Input::Live { source, .. } => source.to_string(),
    };
    let req = Request {
        input,
        access,
        jobs: jobs(args.jobs),
        opts: options(args)?,
        policy: args.on_duplicate.into(),
        rejects: rejects_path(args),
        analyze: !args.no_analyze,
        resume: args.resume,
        abandon: args.abandon,
        allow_downgrade: args.allow_downgrade,
        dry_run,
        mode: g.progress_mode(false),
        spec: spec.clone(),
    };
    match restore::session::run(req)? {
        Outcome::Plan(plan) => {
            if g.json {
                println!("{}", serde_json::to_string_pretty(&plan.to_json())?);
            } else {
                print!("{}", escape_lines(&plan.render()));
            }
        }
        Outcome::WouldResume(j) => {
            let phase = serde_json::to_string(&j.phase).unwrap_or_default();
            println!(
                "resume: the restore of {} started {} stopped in phase {}; --resume finishes it",
                escape(&j.archive),
                escape(&j.started_at),
                phase.trim_matches('"')
            );
            print!("{}", escape_lines(&j.plan.render()));
        }
        Outcome::WouldAbandon(j) => {
            println!(
                "abandon: the restore of {} started {} would be undone",
                escape(&j.archive),
                escape(&j.started_at)
            );
        }
        Outcome::Abandoned { archive, left } => {
            if !g.quiet {
                for l in &left {
                    eprintln!("haul: warning: {}", escape_lines(l));
                }
                eprintln!(
                    "haul: abandoned the restore of {archive} into {spec}: created tables dropped, loaded tables emptied, relaxed constraints reapplied"
                );
            }
            if !left.is_empty() {
                crate::error::warned();
            }
        }
        Outcome::Done {
            report,
            resumed,
            plan_warnings,
        } => {
            let prefix = if resumed { "resumed: " } else { "" };
            finish_report(report, verb, &what, &spec, g, &plan_warnings, prefix)?;
        }
    }
    Ok(())
}

/// Where rejected rows go: `--rejects`, or a timestamped file in the
/// current directory.
fn rejects_path(args: &LoadArgs) -> PathBuf {
    args.rejects.clone().unwrap_or_else(|| {
        let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
            .to_string()
            .replace(['-', ':'], "");
        PathBuf::from(format!("haul-rejects-{stamp}.haul"))
    })
}

/// Print what a restore did.
fn finish_report(
    report: restore::Report,
    verb: &str,
    from: &str,
    spec: &ConnSpec,
    g: &Global,
    plan_warnings: &[String],
    prefix: &str,
) -> Result<()> {
    if !report.warnings.is_empty() {
        crate::error::warned();
    }
    if g.json {
        let mut v = serde_json::json!({
            "command": verb,
            "target": spec.to_string(),
            "tables": report.tables,
            "rows": report.rows,
            "rejected": report.rejected,
            "replaced": report.replaced,
            "rejects": report.rejects,
            "stored_bytes": report.stored_bytes,
            "raw_bytes": report.raw_bytes,
            "constraints": report.constraints,
            "seconds": report.seconds,
            "warnings": report.warnings,
        });
        v[if verb == "copy" { "source" } else { "archive" }] = from.into();
        println!("{v}");
    } else if !g.quiet {
        for w in report
            .warnings
            .iter()
            .filter(|w| !plan_warnings.contains(w))
        {
            eprintln!("haul: warning: {}", escape_lines(w));
        }
        let mut rejected = String::new();
        if report.rejected > 0 {
            rejected.push_str(&format!(
                "; {} archive rows rejected (the target's were kept)",
                report.rejected
            ));
        }
        if report.replaced > 0 {
            rejected.push_str(&format!(
                "; {} target rows replaced by the archive's",
                report.replaced
            ));
        }
        if !report.rejects.is_empty() {
            rejected.push_str(&format!(", written to {}", report.rejects.join(", ")));
        }
        eprintln!(
            "haul: {prefix}{} {} tables, {} rows ({}{} of CSV loaded), {} constraints and indexes into {} in {:.1}s; {}{rejected}",
            if verb == "copy" { "copied" } else { "restored" },
            report.tables,
            report.rows,
            if verb == "copy" {
                String::new()
            } else {
                format!("{} read, ", human_bytes(report.stored_bytes))
            },
            human_bytes(report.raw_bytes),
            report.constraints,
            spec,
            report.seconds,
            if verb == "copy" {
                "row counts match the source's"
            } else {
                "row counts match the manifest"
            }
        );
    }
    Ok(())
}

/// Validate the rule flags into plan options (before any connection).
fn options(args: &LoadArgs) -> Result<Options> {
    let mut opts = Options {
        filter: filter(&args.tables),
        clean: args.clean,
        allow_lossy: args.allow_lossy,
        load_markers: args.load_markers,
        no_code: args.no_code,
        keep_definers: args.keep_definers,
        drop_columns: args
            .drop_columns
            .iter()
            .map(|s| s.trim().to_string())
            .collect(),
        objects: crate::restore::objects::ObjectOptions {
            no_owner: args.no_owner,
            no_privileges: args.no_privileges,
            create_roles: args.create_roles,
            clean: args.clean,
            missing_roles: vec![],
        },
        zero_dates: match args.zero_dates {
            crate::cli::ZeroDatesArg::Null => crate::convert::ZeroDates::Null,
            crate::cli::ZeroDatesArg::Error => crate::convert::ZeroDates::Error,
        },
        ..Options::default()
    };
    for b in &args.backfill {
        opts.backfills
            .push(Backfill::parse(b).map_err(|e| UsageError(e.to_string()))?);
    }
    let mut rules = Vec::new();
    if let Some(p) = &args.profile {
        rules.push(Rules::profile(p).map_err(|e| UsageError(e.to_string()))?);
    }
    if let Some(path) = &args.rules {
        let text = std::fs::read_to_string(path)
            .map_err(|e| UsageError(format!("cannot read rules file {}: {e}", path.display())))?;
        rules.push(
            Rules::parse(&path.display().to_string(), &text)
                .map_err(|e| UsageError(e.to_string()))?,
        );
    }
    for r in rules {
        opts.profile_backfills
            .extend(r.backfills().map_err(|e| UsageError(e.to_string()))?);
        opts.keep_target.extend(r.keep_target);
    }
    Ok(opts)
}
