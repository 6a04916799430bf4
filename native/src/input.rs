//! Reading files (plain or gzip) and the JSONL lines in them; splitting lines is core's
//! (`codeblock_core::formats::jsonl`), so every line is accounted for the same way natively and
//! in wasm.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::ValueEnum;
use codeblock_core::Input;
use codeblock_core::formats::jsonl;
use codeblock_core::pipeline::record::{Fields, Schema};
use flate2::read::MultiGzDecoder;
use serde::de::DeserializeOwned;

/// A file's bytes as they stream, decompressing `.gz` files.
fn open(path: &Path) -> Result<Box<dyn Read>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        Box::new(MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    })
}

/// The bytes of a file, decompressing `.gz` files.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    let mut reader = open(path)?;
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(bytes)
}

/// The lines of a JSONL file (plain or gzip) as `T`s, each with its 1-based line number; an
/// error names the file, the line and what it should have been (`what`).
pub fn read_jsonl<T: DeserializeOwned>(path: &Path, what: &str) -> Result<Vec<(usize, T)>> {
    let bytes = read(path)?;
    jsonl::lines(&bytes)
        .into_iter()
        .map(|line| {
            let place = || format!("{} line {}", path.display(), line.number);
            let text = line.text.map_err(anyhow::Error::msg).with_context(place)?;
            let value = serde_json::from_str(text).with_context(|| format!("{}: not {what}", place()))?;
            Ok((line.number, value))
        })
        .collect()
}

/// Where records come from and how they are read (the schema and field names), for every
/// command that reads pairs.
#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// Instruction/response pairs, one JSON object a line (`.gz` accepted).
    #[arg(long)]
    input: PathBuf,
    /// Force a schema instead of detecting one per record.
    #[arg(long, value_enum)]
    schema: Option<SchemaArg>,
    #[arg(long, default_value = "id")]
    id_field: String,
    #[arg(long, default_value = "instruction")]
    instruction_field: String,
    #[arg(long, default_value = "input")]
    input_field: String,
    #[arg(long, default_value = "output")]
    output_field: String,
    #[arg(long, default_value = "messages")]
    messages_field: String,
    #[arg(long, default_value = "prompt")]
    prompt_field: String,
    #[arg(long, default_value = "completion")]
    completion_field: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SchemaArg {
    Alpaca,
    Messages,
    PromptCompletion,
}

impl RecordArgs {
    /// The input file.
    pub fn path(&self) -> &Path {
        &self.input
    }

    /// The records of the input file, one per non-blank line.
    pub fn read(&self) -> Result<Vec<Input>> {
        Ok(self.parse(&read(&self.input)?))
    }

    /// The records of the input file's bytes (read once by a caller that needs them too).
    pub fn parse(&self, bytes: &[u8]) -> Vec<Input> {
        let (fields, schema) = self.fields();
        jsonl::records(bytes, &fields, schema)
    }

    /// The records of the input file in chunks of at most `size`, read as the file streams:
    /// the same records as [`read`](Self::read), holding one chunk at a time.
    pub fn chunks(&self, size: usize) -> Result<impl Iterator<Item = Result<Vec<Input>>> + use<'_>> {
        let mut reader = BufReader::new(open(&self.input)?);
        let (fields, schema) = self.fields();
        let (mut number, mut line, mut done) = (0, Vec::new(), false);
        Ok(std::iter::from_fn(move || {
            let mut chunk = Vec::new();
            while !done && chunk.len() < size {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) => done = true,
                    Ok(_) => {
                        number += 1;
                        let text = line.strip_suffix(b"\n").unwrap_or(&line);
                        if let Some(line) = jsonl::line(number, text) {
                            chunk.push(jsonl::record_at(line.number, line.text, &fields, schema));
                        }
                    }
                    Err(e) => {
                        done = true;
                        let place = format!("cannot read {} after line {number}", self.input.display());
                        return Some(Err(anyhow::Error::new(e).context(place)));
                    }
                }
            }
            (!chunk.is_empty()).then_some(Ok(chunk))
        }))
    }

    /// The field names and the forced schema, if any.
    fn fields(&self) -> (Fields, Option<Schema>) {
        let fields = Fields {
            id: self.id_field.clone(),
            instruction: self.instruction_field.clone(),
            input: self.input_field.clone(),
            output: self.output_field.clone(),
            messages: self.messages_field.clone(),
            prompt: self.prompt_field.clone(),
            completion: self.completion_field.clone(),
        };
        let schema = self.schema.map(|s| match s {
            SchemaArg::Alpaca => Schema::Alpaca,
            SchemaArg::Messages => Schema::Messages,
            SchemaArg::PromptCompletion => Schema::PromptCompletion,
        });
        (fields, schema)
    }
}
