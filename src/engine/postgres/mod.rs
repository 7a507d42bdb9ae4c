//! PostgreSQL: snapshot dumps through `COPY ... TO STDOUT` on workers joined
//! with `pg_export_snapshot()`, restores through `COPY ... FROM STDIN`.
//!
//! Both directions use COPY's text format; this module converts between it
//! and the archive's CSV convention. Sessions pin `DateStyle`, `TimeZone`,
//! `IntervalStyle`, `extra_float_digits` and `bytea_output` so that values
//! are written and read in one canonical form.

mod acl;
mod admin;
mod conn;
mod copy_binary;
mod copy_text;
mod ddl;
mod depend;
mod introspect;
mod largeobjects;
mod load;
mod objects;
mod postgis;
mod relations;
mod replay;
mod routines;
mod settings;
mod source;
mod target;
mod types;
mod uncarried;

pub use admin::PgAdmin;
pub use source::PgSource;
pub use target::PgTarget;

use super::quote_ident;

/// A table (or sequence, view) as the archive names it, quoted: `t` is of
/// the current schema, `s.t` of schema `s` (split on the first '.'; a dump
/// refuses a table of the current schema whose name has one).
fn qtable(name: &str) -> String {
    match name.split_once('.') {
        Some((s, t)) => format!("{}.{}", quote_ident(s), quote_ident(t)),
        None => quote_ident(name),
    }
}

/// Column names, quoted and joined with commas.
fn column_list(cols: &[String]) -> String {
    cols.iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}
