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
    /// The `value` column's JSON `timestamp` in the row whose `key` column is
    /// `alterationState` (Logto's `systems` table).
    LogtoAlteration,
}

/// Known marker tables: (app, table, how).
const KNOWN: &[(&str, &str, Pick)] = &[
    ("gogs", "version", Pick::Max("version")),
    ("laravel", "migrations", Pick::Max("migration")),
    ("logto", "systems", Pick::LogtoAlteration),
    ("django", "django_migrations", Pick::Max("applied")),
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
    Some(AppMarker {
        app: app.to_string(),
        table: table.to_string(),
        version: best?,
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
    /// The target has no marker of that app (an empty database, say).
    Unknown(AppMarker),
}

/// Relate every archive marker to the target's markers.
pub fn relate(archive: &[AppMarker], target: &[AppMarker]) -> Vec<Relation> {
    archive
        .iter()
        .map(|a| match target.iter().find(|t| t.app == a.app) {
            None => Relation::Unknown(a.clone()),
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

impl Relation {
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
}
