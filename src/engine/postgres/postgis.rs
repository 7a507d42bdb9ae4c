//! Whether a restore target can hold MySQL geometries as PostGIS
//! geometries: the extension installed (its schema), or available and the
//! restoring user allowed to create it (in the current schema).

use super::conn::{col, server_err};
use crate::convert::spatial::Postgis;
use crate::engine::EngineError;

/// What `plan` decides geometries become, asked before any write.
pub(super) async fn postgis(c: &tokio_postgres::Client) -> Result<Postgis, EngineError> {
    let ctx = "reading whether PostGIS is installed or available";
    let row = c
        .query_one(
            "SELECT (SELECT n.nspname::text FROM pg_extension e
                       JOIN pg_namespace n ON n.oid = e.extnamespace
                      WHERE e.extname = 'postgis'),
                    EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'),
                    COALESCE((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false)
                    OR (EXISTS (SELECT 1 FROM pg_available_extension_versions
                                 WHERE name = 'postgis' AND trusted)
                        AND has_database_privilege(current_database(), 'CREATE')),
                    current_schema()::text",
            &[],
        )
        .await
        .map_err(|e| server_err(ctx, e))?;
    let installed: Option<String> = col(&row, 0, ctx)?;
    let available: bool = col(&row, 1, ctx)?;
    let may_create: bool = col(&row, 2, ctx)?;
    let current: Option<String> = col(&row, 3, ctx)?;
    Ok(match (installed, available, may_create, current) {
        (Some(schema), ..) => Postgis::In(schema),
        (None, false, ..) => Postgis::Unusable(
            "PostGIS is not available on the target server (Debian: postgresql-NN-postgis-3)"
                .into(),
        ),
        (None, true, false, _) => Postgis::Unusable(
            "PostGIS is available on the target server but not installed in this database, \
             and the restoring user may not create it (a superuser can: CREATE EXTENSION postgis)"
                .into(),
        ),
        (None, true, true, None) => Postgis::Unusable(
            "PostGIS could be created, but no schema of the search_path exists to hold it".into(),
        ),
        (None, true, true, Some(schema)) => Postgis::In(schema),
    })
}
