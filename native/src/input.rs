//! Reading JSONL files (plain or gzip); splitting lines is core's (`codeblock_core::jsonl`), so
//! every line is accounted for the same way natively and in wasm.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use flate2::read::MultiGzDecoder;

/// The bytes of a file, decompressing `.gz` files.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(bytes)
}

/// One line of input: its 1-based number and its text, or why it is not text.
pub struct Line {
    pub number: usize,
    pub text: Result<String, String>,
}

/// All non-blank lines of a JSONL file. Invalid UTF-8 is kept as an error for that line.
pub fn lines(path: &Path) -> Result<Vec<Line>> {
    Ok(codeblock_core::jsonl::lines(&read(path)?)
        .into_iter()
        .map(|line| Line {
            number: line.number,
            text: line.text.map(str::to_string),
        })
        .collect())
}
