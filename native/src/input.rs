//! Reading JSONL (plain or gzip) line by line, keeping every line accounted for.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result};
use flate2::read::MultiGzDecoder;

/// Opens a file for reading, decompressing `.gz` files.
pub fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    Ok(Box::new(BufReader::new(reader)))
}

/// One line of input: its 1-based number and its text, or why it is not text.
pub struct Line {
    pub number: usize,
    pub text: Result<String, String>,
}

/// All non-blank lines of a JSONL file. Invalid UTF-8 is kept as an error for that line.
pub fn lines(path: &Path) -> Result<Vec<Line>> {
    let mut reader = open(path)?;
    let mut lines = Vec::new();
    let mut buffer = Vec::new();
    let mut number = 0;
    loop {
        buffer.clear();
        let read = reader
            .read_until(b'\n', &mut buffer)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if read == 0 {
            return Ok(lines);
        }
        number += 1;
        let text = match std::str::from_utf8(&buffer) {
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => Ok(text.trim_end_matches(['\n', '\r']).to_string()),
            Err(e) => Err(format!("not valid UTF-8 ({e})")),
        };
        lines.push(Line { number, text });
    }
}
