//! Dumping: [`MySource`], worker sessions in one consistent snapshot that
//! read tables, whole or in primary-key ranges, as text.

use super::conn::{
    cell, connect, describe, first_number, is_mariadb, lock_err, number, query_rows, server_code,
    server_err,
};
use super::introspect::introspect;
use super::qi;
use super::rawrow::RawFields;
use super::types::{kind_of, Kind};
use crate::archive::SourceInfo;
use crate::conn::ConnSpec;
use crate::engine::sqltext::literal;
use crate::engine::{columns_by_table, EngineError, Part, Source};
use crate::model::*;
use crate::stream::ChunkSink;
use async_trait::async_trait;
use mysql_async::prelude::*;
use mysql_async::Conn;
use tokio::sync::{Mutex, Semaphore};

/// Tables larger than twice this are read in primary-key ranges of about
/// this size (`HAUL_MYSQL_PART_BYTES` overrides it, for tests).
const PART_BYTES: i64 = 256 << 20;

fn part_bytes() -> i64 {
    std::env::var("HAUL_MYSQL_PART_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(PART_BYTES)
}

/// Engines whose tables the snapshot does not cover.
const NON_TRANSACTIONAL: &[&str] = &["myisam", "aria", "memory", "csv", "archive", "mrg_myisam"];

/// A MySQL/MariaDB snapshot: worker sessions that share one consistent view.
pub struct MySource {
    info: SourceInfo,
    coordinator: Mutex<Conn>,
    workers: Mutex<Vec<Conn>>,
    free: Semaphore,
    method: String,
    warnings: std::sync::Mutex<Vec<String>>,
    mariadb: bool,
    target: String,
}

const SNAPSHOT: &str = "START TRANSACTION WITH CONSISTENT SNAPSHOT";
const WORKER_SETUP: &[&str] = &[
    "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
    "SET character_set_results = binary",
    "SET sql_mode = ''",
];

impl MySource {
    /// Open the snapshot, with `jobs` worker sessions when the server allows.
    pub async fn open(spec: &ConnSpec, jobs: usize) -> Result<Self, EngineError> {
        let target = spec.to_string();
        let mut coordinator = connect(spec, &["SET sql_mode = ''"]).await?;
        let (mariadb, version) = is_mariadb(&mut coordinator).await?;
        let mut warnings = Vec::new();
        let jobs = jobs.max(1);
        let mut workers = Vec::new();
        let method;
        if jobs > 1 {
            for _ in 0..jobs {
                workers.push(connect(spec, WORKER_SETUP).await?);
            }
            match coordinator.query_drop("FLUSH TABLES WITH READ LOCK").await {
                Ok(()) => {
                    let mut started = Ok(());
                    for w in workers.iter_mut() {
                        if let Err(e) = w.query_drop(SNAPSHOT).await {
                            started = Err(e);
                            break;
                        }
                    }
                    let unlocked = coordinator.query_drop("UNLOCK TABLES").await;
                    started
                        .map_err(|e| server_err(format!("starting the snapshot on {target}"), e))?;
                    unlocked.map_err(|e| server_err(format!("unlocking tables on {target}"), e))?;
                    method = format!(
                        "mysql: {jobs} workers in START TRANSACTION WITH CONSISTENT SNAPSHOT under FLUSH TABLES WITH READ LOCK"
                    );
                }
                Err(e) if matches!(server_code(&e), Some(1227 | 1044 | 1045 | 1142)) => {
                    warnings.push(format!(
                        "FLUSH TABLES WITH READ LOCK is not allowed ({}); dumping through one snapshot connection instead of {jobs}",
                        describe(&e)
                    ));
                    workers.truncate(1);
                    workers[0]
                        .query_drop(SNAPSHOT)
                        .await
                        .map_err(|e| server_err(format!("starting the snapshot on {target}"), e))?;
                    method = "mysql: one connection in START TRANSACTION WITH CONSISTENT SNAPSHOT (no privilege for FLUSH TABLES WITH READ LOCK)".into();
                }
                Err(e) => return Err(lock_err(format!("locking tables on {target}"), e)),
            }
        } else {
            let mut w = connect(spec, WORKER_SETUP).await?;
            w.query_drop(SNAPSHOT)
                .await
                .map_err(|e| server_err(format!("starting the snapshot on {target}"), e))?;
            workers.push(w);
            method = "mysql: one connection in START TRANSACTION WITH CONSISTENT SNAPSHOT".into();
        }
        let n = workers.len();
        Ok(MySource {
            info: SourceInfo {
                engine: EngineKind::Mysql,
                server_version: version,
                database: spec.database.clone(),
            },
            coordinator: Mutex::new(coordinator),
            workers: Mutex::new(workers),
            free: Semaphore::new(n),
            method,
            warnings: std::sync::Mutex::new(warnings),
            mariadb,
            target,
        })
    }
}

/// `bytes` (a BIT value, big-endian) as `n` binary digits.
fn bit_string(bytes: &[u8], n: u32, out: &mut Vec<u8>) {
    out.clear();
    if bytes.is_empty() {
        out.push(b'0');
        return;
    }
    let total = bytes.len() * 8;
    let n = (n as usize).min(total).max(1);
    for i in total - n..total {
        let b = bytes[i / 8] >> (7 - (i % 8)) & 1;
        out.push(b'0' + b);
    }
}

#[async_trait]
impl Source for MySource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn snapshot_method(&self) -> String {
        self.method.clone()
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.lock().map(|w| w.clone()).unwrap_or_default()
    }

    async fn schema(&self, filter: &TableFilter) -> Result<Schema, EngineError> {
        crate::engine::refuse_schema_filter(filter, "MariaDB")?;
        let mut conn = self.coordinator.lock().await;
        let (mut schema, left_out) =
            introspect(&mut conn, filter, self.mariadb, &self.target).await?;
        if let Ok(mut w) = self.warnings.lock() {
            w.extend(left_out);
        }
        schema.tables.sort_by(|a, b| a.name.cmp(&b.name));
        let loose: Vec<String> = schema
            .tables
            .iter()
            .filter_map(|t| {
                let e = t.options.iter().find(|(k, _)| k == "engine")?;
                NON_TRANSACTIONAL
                    .contains(&e.1.to_ascii_lowercase().as_str())
                    .then(|| format!("{} ({})", t.name, e.1))
            })
            .collect();
        if !loose.is_empty() {
            if let Ok(mut w) = self.warnings.lock() {
                w.push(format!(
                    "non-transactional tables are not covered by the snapshot and may change during the dump: {}",
                    loose.join(", ")
                ));
            }
        }
        Ok(schema)
    }

    async fn parts(&self, table: &Table, jobs: usize) -> Result<Vec<Part>, EngineError> {
        let whole = vec![Part { filter: None }];
        if jobs <= 1 {
            return Ok(whole);
        }
        let Some(pk) = &table.primary_key else {
            return Ok(whole);
        };
        if pk.columns.len() != 1 {
            return Ok(whole);
        }
        let Some(col) = table.column(&pk.columns[0]) else {
            return Ok(whole);
        };
        if !matches!(col.ty, NeutralType::Int { .. }) {
            return Ok(whole);
        }
        let mut conn = self.coordinator.lock().await;
        let ctx = format!("table {}: reading its size", table.name);
        let rows = query_rows(
            &mut conn,
            &format!(
                "SELECT DATA_LENGTH FROM information_schema.TABLES
                  WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = {}",
                literal(EngineKind::Mysql, &table.name)
            ),
            &ctx,
        )
        .await?;
        let size: i64 = first_number(&rows, 0, "DATA_LENGTH", &ctx)?;
        let part_bytes = part_bytes();
        if size < 2 * part_bytes {
            return Ok(whole);
        }
        let c = qi(&col.name);
        let rows = query_rows(
            &mut conn,
            &format!("SELECT MIN({c}), MAX({c}) FROM {}", qi(&table.name)),
            &ctx,
        )
        .await?;
        let row = rows.first().ok_or_else(|| EngineError::Server {
            context: ctx.clone(),
            message: "the server returned no row for the key range".into(),
        })?;
        // NULL for an empty table.
        let (Some(lo), Some(hi)) = (
            number::<i128>(row, 0, "the lowest key", &ctx)?,
            number::<i128>(row, 1, "the highest key", &ctx)?,
        ) else {
            return Ok(whole);
        };
        let n = ((size / part_bytes) as i128).clamp(2, 64);
        let step = ((hi - lo) / n).max(1);
        let bounds: Vec<i128> = (1..n).map(|i| lo + i * step).filter(|b| *b <= hi).collect();
        if bounds.is_empty() {
            return Ok(whole);
        }
        let mut parts = Vec::new();
        parts.push(Part {
            filter: Some(format!("{c} < {}", bounds[0])),
        });
        for w in bounds.windows(2) {
            parts.push(Part {
                filter: Some(format!("{c} >= {} AND {c} < {}", w[0], w[1])),
            });
        }
        parts.push(Part {
            filter: Some(format!("{c} >= {}", bounds[bounds.len() - 1])),
        });
        Ok(parts)
    }

    async fn read(
        &self,
        table: &Table,
        part: &Part,
        sink: &mut ChunkSink,
    ) -> Result<(), EngineError> {
        let cols: Vec<&Column> = table.data_columns().collect();
        if cols.is_empty() {
            return Ok(());
        }
        let kinds: Vec<Kind> = cols.iter().map(|c| kind_of(c)).collect();
        let select: Vec<String> = cols
            .iter()
            .zip(&kinds)
            .map(|(c, k)| match k {
                Kind::Float => format!("({} + 0e0)", qi(&c.name)),
                _ => qi(&c.name),
            })
            .collect();
        let mut sql = format!("SELECT {} FROM {}", select.join(", "), qi(&table.name));
        if let Some(f) = &part.filter {
            sql.push_str(" WHERE ");
            sql.push_str(f);
        }
        let _permit = self
            .free
            .acquire()
            .await
            .map_err(|_| EngineError::Unsupported("the snapshot is closed".into()))?;
        let mut conn = self
            .workers
            .lock()
            .await
            .pop()
            .ok_or_else(|| EngineError::Unsupported("no snapshot connection left".into()))?;
        let ctx = || format!("table {}: reading rows", table.name);
        let result = async {
            let mut res = conn.query_iter(sql).await.map_err(|e| lock_err(ctx(), e))?;
            let mut scratch = Vec::with_capacity(64);
            let malformed = |why: &str| EngineError::Server {
                context: ctx(),
                message: format!("the server sent a row haul cannot read: {why}"),
            };
            // Each row's fields are read in place from the packet.
            while let Some(row) = res.next_raw().await.map_err(|e| server_err(ctx(), e))? {
                let mut fields = RawFields::new(&row);
                for k in &kinds {
                    match fields.next_field().map_err(malformed)? {
                        None => sink.null(),
                        Some(b) => match k {
                            Kind::Binary | Kind::Spatial => sink.bytes(b),
                            Kind::Bits(n) => {
                                bit_string(b, *n, &mut scratch);
                                sink.text(&scratch);
                            }
                            _ => sink.text(b),
                        },
                    }
                }
                if !fields.is_done() {
                    return Err(malformed("more fields than columns"));
                }
                sink.end_row()?;
            }
            Ok(())
        }
        .await;
        if result.is_ok() {
            self.workers.lock().await.push(conn);
        }
        result
    }

    async fn identity(&self) -> Result<String, EngineError> {
        super::conn::identity(&mut *self.coordinator.lock().await).await
    }

    async fn reserved_tables(&self) -> Result<Vec<(String, Vec<String>)>, EngineError> {
        let ctx = "looking for tables named like haul's restore journal";
        let mut conn = self.coordinator.lock().await;
        let rows = query_rows(
            &mut conn,
            "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS
              WHERE TABLE_SCHEMA = DATABASE()
                AND TABLE_NAME IN ('haul_journal', 'haul_journal_chunks')
              ORDER BY TABLE_NAME, ORDINAL_POSITION",
            ctx,
        )
        .await?;
        let pairs = rows
            .iter()
            .map(|r| match (cell(r, 0), cell(r, 1)) {
                (Some(table), Some(column)) => Ok((table, column)),
                _ => Err(EngineError::Server {
                    context: ctx.into(),
                    message: "the column catalog returned a row without a name".into(),
                }),
            })
            .collect::<Result<Vec<(String, String)>, EngineError>>()?;
        Ok(columns_by_table(pairs))
    }

    async fn close(&self) -> Result<(), EngineError> {
        let mut workers = self.workers.lock().await;
        for mut w in workers.drain(..) {
            let _ = w.query_drop("COMMIT").await;
            let _ = w.disconnect().await;
        }
        self.free.close();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_strings() {
        let mut out = Vec::new();
        bit_string(&[0x02, 0xAA], 10, &mut out);
        assert_eq!(out, b"1010101010");
    }
}
