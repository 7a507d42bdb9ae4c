//! The rejects archive: rows a merge did not keep, read back out of the
//! target's `haul_rejects_*` tables through the dump pipeline, each under
//! its table's name and shape.

use super::merge::rejects_name;
use super::plan::Plan;
use super::{Policy, Run};
use crate::model::Schema;
use crate::progress::Progress;
use anyhow::{Context, Result};
use std::sync::Arc;

/// Write the `haul_rejects_*` tables with rows to the rejects archive, each
/// under its table's name and shape; returns the archive's path.
pub(super) async fn write_rejects(
    archive: &str,
    plan: &Plan,
    losers: &[(usize, u64)],
    run: &Run<'_>,
) -> Result<String> {
    let mut tables = Vec::new();
    let mut read_from = Vec::new();
    for &(pi, n) in losers.iter().filter(|(_, n)| *n > 0) {
        let tp = &plan.tables[pi];
        let Some(tt) = &tp.target_table else { continue };
        let mut t = tt.clone();
        t.estimated_rows = Some(n);
        read_from.push((t.name.clone(), rejects_name(tp, pi)));
        tables.push(t);
    }
    let source: Arc<dyn crate::engine::Source> = Arc::from(
        crate::engine::open_source(run.target_spec, 1)
            .await
            .context("reading the rejected rows back out of the target")?,
    );
    let expected: Vec<(String, Option<u64>)> = tables
        .iter()
        .map(|t| (t.name.clone(), t.estimated_rows))
        .collect();
    let quiet = Progress::new(crate::progress::Mode::Quiet, "rejects", &expected);
    let settings = crate::dump::Settings {
        jobs: 1,
        chunk_size: 64 << 20,
        level: 3,
        markers: false,
    };
    let schema = Schema {
        tables,
        ..Schema::default()
    };
    let (path, _) = crate::dump::write_archive(
        source,
        schema,
        &read_from,
        &crate::archive::Dest {
            recipients: run.rejects_to.clone(),
            ..crate::archive::Dest::local(&run.rejects, true)
        },
        &settings,
        quiet,
        crate::archive::manifest::now_rfc3339(),
        vec![match run.policy {
            Policy::KeepArchived => format!(
                "rows of {} replaced by the archive's in a restore of {archive} (--on-duplicate keep-archived)",
                run.target_spec
            ),
            _ => format!(
                "rows of {archive} not restored into {}: the target's rows with the same keys were kept (--on-duplicate keep-existing)",
                run.target_spec
            ),
        }],
    )
    .await
    .with_context(|| format!("writing the rejects archive {}", run.rejects.display()))?;
    Ok(path.display().to_string())
}
