//! Geometries across engines. MySQL keeps a geometry as a 4-byte
//! little-endian SRID followed by WKB; PostGIS reads EWKB (WKB whose type
//! carries a SRID flag, followed by the SRID) as hex text. A restore from
//! MySQL into a PostgreSQL target that has PostGIS (or may create it)
//! makes each spatial column a PostGIS `geometry` and rewrites its values
//! in the stream; elsewhere they stay bytes. `docs/types.md` says which.

use crate::model::{Column, EngineKind, Index, NeutralType, Table};

/// The table option naming the schema of the PostGIS extension, set on a
/// table whose spatial columns the plan made PostGIS geometries.
pub const POSTGIS_SCHEMA: &str = "postgis_schema";

/// How a PostgreSQL target can hold MySQL geometries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Postgis {
    /// PostGIS is installed, or may be created, in this schema.
    In(String),
    /// It cannot be used, and why: geometries load as bytes.
    Unusable(String),
}

/// Whether a MySQL column holds geometry (MySQL's internal form, a 4-byte
/// SRID and WKB).
pub fn is_mysql_geometry(c: &Column, from: EngineKind) -> bool {
    from == EngineKind::Mysql && crate::model::is_spatial_type(&c.native_type)
}

/// Whether a PostgreSQL column is a PostGIS geometry or geography.
pub fn is_postgis(c: &Column, from: EngineKind) -> bool {
    let n = c.native_type.to_ascii_lowercase();
    let base = n.rsplit_once('.').map_or(n.as_str(), |x| x.1);
    from == EngineKind::Postgres
        && c.ty == NeutralType::Other
        && (base.starts_with("geometry") || base.starts_with("geography"))
}

/// Whether `c`, a column of a table from another engine, is to be a
/// PostGIS geometry: a MySQL spatial column the plan gave no neutral type
/// (`postgis_table`).
pub fn is_postgis_target(c: &Column) -> bool {
    c.ty == NeutralType::Other && crate::model::is_spatial_type(&c.native_type)
}

/// The PostGIS type of such a column: `"schema".geometry(Point)`, or plain
/// `"schema".geometry` for MySQL's `GEOMETRY`. Each value keeps its own SRID.
pub fn postgis_type(c: &Column, schema: &str) -> String {
    let subtype = match c.native_type.to_ascii_lowercase().as_str() {
        "point" => "Point",
        "linestring" => "LineString",
        "polygon" => "Polygon",
        "multipoint" => "MultiPoint",
        "multilinestring" => "MultiLineString",
        "multipolygon" => "MultiPolygon",
        "geometrycollection" | "geomcollection" => "GeometryCollection",
        _ => "",
    };
    let name = format!("{}.geometry", crate::engine::quote_ident(schema));
    if subtype.is_empty() {
        name
    } else {
        format!("{name}({subtype})")
    }
}

/// `table` (from MySQL) with its spatial columns made PostGIS geometries of
/// the extension in `schema`; `None` if it has none.
pub fn postgis_table(table: &Table, schema: &str) -> Option<Table> {
    if !table
        .columns
        .iter()
        .any(|c| is_mysql_geometry(c, EngineKind::Mysql) && c.ty.is_binary())
    {
        return None;
    }
    let mut t = table.clone();
    for c in &mut t.columns {
        if crate::model::is_spatial_type(&c.native_type) {
            c.ty = NeutralType::Other;
        }
    }
    t.options.retain(|(k, _)| k != POSTGIS_SCHEMA);
    t.options.push((POSTGIS_SCHEMA.into(), schema.into()));
    Some(t)
}

/// The schema of the PostGIS extension a table's geometries use, if any.
pub fn postgis_schema(table: &Table) -> Option<&str> {
    table
        .options
        .iter()
        .find(|(k, _)| k == POSTGIS_SCHEMA)
        .map(|(_, v)| v.as_str())
}

