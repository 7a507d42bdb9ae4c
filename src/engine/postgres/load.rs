//! Restoring rows: one archive chunk through `COPY ... FROM STDIN`,
//! re-encoded as COPY text in the stream (or, with `HAUL_PG_COPY=csv`, as
//! CSV when the chunk reads the same that way).

use super::conn::{describe, Pool};
use super::{column_list, qtable};
use crate::archive::codec::{tag, Field};
use crate::engine::{ChunkErrors, ChunkMark, EngineError};
use crate::model::Table;
use crate::stream::Rows;
use bytes::Bytes;
use futures_util::SinkExt;

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

/// Whether chunks of plain values go to COPY's CSV mode as they are
/// (`HAUL_PG_COPY=csv`) rather than re-encoded as COPY text, the default:
/// the server parses text with less CPU, and a restore is bound by the
/// server's CPU (`bench/pg.sh` measures both).
fn csv_passthrough() -> bool {
    static CSV: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *CSV.get_or_init(|| std::env::var("HAUL_PG_COPY").is_ok_and(|v| v == "csv"))
}

/// How much COPY data is sent at once.
const FLUSH: usize = 1 << 20;

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
    let codec_err = |source| errs.codec(source);
    if columns.is_empty() {
        return load_empty_rows(pool, table, rows, mark, &errs).await;
    }
    // A chunk of plain values goes to COPY's CSV mode as it is, without
    // decoding and re-encoding every field.
    let passthrough = (csv_passthrough() && !binary.iter().any(|b| *b))
        .then(|| rows.raw_csv())
        .flatten()
        .filter(|csv| plain_csv(csv))
        .map(Bytes::copy_from_slice);
    let sql = format!(
        "COPY {} ({}) FROM STDIN{}",
        qtable(&table.name),
        column_list(columns),
        if passthrough.is_some() {
            " WITH (FORMAT csv, NULL '\\N')"
        } else {
            ""
        }
    );
    let client = pool.get().await?;
    let result = async {
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
        }
        let mut buf: Vec<u8> = Vec::with_capacity(if passthrough.is_some() { 0 } else { FLUSH });
        let width = rows.width();
        while passthrough.is_none() && rows.next_row().map_err(codec_err)? {
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
                if big.len() > FLUSH && !matches!(field, Field::Tagged(tag::BLOB, _) if !binary[i])
                {
                    buf.extend_from_slice(prefix);
                    for piece in big.chunks(FLUSH) {
                        if escape {
                            push_copy_text(&mut buf, piece);
                        } else {
                            buf.extend_from_slice(piece);
                        }
                        let full = std::mem::replace(&mut buf, Vec::with_capacity(FLUSH));
                        sink.send(Bytes::from(full))
                            .await
                            .map_err(|e| load_err(describe(&e)))?;
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
                        return Err(load_err(format!(
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
                let full = std::mem::replace(&mut buf, Vec::with_capacity(FLUSH));
                sink.send(Bytes::from(full))
                    .await
                    .map_err(|e| load_err(describe(&e)))?;
            }
        }
        if !buf.is_empty() {
            sink.send(Bytes::from(buf))
                .await
                .map_err(|e| load_err(describe(&e)))?;
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
