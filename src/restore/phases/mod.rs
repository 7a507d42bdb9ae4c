//! The phases of a restore, in the order `restore::execute` runs them:
//! `prepare` (relax, create), `load` (chunks over workers, each table's keys
//! as soon as it is in), `large_objects` (their bytes), `merge` (staged rows into tables that had rows),
//! `keys` (foreign keys), `reapply` (probe relaxed unique keys, add back
//! what was relaxed), `finish` (sequences, views and triggers, the count
//! check).

pub(super) mod finish;
pub(super) mod keys;
pub(super) mod large_objects;
pub(super) mod load;
pub mod merge;
pub(super) mod prepare;
pub(super) mod reapply;