/// Whether `index` of `table` (as the target creates it) is a SPATIAL
/// index over PostGIS geometries: a GiST index there.
pub fn is_gist_spatial(table: &Table, index: &Index) -> bool {
    index.method.as_deref() == Some("spatial")
        && index.predicate.is_none()
        && postgis_schema(table).is_some()
        && index
            .columns
            .iter()
            .all(|n| table.column(n).is_some_and(is_postgis_target))
}

/// MySQL's geometry bytes as hex (`SRID` little-endian, then WKB) to
/// PostGIS's hex EWKB: the WKB with the SRID flag in its type and the SRID
/// after it, in the WKB's byte order (no SRID when it is 0).
pub(super) fn mysql_to_ewkb(hex: &[u8]) -> Result<Vec<u8>, String> {
    let bad = |why: &str| {
        format!(
            "not a MySQL geometry ({why}): {:?}",
            String::from_utf8_lossy(&hex[..hex.len().min(40)])
        )
    };
    if hex.len() < 18 || !hex.iter().all(u8::is_ascii_hexdigit) || hex.len() % 2 != 0 {
        return Err(bad("too short, or not hex"));
    }
    let byte = |i: usize| -> u8 {
        let d = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
        d(hex[2 * i]) << 4 | d(hex[2 * i + 1])
    };
    let srid = u32::from_le_bytes([byte(0), byte(1), byte(2), byte(3)]);
    let little = match byte(4) {
        1 => true,
        0 => false,
        _ => return Err(bad("byte order")),
    };
    let ty = [byte(5), byte(6), byte(7), byte(8)];
    let ty = if little {
        u32::from_le_bytes(ty)
    } else {
        u32::from_be_bytes(ty)
    };
    if srid == 0 {
        return Ok(hex[8..].to_ascii_uppercase());
    }
    let to_bytes = |v: u32| {
        if little {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        }
    };
    let mut out = Vec::with_capacity(hex.len() + 8);
    out.extend_from_slice(&hex[8..10]);
    for b in to_bytes(ty | 0x2000_0000).into_iter().chain(to_bytes(srid)) {
        out.extend_from_slice(format!("{b:02X}").as_bytes());
    }
    out.extend(hex[18..].iter().map(u8::to_ascii_uppercase));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_geometry_to_ewkb() {
        // POINT(1 2), SRID 0 and 4326.
        let wkb = "0101000000000000000000F03F0000000000000040";
        let ewkb = |s: &str| String::from_utf8(mysql_to_ewkb(s.as_bytes()).unwrap()).unwrap();
        assert_eq!(ewkb(&format!("00000000{wkb}")), wkb);
        assert_eq!(
            ewkb(&format!("E6100000{}", wkb.to_ascii_lowercase())),
            "0101000020E6100000000000000000F03F0000000000000040"
        );
        // Big-endian WKB keeps its byte order.
        assert_eq!(ewkb("E6100000000000000100"), "0020000001000010E600");
        assert!(mysql_to_ewkb(b"0000").is_err());
        assert!(mysql_to_ewkb(b"00000000020100000000").is_err());
    }

    #[test]
    fn postgis_types() {
        let mut c = Column {
            name: "g".into(),
            ty: NeutralType::Other,
            native_type: "point".into(),
            nullable: true,
            default: None,
            auto_increment: None,
            generated: None,
            collation: None,
            comment: None,
            on_update_now: false,
            inherited: false,
        };
        assert_eq!(postgis_type(&c, "public"), "\"public\".geometry(Point)");
        assert!(is_postgis_target(&c));
        c.native_type = "geometry".into();
        assert_eq!(postgis_type(&c, "gis"), "\"gis\".geometry");
        c.native_type = "public.geometry(Point,4326)".into();
        assert!(is_postgis(&c, EngineKind::Postgres));
        assert!(!is_postgis(&c, EngineKind::Mysql));
    }
}
