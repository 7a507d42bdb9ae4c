//! Creating a MySQL archive's stored routines, views, triggers and events
//! after the data, as replaying `mysqldump --routines --events --triggers`
//! would: routines first (views may call them), then views, the triggers
//! of the restored tables, and events last. Each object is created under
//! the settings it was created under on the source (`sql_mode`, client
//! character set, connection collation, time zone, database collation),
//! set on the session before it and put back after, as one statement on a
//! session that refuses multi-statement text.

use super::conn::{cell, cell_s, connect_single, describe, query_rows, server_err};
use super::extras::{trigger_table, with_definer, SETTINGS};
use super::qi;
use super::target::TARGET_SETUP;
use crate::conn::ConnSpec;
use crate::engine::sqltext::literal;
use crate::engine::EngineError;
use crate::model::{EngineKind, NativeObject, Schema};
use mysql_async::prelude::*;
use mysql_async::Conn;
use std::collections::{HashMap, HashSet};

/// The kinds created, in the order they are created.
const ORDER: &[&str] = &["procedure", "function", "view", "trigger", "event"];

/// Create the objects of `schema` (an archive of this engine) that go with
/// its tables; returns what the user should know (a character set changed,
/// what the server noted).
pub(super) async fn replay(
    spec: &ConnSpec,
    schema: &Schema,
    mariadb: bool,
) -> Result<Vec<String>, EngineError> {
    let restored: HashSet<&str> = schema.tables.iter().map(|t| t.name.as_str()).collect();
    let wanted: Vec<&NativeObject> = ORDER
        .iter()
        .flat_map(|k| schema.extras.iter().filter(move |x| x.kind == *k))
        .filter(|x| {
            // Only the triggers of tables this restore created.
            x.kind != "trigger"
                || x.table
                    .clone()
                    .or_else(|| trigger_table(&x.ddl))
                    .is_some_and(|t| restored.contains(t.as_str()))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let mut s = Session::open(spec, mariadb).await?;
    let created = s.create_all(&wanted).await;
    // The database's collation goes back even when a creation failed.
    let back = s.settle(&HashMap::new(), "putting the session back").await;
    created?;
    back?;
    Ok(s.notes)
}

/// The session objects are created on.
struct Session {
    conn: Conn,
    mariadb: bool,
    /// Each setting's value now.
    now: HashMap<&'static str, String>,
    /// The values it opened with, for what an object does not set.
    defaults: HashMap<&'static str, String>,
    notes: Vec<String>,
}

impl Session {
    async fn open(spec: &ConnSpec, mariadb: bool) -> Result<Self, EngineError> {
        let mut conn = connect_single(spec, TARGET_SETUP).await?;
        let ctx = "reading the session's settings";
        let sql = format!(
            "SELECT {}",
            SETTINGS
                .iter()
                .map(|s| format!("@@{s}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let rows = query_rows(&mut conn, &sql, ctx).await?;
        let row = rows.first().ok_or_else(|| EngineError::Server {
            context: ctx.into(),
            message: "the server returned no row".into(),
        })?;
        let mut now = HashMap::new();
        for (i, name) in SETTINGS.iter().enumerate() {
            let v = cell(row, i).ok_or_else(|| EngineError::Server {
                context: ctx.into(),
                message: format!("@@{name} is NULL"),
            })?;
            now.insert(*name, v);
        }
        Ok(Session {
            conn,
            mariadb,
            defaults: now.clone(),
            now,
            notes: Vec::new(),
        })
    }

    /// Create every object, in order; views in passes, as views may read
    /// views.
    async fn create_all(&mut self, objects: &[&NativeObject]) -> Result<(), EngineError> {
        let mut views: Vec<&NativeObject> = Vec::new();
        for (i, x) in objects.iter().enumerate() {
            if x.kind == "view" {
                views.push(x);
                let last_view = objects.get(i + 1).is_none_or(|n| n.kind != "view");
                if last_view {
                    self.views(std::mem::take(&mut views)).await?;
                }
                continue;
            }
            self.create(x).await?;
        }
        Ok(())
    }

    /// Create views until none is left or a pass makes no progress.
    async fn views(&mut self, mut views: Vec<&NativeObject>) -> Result<(), EngineError> {
        while !views.is_empty() {
            let mut failed = Vec::new();
            let mut last_err = None;
            for v in &views {
                if let Err(e) = self.create(v).await {
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
        Ok(())
    }

    /// Create `x` under its own settings (the session's for the others).
    async fn create(&mut self, x: &NativeObject) -> Result<(), EngineError> {
        let what = format!("{} {}", x.kind, x.name);
        let mut want: HashMap<&'static str, String> = HashMap::new();
        for (k, v) in &x.settings {
            let name = SETTINGS.iter().find(|s| **s == k).ok_or_else(|| {
                EngineError::Unsafe(format!("{what}: haul does not set {k:?} to create it"))
            })?;
            want.insert(name, v.clone());
        }
        // The text is UTF-8: a client character set other than UTF-8 would
        // read its other characters wrongly.
        let client = want
            .get("character_set_client")
            .or_else(|| self.defaults.get("character_set_client"))
            .cloned()
            .unwrap_or_default();
        if !x.ddl.is_ascii() && !client.to_ascii_lowercase().starts_with("utf8") {
            self.notes.push(format!(
                "{what}: created with character_set_client utf8mb4, not {client}: its text holds characters other than ASCII"
            ));
            want.insert("character_set_client", "utf8mb4".into());
        }
        self.settle(&want, &what).await?;
        let ddl = match &x.definer {
            Some(d) => with_definer(&x.ddl, d),
            None => x.ddl.clone(),
        };
        let ddl = if x.kind == "trigger" {
            without_precedes(&ddl)
        } else {
            ddl
        };
        let ctx = format!("{what}: creating it");
        let sql = if self.mariadb || x.kind == "view" {
            or_replace(&ddl)
        } else {
            // MySQL replaces only views.
            let drop = format!(
                "DROP {} IF EXISTS {}",
                x.kind.to_ascii_uppercase(),
                qi(&x.name)
            );
            self.conn
                .query_drop(drop)
                .await
                .map_err(|e| server_err(&ctx, e))?;
            ddl
        };
        self.conn
            .query_drop(sql)
            .await
            .map_err(|e| server_err(&ctx, e))?;
        if self.conn.get_warnings() > 0 {
            let rows = query_rows(&mut self.conn, "SHOW WARNINGS", &ctx).await?;
            // An event is created whether the server's scheduler runs or not
            // (a setting of the server, like the source's).
            let scheduler_off = |r: &&mysql_async::Row| {
                x.kind == "event" && cell_s(r, 2).starts_with("Event scheduler is switched off")
            };
            for r in rows.iter().filter(|r| !scheduler_off(r)) {
                self.notes.push(format!(
                    "{what}: the server noted: {} {}: {}",
                    cell_s(r, 0),
                    cell_s(r, 1),
                    cell_s(r, 2)
                ));
            }
        }
        Ok(())
    }

    /// Set the session to `want`, and to its defaults for what `want` does
    /// not name; only what differs from now is set. A value the server
    /// refuses (a collation or mode another server version does not have,
    /// no privilege to alter the database) leaves the setting as it is,
    /// and a note says so: the object is created all the same.
    async fn settle(
        &mut self,
        want: &HashMap<&'static str, String>,
        what: &str,
    ) -> Result<(), EngineError> {
        for name in SETTINGS {
            let Some(v) = want.get(name).or_else(|| self.defaults.get(name)).cloned() else {
                continue;
            };
            if self.now.get(name) == Some(&v) {
                continue;
            }
            let value = literal(EngineKind::Mysql, &v);
            // The database's collation is the database's, not the session's.
            let sql = if *name == "collation_database" {
                format!("ALTER DATABASE COLLATE {value}")
            } else {
                format!("SET {name} = {value}")
            };
            match self.conn.query_drop(&sql).await {
                Ok(()) => {
                    self.now.insert(name, v);
                }
                Err(e) if e.is_fatal() => {
                    return Err(server_err(format!("{what}: setting {name} to {v}"), e))
                }
                Err(e) => self.notes.push(format!(
                    "{what}: {name} stays {}, not {v}: {}",
                    self.now.get(name).map_or("unknown", String::as_str),
                    describe(&e)
                )),
            }
        }
        Ok(())
    }
}

/// `ddl` (a `CREATE`) as `CREATE OR REPLACE`, so that a resumed restore
/// creates again what a killed one created.
fn or_replace(ddl: &str) -> String {
    let Some(rest) = ddl
        .get(..6)
        .filter(|w| w.eq_ignore_ascii_case("CREATE"))
        .map(|_| ddl[6..].trim_start())
    else {
        return ddl.to_string();
    };
    let up = rest.to_ascii_uppercase();
    let already = up.starts_with("OR ") && up[3..].trim_start().starts_with("REPLACE");
    if already {
        ddl.to_string()
    } else {
        format!("CREATE OR REPLACE {rest}")
    }
}

/// A trigger's `PRECEDES other` left out: triggers are created in their
/// source's order, so the one it names does not exist yet (a `FOLLOWS`
/// names one that does, and stays).
fn without_precedes(ddl: &str) -> String {
    let up = ddl.to_ascii_uppercase();
    let mut from = 0;
    while let Some(p) = up[from..].find("FOR EACH ROW") {
        let at = from + p;
        from = at + 1;
        // Outside backquoted names.
        if up[..at].matches('`').count() % 2 == 1 {
            continue;
        }
        let after = at + "FOR EACH ROW".len();
        let rest = &ddl[after..];
        let word_at = after + (rest.len() - rest.trim_start().len());
        if !up[word_at..].starts_with("PRECEDES") {
            return ddl.to_string();
        }
        let name = ddl[word_at + "PRECEDES".len()..].trim_start();
        let name_len = if name.starts_with('`') {
            match super::create::take_ident(name) {
                Some((_, tail)) => name.len() - tail.len(),
                None => return ddl.to_string(),
            }
        } else {
            name.find(|c: char| c.is_whitespace()).unwrap_or(name.len())
        };
        let end = ddl.len() - name.len() + name_len;
        return format!("{}{}", &ddl[..word_at], ddl[end..].trim_start());
    }
    ddl.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacing() {
        assert_eq!(
            or_replace("CREATE DEFINER=`a`@`b` PROCEDURE `p`() SELECT 1"),
            "CREATE OR REPLACE DEFINER=`a`@`b` PROCEDURE `p`() SELECT 1"
        );
        assert_eq!(
            or_replace("create or  replace VIEW v AS select 1"),
            "create or  replace VIEW v AS select 1"
        );
    }

    #[test]
    fn precedes_left_out() {
        assert_eq!(
            without_precedes(
                "CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW PRECEDES `o t` SET NEW.a = 1"
            ),
            "CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW SET NEW.a = 1"
        );
        assert_eq!(
            without_precedes(
                "CREATE TRIGGER t BEFORE INSERT ON x for each row precedes o SET NEW.a = 1"
            ),
            "CREATE TRIGGER t BEFORE INSERT ON x for each row SET NEW.a = 1"
        );
        let follows = "CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW FOLLOWS o SET NEW.a = 1";
        assert_eq!(without_precedes(follows), follows);
        let named = "CREATE TRIGGER `for each row` BEFORE INSERT ON x FOR EACH ROW SET NEW.a = 1";
        assert_eq!(without_precedes(named), named);
    }
}
