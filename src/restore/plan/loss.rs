//! What a type change between an archive column and the target's column
//! can do to values: a loss the server refuses (a note in the plan) or one
//! it makes silently (refused unless `--allow-lossy`).

use super::Options;
use crate::model::{EngineKind, NeutralType, Table};

/// What a type change between an archive column and its target column can
/// do to values.
#[derive(Debug, PartialEq)]
enum Loss {
    /// Values that do not fit stop the load (the server refuses them).
    Fails(String),
    /// Values are changed without an error (rounded, offset dropped).
    Silent(String),
}

/// The loss a value of type `from` may suffer stored as `to` on `engine`.
fn loss(from: &NeutralType, to: &NeutralType, engine: EngineKind) -> Option<Loss> {
    use NeutralType as T;
    let int_range = |bytes: u8, unsigned: bool| -> (i128, i128) {
        let bits = u32::from(bytes.clamp(1, 8)) * 8;
        if unsigned {
            (0, (1i128 << bits) - 1)
        } else {
            (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
        }
    };
    match (from, to) {
        (
            T::Text { max_chars: a, .. },
            T::Text {
                max_chars: Some(b), ..
            },
        ) if a.is_none_or(|a| a > *b) => Some(Loss::Fails(format!(
            "values longer than {b} characters stop the load"
        ))),
        (
            T::Binary { max_bytes: a, .. },
            T::Binary {
                max_bytes: Some(b), ..
            },
        ) if a.is_none_or(|a| a > *b) => Some(Loss::Fails(format!(
            "values longer than {b} bytes stop the load"
        ))),
        (
            T::Int {
                bytes: a,
                unsigned: ua,
            },
            T::Int {
                bytes: b,
                unsigned: ub,
            },
        ) => {
            let (fa, ta) = int_range(*a, *ua);
            let (fb, tb) = int_range(*b, *ub);
            (fa < fb || ta > tb)
                .then(|| Loss::Fails(format!("values outside {fb}..{tb} stop the load")))
        }
        (
            T::Decimal {
                precision: pa,
                scale: sa,
            },
            T::Decimal {
                precision: pb,
                scale: sb,
            },
        ) => {
            let (sa, sb) = (sa.unwrap_or(0), sb.unwrap_or(0));
            match (pa, pb) {
                (_, Some(_)) if sb < sa && engine == EngineKind::Postgres => Some(Loss::Silent(
                    format!("values are rounded from {sa} to {sb} decimal places"),
                )),
                (_, Some(_)) if sb < sa => Some(Loss::Fails(format!(
                    "values with more than {sb} decimal places stop the load"
                ))),
                (Some(pa), Some(pb)) if pb - sb.min(*pb) < pa - sa.min(*pa) => {
                    Some(Loss::Fails(format!(
                        "values with more than {} integer digits stop the load",
                        pb - sb.min(*pb)
                    )))
                }
                (None, Some(pb)) => Some(Loss::Fails(format!(
                    "values with more than {} integer digits stop the load",
                    pb - sb.min(*pb)
                ))),
                _ => None,
            }
        }
        (T::Float { bytes: 8 }, T::Float { bytes: 4 }) => Some(Loss::Silent(
            "double-precision values are rounded to single precision".into(),
        )),
        (T::Float { .. } | T::Decimal { .. }, T::Int { .. }) => Some(Loss::Fails(
            "values with a fractional part stop the load".into(),
        )),
        (T::Timestamp { tz: true }, T::Timestamp { tz: false })
            if engine == EngineKind::Postgres =>
        {
            Some(Loss::Silent("the values' UTC offsets are dropped".into()))
        }
        (T::Enum { values: a, .. }, T::Enum { values: b, .. }) => {
            let missing: Vec<&String> = a.iter().filter(|v| !b.contains(v)).collect();
            (!missing.is_empty()).then(|| {
                Loss::Fails(format!("the labels {missing:?} are not in the target's type; rows holding them stop the load"))
            })
        }
        (T::Text { .. }, T::Enum { .. }) => Some(Loss::Fails(
            "values that are not one of the target's labels stop the load".into(),
        )),
        _ => None,
    }
}

/// Check every mapped column's type change for loss: a loss the server
/// would refuse is a note under the table in the plan (no row is changed:
/// the load stops on such a value, naming it, and nothing says the archive
/// holds one, so it is no warning); a silent one stops the plan unless
/// `--allow-lossy`.
pub(super) fn check_types(
    archive: &Table,
    tt: &Table,
    engine: EngineKind,
    opts: &Options,
    notes: &mut Vec<String>,
    warnings: &mut Vec<String>,
    problems: &mut Vec<String>,
) {
    for tc in tt.data_columns() {
        let Some(ac) = archive.column(&tc.name) else {
            continue;
        };
        let what = |m: &str| {
            format!(
                "table {}: column {} ({} in the archive, {} in the target): {m}",
                tt.name, tc.name, ac.native_type, tc.native_type
            )
        };
        match loss(&ac.ty, &tc.ty, engine) {
            Some(Loss::Fails(m)) => notes.push(format!(
                "column {} ({} in the archive, {} in the target): {m}",
                tc.name, ac.native_type, tc.native_type
            )),
            Some(Loss::Silent(m)) if opts.allow_lossy => warnings.push(what(&m)),
            Some(Loss::Silent(m)) => {
                problems.push(what(&format!("{m}; --allow-lossy restores it anyway")))
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use NeutralType as T;

    fn text(n: Option<u64>) -> T {
        T::Text {
            max_chars: n,
            fixed: false,
        }
    }

    #[test]
    fn narrowing_types_are_losses() {
        let pg = EngineKind::Postgres;
        assert!(matches!(
            loss(&text(None), &text(Some(10)), pg),
            Some(Loss::Fails(_))
        ));
        assert_eq!(loss(&text(Some(10)), &text(Some(10)), pg), None);
        assert_eq!(loss(&text(Some(10)), &text(None), pg), None);
        let int = |bytes, unsigned| T::Int { bytes, unsigned };
        assert!(matches!(
            loss(&int(8, false), &int(4, false), pg),
            Some(Loss::Fails(_))
        ));
        assert!(matches!(
            loss(&int(4, true), &int(4, false), pg),
            Some(Loss::Fails(_))
        ));
        assert_eq!(loss(&int(4, true), &int(8, false), pg), None);
        let dec = |p, s| T::Decimal {
            precision: Some(p),
            scale: Some(s),
        };
        assert!(matches!(
            loss(&dec(10, 4), &dec(10, 2), pg),
            Some(Loss::Silent(_))
        ));
        assert!(matches!(
            loss(&dec(10, 4), &dec(10, 2), EngineKind::Mysql),
            Some(Loss::Fails(_))
        ));
        assert!(matches!(
            loss(&dec(12, 2), &dec(10, 2), pg),
            Some(Loss::Fails(_))
        ));
        assert_eq!(loss(&dec(10, 2), &dec(12, 2), pg), None);
        assert!(matches!(
            loss(&T::Timestamp { tz: true }, &T::Timestamp { tz: false }, pg),
            Some(Loss::Silent(_))
        ));
        assert_eq!(
            loss(&T::Timestamp { tz: false }, &T::Timestamp { tz: true }, pg),
            None
        );
    }
}
