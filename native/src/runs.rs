//! The global cut's external sort: sorted runs of candidates, merged back into one stream in
//! [`by_priority`] order. Runs stay in memory up to a number of candidates; past that they go to
//! an anonymous temporary file (gone when dropped, or when the process dies) in blocks, so a
//! merge holds one block of each run, however many candidates the dataset has.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use codeblock_core::pipeline::select::{Candidate, Unit, by_priority};

use crate::spill::temporary_file;

/// Candidates of a block: what a merge reads of a run at once.
const BLOCK: usize = 4096;

/// A candidate on disk: record, index, cost (u32 each), unit (u8), priority (f64), little-endian.
const BYTES: usize = 21;

/// Sorted runs: the first in memory, the rest on disk.
pub struct Runs {
    held: Vec<Vec<Candidate>>,
    /// Candidates held in memory, and how many may be.
    held_len: usize,
    limit: usize,
    folder: PathBuf,
    file: Option<BufWriter<File>>,
    /// Each run on disk: its blocks' byte offsets and candidate counts.
    on_disk: Vec<Vec<(u64, usize)>>,
    written: u64,
}

impl Runs {
    /// No runs yet; up to `limit` candidates are held in memory, the rest go to a file in
    /// `folder`.
    pub fn new(limit: usize, folder: &Path) -> Self {
        Runs {
            held: Vec::new(),
            held_len: 0,
            limit,
            folder: folder.to_path_buf(),
            file: None,
            on_disk: Vec::new(),
            written: 0,
        }
    }

    /// Adds a run; it must be in [`by_priority`] order, and come before the first merge (a
    /// merge moves the file's position).
    pub fn push(&mut self, run: Vec<Candidate>) -> Result<()> {
        debug_assert!(run.is_sorted_by(|a, b| by_priority(a, b).is_le()));
        if self.file.is_none() && self.held_len + run.len() <= self.limit {
            self.held_len += run.len();
            self.held.push(run);
            return Ok(());
        }
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(BufWriter::new(temporary_file(&self.folder)?)),
        };
        let mut blocks = Vec::new();
        for block in run.chunks(BLOCK) {
            blocks.push((self.written, block.len()));
            for c in block {
                file.write_all(&encode(c)).context("cannot write to a temporary file")?;
            }
            self.written += (block.len() * BYTES) as u64;
        }
        self.on_disk.push(blocks);
        Ok(())
    }

    /// Every candidate of every run, in [`by_priority`] order (a k-way merge); may be called
    /// again for another walk.
    pub fn merged(&mut self) -> Result<Merge<'_>> {
        let file = match &mut self.file {
            Some(writer) => {
                writer.flush().context("cannot write to a temporary file")?;
                Some(writer.get_ref())
            }
            None => None,
        };
        let mut sources: Vec<Source> = self.held.iter().map(|run| Source::Memory(run.iter())).collect();
        sources.extend(self.on_disk.iter().map(|blocks| Source::Disk {
            blocks: blocks.iter(),
            block: Vec::new().into_iter(),
        }));
        let mut merge = Merge {
            file,
            sources,
            heads: BinaryHeap::new(),
        };
        for run in 0..merge.sources.len() {
            merge.advance(run)?;
        }
        Ok(merge)
    }
}

/// A run being read.
enum Source<'a> {
    Memory(std::slice::Iter<'a, Candidate>),
    Disk {
        blocks: std::slice::Iter<'a, (u64, usize)>,
        block: std::vec::IntoIter<Candidate>,
    },
}

/// The merge of [`Runs::merged`]: the next candidate of each run, best on top.
pub struct Merge<'a> {
    file: Option<&'a File>,
    sources: Vec<Source<'a>>,
    heads: BinaryHeap<Head>,
}

