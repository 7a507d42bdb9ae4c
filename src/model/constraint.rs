//! Constraints and indexes as one kind: what a restore relaxes, defers and
//! adds back.

use super::{Check, ForeignKey, Index, Key, Table};
use serde::{Deserialize, Serialize};

/// A constraint or index that a restore may create after the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Constraint {
    PrimaryKey(Key),
    Unique(Key),
    Index(Index),
    ForeignKey(ForeignKey),
    Check(Check),
}

impl Constraint {
    pub fn name(&self) -> &str {
        match self {
            Constraint::PrimaryKey(k) | Constraint::Unique(k) => &k.name,
            Constraint::Index(i) => &i.name,
            Constraint::ForeignKey(f) => &f.name,
            Constraint::Check(c) => &c.name,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Constraint::PrimaryKey(_) => "primary key",
            Constraint::Unique(_) => "unique",
            Constraint::Index(_) => "index",
            Constraint::ForeignKey(_) => "foreign key",
            Constraint::Check(_) => "check",
        }
    }

    /// Every constraint and index of a table, foreign keys last.
    pub fn all_of(table: &Table) -> Vec<Constraint> {
        let mut v = Vec::new();
        if let Some(pk) = &table.primary_key {
            v.push(Constraint::PrimaryKey(pk.clone()));
        }
        v.extend(table.uniques.iter().cloned().map(Constraint::Unique));
        v.extend(table.indexes.iter().cloned().map(Constraint::Index));
        v.extend(table.checks.iter().cloned().map(Constraint::Check));
        v.extend(
            table
                .foreign_keys
                .iter()
                .cloned()
                .map(Constraint::ForeignKey),
        );
        v
    }
}
