//! Files the commands write land whole or not at all: each is written under `NAME.partial`
//! beside its final name, flushed to disk and renamed when complete, so a killed run, a full
//! disk or an unwritable folder never leaves a truncated file under the final name (and a
//! failed write removes its partial file).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Writes `path` through `write`, atomically.
pub fn write_with(path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> Result<()>) -> Result<()> {
    let partial = partial_path(path);
    let written = (|| -> Result<()> {
        let mut out = BufWriter::new(File::create(&partial)?);
        write(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(std::fs::rename(&partial, path)?)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written.with_context(|| format!("cannot write {}", path.display()))
}

/// Writes blocks of bytes in order, each while the next is made: on two of rayon's threads
/// where it has them (the disk's writes are otherwise time that no other core works in), in
/// turn on one.
pub fn write_overlapped(
    out: &mut (impl Write + Send),
    mut blocks: impl Iterator<Item = Result<Vec<u8>>> + Send,
) -> Result<()> {
    let mut written = Vec::new();
    loop {
        let (done, next) = rayon::join(|| out.write_all(&written), || blocks.next().transpose());
        done?;
        match next? {
            Some(block) => written = block,
            None => return Ok(()),
        }
    }
}

/// Writes `bytes` to `path`, atomically.
pub fn write(path: &Path, bytes: impl AsRef<[u8]>) -> Result<()> {
    write_with(path, |out| Ok(out.write_all(bytes.as_ref())?))
}

/// Where `path` is written until it is complete.
pub fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_neither_the_file_nor_its_partial() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        let failed = write_with(&path, |out| {
            out.write_all(b"half")?;
            anyhow::bail!("the disk is full")
        });
        assert!(format!("{:#}", failed.unwrap_err()).contains("cannot write"));
        assert!(!path.exists() && !partial_path(&path).exists());
        write(&path, "whole\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "whole\n");
        assert!(!partial_path(&path).exists());
    }

    #[test]
    fn overlapped_blocks_are_written_in_order_and_stop_at_the_first_error() {
        let blocks = |n: u8| (0..n).map(|i| Ok(vec![b'a' + i; usize::from(i) + 1]));
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let mut out = Vec::new();
            pool.install(|| write_overlapped(&mut out, blocks(4))).unwrap();
            assert_eq!(out, b"abbcccdddd", "{threads} thread(s)");
            let mut out = Vec::new();
            let failing = blocks(2).chain([Err(anyhow::anyhow!("bad record"))]).chain(blocks(2));
            let error = pool.install(|| write_overlapped(&mut out, failing)).unwrap_err();
            assert_eq!(error.to_string(), "bad record");
            assert_eq!(out, b"abb", "{threads} thread(s)");
        }
    }

    #[test]
    fn an_unwritable_folder_is_a_clear_error() {
        let missing = Path::new("/nonexistent-folder/out.jsonl");
        let message = format!("{:#}", write(missing, "x").unwrap_err());
        assert!(
            message.starts_with("cannot write /nonexistent-folder/out.jsonl"),
            "{message}"
        );
    }
}
