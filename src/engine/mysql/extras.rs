//! Views, triggers, stored procedures and functions, and events, read with
//! the schema: each one's `SHOW CREATE` text without its `DEFINER` (kept
//! apart), and the session settings it was created under, which a
//! same-engine restore creates it under again (`replay`).

use super::conn::{cell, cell_s, query_rows};
use super::create::take_ident;
use super::qi;
use crate::engine::EngineError;
use crate::model::{NativeObject, ObjectRef, Table, TableFilter};
use mysql_async::{Conn, Row};

/// The session settings a restore may set before creating an object, in
/// the order it sets them.
pub(super) const SETTINGS: &[&str] = crate::engine::sqltext::MYSQL_SETTINGS;

/// `ddl` without the `DEFINER=...` clause `SHOW CREATE` puts after
/// `CREATE` (and a view's `ALGORITHM=`), so that whoever restores it can
/// create it; unchanged when its head has none.
pub(super) fn strip_definer(ddl: &str) -> String {
    let Some(at) = definer_at(ddl) else {
        return ddl.to_string();
    };
    let rest = &ddl[at + "DEFINER=".len()..];
    // `user`@`host` (either part may be quoted with backticks or quotes).
    let bytes = rest.as_bytes();
    let mut end = 0;
    let mut quote: Option<u8> = None;
    while end < bytes.len() {
        let c = bytes[end];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'`' || c == b'\'' => quote = Some(c),
            None if c.is_ascii_whitespace() => break,
            None => {}
        }
        end += 1;
    }
    format!("{}{}", &ddl[..at], rest[end..].trim_start())
}

/// Where the head of a `CREATE` statement (`CREATE [OR REPLACE]
/// [ALGORITHM=...]`) ends and the rest starts: where a `DEFINER=` goes.
fn head_end(ddl: &str) -> Option<usize> {
    let mut at = 0;
    let mut first = true;
    loop {
        let rest = &ddl[at..];
        let skipped = rest.len() - rest.trim_start().len();
        let word_at = at + skipped;
        let word: &str = ddl[word_at..]
            .split(|c: char| c.is_ascii_whitespace())
            .next()
            .unwrap_or("");
        let up = word.to_ascii_uppercase();
        let head = if first {
            up == "CREATE"
        } else {
            up == "OR" || up == "REPLACE" || up.starts_with("ALGORITHM=")
        };
        if first && !head {
            return None;
        }
        if !head {
            return Some(word_at);
        }
        first = false;
        at = word_at + word.len();
    }
}

/// Where a `DEFINER=` clause starts in the head of `ddl`, if it has one.
fn definer_at(ddl: &str) -> Option<usize> {
    let at = head_end(ddl)?;
    ddl[at..]
        .get(..8)
        .is_some_and(|w| w.eq_ignore_ascii_case("DEFINER="))
        .then_some(at)
}

/// `definer` (`user@host` as information_schema writes it, or a role) as
/// the clause `DEFINER=`user`@`host``.
pub(super) fn definer_sql(definer: &str) -> String {
    match definer.rsplit_once('@') {
        Some((user, host)) => format!("DEFINER={}@{}", qi(user), qi(host)),
        None => format!("DEFINER={}", qi(definer)),
    }
}

/// `ddl` (without a definer) created as `definer`.
pub(super) fn with_definer(ddl: &str, definer: &str) -> String {
    match head_end(ddl) {
        Some(at) => format!("{}{} {}", &ddl[..at], definer_sql(definer), &ddl[at..]),
        None => ddl.to_string(),
    }
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

/// The settings `SHOW CREATE PROCEDURE|FUNCTION|TRIGGER` reports beside
/// the statement, by column.
const ROUTINE_SETTINGS: &[(&str, usize)] = &[
    ("sql_mode", 1),
    ("character_set_client", 3),
    ("collation_connection", 4),
    ("collation_database", 5),
];

/// One object's `SHOW CREATE` row read into a [`NativeObject`]: its text
/// in column `text`, the named settings in the given columns.
struct Shown<'a> {
    kind: &'a str,
    name: String,
    table: Option<String>,
    definer: Option<String>,
    /// Column of the statement.
    text: usize,
    /// (setting, column).
    settings: &'a [(&'a str, usize)],
}

