//! The plan for people (`haul plan`) and for scripts (`--json`).

use super::{Action, Plan};

impl Plan {
    /// The plan as a person reads it.
    pub fn render(&self) -> String {
        let mut s = format!(
            "{} plan: {} {} {} into {} {}\n",
            if self.live { "copy" } else { "restore" },
            self.source_engine,
            self.source_version,
            if self.live { "database" } else { "archive" },
            self.target_engine,
            self.target_version
        );
        for a in &self.app_versions {
            s.push_str(&format!("  app: {a}\n"));
        }
        for t in &self.tables {
            let verb = match t.action {
                Action::Create => "create",
                Action::Recreate => "drop and re-create",
                Action::Load => "load into existing",
                Action::Merge if t.had_rows => "merge into existing (it has rows)",
                Action::Merge => "load through a staging table into existing",
                Action::Keep => "keep the target's",
                Action::Fold => "load partition",
            };
            s.push_str(&format!("  {verb} table {}", t.name));
            if t.target() != t.name {
                s.push_str(&format!(
                    " {} {}",
                    if t.action == Action::Fold {
                        "into"
                    } else {
                        "as"
                    },
                    t.target()
                ));
            }
            if t.action != Action::Keep && self.live {
                s.push_str(&format!(": copy about {} rows", t.rows));
            } else if t.action != Action::Keep {
                s.push_str(&format!(
                    ": load {} rows in {} chunk{}",
                    t.rows,
                    t.chunks,
                    if t.chunks == 1 { "" } else { "s" }
                ));
            }
            if !t.deferred.is_empty() {
                let names: Vec<String> = t
                    .deferred
                    .iter()
                    .map(|c| format!("{} {}", c.kind(), c.name()))
                    .collect();
                s.push_str(&format!("; then add {}", names.join(", ")));
            }
            s.push('\n');
            for m in &t.mapping {
                s.push_str(&format!("      {m}\n"));
            }
            if t.action == Action::Merge && t.had_rows {
                s.push_str(
                    "      through a staging table: archive rows whose keys match a row of the target are resolved by --on-duplicate\n",
                );
            }
            if !t.relax.is_empty() {
                let names: Vec<String> = t
                    .relax
                    .iter()
                    .map(|c| format!("{} {}", c.kind(), c.name()))
                    .collect();
                s.push_str(&format!(
                    "      relax {} during the load; probe for duplicates; reapply\n",
                    names.join(", ")
                ));
            }
        }
        if self.objects.create_roles && !self.objects.missing_roles.is_empty() {
            s.push_str(&format!(
                "  create roles {}\n",
                self.objects.missing_roles.join(", ")
            ));
        }
        for w in &self.warnings {
            s.push_str(&format!("  warning: {w}\n"));
        }
        s
    }

    /// Whether the restore writes into tables that already existed.
    pub fn writes_existing(&self) -> bool {
        self.tables
            .iter()
            .any(|t| matches!(t.action, Action::Load | Action::Merge | Action::Keep))
    }

    /// The plan as JSON for people and scripts (without the internals a
    /// journal keeps).
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(tables) = v.get_mut("tables").and_then(|t| t.as_array_mut()) {
            for (t, p) in tables
                .iter_mut()
                .filter_map(|t| t.as_object_mut())
                .zip(&self.tables)
            {
                for k in ["index", "out", "target_table"] {
                    t.remove(k);
                }
                if p.target() != p.name {
                    t.insert("target".into(), p.target().into());
                }
            }
        }
        if let Some(o) = v.as_object_mut() {
            o.remove("referencing");
        }
        v
    }
}
