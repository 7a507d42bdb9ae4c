//! Large objects (`pg_largeobject_metadata`, `pg_largeobject`), as
//! pg_dump carries them: each an object of the catalog, created with
//! `lo_create` before the data, its owner, grants and comment said after
//! it; its bytes read in pieces with `lo_get` and written with `lo_put`,
//! so memory is a piece whatever an object's size.

use super::conn::{col, describe, server_err, Pool};
use super::depend::{Entry, Registry};
use super::qtable;
use crate::archive::codec::{unhex_into, Field};
use crate::engine::{ChunkErrors, ChunkMark, EngineError};
use crate::model::objects::LARGE_OBJECT_KIND;
use crate::model::{LargeObject, NativeObject, Section, LARGE_OBJECTS};
use crate::stream::{ChunkSink, Rows};
use std::collections::HashSet;
use tokio_postgres::Client;

/// Bytes of a large object read at once: one row of the archive's stream.
const PIECE: u64 = 256 << 10;

/// `lo_open` modes.
const INV_WRITE: i32 = 0x20000;

/// The statement creating large object `oid` (empty).
pub(super) fn create_sql(oid: u32) -> String {
    format!("SELECT pg_catalog.lo_create({oid})")
}

/// The statement removing large object `oid` if it exists (`--clean`).
pub(super) fn drop_sql(oid: u32) -> String {
    format!(
        "SELECT pg_catalog.lo_unlink(m.oid) FROM pg_catalog.pg_largeobject_metadata m WHERE m.oid = {oid}"
    )
}

/// The database's large objects with their sizes, each registered as an
/// object (its owner, grants, comment and labels follow from the
/// registry).
pub(super) async fn catalog(
    client: &Client,
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<Vec<LargeObject>, EngineError> {
    let ctx = "reading the large objects";
    // Each size from a descriptor opened for reading, closed once read.
    let rows = client
        .query(
            "SELECT s.oid, s.size FROM (
                 SELECT m.oid, pg_catalog.lo_lseek64(f.fd, 0, 2) AS size, f.fd
                   FROM pg_catalog.pg_largeobject_metadata m,
                        LATERAL pg_catalog.lo_open(m.oid, 262144) AS f(fd)
                 OFFSET 0) s
              WHERE pg_catalog.lo_close(s.fd) = 0
              ORDER BY s.oid",
            &[],
        )
        .await
        .map_err(|e| server_err(ctx, e))?;
    let mut found = Vec::with_capacity(rows.len());
    for r in rows {
        let oid: u32 = col(&r, 0, ctx)?;
        let size: i64 = col(&r, 1, ctx)?;
        let x = NativeObject {
            kind: LARGE_OBJECT_KIND.into(),
            name: oid.to_string(),
            ddl: create_sql(oid),
            section: Some(Section::PreData),
            ..Default::default()
        };
        let key = x.key();
        let designation = format!("LARGE OBJECT {oid}");
        reg.object(
            "pg_largeobject_metadata",
            oid,
            out,
            x,
            Entry::granted(designation.clone()),
        );
        // Comments and security labels name it by `pg_largeobject`.
        reg.add(
            "pg_largeobject",
            oid,
            Entry {
                key,
                designation,
                comments: true,
                ..Default::default()
            },
        );
        found.push(LargeObject {
            oid,
            bytes: u64::try_from(size).unwrap_or(0),
        });
    }
    Ok(found)
}

/// Stream the bytes of `objects` into `sink`, a row per piece.
pub(super) async fn read(
    client: &Client,
    objects: &[LargeObject],
    sink: &mut ChunkSink,
) -> Result<(), EngineError> {
    let ctx = "reading large objects";
    let get = client
        .prepare("SELECT pg_catalog.lo_get($1::oid, $2::bigint, $3::integer)")
        .await
        .map_err(|e| server_err(ctx, e))?;
    for o in objects {
        let ctx = || format!("reading large object {}", o.oid);
        let oid = o.oid.to_string();
        let mut at = 0u64;
        while at < o.bytes {
            let len = PIECE.min(o.bytes - at) as i32;
            let r = client
                .query_one(&get, &[&o.oid, &(at as i64), &len])
                .await
                .map_err(|e| server_err(ctx(), e))?;
            let data: Vec<u8> = col(&r, 0, &ctx())?;
            if data.is_empty() {
                return Err(EngineError::Server {
                    context: ctx(),
                    message: format!("it ends at {at} bytes, the catalog said {}", o.bytes),
                });
            }
            sink.text(oid.as_bytes());
            sink.text(at.to_string().as_bytes());
            sink.bytes(&data);
            sink.end_row().map_err(EngineError::SinkClosed)?;
            at += data.len() as u64;
        }
    }
    Ok(())
}

/// One piece of a chunk of the stream: object, offset, bytes.
fn piece(rows: &dyn Rows, bytes: &mut Vec<u8>) -> Result<(u32, i64), String> {
    let text = |i: usize| match rows.field(i) {
        Ok(Field::Value(v)) => std::str::from_utf8(v).ok().map(str::to_string),
        _ => None,
    };
    let row = rows.row_number();
    let oid = text(0).and_then(|v| v.parse::<u32>().ok());
    let offset = text(1)
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|o| *o >= 0);
    let (Some(oid), Some(offset)) = (oid, offset) else {
        return Err(format!("row {row}: not a large object's number and offset"));
    };
    bytes.clear();
    match rows.field(2) {
        Ok(Field::Value(hex)) if unhex_into(hex, bytes) => Ok((oid, offset)),
        _ => Err(format!(
            "row {row}: the bytes of large object {oid} are not hex"
        )),
    }
}

/// Write one chunk of pieces in one transaction (see
/// [`crate::engine::BulkLoad::load_large_objects`]).
pub(super) async fn load(
    pool: &Pool,
    rows: &mut dyn Rows,
    only: &HashSet<u32>,
    label: &str,
    mark: Option<ChunkMark>,
) -> Result<u64, EngineError> {
    let errs = ChunkErrors {
        table: LARGE_OBJECTS,
        chunk: label,
    };
    let client = pool.get().await?;
    let result = async {
        let fail = |e: tokio_postgres::Error| errs.load(describe(&e));
        client.batch_execute("BEGIN").await.map_err(fail)?;
        let put = client
            .prepare("SELECT pg_catalog.lo_put($1::oid, $2::bigint, $3::bytea)")
            .await
            .map_err(fail)?;
        let empty = client
            .prepare("SELECT pg_catalog.lo_truncate64(pg_catalog.lo_open($1::oid, $2::integer), 0)")
            .await
            .map_err(fail)?;
        let mut n = 0u64;
        let mut bytes = Vec::new();
        while rows.next_row().map_err(|e| errs.codec(e))? {
            n += 1;
            let (oid, offset) = piece(rows, &mut bytes).map_err(|m| errs.load(m))?;
            if !only.contains(&oid) {
                continue;
            }
            if offset == 0 {
                client
                    .query(&empty, &[&oid, &INV_WRITE])
                    .await
                    .map_err(fail)?;
            }
            client
                .query(&put, &[&oid, &offset, &bytes.as_slice()])
                .await
                .map_err(fail)?;
        }
        if let Some(m) = mark {
            client
                .batch_execute(&m.insert_sql(qtable))
                .await
                .map_err(fail)?;
        }
        client.batch_execute("COMMIT").await.map_err(fail)?;
        Ok(n)
    }
    .await;
    // A failed one is dropped with its transaction.
    if result.is_ok() {
        pool.put(client).await;
    }
    result
}
