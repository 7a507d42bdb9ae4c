//! MySQL and MariaDB: consistent dumps through the text protocol on workers
//! that share one snapshot, restores through `LOAD DATA LOCAL INFILE` fed from
//! memory.
//!
//! Snapshot: with more than one job, a brief `FLUSH TABLES WITH READ LOCK`
//! while every worker runs `START TRANSACTION WITH CONSISTENT SNAPSHOT`; a
//! single job, or a user without the privilege, reads through one snapshot
//! connection.
//!
//! Values: sessions pin `time_zone = '+00:00'` and read with
//! `character_set_results = binary`, so text arrives as the bytes stored in
//! its column's character set (latin1 stays latin1) and is loaded back with
//! `CHARACTER SET binary`. FLOAT columns are read as `col + 0e0`, whose text
//! form round-trips the stored single-precision value exactly. BIT(n) is
//! stored as a string of `n` binary digits; binary, blob and spatial columns
//! as hex.
//!
//! DDL: a same-engine restore replays the source's `SHOW CREATE TABLE` with
//! its unique keys, secondary indexes and foreign keys removed (the primary
//! key and check constraints stay inline); those are added back from their
//! own `SHOW CREATE TABLE` lines after the data. An index that an
//! auto-increment column needs stays inline. Views and triggers are replayed
//! after the data, without their `DEFINER`. Archives from other engines get
//! a `CREATE TABLE` built from the neutral model.
//!
//! Loading: each chunk is one `LOAD DATA LOCAL INFILE` in its own
//! transaction, streamed from memory in packets well under the server's
//! `max_allowed_packet`; any warning the server reports fails and rolls back
//! the chunk (with `LOCAL`, the server downgrades bad values and duplicate
//! keys to warnings).

mod admin;
mod conn;
mod create;
mod ddl;
mod extras;
mod introspect;
mod load;
mod names;
mod rawrow;
mod replay;
mod source;
mod target;
mod types;

pub use admin::MyAdmin;
pub use source::MySource;
pub use target::MyTarget;

/// `name` quoted with backticks.
pub fn qi(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Column names quoted and separated by commas.
fn column_list(cols: &[String]) -> String {
    cols.iter().map(|c| qi(c)).collect::<Vec<_>>().join(", ")
}
