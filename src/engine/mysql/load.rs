//! Loading: one chunk as one `LOAD DATA LOCAL INFILE`, fed from memory in
//! packets the server accepts.

use super::conn::{cell_s, describe, query_rows, server_code};
use super::qi;
use super::target::MyTarget;
use super::types::{kind_of, Kind};
use crate::archive::codec::{tag, unhex_into, Field};
use crate::engine::{ChunkErrors, ChunkMark, EngineError};
use crate::model::Table;
use crate::stream::Rows;
use bytes::Bytes;
use futures_util::StreamExt;
use mysql_async::prelude::*;

/// Bytes handed to the driver per LOAD DATA packet, at most (and at most half
/// the server's `max_allowed_packet`).
pub(super) const PIECE: usize = 1 << 20;

/// Send `data` to the LOAD DATA stream in packets of at most `piece` bytes;
/// false once the stream is gone.
async fn send_pieces(
    tx: &tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    data: Bytes,
    piece: usize,
) -> bool {
    let mut off = 0;
    while off < data.len() {
        let end = (off + piece).min(data.len());
        if tx.send(Ok(data.slice(off..end))).await.is_err() {
            return false;
        }
        off = end;
    }
    true
}

/// Input bytes escaped per step of a value larger than this, handing the
/// output to the stream as it fills so a huge value is never held whole
/// (even, so hex digit pairs are never split).
const STEP: usize = 1 << 20;

/// How streaming a large value ended.
enum Streamed {
    Done,
    /// The stream is gone (the server stopped reading).
    Closed,
    BadHex,
}

/// Escape `v` into `buf` in steps (`hex`: `v` is the hex of a binary
/// value, decoded step by step through `raw`), sending `buf` whenever it
/// holds a piece.
async fn stream_value(
    tx: &tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    buf: &mut Vec<u8>,
    raw: &mut Vec<u8>,
    v: &[u8],
    hex: bool,
    piece: usize,
) -> Streamed {
    for part in v.chunks(STEP) {
        if hex {
            raw.clear();
            if !unhex_into(part, raw) {
                return Streamed::BadHex;
            }
            push_escaped(buf, raw);
        } else {
            push_escaped(buf, part);
        }
        if buf.len() >= piece && !flush(tx, buf, piece).await {
            return Streamed::Closed;
        }
    }
    Streamed::Done
}

/// Send what `buf` holds and start a new buffer; false once the stream is
/// gone.
async fn flush(
    tx: &tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    buf: &mut Vec<u8>,
    piece: usize,
) -> bool {
    let full = std::mem::replace(buf, Vec::with_capacity(PIECE + PIECE / 4));
    send_pieces(tx, Bytes::from(full), piece).await
}

/// Append `v` escaped for `LOAD DATA ... ESCAPED BY '\\'`.
#[inline]
fn push_escaped(out: &mut Vec<u8>, mut v: &[u8]) {
    loop {
        let i = match (
            memchr::memchr3(b'\\', b'\t', b'\n', v),
            memchr::memchr2(0, b'\r', v),
        ) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => break,
        };
        out.extend_from_slice(&v[..i]);
        out.extend_from_slice(match v[i] {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => b"\\0",
        });
        v = &v[i + 1..];
    }
    out.extend_from_slice(v);
}

/// Binary digits back to the big-endian bytes of a BIT value; false if
/// `digits` holds anything else.
fn bits_to_bytes(digits: &[u8], out: &mut Vec<u8>) -> bool {
    let n = digits.len();
    let len = n.div_ceil(8).max(1);
    out.clear();
    out.resize(len, 0);
    for (j, &d) in digits.iter().enumerate() {
        let bit = match d {
            b'0' => 0,
            b'1' => 1,
            _ => return false,
        };
        // Position from the least significant end.
        let p = n - 1 - j;
        out[len - 1 - p / 8] |= bit << (p % 8);
    }
    true
}

