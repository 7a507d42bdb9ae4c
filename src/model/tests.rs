//! Tests of the neutral model.

use super::*;

#[test]
fn neutral_type_json_is_tagged() {
    let t = NeutralType::Int {
        bytes: 8,
        unsigned: true,
    };
    let j = serde_json::to_string(&t).unwrap();
    assert_eq!(j, r#"{"kind":"int","bytes":8,"unsigned":true}"#);
    let back: NeutralType = serde_json::from_str(&j).unwrap();
    assert_eq!(back, t);
}

#[test]
fn filter() {
    let f = TableFilter {
        include: vec![],
        exclude: vec!["b".into()],
        ..Default::default()
    };
    assert!(f.wants("a"));
    assert!(!f.wants("b"));
}

#[test]
fn portable_defaults() {
    use PortableDefault::*;
    let text = NeutralType::Text {
        max_chars: None,
        fixed: false,
    };
    let pg = EngineKind::Postgres;
    let my = EngineKind::Mysql;
    let t = |s: &str| Some(Text(s.to_string()));
    assert_eq!(portable_default("''::character varying", &text, pg), t(""));
    assert_eq!(
        portable_default("'a''b'", &text, EngineKind::Sqlite),
        t("a'b")
    );
    assert_eq!(portable_default(r"'C:\temp'", &text, pg), t(r"C:\temp"));
    assert_eq!(portable_default(r"'x\'::text", &text, pg), t(r"x\"));
    assert_eq!(portable_default(r"'C:\\temp'", &text, my), t(r"C:\temp"));
    assert_eq!(portable_default("'a' || 'b'", &text, pg), None);
    assert_eq!(portable_default("NULL", &text, pg), None);
    assert_eq!(
        portable_default("nextval('t_id_seq'::regclass)", &text, pg),
        None
    );
    let int = NeutralType::Int {
        bytes: 4,
        unsigned: false,
    };
    assert_eq!(portable_default("0", &int, pg), Some(Number("0".into())));
    assert_eq!(
        portable_default("(-5)", &int, pg),
        Some(Number("-5".into()))
    );
    assert_eq!(
        portable_default("1", &NeutralType::Bool, pg),
        Some(Bool(true))
    );
    assert_eq!(
        portable_default("true", &NeutralType::Bool, my),
        Some(Bool(true))
    );
    assert_eq!(
        portable_default(
            "current_timestamp()",
            &NeutralType::Timestamp { tz: false },
            pg
        ),
        Some(Now)
    );
    assert_eq!(portable_default("uuid()", &text, pg), None);
    // Values the column's type does not take are left out, saying why.
    let date = NeutralType::Date;
    let ts = NeutralType::Timestamp { tz: false };
    let lite = EngineKind::Sqlite;
    assert_eq!(
        default_verdict("'0000-00-00'", &date, my),
        Err("a zero date, which PostgreSQL and strict MySQL refuse")
    );
    assert_eq!(
        default_verdict("0", &ts, lite),
        Err("not a date, on a date or time column")
    );
    assert_eq!(
        default_verdict("'2024-01-31 10:00:00'", &ts, my),
        Ok(Some(Text("2024-01-31 10:00:00".into())))
    );
    assert_eq!(
        default_verdict("'\"0\"'", &int, lite),
        Err("not a number, on a numeric column")
    );
    assert_eq!(
        default_verdict("'5'", &int, my),
        Ok(Some(Number("5".into())))
    );
    assert_eq!(default_verdict("NULL", &int, my), Ok(None));
    assert_eq!(
        default_verdict("'{}'", &NeutralType::Json { binary: false }, my),
        Ok(Some(Text("{}".into())))
    );
    assert!(default_verdict("'x'", &NeutralType::Uuid, pg).is_err());
    assert!(default_verdict("1.2.3", &int, pg).is_err());
}
