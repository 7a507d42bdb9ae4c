//! Restoring rows: one archive chunk through `COPY ... FROM STDIN`,
//! re-encoded in the stream as COPY binary where every column's type
//! allows, else as COPY text (`HAUL_PG_COPY` chooses otherwise, see
//! [`Wire`]).

use super::conn::{describe, Pool};
use super::copy_binary::{self, BinKind};
use super::{column_list, qtable};
use crate::archive::codec::{tag, unhex_into, Field};
use crate::engine::{ChunkErrors, ChunkMark, EngineError};
use crate::model::Table;
use crate::stream::Rows;
use bytes::Bytes;
use futures_util::SinkExt;
use std::collections::HashMap;
use std::sync::Arc;

/// Whether an archive chunk reads the same in COPY's CSV mode (with `\N` as
/// NULL) as in haul's format: no field starts with a backslash other than a
/// whole `\N`. Conservative: any doubt sends it the slow way.
fn plain_csv(csv: &[u8]) -> bool {
    memchr::memchr_iter(b'\\', csv).all(|p| {
        let prev = if p == 0 { b'\n' } else { csv[p - 1] };
        match prev {
            b'"' => false,
            b',' | b'\n' => {
                csv.get(p + 1) == Some(&b'N')
                    && matches!(csv.get(p + 2), None | Some(b',') | Some(b'\n'))
            }
            _ => true,
        }
    })
}

/// How chunks are sent to COPY (`HAUL_PG_COPY`): by default binary where
/// every column's type allows, else text; `text` always text; `csv` plain
/// chunks as they are in COPY's CSV mode. The server parses binary with
/// the least CPU and CSV with the most, and a restore is bound by the
/// server's CPU (`bench/pg.sh` measures each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    Binary,
    Text,
    Csv,
}

fn wire() -> Wire {
    static WIRE: std::sync::OnceLock<Wire> = std::sync::OnceLock::new();
    *WIRE.get_or_init(|| match std::env::var("HAUL_PG_COPY").as_deref() {
        Ok("csv") => Wire::Csv,
        Ok("text") => Wire::Text,
        _ => Wire::Binary,
    })
}

/// How much COPY data is sent at once.
const FLUSH: usize = 1 << 20;

/// Chunks smaller than this go as text: looking up the table's column
/// types would cost more than binary saves.
const BINARY_MIN: usize = 64 << 10;

/// Each target table's column types (name to type oid), read once per
/// restore for binary COPY.
#[derive(Default)]
pub(super) struct ColumnTypes(std::sync::Mutex<HashMap<String, Arc<HashMap<String, u32>>>>);

impl ColumnTypes {
    async fn of(
        &self,
        client: &tokio_postgres::Client,
        table: &str,
    ) -> Result<Arc<HashMap<String, u32>>, String> {
        if let Some(t) = self.0.lock().ok().and_then(|m| m.get(table).cloned()) {
            return Ok(t);
        }
        let rows = client
            .query(
                "SELECT attname::text, atttypid FROM pg_attribute
                  WHERE attrelid = $1::text::regclass AND attnum > 0 AND NOT attisdropped",
                &[&qtable(table)],
            )
            .await
            .map_err(|e| describe(&e));
        let failed = |e: String| format!("reading the column types: {e}");
        let mut types = HashMap::new();
        for r in rows.map_err(failed)? {
            let name: String = r.try_get(0).map_err(|e| failed(e.to_string()))?;
            let oid: u32 = r.try_get(1).map_err(|e| failed(e.to_string()))?;
            types.insert(name, oid);
        }
        let types = Arc::new(types);
        if let Ok(mut m) = self.0.lock() {
            m.insert(table.to_string(), Arc::clone(&types));
        }
        Ok(types)
    }

    /// Forget `table`'s types (it was dropped; it may come back otherwise).
    pub(super) fn forget(&self, table: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(table);
        }
    }
}

/// Append `v` to a COPY text buffer, escaped.
#[inline]
fn push_copy_text(out: &mut Vec<u8>, mut v: &[u8]) {
    while let Some(i) = memchr::memchr3(b'\\', b'\t', b'\n', v).or_else(|| memchr::memchr(b'\r', v))
    {
        // memchr3 may miss an earlier '\r'; take the first special byte.
        let j = memchr::memchr(b'\r', &v[..i]).unwrap_or(i);
        out.extend_from_slice(&v[..j]);
        out.extend_from_slice(match v[j] {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            _ => b"\\r",
        });
        v = &v[j + 1..];
    }
    out.extend_from_slice(v);
}

