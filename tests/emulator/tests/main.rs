//! The emulator's integration tests, one module per former test file, linked into one binary
//! (`cargo test -p cloud-emulator --test main`; one cloud: `... --test main tencent::`).
//! `common` is what they share: an emulator on a random port and signed requests to it.

mod alibaba;
mod common;
mod framework;
mod huawei;
mod random_faults;
mod tencent;
mod volcengine;

/// The crate sets `autotests = false`, so a file in tests/ runs only if it is a module here
/// (or a `[[test]]` of its own in Cargo.toml): this fails while one is neither.
#[test]
fn every_file_in_tests_is_built() {
    let tests = concat!(env!("CARGO_MANIFEST_DIR"), "/tests");
    let manifest = include_str!("../Cargo.toml");
    let main = include_str!("main.rs");
    for entry in std::fs::read_dir(tests).expect("the tests folder") {
        let path = entry.expect("a tests/ entry").path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let module = match name.strip_suffix(".rs") {
            Some("main") => continue,
            Some(stem) => stem,
            None if path.join("mod.rs").is_file() => name,
            None => continue,
        };
        assert!(
            main.contains(&format!("mod {module};"))
                || manifest.contains(&format!("path = \"tests/{name}\"")),
            "tests/{name} is neither a module of tests/main.rs nor a [[test]] of its own"
        );
    }
}
