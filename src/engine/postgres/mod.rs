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
mod copy_text;
mod ddl;
mod depend;
mod introspect;
mod load;
mod objects;
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

/// A table of the current schema, quoted.
fn qtable(name: &str) -> String {
    quote_ident(name)
}

/// Column names, quoted and joined with commas.
fn column_list(cols: &[String]) -> String {
    cols.iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}