/// Load one chunk of `rows` into `columns` of `table` on a pooled session;
/// with a `mark`, the chunk is recorded in the same transaction.
pub(super) async fn load_chunk(
    pool: &Pool,
    types: &ColumnTypes,
    table: &Table,
    columns: &[String],
    rows: &mut dyn Rows,
    label: &str,
    mark: Option<ChunkMark>,
) -> Result<u64, EngineError> {
    let binary: Vec<bool> = columns
        .iter()
        .map(|n| table.column(n).is_some_and(|c| c.ty.is_binary()))
        .collect();
    let errs = ChunkErrors {
        table: &table.name,
        chunk: label,
    };
    let load_err = |message: String| errs.load(message);
    if columns.is_empty() {
        return load_empty_rows(pool, table, rows, mark, &errs).await;
    }
    // A chunk of plain values goes to COPY's CSV mode as it is, without
    // decoding and re-encoding every field.
    let passthrough = (wire() == Wire::Csv && !binary.iter().any(|b| *b))
        .then(|| rows.raw_csv())
        .flatten()
        .filter(|csv| plain_csv(csv))
        .map(Bytes::copy_from_slice);
    let client = pool.get().await?;
    let result = async {
        let size = rows.csv_len();
        let kinds = if wire() == Wire::Binary && (size == 0 || size >= BINARY_MIN) {
            copy_binary::kinds(
                columns,
                &*types.of(&client, &table.name).await.map_err(load_err)?,
                &binary,
            )
        } else {
            None
        };
        let sql = format!(
            "COPY {} ({}) FROM STDIN{}",
            qtable(&table.name),
            column_list(columns),
            if passthrough.is_some() {
                " WITH (FORMAT csv, NULL '\\N')"
            } else if kinds.is_some() {
                " WITH (FORMAT binary)"
            } else {
                ""
            }
        );
        if mark.is_some() {
            client
                .batch_execute("BEGIN")
                .await
                .map_err(|e| load_err(describe(&e)))?;
        }
        let sink = client
            .copy_in(&sql)
            .await
            .map_err(|e| load_err(describe(&e)))?;
        futures_util::pin_mut!(sink);
        if let Some(csv) = &passthrough {
            let mut at = 0;
            while at < csv.len() {
                let end = (at + (1 << 20)).min(csv.len());
                sink.send(csv.slice(at..end))
                    .await
                    .map_err(|e| load_err(describe(&e)))?;
                at = end;
            }
        } else if let Some(kinds) = &kinds {
            send_binary(sink.as_mut(), rows, columns, kinds, &errs).await?;
        } else {
            send_text(sink.as_mut(), rows, columns, &binary, &errs).await?;
        }
        let n = sink
            .as_mut()
            .finish()
            .await
            .map_err(|e| load_err(describe(&e)))?;
        if let Some(m) = mark {
            client
                .batch_execute(&format!("{}; COMMIT", m.insert_sql(qtable)))
                .await
                .map_err(|e| load_err(describe(&e)))?;
        }
        Ok(n)
    }
    .await;
    if result.is_ok() {
        pool.put(client).await;
    }
    result
}

type Sink<'a> = std::pin::Pin<&'a mut tokio_postgres::CopyInSink<Bytes>>;

/// Send `data` to COPY.
async fn send(
    sink: &mut Sink<'_>,
    data: Vec<u8>,
    errs: &ChunkErrors<'_>,
) -> Result<(), EngineError> {
    sink.send(Bytes::from(data))
        .await
        .map_err(|e| errs.load(describe(&e)))
}

/// Send a full buffer and start a new one.
async fn flush(
    sink: &mut Sink<'_>,
    buf: &mut Vec<u8>,
    errs: &ChunkErrors<'_>,
) -> Result<(), EngineError> {
    send(
        sink,
        std::mem::replace(buf, Vec::with_capacity(FLUSH)),
        errs,
    )
    .await
}

