//! Checks on SQL text an archive carries (types, defaults, checks, native
//! definitions, views and triggers) before a restore pastes it into a
//! statement, and the string literal of each engine.

use crate::model::{unquote, EngineKind, PortableDefault, Schema};

/// A string literal for `engine`. MySQL reads `\` as an escape (unless
/// `NO_BACKSLASH_ESCAPES`), so it is doubled there, and NUL is written `\0`.
pub fn literal(engine: EngineKind, s: &str) -> String {
    match engine {
        EngineKind::Mysql => {
            let mut out = String::with_capacity(s.len() + 2);
            out.push('\'');
            for c in s.chars() {
                match c {
                    '\'' => out.push_str("''"),
                    '\\' => out.push_str("\\\\"),
                    '\0' => out.push_str("\\0"),
                    c => out.push(c),
                }
            }
            out.push('\'');
            out
        }
        EngineKind::Postgres | EngineKind::Sqlite => format!("'{}'", s.replace('\'', "''")),
    }
}

/// A default from [`portable_default`](crate::model::portable_default) as
/// `engine` writes it.
pub fn default_sql(engine: EngineKind, d: &PortableDefault) -> String {
    match (d, engine) {
        (PortableDefault::Number(n), _) => n.clone(),
        (PortableDefault::Text(s), _) => literal(engine, s),
        (PortableDefault::Bool(b), EngineKind::Postgres) => b.to_string(),
        (PortableDefault::Bool(b), _) => u8::from(*b).to_string(),
        (PortableDefault::Now, _) => "CURRENT_TIMESTAMP".into(),
    }
}

/// Why `text` is not a single expression or clause of `engine`'s SQL: a
/// `;` outside literals, a comment, an unterminated literal or quoted name,
/// unbalanced parentheses. `None` when it is fine.
pub fn expr_problem(engine: EngineKind, text: &str) -> Option<&'static str> {
    scan(engine, text, Semicolons::Never)
}

/// [`expr_problem`] for a PostgreSQL rule, whose actions in parentheses
/// are separated by `;`.
pub fn rule_problem(text: &str) -> Option<&'static str> {
    scan(EngineKind::Postgres, text, Semicolons::Nested)
}

/// [`expr_problem`] for a PostgreSQL function or procedure: a standard SQL
/// body (`BEGIN ATOMIC ... END`) holds statements ended by `;`.
pub fn routine_problem(text: &str) -> Option<&'static str> {
    let upper = text.to_ascii_uppercase();
    match upper.find("BEGIN ATOMIC") {
        Some(at) if upper.trim_end().ends_with("END") => {
            scan(EngineKind::Postgres, &text[..at], Semicolons::Never)
                .or_else(|| scan(EngineKind::Postgres, &text[at..], Semicolons::Anywhere))
        }
        _ => expr_problem(EngineKind::Postgres, text),
    }
}

/// Where a `;` may stand in text [`scan`] checks.
#[derive(Clone, Copy, PartialEq)]
enum Semicolons {
    Never,
    /// Inside parentheses.
    Nested,
    Anywhere,
}

