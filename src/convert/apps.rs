//! An app's own types on another engine. A restore into an empty database
//! of another engine creates tables from the neutral model; for a Django
//! database (the archive's `django_migrations`) it gives each column the
//! type Django's own `migrate` makes on the target, so the app reads its
//! rows there as it reads its own: `DateTimeField` is `timestamp with time
//! zone` on PostgreSQL, `UUIDField` is `char(32)` on SQLite and `uuid` on
//! PostgreSQL and MariaDB, `DecimalField` is a number (NUMERIC affinity)
//! on SQLite. `docs/types.md` says why.

use crate::archive::manifest::AppMarker;
use crate::model::{EngineKind, NeutralType, Table};

/// The table option that makes SQLite declare a table's decimals with
/// NUMERIC affinity (`NUMERIC(p,s)` at any precision), as apps do.
pub const NUMERIC_DECIMALS: (&str, &str) = ("decimals", "numeric");

/// `table` (of an archive of `from` holding `markers`) with the types the
/// app makes on `to`, if any differs from the mapping of its neutral types;
/// what was done goes into `notes`, once each.
pub fn app_table(
    table: &Table,
    markers: &[AppMarker],
    from: EngineKind,
    to: EngineKind,
    notes: &mut Vec<String>,
) -> Option<Table> {
    if from == to || !markers.iter().any(|m| m.app == "django") {
        return None;
    }
    let mut t = table.clone();
    let mut note = |what: &str| {
        let line = format!("django: tables created with Django's types on {to}: {what}");
        if !notes.contains(&line) {
            notes.push(line);
        }
    };
    let mut decimals = false;
    for c in &mut t.columns {
        let char32 = c.native_type.eq_ignore_ascii_case("char(32)")
            && matches!(
                c.ty,
                NeutralType::Text {
                    max_chars: Some(32),
                    ..
                }
            );
        match (&c.ty, to) {
            (NeutralType::Timestamp { tz: false }, EngineKind::Postgres) => {
                c.ty = NeutralType::Timestamp { tz: true };
                note("DateTimeField: naive timestamps (UTC, as Django stores them with USE_TZ) as timestamp with time zone");
            }
            (NeutralType::Text { .. }, EngineKind::Postgres | EngineKind::Mysql) if char32 => {
                c.ty = NeutralType::Uuid;
                note("UUIDField: char(32) as uuid (a value that is not a UUID stops the load)");
            }
            (NeutralType::Uuid, EngineKind::Sqlite) => {
                c.ty = NeutralType::Text {
                    max_chars: Some(32),
                    fixed: true,
                };
                note("UUIDField: uuid as char(32), 32 hex digits");
            }
            (NeutralType::Decimal { .. }, EngineKind::Sqlite) => {
                decimals = true;
                note("DecimalField: NUMERIC at any precision (Django reads SQLite decimals as numbers; a value SQLite would round stops the load)");
            }
            _ => {}
        }
    }
    if decimals {
        t.options
            .push((NUMERIC_DECIMALS.0.into(), NUMERIC_DECIMALS.1.into()));
    }
    (t != *table).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Column;

    fn column(name: &str, ty: NeutralType, native: &str) -> Column {
        Column {
            name: name.into(),
            ty,
            native_type: native.into(),
            nullable: true,
            default: None,
            auto_increment: None,
            generated: None,
            collation: None,
            comment: None,
            on_update_now: false,
            inherited: false,
        }
    }

    fn table() -> Table {
        let text32 = NeutralType::Text {
            max_chars: Some(32),
            fixed: false,
        };
        Table {
            name: "shop_book".into(),
            columns: vec![
                column("at", NeutralType::Timestamp { tz: false }, "datetime"),
                column("isbn", text32.clone(), "char(32)"),
                column("code", text32, "varchar(32)"),
                column("ref", NeutralType::Uuid, "uuid"),
                column(
                    "price",
                    NeutralType::Decimal {
                        precision: Some(30),
                        scale: Some(10),
                    },
                    "decimal(30,10)",
                ),
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
        }
    }

    fn django() -> Vec<AppMarker> {
        vec![AppMarker {
            app: "django".into(),
            table: "django_migrations".into(),
            version: "1".into(),
            applied: vec!["shop.0001_initial".into()],
        }]
    }

    #[test]
    fn django_types_on_each_engine() {
        use EngineKind::*;
        let types = |from, to| {
            let mut notes = Vec::new();
            let t = app_table(&table(), &django(), from, to, &mut notes).expect("retyped");
            (
                t.columns.into_iter().map(|c| c.ty).collect::<Vec<_>>(),
                t.options,
                notes,
            )
        };
        let (pg, _, notes) = types(Sqlite, Postgres);
        assert_eq!(pg[0], NeutralType::Timestamp { tz: true });
        assert_eq!(pg[1], NeutralType::Uuid);
        assert!(
            matches!(pg[2], NeutralType::Text { .. }),
            "varchar(32) stays text"
        );
        assert_eq!(notes.len(), 2, "{notes:?}");
        let (lite, options, _) = types(Postgres, Sqlite);
        assert_eq!(
            lite[3],
            NeutralType::Text {
                max_chars: Some(32),
                fixed: true
            }
        );
        assert_eq!(
            options,
            vec![("decimals".to_string(), "numeric".to_string())]
        );
        let (my, _, _) = types(Sqlite, Mysql);
        assert_eq!(my[0], NeutralType::Timestamp { tz: false });
        assert_eq!(my[1], NeutralType::Uuid);
        // Not a Django archive, or the same engine: nothing changes.
        let mut notes = Vec::new();
        assert_eq!(app_table(&table(), &[], Sqlite, Postgres, &mut notes), None);
        assert_eq!(
            app_table(&table(), &django(), Postgres, Postgres, &mut notes),
            None
        );
        assert!(notes.is_empty());
    }
}
