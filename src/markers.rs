//! App schema markers: which schema version of a known app or migration
//! framework a database holds, read from the rows of its bookkeeping table.
//! Engine-independent: markers are computed from archive-encoded chunks.

use crate::archive::codec::{ChunkDecoder, Field};
use crate::archive::manifest::AppMarker;
use std::cmp::Ordering;

/// How a marker is read from its table.
#[derive(Debug, Clone, Copy)]
enum Pick {
    /// The largest value of a column (numbers compare as numbers).
    Max(&'static str),
    /// Every row's `app.name` (Django's `django_migrations`): versions are
    /// compared as sets, since migrations of different apps apply in any
    /// order and at any time.
    Applied,
    /// The `value` column's JSON `timestamp` in the row whose `key` column is
    /// `alterationState` (Logto's `systems` table).
    LogtoAlteration,
}

/// Known marker tables: (app, table, how).
const KNOWN: &[(&str, &str, Pick)] = &[
    ("gogs", "version", Pick::Max("version")),
    ("laravel", "migrations", Pick::Max("migration")),
    ("logto", "systems", Pick::LogtoAlteration),
    ("django", "django_migrations", Pick::Applied),
    ("rails", "schema_migrations", Pick::Max("version")),
    ("flyway", "flyway_schema_history", Pick::Max("version")),
    ("prisma", "_prisma_migrations", Pick::Max("migration_name")),
    ("diesel", "__diesel_schema_migrations", Pick::Max("version")),
    ("sqlx", "_sqlx_migrations", Pick::Max("version")),
];

/// Whether a table holds a schema marker.
pub fn is_marker_table(table: &str) -> bool {
    KNOWN.iter().any(|k| k.1 == table)
}

/// Compare two versions: numerically by dot-separated parts where both are
/// numbers, as text otherwise.
pub fn compare(a: &str, b: &str) -> Ordering {
    let parts = |s: &str| -> Option<Vec<u128>> { s.split('.').map(|p| p.parse().ok()).collect() };
    match (parts(a), parts(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// The marker of `table`, from its columns and its CSV chunks.
pub fn extract(table: &str, columns: &[String], chunks: &[Vec<u8>]) -> Option<AppMarker> {
    let (app, _, pick) = KNOWN.iter().find(|k| k.1 == table)?;
    let col = |name: &str| columns.iter().position(|c| c == name);
    let mut best: Option<String> = None;
    let mut applied: Vec<String> = Vec::new();
    let mut consider = |v: String| {
        if best
            .as_ref()
            .is_none_or(|b| compare(&v, b) == Ordering::Greater)
        {
            best = Some(v);
        }
    };
    for csv in chunks {
        let mut d = ChunkDecoder::new(csv, columns.len());
        while let Ok(true) = d.next_row() {
            let text = |i: usize| match d.field(i) {
                Ok(Field::Value(v)) | Ok(Field::Tagged(_, v)) => {
                    Some(String::from_utf8_lossy(v).into_owned())
                }
                _ => None,
            };
            match pick {
                Pick::Max(c) => {
                    if let Some(v) = col(c).and_then(text) {
                        consider(v);
                    }
                }
                Pick::Applied => {
                    if let (Some(a), Some(n)) =
                        (col("app").and_then(text), col("name").and_then(text))
                    {
                        applied.push(format!("{a}.{n}"));
                    }
                }
                Pick::LogtoAlteration => {
                    let (Some(k), Some(v)) = (col("key"), col("value")) else {
                        continue;
                    };
                    if text(k).as_deref() != Some("alterationState") {
                        continue;
                    }
                    let ts = text(v)
                        .and_then(|j| serde_json::from_str::<serde_json::Value>(&j).ok())
                        .and_then(|j| j.get("timestamp").map(|t| t.to_string()));
                    if let Some(ts) = ts {
                        consider(ts.trim_matches('"').to_string());
                    }
                }
            }
        }
    }
    if matches!(pick, Pick::Applied) {
        applied.sort();
        applied.dedup();
        best = Some(format!("{} migrations", applied.len()));
    }
    Some(AppMarker {
        app: app.to_string(),
        table: table.to_string(),
        version: best?,
        applied,
    })
}

/// How an archive's marker relates to the target's, in plain words.
#[derive(Debug, Clone, PartialEq)]
pub enum Relation {
    /// The archive's app schema is older: an upgrade restore.
    Older {
        archive: AppMarker,
        target: String,
    },
    /// The archive's is newer: a downgrade.
    Newer {
        archive: AppMarker,
        target: String,
    },
    Equal(AppMarker),
    /// Each side has migrations the other lacks.
    Diverged {
        archive: AppMarker,
        /// Applied in the archive only (a few, for the message).
        archive_only: Vec<String>,
        /// Applied in the target only.
        target_only: Vec<String>,
    },
    /// The target has no marker of that app (an empty database, say).
    Unknown(AppMarker),
}

/// Relate every archive marker to the target's markers.
pub fn relate(archive: &[AppMarker], target: &[AppMarker]) -> Vec<Relation> {
    archive
        .iter()
        .map(|a| match target.iter().find(|t| t.app == a.app) {
            None => Relation::Unknown(a.clone()),
            Some(t) if !a.applied.is_empty() || !t.applied.is_empty() => relate_sets(a, t),
            Some(t) => match compare(&a.version, &t.version) {
                Ordering::Less => Relation::Older {
                    archive: a.clone(),
                    target: t.version.clone(),
                },
                Ordering::Greater => Relation::Newer {
                    archive: a.clone(),
                    target: t.version.clone(),
                },
                Ordering::Equal => Relation::Equal(a.clone()),
            },
        })
        .collect()
}

/// Relate two sets of applied migrations: a subset is older, a superset
/// newer, and neither diverged.
fn relate_sets(a: &AppMarker, t: &AppMarker) -> Relation {
    let only = |x: &[String], y: &[String]| -> Vec<String> {
        x.iter()
            .filter(|m| y.binary_search(m).is_err())
            .cloned()
            .collect()
    };
    let archive_only = only(&a.applied, &t.applied);
    let target_only = only(&t.applied, &a.applied);
    match (archive_only.is_empty(), target_only.is_empty()) {
        (true, true) => Relation::Equal(a.clone()),
        (true, false) => Relation::Older {
            archive: a.clone(),
            target: t.version.clone(),
        },
        (false, true) => Relation::Newer {
            archive: a.clone(),
            target: t.version.clone(),
        },
        (false, false) => Relation::Diverged {
            archive: a.clone(),
            archive_only,
            target_only,
        },
    }
}

/// The first few of `names`, and how many more.
fn some(names: &[String]) -> String {
    let mut s = names.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > 3 {
        s.push_str(&format!(" and {} more", names.len() - 3));
    }
    s
}

impl Relation {
    /// Whether restoring would take the target's app schema somewhere its
    /// app does not expect (a downgrade, or a diverged history).
    pub fn refused(&self) -> bool {
        matches!(self, Relation::Newer { .. } | Relation::Diverged { .. })
    }

    /// One line for the user.
    pub fn describe(&self) -> String {
        match self {
            Relation::Older { archive, target } => {
                let profile = crate::transform::PROFILES
                    .iter()
                    .find(|p| p.0 == archive.app)
                    .map(|p| format!("; profile {} applies (--profile {})", p.0, p.0))
                    .unwrap_or_default();
                format!(
                    "{} schema {} in the archive, {target} in the target: an upgrade restore{profile}",
                    archive.app, archive.version
                )
            }
            Relation::Newer { archive, target } => format!(
                "{} schema {} in the archive is newer than the target's {target}: a downgrade",
                archive.app, archive.version
            ),
            Relation::Diverged {
                archive,
                archive_only,
                target_only,
            } => format!(
                "{} schema in the archive and the target have diverged: the archive has {} that the target lacks, the target {}",
                archive.app,
                some(archive_only),
                some(target_only)
            ),
            Relation::Equal(a) => format!(
                "{} schema {} in the archive and the target",
                a.app, a.version
            ),
            Relation::Unknown(a) => format!(
                "{} schema {} in the archive; the target has no {} schema version",
                a.app, a.version, a.app
            ),
        }
    }
}

/// Read the markers of a live database through an open snapshot.
pub async fn read_live(
    source: &dyn crate::engine::Source,
    schema: &crate::model::Schema,
) -> Result<Vec<AppMarker>, crate::engine::EngineError> {
    use std::sync::{Arc, Mutex};
    let mut out = Vec::new();
    for t in schema.tables.iter().filter(|t| is_marker_table(&t.name)) {
        let chunks: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let c = Arc::clone(&chunks);
        let mut sink = crate::stream::ChunkSink::new(
            0,
            1 << 20,
            Box::new(move |raw| {
                if let Ok(mut v) = c.lock() {
                    v.push(raw.csv);
                }
                Ok(())
            }),
            None,
        );
        source
            .read(t, &crate::engine::Part { filter: None }, &mut sink)
            .await?;
        sink.finish()?;
        let columns: Vec<String> = t.data_columns().map(|c| c.name.clone()).collect();
        let chunks = chunks.lock().map(|v| v.clone()).unwrap_or_default();
        out.extend(extract(&t.name, &columns, &chunks));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::codec::ChunkEncoder;

    fn chunk(rows: &[&[&str]]) -> Vec<u8> {
        let mut e = ChunkEncoder::new(64);
        for r in rows {
            for f in *r {
                e.text(f.as_bytes());
            }
            e.end_row();
        }
        e.take().0
    }

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(compare("19", "22"), Ordering::Less);
        assert_eq!(compare("1.10.0", "1.9"), Ordering::Greater);
        assert_eq!(compare("2024_01_02_x", "2023_12_31_y"), Ordering::Greater);
    }

    #[test]
    fn gogs_and_logto() {
        let cols = vec!["id".to_string(), "version".to_string()];
        let m = extract("version", &cols, &[chunk(&[&["1", "19"]])]).unwrap();
        assert_eq!((m.app.as_str(), m.version.as_str()), ("gogs", "19"));
        let cols = vec!["tenant_id".into(), "key".into(), "value".into()];
        let c = chunk(&[
            &["default", "other", "{}"],
            &[
                "default",
                "alterationState",
                r#"{"timestamp": 1716000000, "updatedAt": "x"}"#,
            ],
        ]);
        let m = extract("systems", &cols, &[c]).unwrap();
        assert_eq!(
            (m.app.as_str(), m.version.as_str()),
            ("logto", "1716000000")
        );
        assert!(extract("album", &cols, &[]).is_none());
    }

    #[test]
    fn relations() {
        let a = |v: &str| AppMarker {
            app: "gogs".into(),
            table: "version".into(),
            version: v.into(),
            applied: vec![],
        };
        let r = relate(&[a("19")], &[a("22")]);
        assert!(r[0]
            .describe()
            .contains("upgrade restore; profile gogs applies"));
        assert!(matches!(
            relate(&[a("22")], &[a("19")])[0],
            Relation::Newer { .. }
        ));
        assert!(matches!(relate(&[a("22")], &[])[0], Relation::Unknown(_)));
    }

    #[test]
    fn django_compares_sets_of_migrations() {
        let cols: Vec<String> = ["id", "app", "name", "applied"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        // The same migrations applied a second apart, in another order.
        let one = chunk(&[
            &["1", "auth", "0001_initial", "2024-01-01 10:00:00"],
            &["2", "blog", "0001_initial", "2024-01-01 10:00:01"],
        ]);
        let two = chunk(&[
            &["1", "blog", "0001_initial", "2024-06-01 10:00:00"],
            &["2", "auth", "0001_initial", "2024-06-01 10:00:02"],
        ]);
        let three = chunk(&[
            &["1", "auth", "0001_initial", "2024-06-01 10:00:00"],
            &["2", "blog", "0001_initial", "2024-06-01 10:00:00"],
            &["3", "blog", "0002_tags", "2024-06-01 10:00:00"],
        ]);
        let other = chunk(&[
            &["1", "auth", "0001_initial", "2024-06-01 10:00:00"],
            &["2", "shop", "0001_initial", "2024-06-01 10:00:00"],
        ]);
        let m = |c: &Vec<u8>| extract("django_migrations", &cols, std::slice::from_ref(c)).unwrap();
        assert_eq!(m(&one).version, "2 migrations");
        assert!(matches!(
            relate(&[m(&one)], &[m(&two)])[0],
            Relation::Equal(_)
        ));
        assert!(matches!(
            relate(&[m(&one)], &[m(&three)])[0],
            Relation::Older { .. }
        ));
        let newer = &relate(&[m(&three)], &[m(&one)])[0];
        assert!(newer.refused(), "{newer:?}");
        let d = &relate(&[m(&three)], &[m(&other)])[0];
        assert!(d.refused());
        assert_eq!(
            d.describe(),
            "django schema in the archive and the target have diverged: the archive has \
             blog.0001_initial, blog.0002_tags that the target lacks, the target shop.0001_initial"
        );
    }
}
