//! The archive format and bad archives.

use crate::common::*;

#[test]
fn tar_lists_the_archive() {
    let src = datasets().join("chinook/Chinook_Sqlite.sqlite");
    let dir = tempdir();
    let archive = dir.path().join("c.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &format!("sqlite://{}", src.display()), "-o", a]).ok();
    let out = std::process::Command::new("tar")
        .args(["-tf", a])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.first(), Some(&"schema.json"));
    assert_eq!(lines.last(), Some(&"manifest.json"));
    assert!(lines.contains(&"data/0011-Track/000001.csv.zst"), "{list}");
}

/// docs/format.md's recipe: tar and zstd alone give the table back as CSV.
#[test]
fn format_recipe_gets_rows_back() {
    let dir = tempdir();
    let archive = dir.path().join("demo.haul");
    let a = archive.to_str().unwrap();
    let demo = fixtures().join("demo.db");
    haul(&[
        "dump",
        &format!("sqlite://{}", demo.display()),
        "-o",
        a,
        "-q",
    ])
    .ok();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let script = format!(
        "set -e; tar -xf {a} -C {o}; cat {o}/data/0002-book/header.csv; zstd -dcq {o}/data/0002-book/*.csv.zst",
        o = out.display()
    );
    let r = std::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let mut rdr = csv::ReaderBuilder::new().from_reader(&r.stdout[..]);
    let headers = rdr.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        ["id", "author_id", "title", "price", "cover", "notes"]
    );
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 6);
    assert_eq!(&rows[0][2], "The Dispossessed");
    assert_eq!(&rows[0][3], "9.99");
    assert_eq!(&rows[0][4], "89504e470d0a1a0a00", "binary values are hex");
    assert_eq!(&rows[0][5], "first \"ambiguous\" utopia");
    assert_eq!(&rows[1][4], "\\N", "NULL is \\N");
    assert_eq!(&rows[1][5], "", "the empty string stays empty");
    assert_eq!(&rows[3][5], "tabs\tand\nnewlines");
    assert_eq!(
        &rows[4][5], "\\\\N is not NULL",
        "text starting with a backslash gets one more"
    );
}
