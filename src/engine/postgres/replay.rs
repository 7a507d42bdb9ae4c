//! Creating an archive's objects and roles: each object's statement on its
//! own, in one transaction, behind a savepoint, so that what may fail
//! without failing the restore (an owner or grant the restoring user may
//! not give, an object the target has already) is a warning instead; and
//! the roles `--create-roles` makes, without passwords or superuser.

use super::conn::{col, describe, server_err, Pool};
use crate::engine::sqltext::expr_problem;
use crate::engine::{quote_ident, EngineError};
use crate::model::{EngineKind, NativeObject, Role, Schema};
use tokio_postgres::error::SqlState;

/// Why a failed `x` need not fail the restore, if it need not.
fn tolerated(x: &NativeObject, e: &tokio_postgres::Error) -> Option<String> {
    let code = e.code()?;
    // A large object the target has already is not the archive's: its
    // bytes must not be written into it.
    if x.kind == crate::model::objects::LARGE_OBJECT_KIND {
        return None;
    }
    // What is said about an object, and policies, which name roles.
    let about = matches!(
        x.kind.as_str(),
        "owner" | "grant" | "comment" | "security label" | "policy"
    );
    if [
        SqlState::DUPLICATE_OBJECT,
        SqlState::DUPLICATE_FUNCTION,
        SqlState::DUPLICATE_TABLE,
        SqlState::DUPLICATE_SCHEMA,
    ]
    .contains(code)
    {
        return Some("the target has it already; the target's is kept".into());
    }
    let refused = *code == SqlState::INSUFFICIENT_PRIVILEGE
        || *code == SqlState::UNDEFINED_OBJECT
        || (*code == SqlState::INVALID_PARAMETER_VALUE && x.kind == "security label");
    let hint = match x.kind.as_str() {
        "owner" => "; --no-owner leaves objects to the restoring user",
        "grant" => "; --no-privileges leaves grants out",
        _ => "",
    };
    (about && refused).then(|| format!("not done: {}{hint}", describe(e)))
}

/// Create `objects` in order in one transaction; warnings for those left
/// out (see [`tolerated`]).
pub(super) async fn create_objects(
    pool: &Pool,
    objects: &[NativeObject],
) -> Result<Vec<String>, EngineError> {
    if objects.is_empty() {
        return Ok(Vec::new());
    }
    let c = pool.get().await?;
    let r = async {
        let ctx = "creating the archive's objects";
        c.batch_execute("BEGIN")
            .await
            .map_err(|e| server_err(ctx, e))?;
        // Objects left out, grouped by why (owners the restoring user may
        // not give are often all of them).
        let mut left: Vec<(String, Vec<String>)> = Vec::new();
        for x in objects {
            c.batch_execute("SAVEPOINT haul_object")
                .await
                .map_err(|e| server_err(ctx, e))?;
            match c.execute(x.ddl.as_str(), &[]).await {
                Ok(_) => c.batch_execute("RELEASE SAVEPOINT haul_object").await,
                Err(e) => match tolerated(x, &e) {
                    Some(why) => {
                        match left.iter_mut().find(|(w, _)| *w == why) {
                            Some((_, names)) => names.push(x.describe()),
                            None => left.push((why, vec![x.describe()])),
                        }
                        c.batch_execute("ROLLBACK TO SAVEPOINT haul_object").await
                    }
                    None => return Err(server_err(format!("creating {}", x.describe()), e)),
                },
            }
            .map_err(|e| server_err(ctx, e))?;
        }
        c.batch_execute("COMMIT")
            .await
            .map_err(|e| server_err(ctx, e))?;
        Ok(left
            .into_iter()
            .map(|(why, names)| format!("{}: {why}", names.join(", ")))
            .collect())
    }
    .await;
    // A failed one is dropped with its transaction.
    if r.is_ok() {
        pool.put(c).await;
    }
    r
}

/// The statement dropping `x` if it exists and nothing else needs it, for
/// kinds that do not go with a table.
fn drop_sql(x: &NativeObject) -> Option<String> {
    let q = super::qtable(&x.name);
    Some(match x.kind.as_str() {
        "view" => format!("DROP VIEW IF EXISTS {q}"),
        "materialized view" => format!("DROP MATERIALIZED VIEW IF EXISTS {q}"),
        "type" => format!("DROP TYPE IF EXISTS {q}"),
        "domain" => format!("DROP DOMAIN IF EXISTS {q}"),
        "collation" => format!("DROP COLLATION IF EXISTS {q}"),
        "large object" => super::largeobjects::drop_sql(x.name.parse().ok()?),
        // Signatures as the catalog writes them.
        "function" | "procedure" | "aggregate" | "operator" | "cast"
            if expr_problem(EngineKind::Postgres, &x.name).is_none() =>
        {
            format!("DROP {} IF EXISTS {}", x.kind.to_ascii_uppercase(), x.name)
        }
        _ => return None,
    })
}