impl Shown<'_> {
    /// Read the object's `SHOW CREATE`; `Ok(None)` when the server shows
    /// no text (the dumping user may not read it), which the caller names.
    async fn read(self, conn: &mut Conn) -> Result<Option<NativeObject>, EngineError> {
        let what = match self.kind {
            "procedure" => "PROCEDURE",
            "function" => "FUNCTION",
            "view" => "VIEW",
            "trigger" => "TRIGGER",
            _ => "EVENT",
        };
        let ctx = format!("{} {}: reading its definition", self.kind, self.name);
        let rows = query_rows(
            conn,
            &format!("SHOW CREATE {what} {}", qi(&self.name)),
            &ctx,
        )
        .await?;
        let row: &Row = rows.first().ok_or_else(|| EngineError::Server {
            context: ctx.clone(),
            message: format!("SHOW CREATE {what} returned no row"),
        })?;
        let Some(ddl) = cell(row, self.text) else {
            return Ok(None);
        };
        let mut settings = Vec::new();
        for (name, col) in self.settings {
            let value = cell(row, *col).ok_or_else(|| EngineError::Server {
                context: ctx.clone(),
                message: format!("SHOW CREATE {what} shows no {name}"),
            })?;
            settings.push((name.to_string(), value));
        }
        Ok(Some(NativeObject {
            kind: self.kind.into(),
            name: self.name,
            table: self.table,
            ddl: strip_definer(&ddl),
            settings,
            definer: self.definer.filter(|d| !d.is_empty()),
            ..Default::default()
        }))
    }
}

/// What a dump reads besides tables: the objects, and warnings naming what
/// it cannot carry.
pub(super) struct Extras {
    pub(super) objects: Vec<NativeObject>,
    pub(super) warnings: Vec<String>,
}

/// Routines, views and events of the database (a dump of chosen tables
/// too, as a PostgreSQL dump keeps its functions and views: a restore
/// leaves out, naming it, a view that reads a table it does not have) and
/// the triggers of the dumped tables, in the order a restore creates them.
/// A view of a name `--exclude-tables` gives is left out.
pub(super) async fn extras(
    conn: &mut Conn,
    filter: &TableFilter,
    tables: &[Table],
) -> Result<Extras, EngineError> {
    let mut out = Extras {
        objects: Vec::new(),
        warnings: Vec::new(),
    };
    let unreadable = |kind: &str, name: &str| {
        format!(
            "{kind} {name} not dumped: the server shows the dumping user no definition of it \
             (it needs the SHOW CREATE ROUTINE privilege, or to be its definer)"
        )
    };
    let routines = query_rows(
        conn,
        "SELECT ROUTINE_NAME, ROUTINE_TYPE, DEFINER FROM information_schema.ROUTINES
          WHERE ROUTINE_SCHEMA = DATABASE() ORDER BY ROUTINE_TYPE DESC, ROUTINE_NAME",
        "reading the routine catalog",
    )
    .await?;
    for r in &routines {
        let (name, kind) = (cell_s(r, 0), cell_s(r, 1).to_ascii_lowercase());
        if kind != "procedure" && kind != "function" {
            out.warnings.push(format!(
                "{kind} {name} not dumped: haul does not carry MariaDB packages"
            ));
            continue;
        }
        let shown = Shown {
            kind: &kind,
            name: name.clone(),
            table: None,
            definer: cell(r, 2),
            text: 2,
            settings: ROUTINE_SETTINGS,
        };
        match shown.read(conn).await? {
            Some(o) => out.objects.push(o),
            None => out.warnings.push(unreadable(&kind, &name)),
        }
    }
    let relations = query_rows(
        conn,
        "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES
          WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME",
        "reading the table catalog",
    )
    .await?;
    let relations: Vec<(String, &str)> = relations
        .iter()
        .map(|r| {
            let kind = match cell_s(r, 1).as_str() {
                "VIEW" => "view",
                "SEQUENCE" => "sequence",
                _ => "table",
            };
            (cell_s(r, 0), kind)
        })
        .collect();
    let views = query_rows(
        conn,
        "SELECT TABLE_NAME, DEFINER FROM information_schema.VIEWS
          WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME",
        "reading the view catalog",
    )
    .await?;
    let mut read_views = Vec::new();
    for r in &views {
        let name = cell_s(r, 0);
        if filter.exclude.contains(&name) {
            continue;
        }
        let shown = Shown {
            kind: "view",
            name: name.clone(),
            table: None,
            definer: cell(r, 1),
            text: 1,
            settings: &[("character_set_client", 2), ("collation_connection", 3)],
        };
        match shown.read(conn).await? {
            Some(mut o) => {
                o.depends = view_depends(&o.ddl, &name, &relations);
                read_views.push(o)
            }
            None => out.warnings.push(unreadable("view", &name)),
        }
    }
    out.objects.extend(views_first_needed(read_views));
    for (name, _) in relations.iter().filter(|(_, k)| *k == "sequence") {
        out.warnings.push(format!(
            "sequence {name} not dumped: haul does not carry MariaDB sequences"
        ));
    }
    let triggers = query_rows(
        conn,
        "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, DEFINER FROM information_schema.TRIGGERS
          WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY EVENT_OBJECT_TABLE, ACTION_ORDER",
        "reading the trigger catalog",
    )
    .await?;
    for r in &triggers {
        let (name, table) = (cell_s(r, 0), cell_s(r, 1));
        if !tables.iter().any(|t| t.name == table) {
            continue;
        }
        let shown = Shown {
            kind: "trigger",
            name: name.clone(),
            table: Some(table),
            definer: cell(r, 2),
            text: 2,
            settings: ROUTINE_SETTINGS,
        };
        match shown.read(conn).await? {
            Some(o) => out.objects.push(o),
            None => out.warnings.push(unreadable("trigger", &name)),
        }
    }
    let events = query_rows(
        conn,
        "SELECT EVENT_NAME, DEFINER FROM information_schema.EVENTS
          WHERE EVENT_SCHEMA = DATABASE() ORDER BY EVENT_NAME",
        "reading the event catalog",
    )
    .await?;
    for r in &events {
        let name = cell_s(r, 0);
        let shown = Shown {
            kind: "event",
            name: name.clone(),
            table: None,
            definer: cell(r, 1),
            text: 3,
            settings: &[
                ("sql_mode", 1),
                ("time_zone", 2),
                ("character_set_client", 4),
                ("collation_connection", 5),
                ("collation_database", 6),
            ],
        };
        match shown.read(conn).await? {
            Some(o) => out.objects.push(o),
            None => out.warnings.push(unreadable("event", &name)),
        }
    }
    Ok(out)
}