fn scan(engine: EngineKind, text: &str, semicolons: Semicolons) -> Option<&'static str> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut depth = 0i64;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
    while i < b.len() {
        let c = b[i];
        match c {
            b';' if semicolons == Semicolons::Never
                || (semicolons == Semicolons::Nested && depth == 0) =>
            {
                return Some("a ';' (a second statement)")
            }
            b'-' if b.get(i + 1) == Some(&b'-') => return Some("a comment"),
            b'/' if b.get(i + 1) == Some(&b'*') => return Some("a comment"),
            b'#' if engine == EngineKind::Mysql => return Some("a comment"),
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth < 0 {
                    return Some("unbalanced parentheses");
                }
            }
            b'\'' | b'"' | b'`' => {
                if c == b'`' && engine == EngineKind::Postgres {
                    return Some("a backtick");
                }
                // PostgreSQL reads backslashes as escapes in E'...' only.
                let escapes = engine == EngineKind::Mysql && c != b'`'
                    || (engine == EngineKind::Postgres
                        && c == b'\''
                        && i > 0
                        && matches!(b[i - 1], b'E' | b'e')
                        && (i < 2 || !ident(b[i - 2])));
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Some("an unterminated quote"),
                        Some(&q) if q == c => {
                            if b.get(i + 1) == Some(&c) {
                                i += 2;
                                continue;
                            }
                            break;
                        }
                        Some(b'\\') if escapes => i += 2,
                        Some(_) => i += 1,
                    }
                }
            }
            b'$' if engine == EngineKind::Postgres && (i == 0 || !ident(b[i - 1])) => {
                // A dollar quote: $tag$ ... $tag$.
                let tag_end = b[i + 1..]
                    .iter()
                    .position(|&x| !ident(x))
                    .map(|p| i + 1 + p);
                let param = b.get(i + 1).is_some_and(u8::is_ascii_digit);
                if let Some(e) = tag_end.filter(|&e| !param && b[e] == b'$') {
                    let tag = &text[i..=e];
                    match text[e + 1..].find(tag) {
                        Some(p) => i = e + 1 + p + tag.len() - 1,
                        None => return Some("an unterminated quote"),
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    if depth != 0 {
        return Some("unbalanced parentheses");
    }
    None
}

/// Why `ty` is not a PostgreSQL type name (names, optionally
/// schema-qualified or quoted, `(n[,m])` or `(Word,n)` modifiers, `[]`),
/// or `None`.
pub fn pg_type_problem(ty: &str) -> Option<&'static str> {
    let b = ty.as_bytes();
    if b.is_empty() {
        return Some("an empty type");
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            _ if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c == b' ' || c == b'.' => {
                i += 1
            }
            b'"' => {
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Some("an unterminated quoted name"),
                        Some(b'"') if b.get(i + 1) == Some(&b'"') => i += 2,
                        Some(b'"') => break,
                        Some(_) => i += 1,
                    }
                }
                i += 1;
            }
            b'(' => {
                let end = match ty[i..].find(')') {
                    Some(p) => i + p,
                    None => return Some("an unclosed '('"),
                };
                let args = &ty[i + 1..end];
                // Numbers; PostGIS's types also take a word (`geometry(Point,4326)`).
                let name = ty[..i].rsplit(['.', ' ', '"']).next().unwrap_or("");
                let postgis = !ty[..i].contains(' ')
                    && ["geometry", "geography"]
                        .iter()
                        .any(|n| name.eq_ignore_ascii_case(n));
                let ok = args.split(',').all(|a| {
                    let a = a.trim();
                    let n = a.trim_start_matches('-');
                    (!n.is_empty() && n.bytes().all(|d| d.is_ascii_digit()))
                        || (postgis
                            && a.bytes().next().is_some_and(|d| d.is_ascii_alphabetic())
                            && a.bytes().all(|d| d.is_ascii_alphanumeric() || d == b'_'))
                });
                if !ok {
                    return Some("type modifiers other than numbers and words");
                }
                i = end + 1;
            }
            b'[' => {
                let end = match ty[i..].find(']') {
                    Some(p) => i + p,
                    None => return Some("an unclosed '['"),
                };
                if !ty[i + 1..end].bytes().all(|d| d.is_ascii_digit()) {
                    return Some("array bounds other than numbers");
                }
                i = end + 1;
            }
            _ => return Some("characters a type name does not have"),
        }
    }
    None
}

/// Why `ddl` is not one `CREATE` of a `kind` object (`view`, `trigger`,
/// `function`, `procedure`, `event`, `extension`, `type`, `policy`...),
/// or the statement of an object said about another (`comment`, `grant`,
/// `owner`...), or `None`. Only the leading keywords are read: that the
/// text is one statement is left to the engine's single-statement
/// execution.
pub fn create_problem(kind: &str, ddl: &str) -> Option<String> {
    if let Some(p) = super::said::said_problem(kind, ddl) {
        return p;
    }
    const MODIFIERS: &[&str] = &[
        "OR",
        "REPLACE",
        "TEMP",
        "TEMPORARY",
        "UNIQUE",
        "CONSTRAINT",
        "RECURSIVE",
        "UNLOGGED",
        "TRUSTED",
        "PROCEDURAL",
        "SQL",
        "SECURITY",
        "DEFINER",
        "INVOKER",
        "MATERIALIZED",
        "IF",
        "NOT",
        "EXISTS",
        "VIRTUAL",
        "AGGREGATE",
    ];
    let wanted: &[&str] = match kind {
        "view" | "materialized view" => &["VIEW"],
        "trigger" => &["TRIGGER"],
        "function" | "procedure" => &["FUNCTION", "PROCEDURE"],
        "event" => &["EVENT"],
        "extension" => &["EXTENSION"],
        "index" => &["INDEX"],
        "table" => &["TABLE"],
        "collation" => &["COLLATION"],
        "type" => &["TYPE"],
        "domain" => &["DOMAIN"],
        "aggregate" => &["AGGREGATE"],
        "operator" => &["OPERATOR"],
        "cast" => &["CAST"],
        "rule" => &["RULE"],
        "policy" => &["POLICY"],
        "statistics" => &["STATISTICS"],
        "schema" => &["SCHEMA"],
        _ => return Some(format!("haul does not replay objects of kind {kind:?}")),
    };
    let mut words = ddl.split_ascii_whitespace();
    if !words
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("CREATE"))
    {
        return Some("it does not start with CREATE".into());
    }
    for w in words.take(8) {
        let up = w.to_ascii_uppercase();
        if wanted.contains(&up.as_str()) {
            return None;
        }
        let modifier = MODIFIERS.contains(&up.as_str())
            || up.starts_with("ALGORITHM=")
            || up.starts_with("DEFINER=");
        if !modifier {
            break;
        }
    }
    Some(format!("it is not a CREATE {}", wanted[0]))
}

