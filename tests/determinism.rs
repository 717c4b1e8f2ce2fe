//! Same inputs and options → byte-identical Parquet, whatever the thread count.

mod common;

use common::*;

fn parquet_files(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                out.push(p.strip_prefix(root).expect("prefix").to_path_buf());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn one_and_two_threads_give_identical_parquet_bytes() {
    let dir = Workdir::new();
    let (a, b) = (dir.join("t1"), dir.join("t2"));
    run_fixture(&a, "1");
    run_fixture(&b, "2");
    let files = parquet_files(&a);
    assert_eq!(files.len(), 39 + 7);
    assert_eq!(files, parquet_files(&b));
    for f in &files {
        let (x, y) = (std::fs::read(a.join(f)).expect("read"), std::fs::read(b.join(f)).expect("read"));
        assert!(x == y, "{} differs between --threads 1 and 2", f.display());
    }
}
