//! JSONL from bytes: the lines of a file, and the records in them. Native and wasm both read
//! through here, so line numbers, blank-line handling and reject messages agree byte for byte.

use crate::pipeline::output::{Input, Reject};
use crate::pipeline::record::{Fields, Schema, parse_record};

/// One non-blank line: its 1-based number and its text, or why it is not text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line<'a> {
    pub number: usize,
    pub text: Result<&'a str, String>,
}

/// The non-blank lines of a JSONL file, without their line ends. Invalid UTF-8 is kept as an
/// error for that line; a byte-order mark before the first line is dropped.
pub fn lines(bytes: &[u8]) -> Vec<Line<'_>> {
    bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .filter_map(|(i, line)| self::line(i + 1, line))
        .collect()
}

/// Line `number` (1-based) of a JSONL file, its `\n` taken off, as [`lines`] reads it: `None`
/// when blank. For a shell that streams a file line by line.
pub fn line(number: usize, bytes: &[u8]) -> Option<Line<'_>> {
    let bytes = match number {
        1 => bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes),
        _ => bytes,
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(text) if text.trim().is_empty() => return None,
        Ok(text) => Ok(text.strip_suffix('\r').unwrap_or(text)),
        Err(e) => Err(format!("not valid UTF-8 ({e})")),
    };
    Some(Line { number, text })
}

/// The records of a JSONL file, one [`Input`] per non-blank line. A record without an id of its
/// own is named by its line number.
pub fn records(bytes: &[u8], fields: &Fields, schema: Option<Schema>) -> Vec<Input> {
    lines(bytes)
        .into_iter()
        .map(|line| record_at(line.number, line.text, fields, schema))
        .collect()
}

/// The record of line `number` (1-based) of a JSONL file, read as [`records`] reads it: for a
/// shell that holds the lines already (a shard of a dataset, each row one line).
pub fn record_at(number: usize, text: Result<&str, String>, fields: &Fields, schema: Option<Schema>) -> Input {
    let record = match text {
        Err(e) => Err(Reject::new("invalid_utf8", e)),
        Ok(text) => {
            parse_record(text, &number.to_string(), fields, schema).map_err(|e| Reject::new(e.reason(), e.to_string()))
        }
    };
    Input {
        line: Some(number),
        record,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_are_skipped_but_counted() {
        let lines = lines(b"\xEF\xBB\xBFa\r\n\n  \nb\n\xFF\n");
        let numbers: Vec<usize> = lines.iter().map(|l| l.number).collect();
        assert_eq!(numbers, [1, 4, 5]);
        assert_eq!(lines[0].text, Ok("a"));
        assert!(lines[2].text.as_ref().unwrap_err().starts_with("not valid UTF-8"));
    }

    #[test]
    fn every_line_becomes_an_input() {
        let inputs = records(
            b"{\"prompt\":\"p\",\"completion\":\"c\"}\n{oops\n",
            &Fields::default(),
            None,
        );
        assert_eq!(inputs.len(), 2);
        assert_eq!(inputs[0].record.as_ref().unwrap().id, "1");
        assert_eq!(inputs[1].record.as_ref().unwrap_err().reason, "malformed_json");
        assert_eq!(inputs[1].line, Some(2));
    }
}