/// The session settings a MySQL archive's objects may be created under, in
/// the order a restore sets them.
pub const MYSQL_SETTINGS: &[&str] = &[
    "sql_mode",
    "character_set_client",
    "collation_connection",
    "time_zone",
    "collation_database",
];

/// Whether a foreign key action is one of SQL's.
fn fk_action_ok(a: &str) -> bool {
    matches!(
        a.to_ascii_uppercase().as_str(),
        "CASCADE" | "SET NULL" | "SET DEFAULT" | "RESTRICT" | "NO ACTION"
    )
}

/// What in `schema` (from an archive of `from`) cannot safely go into
/// statements on `to`: one message per object, naming it. Same-engine
/// restores paste native text (types, defaults, checks, definitions, views
/// and triggers); every restore pastes foreign key actions.
pub fn schema_problems(schema: &Schema, from: EngineKind, to: EngineKind) -> Vec<String> {
    let mut v = Vec::new();
    let same = from == to;
    let expr = |v: &mut Vec<String>, what: String, text: &str| {
        if let Some(p) = expr_problem(from, text) {
            v.push(format!("{what}: {p} in {text:?}"));
        }
    };
    let create = |v: &mut Vec<String>, what: String, kind: &str, ddl: &str| {
        if let Some(p) = create_problem(kind, ddl) {
            v.push(format!("{what}: {p}"));
        }
    };
    for t in &schema.tables {
        let tn = &t.name;
        for f in &t.foreign_keys {
            for a in f.on_delete.iter().chain(&f.on_update) {
                if !fk_action_ok(a) {
                    v.push(format!(
                        "table {tn}, foreign key {}: {a:?} is not a foreign key action",
                        f.name
                    ));
                }
            }
        }
        if !same {
            continue;
        }
        if let Some(d) = &t.native_ddl {
            create(&mut v, format!("table {tn}"), "table", d);
        }
        if from == EngineKind::Postgres {
            if let Some((_, with)) = t.options.iter().find(|(k, _)| k == "with") {
                expr(&mut v, format!("table {tn}: storage options"), with);
            }
        }
        for c in &t.columns {
            if from == EngineKind::Postgres {
                if let Some(p) = pg_type_problem(&c.native_type) {
                    v.push(format!(
                        "table {tn}, column {}: type {:?}: {p}",
                        c.name, c.native_type
                    ));
                }
            }
            if let Some(d) = &c.default {
                expr(&mut v, format!("table {tn}, column {}: default", c.name), d);
            }
            if let Some(g) = &c.generated {
                expr(
                    &mut v,
                    format!("table {tn}, column {}: generated column", c.name),
                    &g.expression,
                );
            }
            if let Some(s) = c.auto_increment.as_ref().and_then(|a| a.sequence.as_ref()) {
                if let Some(o) = &s.options {
                    expr(&mut v, format!("table {tn}, sequence {}", s.name), o);
                }
            }
        }
        for k in &t.checks {
            expr(&mut v, format!("table {tn}, check {}", k.name), &k.native);
        }
        for k in t.primary_key.iter().chain(&t.uniques) {
            if let Some(n) = &k.native {
                expr(&mut v, format!("table {tn}, key {}", k.name), n);
            }
        }
        for f in &t.foreign_keys {
            if let Some(n) = &f.native {
                expr(&mut v, format!("table {tn}, foreign key {}", f.name), n);
            }
        }
        for i in &t.indexes {
            if let Some(w) = &i.predicate {
                expr(
                    &mut v,
                    format!("table {tn}, index {}: condition", i.name),
                    w,
                );
            }
            match (&i.native, from) {
                // MySQL keeps an index as a clause of its table.
                (Some(n), EngineKind::Mysql) => {
                    expr(&mut v, format!("table {tn}, index {}", i.name), n)
                }
                (Some(n), _) => create(&mut v, format!("table {tn}, index {}", i.name), "index", n),
                (None, _) => {}
            }
        }
    }
    if same {
        for s in &schema.sequences {
            if let Some(o) = &s.options {
                expr(&mut v, format!("sequence {}", s.name), o);
            }
        }
        for x in &schema.extras {
            let what = x.describe();
            create(&mut v, what.clone(), &x.kind, &x.ddl);
            for (name, _) in &x.settings {
                if from != EngineKind::Mysql || !MYSQL_SETTINGS.contains(&name.as_str()) {
                    v.push(format!("{what}: haul does not set {name:?} to create it"));
                }
            }
            // PostgreSQL's definitions keep bodies in quotes: any other `;`
            // starts a second statement (a rule's actions are in
            // parentheses). MySQL and SQLite trigger bodies hold
            // statements; their servers parse one statement a call.
            if from == EngineKind::Postgres {
                let one = x.ddl.trim_end().strip_suffix(';').unwrap_or(&x.ddl);
                let problem = match x.kind.as_str() {
                    "rule" => rule_problem(one),
                    "function" | "procedure" => routine_problem(one),
                    _ => expr_problem(from, one),
                };
                if let Some(p) = problem {
                    v.push(format!("{what}: {p} in {one:?}"));
                }
            }
        }
    }
    v
}

