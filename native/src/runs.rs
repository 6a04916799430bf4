//! The global cut's external sort: items (candidates, guard options) pushed in any order and
//! read back as one stream in a given order. Up to a number of items wait in memory; each time
//! that many have come they are sorted and written as a run to an anonymous temporary file
//! (gone when dropped, or when the process dies). A merge reads each run a block at a time, so
//! what the cut holds does not grow with the dataset: a block per run, and runs are large.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use codeblock_core::pipeline::select::{Candidate, GuardOptions, Unit};

use crate::spill::temporary_file;

/// Items of a block: what a merge reads of a run at once.
const BLOCK: usize = 1024;

/// An item of a fixed size on disk.
pub trait Fixed: Copy {
    const BYTES: usize;
    fn encode(&self, out: &mut Vec<u8>);
    fn decode(bytes: &[u8]) -> Self;
}

/// Items in `order`: the latest in memory, the rest as sorted runs on disk.
pub struct Runs<T> {
    order: fn(&T, &T) -> Ordering,
    held: Vec<T>,
    /// Items held before a run is written.
    limit: usize,
    folder: PathBuf,
    file: Option<BufWriter<File>>,
    /// Each run on disk: its first byte and its item count.
    on_disk: Vec<(u64, usize)>,
    written: u64,
}

impl<T: Fixed> Runs<T> {
    /// No items yet; up to `limit` are held in memory at once, the rest go to a file in
    /// `folder`.
    pub fn new(order: fn(&T, &T) -> Ordering, limit: usize, folder: &Path) -> Self {
        Runs {
            order,
            held: Vec::new(),
            limit,
            folder: folder.to_path_buf(),
            file: None,
            on_disk: Vec::new(),
            written: 0,
        }
    }

    /// Adds items; all must come before the first merge (a merge moves the file's position).
    pub fn extend(&mut self, items: impl IntoIterator<Item = T>) -> Result<()> {
        for item in items {
            self.held.push(item);
            if self.held.len() > self.limit {
                self.write_run()?;
            }
        }
        Ok(())
    }

    /// The held items, sorted, as a run on disk.
    fn write_run(&mut self) -> Result<()> {
        // Stable: the sort merges runs already in order, as a batch of candidates is.
        self.held.sort_by(self.order);
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(BufWriter::new(temporary_file(&self.folder)?)),
        };
        let mut bytes = Vec::with_capacity(BLOCK * T::BYTES);
        for block in self.held.chunks(BLOCK) {
            bytes.clear();
            block.iter().for_each(|item| item.encode(&mut bytes));
            file.write_all(&bytes).context("cannot write to a temporary file")?;
        }
        self.on_disk.push((self.written, self.held.len()));
        self.written += (self.held.len() * T::BYTES) as u64;
        self.held.clear();
        Ok(())
    }

    /// Every item, in order (a k-way merge of the runs); may be called again for another walk.
    pub fn merged(&mut self) -> Result<Merge<'_, T>> {
        self.held.sort_by(self.order);
        let file = match &mut self.file {
            Some(writer) => {
                writer.flush().context("cannot write to a temporary file")?;
                Some(writer.get_ref())
            }
            None => None,
        };
        let mut sources = vec![Source::Held(self.held.iter())];
        sources.extend(self.on_disk.iter().map(|&(next_byte, left)| Source::Disk {
            next_byte,
            left,
            block: Vec::new().into_iter(),
        }));
        let mut merge = Merge {
            order: self.order,
            file,
            sources,
            heads: BinaryHeap::new(),
            error: None,
        };
        for run in 0..merge.sources.len() {
            merge.advance(run);
        }
        Ok(merge)
    }
}

/// A run being read: the items held in memory, or one on disk (its block in memory, and where
/// the rest is).
enum Source<'a, T> {
    Held(std::slice::Iter<'a, T>),
    Disk {
        next_byte: u64,
        left: usize,
        block: std::vec::IntoIter<T>,
    },
}

/// The merge of [`Runs::merged`]: the next item of each run, first on top. An error reading a
/// run ends the stream; [`Merge::finish`] returns it.
pub struct Merge<'a, T> {
    order: fn(&T, &T) -> Ordering,
    file: Option<&'a File>,
    sources: Vec<Source<'a, T>>,
    heads: BinaryHeap<Head<T>>,
    error: Option<anyhow::Error>,
}

impl<T: Fixed> Merge<'_, T> {
    /// Puts run `run`'s next item on the heap, reading its next block if need be.
    fn advance(&mut self, run: usize) {
        let next = match &mut self.sources[run] {
            Source::Held(items) => items.next().copied(),
            Source::Disk { next_byte, left, block } => {
                if block.len() == 0 && *left > 0 {
                    match read_block(self.file, next_byte, left) {
                        Ok(read) => *block = read.into_iter(),
                        Err(error) => {
                            self.error = Some(error);
                            self.heads.clear();
                            return;
                        }
                    }
                }
                block.next()
            }
        };
        if let Some(item) = next {
            self.heads.push(Head {
                item,
                run,
                order: self.order,
            });
        }
    }

    /// Whether the stream ended at its end, not at an error.
    pub fn finish(self) -> Result<()> {
        self.error.map_or(Ok(()), Err)
    }
}