/// The chunk's rows as COPY text.
async fn send_text(
    mut sink: Sink<'_>,
    rows: &mut dyn Rows,
    columns: &[String],
    binary: &[bool],
    errs: &ChunkErrors<'_>,
) -> Result<(), EngineError> {
    let codec_err = |source| errs.codec(source);
    let mut buf: Vec<u8> = Vec::with_capacity(FLUSH);
    let width = rows.width();
    while rows.next_row().map_err(codec_err)? {
        for i in 0..width {
            if i > 0 {
                buf.push(b'\t');
            }
            let field = rows.field(i).map_err(codec_err)?;
            // A value larger than a buffer goes in pieces, so memory
            // stays a buffer whatever one value's size.
            let (prefix, big, escape): (&[u8], &[u8], bool) = match field {
                Field::Value(v) if binary[i] => (b"\\\\x", v, false),
                Field::Tagged(tag::BLOB, hex) if binary[i] => (b"\\\\x", hex, false),
                Field::Value(v) | Field::Tagged(_, v) => (b"", v, true),
                Field::Null => (b"", b"", false),
            };
            if big.len() > FLUSH && !matches!(field, Field::Tagged(tag::BLOB, _) if !binary[i]) {
                buf.extend_from_slice(prefix);
                for piece in big.chunks(FLUSH) {
                    if escape {
                        push_copy_text(&mut buf, piece);
                    } else {
                        buf.extend_from_slice(piece);
                    }
                    flush(&mut sink, &mut buf, errs).await?;
                }
                continue;
            }
            match field {
                Field::Null => buf.extend_from_slice(b"\\N"),
                Field::Value(v) if binary[i] => {
                    buf.extend_from_slice(b"\\\\x");
                    buf.extend_from_slice(v);
                }
                Field::Value(v) => push_copy_text(&mut buf, v),
                Field::Tagged(tag::BLOB, hex) if binary[i] => {
                    buf.extend_from_slice(b"\\\\x");
                    buf.extend_from_slice(hex);
                }
                Field::Tagged(tag::BLOB, _) => {
                    return Err(errs.load(format!(
                        "row {}, column {}: a binary value in a non-binary column",
                        rows.row_number(),
                        columns[i]
                    )))
                }
                Field::Tagged(_, v) => push_copy_text(&mut buf, v),
            }
        }
        buf.push(b'\n');
        if buf.len() >= FLUSH {
            flush(&mut sink, &mut buf, errs).await?;
        }
    }
    if !buf.is_empty() {
        send(&mut sink, buf, errs).await?;
    }
    Ok(())
}