/// Whether `default` is `nextval('SEQ'::regclass)` of the column's own
/// sequence (one haul creates).
fn own_sequence(default: &str, sequence: Option<&str>) -> bool {
    let Some(seq) = sequence else {
        return false;
    };
    let inner = default
        .trim()
        .strip_prefix("nextval(")
        .and_then(|d| d.strip_suffix("::regclass)"))
        .and_then(|d| unquote(EngineKind::Postgres, d));
    inner.is_some_and(|n| n == seq || n == super::quote_ident(seq))
}

/// Take out of `schema` (an archive of `from`) everything that is code
/// rather than data (`--no-code`): views, functions, triggers and other
/// extras, checks, generated columns, native table and index definitions
/// (rebuilt from the model), and defaults other than plain values, the
/// current time and the column's own sequence. One warning per object.
pub fn strip_code(schema: &mut Schema, from: EngineKind) -> Vec<String> {
    let mut warnings = Vec::new();
    // One line per kind: an archive may hold hundreds of grants.
    let mut by_kind: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    // Large objects are data: they stay (what is said about them goes).
    let (kept, code): (Vec<_>, Vec<_>) = std::mem::take(&mut schema.extras)
        .into_iter()
        .partition(|x| x.kind == crate::model::objects::LARGE_OBJECT_KIND);
    schema.extras = kept;
    for x in code {
        by_kind
            .entry(x.kind.clone())
            .or_default()
            .push(x.describe());
    }
    for (kind, names) in by_kind {
        warnings.push(match names.as_slice() {
            [one] => format!("{one} left out (--no-code)"),
            _ => format!(
                "{} {kind} objects left out (--no-code): {}",
                names.len(),
                names.join(", ")
            ),
        });
    }
    for t in &mut schema.tables {
        let tn = t.name.clone();
        t.native_ddl = None;
        for k in t.checks.drain(..) {
            warnings.push(format!("table {tn}: check {} left out (--no-code)", k.name));
        }
        let generated: Vec<String> = t
            .columns
            .iter()
            .filter(|c| c.generated.is_some())
            .map(|c| c.name.clone())
            .collect();
        for g in &generated {
            warnings.push(format!(
                "table {tn}: generated column {g} left out (--no-code: its expression is code)"
            ));
        }
        t.columns.retain(|c| c.generated.is_none());
        for c in &mut t.columns {
            let Some(d) = c.default.clone() else {
                continue;
            };
            let seq = c
                .auto_increment
                .as_ref()
                .and_then(|a| a.sequence.as_ref())
                .map(|s| s.name.as_str());
            if from == EngineKind::Postgres && own_sequence(&d, seq) {
                continue;
            }
            c.default =
                crate::model::portable_default(&d, &c.ty, from).map(|p| default_sql(from, &p));
            if c.default.is_none() && !d.trim().eq_ignore_ascii_case("NULL") {
                warnings.push(format!(
                    "table {tn}, column {}: default {d} left out (--no-code)",
                    c.name
                ));
            }
        }
        let names: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
        let known = |cols: &[String]| !cols.is_empty() && cols.iter().all(|c| names.contains(c));
        for i in &mut t.indexes {
            i.native = None;
        }
        t.indexes.retain(|i| {
            if let Some(w) = &i.predicate {
                warnings.push(format!(
                    "table {tn}: partial index {} left out (--no-code: its condition WHERE {w} is code, and without it the index would cover every row)",
                    i.name
                ));
                return false;
            }
            let keep = known(&i.columns);
            if !keep {
                warnings.push(format!(
                    "table {tn}: index {} left out (--no-code: it is on expressions or generated columns)",
                    i.name
                ));
            }
            keep
        });
        t.uniques.retain(|k| {
            let keep = known(&k.columns);
            if !keep {
                warnings.push(format!(
                    "table {tn}: unique key {} left out (--no-code: it is on generated columns)",
                    k.name
                ));
            }
            keep
        });
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use EngineKind::*;

    #[test]
    fn mysql_literal_escapes_backslashes() {
        assert_eq!(literal(Mysql, r"a\"), r"'a\\'");
        assert_eq!(literal(Mysql, r"C:\temp"), r"'C:\\temp'");
        assert_eq!(literal(Mysql, "it's\0"), r"'it''s\0'");
        assert_eq!(literal(Postgres, r"a\'"), r"'a\'''");
        for s in [r"x\", r"\'", "--", "/*", "a''b", "\0"] {
            assert_eq!(unquote(Mysql, &literal(Mysql, s)).as_deref(), Some(s));
        }
    }

    #[test]
    fn expressions() {
        assert_eq!(expr_problem(Postgres, "('a;b'::text || $x$;$x$)"), None);
        assert_eq!(expr_problem(Postgres, "CHECK ((a > 0))"), None);
        assert!(expr_problem(Postgres, "0; DROP TABLE x").is_some());
        assert!(expr_problem(Postgres, "0 -- x").is_some());
        assert!(expr_problem(Postgres, "0 /* x */").is_some());
        assert!(expr_problem(Postgres, "(0").is_some());
        assert!(expr_problem(Postgres, "0)").is_some());
        assert!(expr_problem(Postgres, "'a").is_some());
        // In PostgreSQL 'a\' ends at the second quote; in MySQL it does not.
        assert!(expr_problem(Postgres, r"'a\'; DROP TABLE x; --'").is_some());
        assert_eq!(expr_problem(Mysql, r"'a\'; DROP TABLE x; --'"), None);
        assert!(expr_problem(Mysql, "0 # x").is_some());
    }

    #[test]
    fn pg_types() {
        for ok in [
            "integer",
            "character varying(10)",
            "numeric(10,2)",
            "timestamp(3) with time zone",
            "double precision",
            "public.\"My Type\"[]",
            "integer[3]",
            "public.geometry(PointZ,4326)",
            "geography(Point)",
        ] {
            assert_eq!(pg_type_problem(ok), None, "{ok}");
        }
        for bad in [
            "int; DROP TABLE x",
            "int -- x",
            "int /* */",
            "text DEFAULT 'x'",
            "varchar(1) CHECK (false)",
            "geometry('x')",
            "geometry(a b)",
            "varchar(1) geometry (x)",
            "geometry(Point) REFERENCES geometry(id)",
            "\"a",
        ] {
            assert!(pg_type_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn creates() {
        assert_eq!(
            create_problem("view", "CREATE OR REPLACE VIEW v AS SELECT 1"),
            None
        );
        assert_eq!(
            create_problem(
                "view",
                "CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `v` AS select 1"
            ),
            None
        );
        assert_eq!(
            create_problem("trigger", "CREATE TEMP TRIGGER t AFTER"),
            None
        );
        assert_eq!(
            create_problem("index", "CREATE UNIQUE INDEX i ON t (a)"),
            None
        );
        assert!(create_problem("view", "ATTACH DATABASE 'x' AS y").is_some());
        assert!(create_problem("view", "DROP TABLE bystander").is_some());
        assert!(create_problem("view", "CREATE TABLE v (a)").is_some());
        assert!(create_problem("index", "VACUUM INTO 'x'").is_some());
        assert_eq!(create_problem("rule", "CREATE RULE r AS ON INSERT"), None);
        assert!(create_problem("mystery", "CREATE MYSTERY m").is_some());
    }
}
