//! Embeds the dashboard's files (src/server/dashboard/*) in the scheduler: generates a table
//! of `(file name, content type, contents)` served under `/static/`.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new("src/server/dashboard");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    let mut table = String::from("pub(crate) const ASSETS: &[(&str, &str, &str)] = &[\n");
    for path in files {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let kind = match path.extension().and_then(|e| e.to_str()) {
            Some("js") => "text/javascript",
            Some("css") => "text/css",
            Some("html") => "text/html; charset=utf-8",
            Some("svg") => "image/svg+xml",
            _ => continue,
        };
        let absolute = std::fs::canonicalize(&path).expect("dashboard file");
        println!("cargo:rerun-if-changed={}", absolute.display());
        let _ = writeln!(
            table,
            "    ({name:?}, {kind:?}, include_str!({:?})),",
            absolute.display().to_string()
        );
    }
    table.push_str("];\n");
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    std::fs::write(Path::new(&out).join("assets.rs"), table).expect("write assets.rs");
}