/// Drop, in reverse creation order, the archive's `objects` and enum types
/// the target has (`--clean`); one still needed by others of the target's
/// is kept, with a warning.
pub(super) async fn drop_objects(
    pool: &Pool,
    schema: &Schema,
    objects: &[NativeObject],
) -> Result<Vec<String>, EngineError> {
    let enums = schema.enums.iter().map(|e| NativeObject {
        kind: "type".into(),
        name: e.name.clone(),
        ..Default::default()
    });
    let mut drops: Vec<(String, String)> = Vec::new();
    for x in objects.iter().rev().cloned().chain(enums) {
        if let Some(sql) = drop_sql(&x) {
            drops.push((x.describe(), sql));
        }
    }
    if drops.is_empty() {
        return Ok(Vec::new());
    }
    let c = pool.get().await?;
    let r = async {
        let ctx = "dropping the archive's objects (--clean)";
        c.batch_execute("BEGIN")
            .await
            .map_err(|e| server_err(ctx, e))?;
        let mut warnings = Vec::new();
        for (what, sql) in &drops {
            c.batch_execute("SAVEPOINT haul_drop")
                .await
                .map_err(|e| server_err(ctx, e))?;
            match c.execute(sql.as_str(), &[]).await {
                Ok(_) => c.batch_execute("RELEASE SAVEPOINT haul_drop").await,
                Err(e) => {
                    warnings.push(format!("{what} kept (--clean): {}", describe(&e)));
                    c.batch_execute("ROLLBACK TO SAVEPOINT haul_drop").await
                }
            }
            .map_err(|e| server_err(ctx, e))?;
        }
        c.batch_execute("COMMIT")
            .await
            .map_err(|e| server_err(ctx, e))?;
        Ok(warnings)
    }
    .await;
    if r.is_ok() {
        pool.put(c).await;
    }
    r
}

/// The server's role names.
pub(super) async fn role_names(pool: &Pool) -> Result<Vec<String>, EngineError> {
    let c = pool.get().await?;
    let r = c
        .query("SELECT rolname::text FROM pg_roles ORDER BY 1", &[])
        .await;
    pool.put(c).await;
    let ctx = "reading the server's roles";
    r.map_err(|e| server_err(ctx, e))?
        .iter()
        .map(|row| col(row, 0, ctx))
        .collect()
}

/// The role options haul creates again, as `CREATE ROLE` writes them;
/// `None` for what it will not (SUPERUSER) or does not know.
fn role_option(a: &str) -> Option<String> {
    match a {
        "LOGIN" | "NOLOGIN" | "CREATEDB" | "CREATEROLE" | "NOINHERIT" | "INHERIT"
        | "REPLICATION" | "BYPASSRLS" => Some(a.to_string()),
        _ => {
            let n: i32 = a.strip_prefix("CONNECTION LIMIT ")?.parse().ok()?;
            Some(format!("CONNECTION LIMIT {n}"))
        }
    }
}

/// Create the `roles` the server lacks, then their memberships; warnings
/// for what is not carried (passwords, SUPERUSER) or what the restoring
/// user may not do.
pub(super) async fn create_roles(pool: &Pool, roles: &[Role]) -> Result<Vec<String>, EngineError> {
    let mut have = role_names(pool).await?;
    let mut warnings = Vec::new();
    let mut created = Vec::new();
    let mut login = Vec::new();
    let missing: Vec<&Role> = roles.iter().filter(|r| !have.contains(&r.name)).collect();
    for r in missing {
        let mut options = Vec::new();
        for a in &r.attributes {
            match role_option(a) {
                Some(o) => options.push(o),
                None => warnings.push(format!(
                    "role {}: {a} is not carried (--create-roles never makes a superuser, nor what it does not know)",
                    r.name
                )),
            }
        }
        let sql = format!(
            "CREATE ROLE {} WITH {}",
            quote_ident(&r.name),
            options.join(" ")
        );
        match pool.exec(&sql, format!("creating role {}", r.name)).await {
            Ok(()) => {
                if options.iter().any(|o| o == "LOGIN") {
                    login.push(r.name.clone());
                }
                created.push(r.name.clone());
                have.push(r.name.clone());
            }
            Err(e) => warnings.push(format!("role {} not created: {e}", r.name)),
        }
    }
    for r in roles.iter().filter(|r| created.contains(&r.name)) {
        for g in r.member_of.iter().filter(|g| have.contains(g)) {
            let sql = format!("GRANT {} TO {}", quote_ident(g), quote_ident(&r.name));
            if let Err(e) = pool
                .exec(&sql, format!("making role {} a member of {g}", r.name))
                .await
            {
                warnings.push(e.to_string());
            }
        }
    }
    if !login.is_empty() {
        warnings.push(format!(
            "roles created without a password (an archive never holds one): {}; set them with ALTER ROLE ... PASSWORD",
            login.join(", ")
        ));
    }
    Ok(warnings)
}
