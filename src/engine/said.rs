//! Checks on the statements an archive holds about other objects
//! (comments, grants, owners, table settings), which are not `CREATE`s:
//! each must be the statement its kind says.

/// The words of `sql` outside quotes and literals, upper-cased.
fn bare_words(sql: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                words.push(std::mem::take(&mut word));
                words.push("?".into());
            }
            None if c.is_alphanumeric() || c == '_' => word.push(c.to_ascii_uppercase()),
            None => words.push(std::mem::take(&mut word)),
        }
    }
    words.push(word);
    words.retain(|w| !w.is_empty());
    words
}

/// Why `ddl`, an object of `kind` that is not a `CREATE` (a comment, a
/// grant, an owner, an `ALTER TABLE` of a table's settings), is not the
/// statement such an object is; `None` for kinds that are created.
pub(super) fn said_problem(kind: &str, ddl: &str) -> Option<Option<String>> {
    let w = bare_words(ddl);
    let starts = |lead: &[&str]| w.len() > lead.len() && w.iter().zip(lead).all(|(a, b)| a == b);
    let owned = [
        "TABLE",
        "SEQUENCE",
        "VIEW",
        "MATERIALIZED",
        "FUNCTION",
        "PROCEDURE",
        "AGGREGATE",
        "TYPE",
        "DOMAIN",
        "COLLATION",
        "OPERATOR",
        "STATISTICS",
        "SCHEMA",
        "LARGE",
    ];
    let ok = match kind {
        "comment" => starts(&["COMMENT", "ON"]),
        "security label" => starts(&["SECURITY", "LABEL", "FOR"]),
        // On an object, never a role's membership.
        "grant" => (starts(&["GRANT"]) || starts(&["REVOKE"])) && w.iter().any(|x| x == "ON"),
        "owner" => {
            starts(&["ALTER"])
                && owned.contains(&w[1].as_str())
                && w.windows(2).any(|p| p[0] == "OWNER" && p[1] == "TO")
        }
        "row security" | "column option" | "trigger state" => starts(&["ALTER", "TABLE"]),
        "table option" => {
            starts(&["ALTER", "TABLE"])
                || starts(&["ALTER", "MATERIALIZED", "VIEW"])
                || starts(&["ALTER", "STATISTICS"])
        }
        "domain constraint" => starts(&["ALTER", "DOMAIN"]) && w.iter().any(|x| x == "ADD"),
        // Exactly `SELECT pg_catalog.lo_create(OID)`.
        "large object" => ddl
            .strip_prefix("SELECT pg_catalog.lo_create(")
            .and_then(|d| d.strip_suffix(')'))
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()) && n.parse::<u32>().is_ok()),
        _ => return None,
    };
    Some((!ok).then(|| format!("it is not the statement of a {kind}")))
}

#[cfg(test)]
mod tests {
    use crate::engine::sqltext::{create_problem, routine_problem, rule_problem};

    #[test]
    fn statements_about_objects() {
        let ok = |kind: &str, ddl: &str| assert_eq!(create_problem(kind, ddl), None, "{ddl}");
        let bad = |kind: &str, ddl: &str| assert!(create_problem(kind, ddl).is_some(), "{ddl}");
        ok("comment", "COMMENT ON FUNCTION f(integer) IS 'x'");
        ok("grant", "GRANT SELECT ON TABLE t TO \"a b\"");
        ok("grant", "REVOKE EXECUTE ON FUNCTION f() FROM PUBLIC");
        bad("grant", "GRANT pg_execute_server_program TO \"x ON y\"");
        ok("owner", "ALTER TABLE t OWNER TO alice");
        ok("owner", "ALTER LARGE OBJECT 16385 OWNER TO alice");
        ok("large object", "SELECT pg_catalog.lo_create(16385)");
        bad(
            "large object",
            "SELECT pg_catalog.lo_create(1); DROP TABLE t",
        );
        bad("large object", "SELECT pg_catalog.lo_create(99999999999)");
        bad("large object", "SELECT pg_catalog.lo_unlink(16385)");
        bad("owner", "ALTER ROLE alice SUPERUSER");
        bad("owner", "ALTER SYSTEM SET x = 'OWNER TO'");
        ok("row security", "ALTER TABLE t ENABLE ROW LEVEL SECURITY");
        bad("row security", "DROP TABLE t");
        ok("table option", "ALTER STATISTICS s SET STATISTICS 10");
        ok(
            "security label",
            "SECURITY LABEL FOR selinux ON TABLE t IS 'x'",
        );
        ok(
            "domain constraint",
            "ALTER DOMAIN d ADD CONSTRAINT c CHECK (VALUE > 0) NOT VALID",
        );
        assert_eq!(
            rule_problem("CREATE RULE r AS ON INSERT TO t DO ( INSERT INTO a VALUES (1); INSERT INTO b VALUES (2); )"),
            None
        );
        assert!(
            rule_problem("CREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING; DROP TABLE x")
                .is_some()
        );
        assert_eq!(
            routine_problem("CREATE FUNCTION f() RETURNS bigint LANGUAGE sql\nBEGIN ATOMIC\n SELECT 1;\n SELECT 2;\nEND"),
            None
        );
        assert!(routine_problem("CREATE FUNCTION f() RETURNS int AS 'x'; DROP TABLE t").is_some());
        assert!(
            routine_problem("CREATE FUNCTION f() BEGIN ATOMIC SELECT 1; END; DROP TABLE t")
                .is_some()
        );
    }
}
