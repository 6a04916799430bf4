//! Chunks of records held between passes over a dataset: in memory up to a number of records,
//! then on disk, written in order to an anonymous temporary file (gone when dropped, or when
//! the process dies; compact MessagePack, Snappy-compressed) and read back in the same order.
//! A small dataset never touches the disk; a large one costs `select` a bounded amount of
//! memory however large it is. A chunk on disk is cut into pieces, encoded and decoded on every
//! core: encoding is most of what spilling costs.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Records encoded together, on one core.
const PIECE: usize = 256;

/// Chunks of `T`: the first in memory, the rest on disk.
pub struct Spill<T> {
    held: Vec<Vec<T>>,
    /// Records held in memory, and how many may be.
    records: usize,
    limit: usize,
    folder: PathBuf,
    file: Option<BufWriter<File>>,
    /// The pieces of each chunk written to the file.
    on_disk: Vec<usize>,
    items: PhantomData<T>,
}

impl<T: Serialize + DeserializeOwned + Send + Sync> Spill<T> {
    /// An empty spill that holds up to `limit` records in memory, and the rest in a file in
    /// `folder` (beside the output, so it lands on the disk the user chose).
    pub fn new(limit: usize, folder: &Path) -> Self {
        Spill {
            held: Vec::new(),
            records: 0,
            limit,
            folder: folder.to_path_buf(),
            file: None,
            on_disk: Vec::new(),
            items: PhantomData,
        }
    }

    /// Appends one chunk: in memory while it fits, else (and from then on) on disk.
    pub fn push(&mut self, chunk: Vec<T>) -> Result<()> {
        if self.file.is_none() && self.records + chunk.len() <= self.limit {
            self.records += chunk.len();
            self.held.push(chunk);
            return Ok(());
        }
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(BufWriter::new(temporary_file(&self.folder)?)),
        };
        // Each piece is dropped where it was encoded: freeing a chunk's records is work too.
        let pieces: Vec<Vec<u8>> = chunk
            .into_par_iter()
            .chunks(PIECE)
            .map(|piece| encode(&piece))
            .collect::<Result<_>>()?;
        for piece in &pieces {
            file.write_all(&(piece.len() as u64).to_le_bytes())
                .and_then(|()| file.write_all(piece))
                .context("cannot write to a temporary file")?;
        }
        self.on_disk.push(pieces.len());
        Ok(())
    }

    /// The chunks, in the order they were pushed.
    pub fn into_chunks(self) -> Result<impl Iterator<Item = Result<Vec<T>>>> {
        let mut reader = match self.file {
            Some(file) => {
                let mut file = file.into_inner().map_err(|e| e.into_error())?;
                file.rewind()?;
                Some(BufReader::new(file))
            }
            None => None,
        };
        let from_disk = self.on_disk.into_iter().map(move |pieces| {
            let reader = reader.as_mut().expect("chunks on disk have a file");
            let pieces = (0..pieces).map(|_| read_piece(reader)).collect::<Result<Vec<_>>>()?;
            let decoded = pieces
                .par_iter()
                .map(|piece| decode(piece))
                .collect::<Result<Vec<Vec<T>>>>()?;
            Ok(decoded.into_iter().flatten().collect())
        });
        Ok(self.held.into_iter().map(Ok).chain(from_disk))
    }
}

/// An anonymous temporary file in `folder`: it has no name, so it is gone when closed or when
/// the process dies.
pub fn temporary_file(folder: &Path) -> Result<File> {
    tempfile::tempfile_in(folder).with_context(|| format!("cannot make a temporary file in {}", folder.display()))
}

/// Records as MessagePack, structs as arrays, then Snappy (its raw format: a piece is one block
/// in memory). MessagePack describes itself, so serde's `flatten` and internally tagged enums,
/// which the pipeline's types use, read back (they are written as maps); a field that may be
/// skipped when written needs `#[serde(default)]` to read back from an array. With field names
/// (and Snappy's framed format) spilling took about a third of `select`'s time at 100k records,
/// 552 MB on disk; structs as arrays took that run from 27 to 22 s on 2 cores, 480 MB on disk.
fn encode<T: Serialize>(records: &[T]) -> Result<Vec<u8>> {
    let bytes = rmp_serde::to_vec(records).context("cannot encode records to spill")?;
    snap::raw::Encoder::new()
        .compress_vec(&bytes)
        .context("cannot encode records to spill")
}

fn decode<T: DeserializeOwned>(piece: &[u8]) -> Result<Vec<T>> {
    let bytes = snap::raw::Decoder::new().decompress_vec(piece);
    let bytes = bytes.context("cannot read back a temporary file")?;
    rmp_serde::from_slice(&bytes).context("cannot read back a temporary file")
}

/// One length-prefixed piece.
fn read_piece(reader: &mut impl Read) -> Result<Vec<u8>> {
    let mut len = [0; 8];
    reader
        .read_exact(&mut len)
        .context("cannot read back a temporary file")?;
    let mut piece = vec![0; u64::from_le_bytes(len) as usize];
    reader
        .read_exact(&mut piece)
        .context("cannot read back a temporary file")?;
    Ok(piece)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the memory limit, the chunks come back as they went in.
    #[test]
    fn chunks_come_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let chunks = vec![
            vec![Some("a".to_string()), None],
            vec![],
            vec![Some("b".into())],
            vec![None],
        ];
        for limit in [0, 2, 3, 100] {
            let mut spill = Spill::new(limit, dir.path());
            for chunk in &chunks {
                spill.push(chunk.clone()).unwrap();
            }
            let back: Vec<Vec<Option<String>>> = spill.into_chunks().unwrap().map(Result::unwrap).collect();
            assert_eq!(back, chunks, "limit {limit}");
        }
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "the file has no name"
        );
    }

    /// The pipeline's own records (flattened fields, internally tagged enums, skipped options,
    /// rejects) come back from disk as they went: the reason the codec must describe itself.
    #[test]
    fn analyses_and_rejects_come_back_from_disk() {
        use codeblock_core::Config;
        use codeblock_core::pipeline::output::Input;
        use codeblock_core::pipeline::record::{Message, Record};
        use codeblock_core::pipeline::score::NgramScorer;
        use codeblock_core::pipeline::tokens::LexicalTokenizer;

        let record = |id: &str, response: &str| {
            Input::record(Record {
                id: id.into(),
                prompt: vec![Message {
                    role: "user".into(),
                    content: "Write it.".into(),
                }],
                response: response.into(),
            })
        };
        let inputs = vec![
            record(
                "code",
                "Here:\n```python\ndef f(x):\n    y = x + 1\n    return y\n```\nDone.",
            ),
            record("empty", "  "),
            record("prose", "No code, only words."),
        ];
        let mut analysed = codeblock_core::pipeline::analyse(
            inputs,
            &LexicalTokenizer,
            &mut NgramScorer::default(),
            None,
            &Config::default(),
            &mut (),
        );
        // A tokenizer's ids: a token with one beside tokens without (an optional field written
        // or skipped).
        analysed[0].as_mut().unwrap().prepared.tokens[0].id = Some(7);
        let json = |chunk: &Vec<_>| serde_json::to_string(chunk).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut spill = Spill::new(0, dir.path());
        spill.push(analysed.clone()).unwrap();
        let back: Vec<_> = spill.into_chunks().unwrap().map(Result::unwrap).collect();
        assert_eq!(back.len(), 1);
        assert_eq!(json(&back[0]), json(&analysed));
        assert!(analysed.iter().any(Result::is_err) && analysed.iter().any(Result::is_ok));
    }
}