/// The column list of a chunk's `LOAD DATA` and its `SET` clauses. Columns
/// go straight in wherever the server accepts their bytes; MySQL takes JSON
/// and spatial values, MariaDB `UUID`, `INET4` and `INET6` values, only
/// through a conversion. MariaDB ignores `NO_AUTO_VALUE_ON_ZERO` for the
/// columns a statement with a `SET` clause loads directly, so there the
/// auto-increment column goes through a variable too (a `0` stays `0`).
fn load_columns(
    table: &Table,
    columns: &[String],
    kinds: &[Kind],
    mariadb: bool,
) -> (Vec<String>, Vec<String>) {
    let mut targets = Vec::new();
    let mut sets = Vec::new();
    let via = |i: usize, set: String, targets: &mut Vec<String>, sets: &mut Vec<String>| {
        targets.push(format!("@v{i}"));
        sets.push(set);
    };
    for (i, (name, k)) in columns.iter().zip(kinds).enumerate() {
        match k {
            Kind::Spatial if !mariadb => {
                via(i, format!("{} = @v{i}", qi(name)), &mut targets, &mut sets)
            }
            Kind::Json if !mariadb => via(
                i,
                format!("{} = CONVERT(@v{i} USING utf8mb4)", qi(name)),
                &mut targets,
                &mut sets,
            ),
            Kind::Chars if mariadb => via(
                i,
                format!("{} = CONVERT(@v{i} USING utf8mb4)", qi(name)),
                &mut targets,
                &mut sets,
            ),
            _ => targets.push(qi(name)),
        }
    }
    if mariadb && !sets.is_empty() {
        for (i, name) in columns.iter().enumerate() {
            let auto = table
                .column(name)
                .is_some_and(|c| c.auto_increment.is_some());
            if auto && targets[i] == qi(name) {
                targets[i] = format!("@v{i}");
                sets.push(format!("{} = @v{i}", qi(name)));
            }
        }
    }
    (targets, sets)
}