/// The next block of a run on disk whose rest (`left` items) starts at `next_byte`.
fn read_block<T: Fixed>(file: Option<&File>, next_byte: &mut u64, left: &mut usize) -> Result<Vec<T>> {
    let mut file = file.expect("runs on disk have a file");
    let len = (*left).min(BLOCK);
    let mut bytes = vec![0; len * T::BYTES];
    file.seek(SeekFrom::Start(*next_byte))
        .and_then(|_| file.read_exact(&mut bytes))
        .context("cannot read back a temporary file")?;
    *next_byte += bytes.len() as u64;
    *left -= len;
    Ok(bytes.chunks_exact(T::BYTES).map(T::decode).collect())
}

impl<T: Fixed> Iterator for Merge<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        let Head { item, run, .. } = self.heads.pop()?;
        self.advance(run);
        // After an error the stream ends here, without the item: it may be out of order.
        self.error.is_none().then_some(item)
    }
}

/// A run's next item; the heap's greatest is the first in the order.
struct Head<T> {
    item: T,
    run: usize,
    order: fn(&T, &T) -> Ordering,
}

impl<T> Ord for Head<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.order)(&other.item, &self.item)
    }
}

impl<T> PartialOrd for Head<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> PartialEq for Head<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl<T> Eq for Head<T> {}

/// Record, index, cost (u32 each), unit (u8), priority (f64), little-endian.
impl Fixed for Candidate {
    const BYTES: usize = 21;

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.record.to_le_bytes());
        out.extend_from_slice(&self.index.to_le_bytes());
        out.extend_from_slice(&self.cost.to_le_bytes());
        out.push(match self.unit {
            Unit::Item => 0,
            Unit::CodeToken => 1,
            Unit::ProseToken => 2,
        });
        out.extend_from_slice(&self.priority.to_le_bytes());
    }

    fn decode(bytes: &[u8]) -> Self {
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
}

/// The first option, then a byte saying whether a second follows, then the second (or zeros).
impl Fixed for GuardOptions {
    const BYTES: usize = 2 * Candidate::BYTES + 1;

    fn encode(&self, out: &mut Vec<u8>) {
        self.first.encode(out);
        out.push(u8::from(self.second.is_some()));
        match self.second {
            Some(second) => second.encode(out),
            None => out.resize(out.len() + Candidate::BYTES, 0),
        }
    }

    fn decode(bytes: &[u8]) -> Self {
        let second = &bytes[Candidate::BYTES + 1..];
        GuardOptions {
            first: Candidate::decode(&bytes[..Candidate::BYTES]),
            second: (bytes[Candidate::BYTES] == 1).then(|| Candidate::decode(second)),
        }
    }
}

#[cfg(test)]
mod tests {
    use codeblock_core::pipeline::select::{by_guard_order, by_priority};

    use super::*;

    fn candidate(i: u32) -> Candidate {
        let units = [Unit::Item, Unit::CodeToken, Unit::ProseToken];
        Candidate {
            record: i % 7,
            index: i,
            unit: units[(i % 3) as usize],
            cost: i % 5,
            // Repeated priorities (ties), NaN and infinities sort by total order.
            priority: [0.5, f64::NAN, -1.0, f64::INFINITY, 0.25][(i % 5) as usize] * f64::from(i % 11),
        }
    }

    /// Compared as bytes: NaN priorities are never equal as numbers.
    fn bytes<T: Fixed>(items: &[T]) -> Vec<u8> {
        let mut out = Vec::new();
        items.iter().for_each(|item| item.encode(&mut out));
        out
    }

    /// Whatever the memory limit, the merge is the sort of all items, and a second walk is
    /// the first.
    fn merges_into_the_sorted_whole<T: Fixed>(items: Vec<T>, order: fn(&T, &T) -> Ordering) {
        let dir = tempfile::tempdir().unwrap();
        let mut whole = items.clone();
        whole.sort_by(order);
        for limit in [0, 5, 1000, 10_001, usize::MAX] {
            let mut runs = Runs::new(order, limit, dir.path());
            runs.extend(items.iter().copied()).unwrap();
            for walk in 0..2 {
                let mut merge = runs.merged().unwrap();
                let merged: Vec<T> = merge.by_ref().collect();
                merge.finish().unwrap();
                assert!(bytes(&merged) == bytes(&whole), "limit {limit}, walk {walk}");
            }
        }
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "the file has no name"
        );
    }

    #[test]
    fn candidates_merge_into_the_sorted_whole() {
        merges_into_the_sorted_whole((0..12_000).map(candidate).collect(), by_priority);
    }

    #[test]
    fn guard_options_merge_into_the_sorted_whole() {
        let options = (0..3_000)
            .map(|i| GuardOptions {
                first: candidate(i),
                second: (i % 2 == 0).then(|| candidate(i + 1)),
            })
            .collect();
        merges_into_the_sorted_whole(options, by_guard_order);
    }
}
