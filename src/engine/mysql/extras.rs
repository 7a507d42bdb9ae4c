//! Views and triggers: read with the schema, their `DEFINER` removed, and
//! replayed after the data of a same-engine restore.

use super::conn::{cell, cell_s, query_rows, Pool};
use super::create::take_ident;
use super::qi;
use crate::engine::EngineError;
use crate::model::{NativeObject, Schema, Table, TableFilter};
use mysql_async::Conn;
use std::collections::HashSet;

/// `DEFINER=`user`@`host` ` removed, so that the object can be created by
/// whoever restores it.
fn strip_definer(ddl: &str) -> String {
    let Some(at) = ddl.find("DEFINER=") else {
        return ddl.to_string();
    };
    let rest = &ddl[at + "DEFINER=".len()..];
    // `user`@`host` (either part may be quoted with backticks or quotes).
    let mut end = 0;
    let bytes = rest.as_bytes();
    let mut quote: Option<u8> = None;
    while end < bytes.len() {
        let c = bytes[end];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'`' || c == b'\'' => quote = Some(c),
            None if c == b' ' => break,
            None => {}
        }
        end += 1;
    }
    format!("{}{}", &ddl[..at], rest[end..].trim_start())
}

/// The table a `CREATE TRIGGER` statement is on.
pub(super) fn trigger_table(ddl: &str) -> Option<String> {
    let up = ddl.to_ascii_uppercase();
    let from = up.find(" TRIGGER ")?;
    let at = up[from..].find(" ON ")? + from + 4;
    let rest = ddl[at..].trim_start();
    if rest.starts_with('`') {
        return take_ident(rest).map(|(n, _)| n);
    }
    let name: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
    // `db`.`t` or db.t: the last part.
    Some(name.rsplit('.').next().unwrap_or(&name).to_string())
}

/// Views (whole-database dumps only) and the triggers of the dumped tables,
/// replayed after the data on a same-engine restore.
pub(super) async fn extras(
    conn: &mut Conn,
    filter: &TableFilter,
    tables: &[Table],
) -> Result<Vec<NativeObject>, EngineError> {
    let mut out = Vec::new();
    if filter.include.is_empty() {
        let views = query_rows(
            conn,
            "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME",
            "reading the view catalog",
        )
        .await?;
        for v in views.iter().map(|r| cell_s(r, 0)) {
            if !filter.wants(&v) {
                continue;
            }
            let ctx = format!("view {v}: reading its definition");
            let rows = query_rows(conn, &format!("SHOW CREATE VIEW {}", qi(&v)), &ctx).await?;
            let ddl = rows
                .first()
                .and_then(|r| cell(r, 1))
                .ok_or_else(|| EngineError::Server {
                    context: ctx.clone(),
                    message: "SHOW CREATE VIEW returned no statement".into(),
                })?;
            out.push(NativeObject {
                kind: "view".into(),
                name: v,
                table: None,
                ddl: strip_definer(&ddl),
                ..Default::default()
            });
        }
    }
    let triggers = query_rows(
        conn,
        "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS
          WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY EVENT_OBJECT_TABLE, ACTION_ORDER",
        "reading the trigger catalog",
    )
    .await?;
    for r in &triggers {
        let (name, table) = (cell_s(r, 0), cell_s(r, 1));
        if !tables.iter().any(|t| t.name == table) {
            continue;
        }
        let ctx = format!("trigger {name}: reading its definition");
        let rows = query_rows(conn, &format!("SHOW CREATE TRIGGER {}", qi(&name)), &ctx).await?;
        let ddl = rows
            .first()
            .and_then(|r| cell(r, 2))
            .ok_or_else(|| EngineError::Server {
                context: ctx.clone(),
                message: "SHOW CREATE TRIGGER returned no statement".into(),
            })?;
        out.push(NativeObject {
            kind: "trigger".into(),
            name,
            table: Some(table.clone()),
            ddl: strip_definer(&ddl),
            ..Default::default()
        });
    }
    Ok(out)
}

/// Create the views, then the triggers of the tables this restore created.
pub(super) async fn replay(pool: &Pool, schema: &Schema) -> Result<(), EngineError> {
    // Views may use views: create them in passes until none is left or a
    // pass makes no progress.
    let restored: HashSet<&str> = schema.tables.iter().map(|t| t.name.as_str()).collect();
    let mut views: Vec<&NativeObject> = schema.extras.iter().filter(|x| x.kind == "view").collect();
    while !views.is_empty() {
        let mut failed = Vec::new();
        let mut last_err = None;
        for v in &views {
            let ddl = v.ddl.replacen("CREATE ", "CREATE OR REPLACE ", 1);
            if let Err(e) = pool
                .exec(&ddl, format!("view {}: creating it", v.name))
                .await
            {
                failed.push(*v);
                last_err = Some(e);
            }
        }
        if failed.len() == views.len() {
            if let Some(e) = last_err {
                return Err(e);
            }
        }
        views = failed;
    }
    for t in schema.extras.iter().filter(|x| x.kind == "trigger") {
        // Only the triggers of tables this restore created.
        let on_restored = trigger_table(&t.ddl).is_some_and(|n| restored.contains(n.as_str()));
        if on_restored {
            pool.exec(&t.ddl, format!("trigger {}: creating it", t.name))
                .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_table_and_definer() {
        assert_eq!(
            trigger_table(
                "CREATE DEFINER=`a`@`b` trigger x before insert on hard for each row set new.i = 1"
            )
            .as_deref(),
            Some("hard")
        );
        assert_eq!(
            strip_definer("CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`local host` SQL SECURITY DEFINER VIEW `v` AS select 1"),
            "CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `v` AS select 1"
        );
    }
}
