//! Atomic output: write to a hidden temporary file in the destination directory, flush and
//! fsync it, then rename it over the destination. A failed or killed run therefore never leaves a
//! file that looks complete under its final name.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Writes `path` atomically; `write` receives a buffered writer onto the temporary file.
///
/// The temporary file lives in the same directory (so `rename` stays on one filesystem) and is
/// removed if `write` fails or the process unwinds.
pub fn write_atomic<F>(path: &Path, write: F) -> io::Result<()>
where
    F: FnOnce(&mut BufWriter<&File>) -> io::Result<()>,
{
    filled_temporary(path, write)?.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The temporary file for `path`, written by `write`, flushed and synced.
fn filled_temporary<F>(path: &Path, write: F) -> io::Result<tempfile::NamedTempFile>
where
    F: FnOnce(&mut BufWriter<&File>) -> io::Result<()>,
{
    let tmp = temporary_beside(path)?;
    {
        let mut writer = BufWriter::new(tmp.as_file());
        write(&mut writer)?;
        writer.flush()?;
    }
    tmp.as_file().sync_all()?;
    Ok(tmp)
}

/// The outputs of one command, all or none: each is written to its temporary file, and only
/// [`Staged::commit`], once every one is complete, renames them into place. Dropped without a
/// commit (an error in a later output), it deletes them all, so a failed command never leaves
/// one output that looks complete beside a missing other.
#[derive(Default)]
pub struct Staged {
    files: Vec<(std::path::PathBuf, tempfile::TempPath)>,
}

impl Staged {
    /// Writes `path`'s content to its temporary file.
    pub fn write<F>(&mut self, path: &Path, write: F) -> Result<(), super::OutputError>
    where
        F: FnOnce(&mut BufWriter<&File>) -> io::Result<()>,
    {
        let tmp =
            filled_temporary(path, write).map_err(|source| super::OutputError { path: path.to_path_buf(), source })?;
        self.files.push((path.to_path_buf(), tmp.into_temp_path()));
        Ok(())
    }

    /// Stages `path` for a writer that takes a path (and writes it atomically itself): `write`
    /// gets a hidden temporary path beside `path`, renamed to `path` at [`Staged::commit`].
    pub fn write_path<E, F>(&mut self, path: &Path, write: F) -> Result<(), E>
    where
        F: FnOnce(&Path) -> Result<(), E>,
        E: From<super::OutputError>,
    {
        let tmp = temporary_beside(path)
            .map_err(|source| super::OutputError { path: path.to_path_buf(), source })?
            .into_temp_path();
        write(&tmp)?;
        self.files.push((path.to_path_buf(), tmp));
        Ok(())
    }

    /// Stages a temporary file already written (by [`temporary_beside`]) as `path`.
    pub fn adopt(&mut self, path: &Path, tmp: tempfile::TempPath) {
        self.files.push((path.to_path_buf(), tmp));
    }

    /// Renames every output into place, in the order written. Should a rename fail (the
    /// destination became a directory), the outputs already renamed are removed again.
    pub fn commit(self) -> Result<(), super::OutputError> {
        let mut done: Vec<std::path::PathBuf> = Vec::new();
        for (path, tmp) in self.files {
            if let Err(e) = tmp.persist(&path) {
                for p in &done {
                    let _ = std::fs::remove_file(p);
                }
                return Err(super::OutputError { path, source: e.error });
            }
            done.push(path);
        }
        Ok(())
    }
}

/// The outputs of a command that writes a directory: written into a hidden staging directory
/// inside it by the usual writers, then moved into place together by [`StagedDir::commit`]. A
/// failure before the commit removes the staging directory and everything in it, so the
/// directory holds either all of the command's outputs or none of them (files from earlier runs
/// are left as they were until replaced).
pub struct StagedDir {
    dir: std::path::PathBuf,
    staging: tempfile::TempDir,
}

impl StagedDir {
    /// Creates `dir` (and its parents) and a staging directory inside it.
    pub fn new(dir: &Path) -> Result<Self, super::OutputError> {
        let err = |source| super::OutputError { path: dir.to_path_buf(), source };
        std::fs::create_dir_all(dir).map_err(err)?;
        let staging = tempfile::Builder::new().prefix(".staging.tmp-").tempdir_in(dir).map_err(err)?;
        Ok(Self { dir: dir.to_path_buf(), staging })
    }

    /// Where the outputs are written before the commit.
    pub fn path(&self) -> &Path {
        self.staging.path()
    }

    /// Moves every file written into the staging directory to the same name in the directory
    /// (sorted by name); should one rename fail, those already moved are removed again. Returns
    /// the final paths.
    pub fn commit(self) -> Result<Vec<std::path::PathBuf>, super::OutputError> {
        let err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| super::OutputError { path, source }
        };
        let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(self.staging.path())
            .map_err(err(&self.dir))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<io::Result<_>>()
            .map_err(err(&self.dir))?;
        names.sort();
        let mut done: Vec<std::path::PathBuf> = Vec::new();
        for name in names {
            let target = self.dir.join(&name);
            if let Err(source) = std::fs::rename(self.staging.path().join(&name), &target) {
                for p in &done {
                    let _ = std::fs::remove_file(p);
                }
                return Err(super::OutputError { path: target, source });
            }
            done.push(target);
        }
        Ok(done)
    }
}

