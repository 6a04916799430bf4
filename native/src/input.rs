//! Reading JSONL files (plain or gzip); splitting lines is core's (`codeblock_core::jsonl`), so
//! every line is accounted for the same way natively and in wasm.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::ValueEnum;
use codeblock_core::Input;
use codeblock_core::jsonl;
use codeblock_core::record::{Fields, Schema};
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
    /// The records of the input file, one per non-blank line.
    pub fn read(&self) -> Result<Vec<Input>> {
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
        Ok(jsonl::records(&read(&self.input)?, &fields, schema))
    }
}