impl MyTarget {
    /// Load one chunk of `rows` into `columns` of `table` in its own
    /// transaction, recording `mark` in it; returns the rows loaded.
    pub(super) async fn load_chunk(
        &self,
        table: &Table,
        columns: &[String],
        rows: &mut dyn Rows,
        label: &str,
        mark: Option<ChunkMark>,
    ) -> Result<u64, EngineError> {
        let errs = ChunkErrors {
            table: &table.name,
            chunk: label,
        };
        let load_err = |message: String| errs.load(message);
        let codec_err = |source| errs.codec(source);
        if columns.is_empty() {
            return self.load_empty_rows(table, rows, mark, &errs).await;
        }
        let kinds: Vec<Kind> = columns
            .iter()
            .map(|n| table.column(n).map(kind_of).unwrap_or(Kind::Text))
            .collect();
        let (targets, sets) = load_columns(table, columns, &kinds, self.mariadb);
        let mut sql = format!(
            "LOAD DATA LOCAL INFILE 'haul' INTO TABLE {} CHARACTER SET binary \
             FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({})",
            qi(&table.name),
            targets.join(", ")
        );
        if !sets.is_empty() {
            sql.push_str(" SET ");
            sql.push_str(&sets.join(", "));
        }

        let mut conn = self.pool.get().await?;
        // MariaDB (10.6+) buffers a transaction's first insert into an empty
        // table and builds it at the end when unique and foreign key checks
        // are off; with a value near the size of the buffer pool that build
        // spins for minutes, ignoring KILL. Chunks that big load row by row.
        let bulk = !self.mariadb || rows.csv_len() <= self.bulk_limit;
        if !bulk {
            conn.query_drop("SET unique_checks = 1")
                .await
                .map_err(|e| load_err(describe(&e)))?;
        }
        conn.query_drop("START TRANSACTION")
            .await
            .map_err(|e| load_err(describe(&e)))?;
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
        conn.set_infile_handler(async move {
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|b| (b, rx))
            });
            Ok(stream.boxed())
        });
        let produce = async move {
            let piece = self.piece;
            let mut buf: Vec<u8> = Vec::with_capacity(PIECE + PIECE / 4);
            let mut raw: Vec<u8> = Vec::new();
            let width = rows.width();
            let r: Result<(), EngineError> = async {
                while rows.next_row().map_err(codec_err)? {
                    for i in 0..width {
                        if i > 0 {
                            buf.push(b'\t');
                        }
                        let bin = matches!(kinds[i], Kind::Binary | Kind::Spatial);
                        let field = rows.field(i).map_err(codec_err)?;
                        let invalid_hex = |row: u64| {
                            load_err(format!(
                                "row {row}, column {}: invalid hex in a binary value",
                                columns[i]
                            ))
                        };
                        match field {
                            Field::Null => buf.extend_from_slice(b"\\N"),
                            Field::Value(v) | Field::Tagged(tag::BLOB, v)
                                if bin && v.len() > STEP =>
                            {
                                match stream_value(&tx, &mut buf, &mut raw, v, true, piece).await {
                                    Streamed::Done => {}
                                    Streamed::Closed => return Ok(()),
                                    Streamed::BadHex => return Err(invalid_hex(rows.row_number())),
                                }
                            }
                            Field::Value(v) | Field::Tagged(tag::BLOB, v) if bin => {
                                raw.clear();
                                if !unhex_into(v, &mut raw) {
                                    return Err(invalid_hex(rows.row_number()));
                                }
                                push_escaped(&mut buf, &raw);
                            }
                            Field::Value(v) if kinds[i] == Kind::Bool => {
                                let v: &[u8] = match v {
                                    b"t" | b"true" | b"TRUE" => b"1",
                                    b"f" | b"false" | b"FALSE" => b"0",
                                    other => other,
                                };
                                push_escaped(&mut buf, v);
                            }
                            Field::Value(v) if matches!(kinds[i], Kind::Bits(_)) => {
                                raw.clear();
                                if !bits_to_bytes(v, &mut raw) {
                                    return Err(load_err(format!(
                                        "row {}, column {}: {:?} is not a string of binary digits",
                                        rows.row_number(),
                                        columns[i],
                                        String::from_utf8_lossy(v)
                                    )));
                                }
                                push_escaped(&mut buf, &raw);
                            }
                            Field::Tagged(tag::BLOB, _) => {
                                return Err(load_err(format!(
                                    "row {}, column {}: a binary value in a non-binary column",
                                    rows.row_number(),
                                    columns[i]
                                )))
                            }
                            Field::Value(v) | Field::Tagged(_, v) if v.len() > STEP => {
                                match stream_value(&tx, &mut buf, &mut raw, v, false, piece).await {
                                    Streamed::Done | Streamed::BadHex => {}
                                    Streamed::Closed => return Ok(()),
                                }
                            }
                            Field::Value(v) | Field::Tagged(_, v) => push_escaped(&mut buf, v),
                        }
                    }
                    buf.push(b'\n');
                    if buf.len() >= piece && !flush(&tx, &mut buf, piece).await {
                        return Ok(());
                    }
                }
                if !buf.is_empty() {
                    send_pieces(&tx, Bytes::from(buf), piece).await;
                }
                Ok(())
            }
            .await;
            if r.is_err() {
                // Abort the transfer: the server rolls the statement back.
                let _ = tx
                    .send(Err(std::io::Error::other("the chunk could not be decoded")))
                    .await;
            }
            r
        };
        let query = async {
            let r = conn.query_drop(&sql).await;
            // Drop the handler (and its receiver) if the server never asked.
            conn.set_infile_handler(async {
                Err(mysql_async::LocalInfileError::OtherError("no chunk to send".into()).into())
            });
            r
        };
        let (q, p) = tokio::join!(query, produce);
        let outcome: Result<u64, EngineError> = match (q, p) {
            (_, Err(e)) => Err(e),
            (Err(e), Ok(())) => Err(load_err(match server_code(&e) {
                Some(1148 | 3948) => format!(
                    "{}; the server must allow LOAD DATA LOCAL (SET GLOBAL local_infile = 1)",
                    describe(&e)
                ),
                _ => describe(&e),
            })),
            (Ok(()), Ok(())) => {
                let n = conn.affected_rows();
                let warnings = conn.get_warnings();
                if warnings > 0 {
                    let w = query_rows(&mut conn, "SHOW WARNINGS LIMIT 3", "reading warnings")
                        .await
                        .unwrap_or_default();
                    let msgs: Vec<String> = w
                        .iter()
                        .map(|r| format!("{} {}: {}", cell_s(r, 0), cell_s(r, 1), cell_s(r, 2)))
                        .collect();
                    Err(load_err(format!(
                        "the server reported {} warning(s) loading the chunk, so it was rolled back: {}",
                        warnings,
                        msgs.join("; ")
                    )))
                } else {
                    Ok(n)
                }
            }
        };
        let outcome = match (outcome, mark) {
            (Ok(n), Some(m)) => conn
                .query_drop(m.insert_sql(qi))
                .await
                .map(|()| n)
                .map_err(|e| load_err(format!("recording the chunk: {}", describe(&e)))),
            (o, _) => o,
        };
        match outcome {
            Ok(n) => {
                conn.query_drop("COMMIT")
                    .await
                    .map_err(|e| load_err(format!("committing: {}", describe(&e))))?;
                if bulk || conn.query_drop("SET unique_checks = 0").await.is_ok() {
                    self.pool.put(conn).await;
                }
                Ok(n)
            }
            Err(e) => {
                if conn.query_drop("ROLLBACK").await.is_ok()
                    && (bulk || conn.query_drop("SET unique_checks = 0").await.is_ok())
                {
                    self.pool.put(conn).await;
                }
                Err(e)
            }
        }
    }
}