/// A hidden temporary file in `path`'s directory, named after it, created with mode 0666 less
/// the umask like any other output (tempfile's default, 0600, would hide results from the group
/// on a shared cluster once renamed into place). Removed when dropped unless persisted.
pub fn temporary_beside(path: &Path) -> io::Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("output");
    let prefix = format!(".{name}.tmp-");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix);
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    builder.tempfile_in(dir)
}

/// Removes the temporary files a killed process left under `dir` (hidden files named by
/// [`temporary_beside`]), so a re-run into the same directory leaves none behind. Only for a
/// directory one process owns: a concurrent writer's temporary file would go too.
pub fn remove_stale_temporaries(dir: &Path) -> io::Result<usize> {
    let mut removed = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            let stale = entry.file_name().to_str().is_some_and(|n| n.starts_with('.') && n.contains(".tmp-"));
            if entry.file_type()?.is_dir() {
                if stale {
                    std::fs::remove_dir_all(&path)?;
                    removed += 1;
                } else {
                    stack.push(path);
                }
            } else if stale {
                std::fs::remove_file(&path)?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// Writes an in-memory byte buffer atomically.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic(path, |w| w.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_outputs_appear_together_or_not_at_all() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
        let mut staged = Staged::default();
        staged.write(&a, |w| w.write_all(b"a")).expect("a");
        assert!(staged.write(&b, |_| Err(io::Error::other("disk on fire"))).is_err());
        drop(staged);
        assert_eq!(std::fs::read_dir(dir.path()).expect("read_dir").count(), 0, "nothing, not even a");
        // A rename that fails (a directory in the way) takes back the ones before it.
        std::fs::create_dir(&b).expect("dir");
        std::fs::write(b.join("x"), "x").expect("file in dir");
        let mut staged = Staged::default();
        staged.write(&a, |w| w.write_all(b"a")).expect("a");
        staged.write(&b, |w| w.write_all(b"b")).expect("b");
        let failed = staged.commit().expect_err("b is a directory");
        assert_eq!(failed.path, b);
        assert!(!a.exists());
        staged = Staged::default();
        let c = dir.path().join("c.txt");
        staged.write(&a, |w| w.write_all(b"a")).expect("a");
        staged.write(&c, |w| w.write_all(b"c")).expect("c");
        staged.commit().expect("commit");
        assert_eq!(std::fs::read(&a).expect("a"), b"a");
        assert_eq!(std::fs::read(&c).expect("c"), b"c");
    }

    #[test]
    fn path_writers_are_staged_too() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
        let mut staged = Staged::default();
        staged
            .write_path(&a, |tmp| {
                write_bytes_atomic(tmp, b"a")
                    .map_err(|source| crate::io::OutputError { path: tmp.to_path_buf(), source })
            })
            .expect("a");
        assert!(!a.exists(), "not before the commit");
        staged.write(&b, |w| w.write_all(b"b")).expect("b");
        staged.commit().expect("commit");
        assert_eq!(std::fs::read(&a).expect("a"), b"a");
        assert_eq!(std::fs::read_dir(dir.path()).expect("read_dir").count(), 2, "no temporaries left");
    }

    #[test]
    fn staged_directory_moves_in_at_commit_or_vanishes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        let staged = StagedDir::new(&out).expect("staged");
        std::fs::write(staged.path().join("x.parquet"), "x").expect("x");
        drop(staged);
        assert_eq!(std::fs::read_dir(&out).expect("read_dir").count(), 0, "a failure leaves nothing");
        std::fs::write(out.join("old.txt"), "old").expect("old");
        let staged = StagedDir::new(&out).expect("staged");
        std::fs::write(staged.path().join("x.parquet"), "x").expect("x");
        std::fs::write(staged.path().join("y.parquet"), "y").expect("y");
        let done = staged.commit().expect("commit");
        assert_eq!(done, vec![out.join("x.parquet"), out.join("y.parquet")]);
        let mut names: Vec<String> = std::fs::read_dir(&out)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into())
            .collect();
        names.sort();
        assert_eq!(names, ["old.txt", "x.parquet", "y.parquet"]);
    }

    #[test]
    fn failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("out.txt");
        let result = write_atomic(&target, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("disk on fire"))
        });
        assert!(result.is_err());
        assert!(!target.exists());
        assert_eq!(std::fs::read_dir(dir.path()).expect("read_dir").count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn outputs_are_readable_by_the_group_like_any_file_the_umask_allows() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let (ours, plain) = (dir.path().join("ours"), dir.path().join("plain"));
        write_bytes_atomic(&ours, b"x").expect("atomic write");
        std::fs::write(&plain, b"x").expect("write");
        let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode(&ours), mode(&plain));
    }

    #[test]
    fn successful_write_replaces_target() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("out.txt");
        std::fs::write(&target, b"old").expect("write");
        write_bytes_atomic(&target, b"new").expect("atomic write");
        assert_eq!(std::fs::read(&target).expect("read"), b"new");
    }
}
