//! Names of archives that `dump --into DIR` writes.

/// The file name `template` gives (`{database}`, `{engine}`, `{timestamp}`
/// replaced; the time in UTC), or why it is not a plain file name.
pub fn archive_name(template: &str, database: &str, engine: &str) -> Result<String, String> {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace(['-', ':'], "");
    let name = template
        .replace("{database}", &safe_name(database))
        .replace("{engine}", engine)
        .replace("{timestamp}", &stamp);
    if name.contains('/') || name.starts_with('.') || name.is_empty() {
        return Err(format!("--name gives {name:?}, not a plain file name"));
    }
    Ok(name)
}

/// A database name as a file-name part.
fn safe_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
