//! Loading a chunk: prepared inserts in one transaction, each value bound
//! with the storage class its tag or its column's declared type gives.

use super::target::SqliteTarget;
use super::types::{declared_type, expected_class, numeric_real, same_number, Class};
use super::{blocking, err, lock};
use crate::archive::codec::{tag, unhex_into, Field};
use crate::engine::{quote_ident, ChunkErrors, ChunkMark, EngineError};
use crate::model::{EngineKind, Table};
use crate::stream::Rows;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::Statement;
use std::collections::HashMap;

/// Why a value could not be bound.
enum BindError {
    /// A binary value whose hex does not decode.
    Hex,
    /// A number SQLite would store as a different real.
    Rounded,
    Driver(rusqlite::Error),
}

impl SqliteTarget {
    /// Remember the declared types of a table created from another engine's
    /// archive, whose model still holds the source's native types.
    pub(super) fn remember_declared(&self, table: &Table, from: EngineKind) {
        if from != EngineKind::Sqlite {
            lock(&self.declared).insert(
                table.name.clone(),
                table
                    .columns
                    .iter()
                    .map(|c| (c.name.clone(), declared_type(table, c)))
                    .collect(),
            );
        }
    }

    /// The declared types of `table`'s columns: those it was created with,
    /// else those it has in the file (`None` when it has no columns there).
    fn declared_types(
        &self,
        table: &Table,
    ) -> Result<Option<HashMap<String, String>>, EngineError> {
        if let Some(d) = lock(&self.declared).get(&table.name) {
            return Ok(Some(d.clone()));
        }
        // Not created by this process (a resumed restore, an existing or
        // staging table): the types the table has in the file decide.
        blocking(|| {
            let ctx = || {
                format!(
                    "table {}: reading its declared types (pragma table_info) in {}",
                    table.name, self.target
                )
            };
            let conn = lock(&self.conn);
            let mut stmt = conn
                .prepare("SELECT name, type FROM pragma_table_info(?1)")
                .map_err(|e| err(ctx(), e))?;
            let found: HashMap<String, String> = stmt
                .query_map([&table.name], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(|e| err(ctx(), e))?
                .collect::<Result<_, _>>()
                .map_err(|e| err(ctx(), e))?;
            Ok((!found.is_empty()).then_some(found))
        })
    }

    /// Insert the rows of one chunk into `columns` of `table` in one
    /// transaction (recording the chunk with a `mark`); the number inserted.
    pub(super) fn load_chunk(
        &self,
        table: &Table,
        columns: &[String],
        rows: &mut dyn Rows,
        label: &str,
        mark: Option<ChunkMark>,
    ) -> Result<u64, EngineError> {
        let declared = self.declared_types(table)?;
        // Per column: the class its declared type expects, and whether its
        // untagged values are hex.
        let classes: Vec<(Class, bool)> = columns
            .iter()
            .map(|n| {
                table
                    .column(n)
                    .map(|c| {
                        let decl = declared
                            .as_ref()
                            .and_then(|d| d.get(n))
                            .unwrap_or(&c.native_type);
                        (expected_class(decl), c.ty.is_binary())
                    })
                    .unwrap_or((Class::Text, false))
            })
            .collect();
        let errs = ChunkErrors {
            table: &table.name,
            chunk: label,
        };
        let load_err = |message: String| errs.load(message);
        let codec_err = |source| errs.codec(source);
        let sql = match columns.is_empty() {
            // Rows of a table without data columns.
            true => format!("INSERT INTO {} DEFAULT VALUES", quote_ident(&table.name)),
            false => format!(
                "INSERT INTO {} ({}) VALUES ({})",
                quote_ident(&table.name),
                columns
                    .iter()
                    .map(|c| quote_ident(c))
                    .collect::<Vec<_>>()
                    .join(", "),
                vec!["?"; columns.len()].join(", ")
            ),
        };
        blocking(|| {
            let mut conn = lock(&self.conn);
            let tx = conn.transaction().map_err(|e| load_err(e.to_string()))?;
            let mut n = 0u64;
            {
                let mut stmt = tx
                    .prepare_cached(&sql)
                    .map_err(|e| load_err(e.to_string()))?;
                let mut blob: Vec<u8> = Vec::new();
                while rows.next_row().map_err(codec_err)? {
                    for (i, &(expect, binary)) in classes.iter().enumerate() {
                        let field = rows.field(i).map_err(codec_err)?;
                        bind(&mut stmt, i + 1, field, expect, binary, &mut blob).map_err(|e| {
                            load_err(match e {
                                BindError::Hex => format!(
                                    "row {}, column {}: invalid hex in a binary value",
                                    rows.row_number(),
                                    columns[i]
                                ),
                                BindError::Rounded => format!(
                                    "row {}, column {}: {} has more significant digits than SQLite's numbers keep (15); SQLite would store it rounded",
                                    rows.row_number(),
                                    columns[i],
                                    String::from_utf8_lossy(
                                        rows.field(i).ok().and_then(|f| match f {
                                            Field::Value(v) | Field::Tagged(_, v) => Some(v),
                                            Field::Null => None,
                                        }).unwrap_or_default()
                                    )
                                ),
                                BindError::Driver(e) => {
                                    format!("row {}, column {}: {e}", rows.row_number(), columns[i])
                                }
                            })
                        })?;
                    }
                    stmt.raw_execute()
                        .map_err(|e| load_err(format!("row {}: {e}", rows.row_number())))?;
                    n += 1;
                }
            }
            if let Some(m) = mark {
                tx.execute(&m.insert_sql(quote_ident), [])
                    .map_err(|e| load_err(format!("recording the chunk: {e}")))?;
            }
            tx.commit().map_err(|e| load_err(e.to_string()))?;
            Ok(n)
        })
    }
}

/// Bind one field to parameter `index`: a tagged value as its tag's class,
/// an untagged one as `expect` (as a blob when `binary`). A number that does
/// not parse is bound as text, for the column's affinity to decide.
#[inline]
fn bind(
    stmt: &mut Statement<'_>,
    index: usize,
    field: Field<'_>,
    expect: Class,
    binary: bool,
    blob: &mut Vec<u8>,
) -> Result<(), BindError> {
    let (class, raw): (Class, &[u8]) = match field {
        Field::Null => {
            return stmt
                .raw_bind_parameter(index, rusqlite::types::Null)
                .map_err(BindError::Driver);
        }
        Field::Value(v) => (if binary { Class::Blob } else { expect }, v),
        Field::Tagged(tag::INTEGER, v) => (Class::Integer, v),
        Field::Tagged(tag::REAL, v) => (Class::Real, v),
        Field::Tagged(tag::BLOB, v) => (Class::Blob, v),
        Field::Tagged(_, v) => (Class::Text, v),
    };
    let text = || ToSqlOutput::Borrowed(ValueRef::Text(raw));
    let parsed = std::str::from_utf8(raw).ok();
    match class {
        Class::Integer => match parsed.and_then(|s| s.parse::<i64>().ok()) {
            Some(v) => stmt.raw_bind_parameter(index, v),
            // Not an integer (a decimal from another engine):
            // the column's affinity decides.
            None => stmt.raw_bind_parameter(index, text()),
        },
        Class::Real => match parsed.and_then(|s| s.parse::<f64>().ok()) {
            Some(v) => stmt.raw_bind_parameter(index, v),
            None => stmt.raw_bind_parameter(index, text()),
        },
        Class::Numeric => {
            if let Some(v) = parsed.and_then(|s| s.parse::<i64>().ok()) {
                stmt.raw_bind_parameter(index, v)
            } else if let Some((s, v)) = parsed.and_then(|s| Some((s, numeric_real(s)?))) {
                if !same_number(s, v) {
                    return Err(BindError::Rounded);
                }
                stmt.raw_bind_parameter(index, v)
            } else {
                stmt.raw_bind_parameter(index, text())
            }
        }
        Class::Text => stmt.raw_bind_parameter(index, text()),
        Class::Blob => {
            blob.clear();
            if !unhex_into(raw, blob) {
                return Err(BindError::Hex);
            }
            stmt.raw_bind_parameter(index, ToSqlOutput::Borrowed(ValueRef::Blob(blob)))
        }
    }
    .map_err(BindError::Driver)
}
