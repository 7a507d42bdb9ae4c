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