impl MyTarget {
    /// Rows of a table without data columns in the archive: as many rows
    /// of defaults, in one transaction.
    async fn load_empty_rows(
        &self,
        table: &Table,
        rows: &mut dyn Rows,
        mark: Option<ChunkMark>,
        errs: &ChunkErrors<'_>,
    ) -> Result<u64, EngineError> {
        let mut n = 0u64;
        while rows.next_row().map_err(|e| errs.codec(e))? {
            n += 1;
        }
        let mut conn = self.pool.get().await?;
        let r = async {
            conn.query_drop("START TRANSACTION").await?;
            let mut left = n;
            while left > 0 {
                let k = left.min(1000);
                let values = vec!["()"; k as usize].join(", ");
                conn.query_drop(format!(
                    "INSERT INTO {} () VALUES {values}",
                    qi(&table.name)
                ))
                .await?;
                left -= k;
            }
            if let Some(m) = mark {
                conn.query_drop(m.insert_sql(qi)).await?;
            }
            conn.query_drop("COMMIT").await
        }
        .await;
        match r {
            Ok(()) => {
                self.pool.put(conn).await;
                Ok(n)
            }
            Err(e) => Err(errs.load(describe(&e))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_columns_load_through_a_conversion() {
        let col = |name: &str, native: &str, ty: crate::model::NeutralType, auto: bool| {
            crate::model::Column {
                name: name.into(),
                ty,
                native_type: native.into(),
                nullable: true,
                default: None,
                auto_increment: auto.then_some(crate::model::AutoIncrement {
                    sequence: None,
                    identity: None,
                }),
                generated: None,
                collation: None,
                comment: None,
                on_update_now: false,
                inherited: false,
            }
        };
        let int = crate::model::NeutralType::Int {
            bytes: 4,
            unsigned: false,
        };
        let table = Table {
            name: "t".into(),
            columns: vec![
                col("id", "int(11)", int.clone(), true),
                col("u", "uuid", crate::model::NeutralType::Uuid, false),
                col("n", "int(11)", int, false),
            ],
            primary_key: None,
            uniques: vec![],
            indexes: vec![],
            foreign_keys: vec![],
            checks: vec![],
            auto_increment_next: None,
            comment: None,
            native_ddl: None,
            options: vec![],
            estimated_rows: None,
            inherits: vec![],
        };
        let names: Vec<String> = ["id", "u", "n"].iter().map(|s| s.to_string()).collect();
        let kinds: Vec<Kind> = table.columns.iter().map(kind_of).collect();
        let (targets, sets) = load_columns(&table, &names, &kinds, true);
        assert_eq!(targets, ["@v0", "@v1", "`n`"]);
        assert_eq!(sets, ["`u` = CONVERT(@v1 USING utf8mb4)", "`id` = @v0"]);
        // MySQL has no such type: the bytes go straight in.
        let (targets, sets) = load_columns(&table, &names, &kinds, false);
        assert_eq!(targets, ["`id`", "`u`", "`n`"]);
        assert!(sets.is_empty());
    }

    #[test]
    fn escapes_for_load_data() {
        let mut out = Vec::new();
        push_escaped(&mut out, b"a\\b\tc\nd\re\0f");
        assert_eq!(out, b"a\\\\b\\tc\\nd\\re\\0f");
    }

    #[test]
    fn bits_back_to_bytes() {
        let mut raw = Vec::new();
        assert!(bits_to_bytes(b"1010101010", &mut raw));
        assert_eq!(raw, [0x02, 0xAA]);
        assert!(bits_to_bytes(b"1", &mut raw));
        assert_eq!(raw, [1]);
        assert!(!bits_to_bytes(b"12", &mut raw));
    }
}