/// The chunk's rows in COPY's binary format, every column of a kind
/// [`copy_binary`] writes; memory stays a buffer plus one value.
async fn send_binary(
    mut sink: Sink<'_>,
    rows: &mut dyn Rows,
    columns: &[String],
    kinds: &[BinKind],
    errs: &ChunkErrors<'_>,
) -> Result<(), EngineError> {
    let codec_err = |source| errs.codec(source);
    let bad = |row: u64, i: usize, why: String| {
        errs.load(format!("row {row}, column {}: {why}", columns[i]))
    };
    let mut buf: Vec<u8> = Vec::with_capacity(FLUSH);
    buf.extend_from_slice(copy_binary::HEADER);
    let start = copy_binary::row_start(kinds.len()).map_err(|m| errs.load(m))?;
    while rows.next_row().map_err(codec_err)? {
        buf.extend_from_slice(&start);
        let row = rows.row_number();
        for (i, kind) in kinds.iter().enumerate() {
            let field = rows.field(i).map_err(codec_err)?;
            let v = match field {
                Field::Null => {
                    buf.extend_from_slice(copy_binary::NULL);
                    continue;
                }
                Field::Tagged(tag::BLOB, _) if *kind != BinKind::Bytea => {
                    return Err(bad(row, i, "a binary value in a non-binary column".into()))
                }
                Field::Value(v) | Field::Tagged(_, v) => v,
            };
            match kind {
                BinKind::Text | BinKind::Json | BinKind::Jsonb => {
                    let version = u8::from(*kind == BinKind::Jsonb);
                    buf.extend_from_slice(
                        &copy_binary::length(v.len() + usize::from(version))
                            .map_err(|m| bad(row, i, m))?,
                    );
                    if *kind == BinKind::Jsonb {
                        buf.push(version);
                    }
                    if v.len() > FLUSH {
                        // In pieces, so memory stays a buffer whatever one
                        // value's size.
                        for piece in v.chunks(FLUSH) {
                            buf.extend_from_slice(piece);
                            flush(&mut sink, &mut buf, errs).await?;
                        }
                    } else {
                        buf.extend_from_slice(v);
                    }
                }
                // Hex in the archive (a column it holds as binary, or a
                // value tagged as a blob).
                BinKind::Bytea
                    if matches!(field, Field::Value(_) | Field::Tagged(tag::BLOB, _)) =>
                {
                    let invalid = || bad(row, i, "the archive's hex is not valid hex".into());
                    if v.len() % 2 != 0 {
                        return Err(invalid());
                    }
                    buf.extend_from_slice(
                        &copy_binary::length(v.len() / 2).map_err(|m| bad(row, i, m))?,
                    );
                    // In pieces of a buffer (an even number of hex digits).
                    for piece in v.chunks(FLUSH) {
                        if !unhex_into(piece, &mut buf) {
                            return Err(invalid());
                        }
                        if buf.len() >= FLUSH {
                            flush(&mut sink, &mut buf, errs).await?;
                        }
                    }
                }
                // Another storage class's text, read as bytea input reads it.
                BinKind::Bytea => {
                    let at = buf.len();
                    buf.extend_from_slice(&[0; 4]);
                    if !copy_binary::unescape_bytea(v, &mut buf) {
                        return Err(bad(
                            row,
                            i,
                            "not a bytea value in escape or hex format".into(),
                        ));
                    }
                    let n = copy_binary::length(buf.len() - at - 4).map_err(|m| bad(row, i, m))?;
                    buf[at..at + 4].copy_from_slice(&n);
                }
                _ => copy_binary::push_fixed(&mut buf, *kind, v).map_err(|m| bad(row, i, m))?,
            }
        }
        if buf.len() >= FLUSH {
            flush(&mut sink, &mut buf, errs).await?;
        }
    }
    buf.extend_from_slice(copy_binary::TRAILER);
    send(&mut sink, buf, errs).await
}

/// Rows of a table without data columns (none, or only generated ones):
/// as many rows of defaults as the chunk holds, in one statement.
async fn load_empty_rows(
    pool: &Pool,
    table: &Table,
    rows: &mut dyn Rows,
    mark: Option<ChunkMark>,
    errs: &ChunkErrors<'_>,
) -> Result<u64, EngineError> {
    let mut n: i64 = 0;
    while rows.next_row().map_err(|e| errs.codec(e))? {
        n += 1;
    }
    let client = pool.get().await?;
    let result = async {
        client.batch_execute("BEGIN").await?;
        let stored = client
            .execute(
                &format!(
                    "INSERT INTO {} SELECT FROM generate_series(1, $1::bigint)",
                    qtable(&table.name)
                ),
                &[&n],
            )
            .await?;
        if let Some(m) = mark {
            client.execute(&m.insert_sql(qtable), &[]).await?;
        }
        client.batch_execute("COMMIT").await?;
        Ok(stored)
    }
    .await;
    match result {
        Ok(stored) => {
            pool.put(client).await;
            Ok(stored)
        }
        Err(e) => Err(errs.load(describe(&e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_csv_is_only_what_copy_csv_reads_alike() {
        assert!(plain_csv(b"1,abc,\\N\n2,\"a,b\",x\\y\n"));
        assert!(plain_csv(b"\\N,1\n"));
        assert!(!plain_csv(b"1,\\\\N\n"), "text starting with a backslash");
        assert!(!plain_csv(b"1,\\i:42\n"), "a tagged value");
        assert!(
            !plain_csv(b"1,\"\\x\"\n"),
            "a quoted field starting with a backslash"
        );
        assert!(!plain_csv(b"\\.\n"), "the end-of-data marker");
    }

    #[test]
    fn copy_text_escaping() {
        let mut out = Vec::new();
        push_copy_text(&mut out, b"a\\b\tc\nd\re");
        assert_eq!(out, b"a\\\\b\\tc\\nd\\re");
        let mut out = Vec::new();
        push_copy_text(&mut out, b"x\ry\\z");
        assert_eq!(out, b"x\\ry\\\\z");
    }
}