impl Merge<'_> {
    /// Puts run `run`'s next candidate on the heap, reading its next block if need be.
    fn advance(&mut self, run: usize) -> Result<()> {
        let next = match &mut self.sources[run] {
            Source::Memory(candidates) => candidates.next().copied(),
            Source::Disk { blocks, block } => match block.next() {
                Some(c) => Some(c),
                None => match blocks.next() {
                    Some(&(offset, len)) => {
                        let mut file = self.file.expect("runs on disk have a file");
                        let mut bytes = vec![0; len * BYTES];
                        file.seek(SeekFrom::Start(offset))
                            .and_then(|_| file.read_exact(&mut bytes))
                            .context("cannot read back a temporary file")?;
                        *block = bytes.chunks_exact(BYTES).map(decode).collect::<Vec<_>>().into_iter();
                        block.next()
                    }
                    None => None,
                },
            },
        };
        if let Some(candidate) = next {
            self.heads.push(Head { candidate, run });
        }
        Ok(())
    }
}

impl Iterator for Merge<'_> {
    type Item = Result<Candidate>;

    fn next(&mut self) -> Option<Result<Candidate>> {
        let Head { candidate, run } = self.heads.pop()?;
        Some(self.advance(run).map(|()| candidate))
    }
}

/// A run's next candidate; the heap's greatest is the first in [`by_priority`] order.
struct Head {
    candidate: Candidate,
    run: usize,
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        by_priority(&other.candidate, &self.candidate)
    }
}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Head {}

fn encode(c: &Candidate) -> [u8; BYTES] {
    let mut bytes = [0; BYTES];
    bytes[0..4].copy_from_slice(&c.record.to_le_bytes());
    bytes[4..8].copy_from_slice(&c.index.to_le_bytes());
    bytes[8..12].copy_from_slice(&c.cost.to_le_bytes());
    bytes[12] = match c.unit {
        Unit::Item => 0,
        Unit::CodeToken => 1,
        Unit::ProseToken => 2,
    };
    bytes[13..21].copy_from_slice(&c.priority.to_le_bytes());
    bytes
}

fn decode(bytes: &[u8]) -> Candidate {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    Candidate {
        record: u32_at(0),
        index: u32_at(4),
        cost: u32_at(8),
        unit: match bytes[12] {
            0 => Unit::Item,
            1 => Unit::CodeToken,
            _ => Unit::ProseToken,
        },
        priority: f64::from_le_bytes(bytes[13..21].try_into().expect("8 bytes")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the memory limit, the merge is the sort of all runs, and a second walk is the first.
    #[test]
    fn merges_runs_into_the_sorted_whole() {
        let dir = tempfile::tempdir().unwrap();
        let units = [Unit::Item, Unit::CodeToken, Unit::ProseToken];
        let candidate = |i: u32| Candidate {
            record: i % 7,
            index: i,
            unit: units[(i % 3) as usize],
            cost: i % 5,
            // Repeated priorities (ties), NaN and infinities sort by total order.
            priority: [0.5, f64::NAN, -1.0, f64::INFINITY, 0.25][(i % 5) as usize] * f64::from(i % 11),
        };
        let runs: Vec<Vec<Candidate>> = [0, 1, 10_000, 3, 0, 4097]
            .iter()
            .scan(0, |next, &len| {
                let mut run: Vec<Candidate> = (*next..*next + len).map(candidate).collect();
                *next += len;
                run.sort_by(by_priority);
                Some(run)
            })
            .collect();
        let mut whole: Vec<Candidate> = runs.concat();
        whole.sort_by(by_priority);
        for limit in [0, 5, 10_001, usize::MAX] {
            let mut spilled = Runs::new(limit, dir.path());
            for run in &runs {
                spilled.push(run.clone()).unwrap();
            }
            for walk in 0..2 {
                let merged: Vec<Candidate> = spilled.merged().unwrap().map(Result::unwrap).collect();
                // Compared as bytes: NaN priorities are never equal as numbers.
                let bytes = |cs: &[Candidate]| cs.iter().map(encode).collect::<Vec<_>>();
                assert_eq!(bytes(&merged), bytes(&whole), "limit {limit}, walk {walk}");
            }
        }
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "the file has no name"
        );
    }
}
