//! The restore journal: a one-row table holding its body, and a table of
//! the chunks already loaded.

use super::err;
use crate::engine::{quote_ident, EngineError, CHUNKS_TABLE, JOURNAL_TABLE};
use rusqlite::{Connection, OptionalExtension};

/// The journal's body, `None` when the target has no journal.
pub(super) fn read(conn: &Connection) -> Result<Option<String>, EngineError> {
    let exists: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
            [JOURNAL_TABLE],
            |r| r.get(0),
        )
        .map_err(|e| err("reading the restore journal", e))?;
    if !exists {
        return Ok(None);
    }
    conn.query_row(
        &format!(
            "SELECT body FROM {} WHERE id = 1",
            quote_ident(JOURNAL_TABLE)
        ),
        [],
        |r| r.get(0),
    )
    .optional()
    .map_err(|e| err("reading the restore journal", e))
}

/// Write the journal's body, creating its tables if needed.
pub(super) fn write(conn: &Connection, body: &str) -> Result<(), EngineError> {
    let t = quote_ident(JOURNAL_TABLE);
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {t} (id INTEGER PRIMARY KEY, written_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, body TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS {} (tbl INTEGER NOT NULL, chunk INTEGER NOT NULL, PRIMARY KEY (tbl, chunk))",
        quote_ident(CHUNKS_TABLE)
    ))
    .and_then(|_| {
        conn.execute(
            &format!("INSERT OR REPLACE INTO {t} (id, body) VALUES (1, ?1)"),
            [body],
        )
    })
    .map(|_| ())
    .map_err(|e| err("writing the restore journal", e))
}

/// Drop the journal's tables.
pub(super) fn clear(conn: &Connection) -> Result<(), EngineError> {
    conn.execute_batch(&format!(
        "DROP TABLE IF EXISTS {}; DROP TABLE IF EXISTS {}",
        quote_ident(JOURNAL_TABLE),
        quote_ident(CHUNKS_TABLE)
    ))
    .map_err(|e| err("removing the restore journal", e))
}