/// What a view reads, as far as its text tells: every table or view of
/// the database (`relations`: name and kind) that it names as an
/// identifier (`SHOW CREATE VIEW` quotes them all and qualifies every
/// column), other than as a column (after a `.`) or an alias (after
/// `AS`). A table alias named like another table counts too: a restore
/// then leaves the view out where that table is missing, never creates
/// one that cannot work.
fn view_depends(ddl: &str, me: &str, relations: &[(String, &str)]) -> Vec<ObjectRef> {
    let named = |n: &str| {
        let quoted = format!("`{}`", n.replace('`', "``"));
        ddl.match_indices(&quoted).any(|(i, _)| {
            let before = ddl[..i].trim_end();
            let alias = before.len() >= 3
                && before.is_char_boundary(before.len() - 3)
                && before[before.len() - 3..].eq_ignore_ascii_case(" as");
            !ddl[..i].ends_with('.') && !alias
        })
    };
    relations
        .iter()
        .filter(|(n, k)| n != me && *k != "sequence")
        .filter(|(n, _)| named(n))
        .map(|(n, k)| ObjectRef {
            kind: k.to_string(),
            schema: None,
            name: n.clone(),
            table: None,
        })
        .collect()
}

/// `views` ordered so that each comes after the views it reads (by name
/// otherwise; a cycle, which the server does not allow, as read).
fn views_first_needed(mut views: Vec<NativeObject>) -> Vec<NativeObject> {
    let mut out: Vec<NativeObject> = Vec::with_capacity(views.len());
    while !views.is_empty() {
        let ready = views.iter().position(|v| {
            v.depends
                .iter()
                .filter(|d| d.kind == "view")
                .all(|d| !views.iter().any(|w| w.name == d.name))
        });
        out.push(views.remove(ready.unwrap_or(0)));
    }
    out
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
        assert_eq!(
            strip_definer(
                "CREATE DEFINER=`root`@`%` PROCEDURE `p`()\nBEGIN SELECT 'DEFINER=x'; END"
            ),
            "CREATE PROCEDURE `p`()\nBEGIN SELECT 'DEFINER=x'; END"
        );
        // Only the head's clause: none there, nothing taken from the body.
        let body = "CREATE PROCEDURE `p`() SELECT 'DEFINER=`x`@`y` '";
        assert_eq!(strip_definer(body), body);
    }

    #[test]
    fn what_a_view_reads() {
        let rel = [
            ("customer".to_string(), "table"),
            ("orders".to_string(), "table"),
            ("summary".to_string(), "view"),
        ];
        let names = |ddl: &str| -> Vec<String> {
            view_depends(ddl, "v", &rel)
                .into_iter()
                .map(|r| format!("{} {}", r.kind, r.name))
                .collect()
        };
        assert_eq!(
            names("CREATE VIEW `v` AS select `c`.`id` AS `orders` from `customer` `c`"),
            ["table customer"]
        );
        assert_eq!(
            names("CREATE VIEW `v` AS select `summary`.`orders` AS `n` from `summary` join `orders` on(1)"),
            ["table orders", "view summary"]
        );
    }

    #[test]
    fn definer_put_back() {
        assert_eq!(
            with_definer(
                "CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `v` AS select 1",
                "app@%"
            ),
            "CREATE ALGORITHM=UNDEFINED DEFINER=`app`@`%` SQL SECURITY DEFINER VIEW `v` AS select 1"
        );
        assert_eq!(
            with_definer("CREATE EVENT `e` ON SCHEDULE", "we`ird@local@host"),
            "CREATE DEFINER=`we``ird@local`@`host` EVENT `e` ON SCHEDULE"
        );
        assert_eq!(
            with_definer("CREATE FUNCTION `f`() RETURNS int RETURN 1", "a_role"),
            "CREATE DEFINER=`a_role` FUNCTION `f`() RETURNS int RETURN 1"
        );
    }
}
