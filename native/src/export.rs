//! `codeblock export`: `select`'s output as the rows other trainers load (TRL, axolotl), made
//! with the model's tokenizer and chat template alone (no weights are read). Core builds every
//! row ([`codeblock_core::export`]); this file reads, writes and counts.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail, ensure};
use arrow_array::builder::{Int8Builder, Int32Builder, Int64Builder, ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_ipc::writer::StreamWriter;
use codeblock_core::export::{ChatRow, TokenRow, TrainingLine, trainable};
use codeblock_core::pipeline::output::{RecordOutput, Reject};
use codeblock_core::train::Mode;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::Serialize;

use crate::input;
use crate::model;
use crate::output;
use crate::train::ModeArg;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The output of `codeblock select`, made with the same model's tokenizer.
    #[arg(long)]
    input: PathBuf,
    /// The model the rows are for: a GGUF file or a Hugging Face folder. Only its tokenizer,
    /// chat template and end token are read.
    #[arg(long)]
    model: PathBuf,
    /// `trl`: input_ids, attention_mask, labels (-100 where no loss) and assistant_masks, with
    /// the record's id. `axolotl`: input_ids, attention_mask and labels alone (axolotl's
    /// pre-tokenized datasets). `llamafactory`: the same three columns as a folder that
    /// `datasets.load_from_disk` reads (LLaMA-Factory's `tokenized_path`). `axolotl-chat`: the messages, the assistant's with
    /// `train_detail` character spans (JSONL). `weights`: `select`'s lines with the mode's
    /// per-token `weights`, for `codeblock train --mode mask` (JSONL).
    #[arg(long, value_enum)]
    format: Format,
    /// Which tokens carry loss: the trainer's modes (all but token-cleaning, which needs
    /// models). The end token always does.
    #[arg(long, value_enum, default_value = "codeblock")]
    mode: ModeArg,
    /// The seed of the random modes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The rows: `.parquet` or `.jsonl` (`trl`, `axolotl`), a folder (`llamafactory`), `.jsonl`
    /// (the others).
    #[arg(long)]
    out: PathBuf,
    /// Where the records that give no row go, with their reasons (default: OUT's name with
    /// `.rejects.jsonl`).
    #[arg(long)]
    rejects: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Trl,
    Axolotl,
    Llamafactory,
    AxolotlChat,
    Weights,
}

/// A record that gives no row, and why.
#[derive(Serialize)]
struct RejectLine {
    line: usize,
    id: String,
    reason: String,
    message: String,
}

/// A `trl` row: the record's id and its token columns.
#[derive(Serialize)]
struct TrlLine<'a> {
    id: &'a str,
    #[serde(flatten)]
    row: &'a TokenRow,
}

/// An `axolotl-chat` row: the record's id and its messages.
#[derive(Serialize)]
struct ChatLine<'a> {
    id: &'a str,
    #[serde(flatten)]
    row: ChatRow,
}

/// An `axolotl` row: the three columns its pre-tokenized datasets take.
#[derive(Serialize)]
struct AxolotlLine<'a> {
    input_ids: &'a [u32],
    attention_mask: &'a [u8],
    labels: &'a [i64],
}

/// A `weights` line: `select`'s line with the mode's weights of the response's tokens.
#[derive(Serialize)]
struct WeightsLine<'a> {
    #[serde(flatten)]
    record: &'a RecordOutput,
    weights: &'a [f32],
}

pub fn run(args: Args) -> Result<()> {
    let mode = Mode::from(args.mode);
    ensure!(
        mode != Mode::TokenCleaning,
        "--mode token-cleaning needs two models; train it with `codeblock train`"
    );
    let container = match args.format {
        Format::Llamafactory => Container::SavedDataset,
        _ if args.out.extension().is_some_and(|e| e == "parquet") => Container::Parquet,
        _ => Container::Jsonl,
    };
    ensure!(
        container != Container::Parquet || matches!(args.format, Format::Trl | Format::Axolotl),
        "--format {:?} is written as JSONL; name the output .jsonl",
        args.format
    );
    let chat = model::load_chat(&args.model)?;
    let lines = input::read_jsonl::<TrainingLine>(&args.input, "a `codeblock select` output line")?;
    let mut rows = Rows::create(&args.out, args.format, container)?;
    let mut rejects: Vec<RejectLine> = Vec::new();
    for (number, line) in lines {
        let id = &line.record.id;
        let trainable = trainable(&chat, &line, mode, args.seed)
            .map_err(|e| anyhow::anyhow!("{} line {number} (record `{id}`): {e}", args.input.display()))?;
        let trainable = match trainable {
            Ok(trainable) => trainable,
            Err(Reject { reason, message }) => {
                rejects.push(RejectLine {
                    line: number,
                    id: id.clone(),
                    reason,
                    message,
                });
                continue;
            }
        };
        match args.format {
            Format::Trl | Format::Axolotl | Format::Llamafactory => {
                rows.tokens(id, TokenRow::new(&trainable.example))?
            }
            Format::AxolotlChat => rows.json(&ChatLine {
                id,
                row: ChatRow::new(trainable.selected, trainable.response_weights()),
            })?,
            Format::Weights => rows.json(&WeightsLine {
                record: &line.record,
                weights: trainable.response_weights(),
            })?,
        }
    }
    let written = rows.finish()?;
    let rejects_path = args.rejects.unwrap_or_else(|| rejects_next_to(&args.out));
    output::write_with(&rejects_path, |out| {
        rejects
            .iter()
            .try_for_each(|r| writeln!(out, "{}", serde_json::to_string(r)?).map_err(anyhow::Error::from))
    })?;
    eprintln!(
        "export: {} rows to {}; {} records without a row (reasons in {})",
        written,
        args.out.display(),
        rejects.len(),
        rejects_path.display()
    );
    Ok(())
}

/// `train.parquet` → `train.rejects.jsonl` (a folder `train/` → `train.rejects.jsonl` beside it).
fn rejects_next_to(out: &Path) -> PathBuf {
    let stem = out.file_stem().unwrap_or_default().to_string_lossy();
    out.with_file_name(format!("{stem}.rejects.jsonl"))
}

/// How the rows are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Jsonl,
    Parquet,
    /// A folder as `datasets.Dataset.save_to_disk` writes it: the rows as an Arrow IPC stream,
    /// `state.json` naming it, `dataset_info.json`.
    SavedDataset,
}

/// The data file of a saved dataset, as `save_to_disk` names a single shard.
const SAVED_DATA: &str = "data-00000-of-00001.arrow";

/// The rows being written, under a temporary name until [`Rows::finish`].
struct Rows {
    path: PathBuf,
    format: Format,
    sink: Sink,
    written: usize,
}

enum Sink {
    Jsonl(BufWriter<File>),
    /// Rows are buffered and written a batch of [`ROW_GROUP`] at a time.
    Arrow {
        writer: Box<ArrowSink>,
        pending: Vec<(String, TokenRow)>,
    },
}

enum ArrowSink {
    Parquet(ArrowWriter<File>),
    Stream(StreamWriter<BufWriter<File>>),
}

/// Rows per Parquet row group or Arrow batch: memory stays bounded however many records there are.
const ROW_GROUP: usize = 1024;

impl Rows {
    fn create(path: &Path, format: Format, container: Container) -> Result<Rows> {
        let partial = output::partial_path(path);
        let cannot = || format!("cannot write {}", partial.display());
        let schema = token_batch(&[], format)?.schema();
        let sink = match container {
            Container::Jsonl => Sink::Jsonl(BufWriter::new(File::create(&partial).with_context(cannot)?)),
            Container::Parquet => {
                let snappy = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
                let file = File::create(&partial).with_context(cannot)?;
                let writer = ArrowSink::Parquet(ArrowWriter::try_new(file, schema, Some(snappy))?);
                Sink::Arrow {
                    writer: Box::new(writer),
                    pending: Vec::new(),
                }
            }
            Container::SavedDataset => {
                if path.exists() && !path.join("state.json").exists() {
                    bail!(
                        "{} exists and is not a saved dataset; choose another --out",
                        path.display()
                    );
                }
                let _ = std::fs::remove_dir_all(&partial);
                std::fs::create_dir_all(&partial).with_context(cannot)?;
                let file = File::create(partial.join(SAVED_DATA)).with_context(cannot)?;
                let writer = ArrowSink::Stream(StreamWriter::try_new(BufWriter::new(file), &schema)?);
                Sink::Arrow {
                    writer: Box::new(writer),
                    pending: Vec::new(),
                }
            }
        };
        Ok(Rows {
            path: path.to_path_buf(),
            format,
            sink,
            written: 0,
        })
    }

    fn tokens(&mut self, id: &str, row: TokenRow) -> Result<()> {
        match &mut self.sink {
            Sink::Arrow { pending, .. } => {
                pending.push((id.to_string(), row));
                self.written += 1;
                match pending.len() >= ROW_GROUP {
                    true => self.write_group(),
                    false => Ok(()),
                }
            }
            Sink::Jsonl(_) if self.format == Format::Trl => self.json(&TrlLine { id, row: &row }),
            Sink::Jsonl(_) => self.json(&AxolotlLine {
                input_ids: &row.input_ids,
                attention_mask: &row.attention_mask,
                labels: &row.labels,
            }),
        }
    }

    fn json(&mut self, line: &impl Serialize) -> Result<()> {
        let Sink::Jsonl(out) = &mut self.sink else {
            bail!("this format is written as JSONL");
        };
        serde_json::to_writer(&mut *out, line)?;
        writeln!(out).with_context(|| format!("cannot write {}", self.path.display()))?;
        self.written += 1;
        Ok(())
    }

    /// The pending rows as one row group (Parquet) or batch (Arrow stream).
    fn write_group(&mut self) -> Result<()> {
        if let Sink::Arrow { writer, pending } = &mut self.sink
            && !pending.is_empty()
        {
            let batch = token_batch(pending, self.format)?;
            pending.clear();
            let written = match writer.as_mut() {
                ArrowSink::Parquet(writer) => writer.write(&batch).map_err(anyhow::Error::from),
                ArrowSink::Stream(writer) => writer.write(&batch).map_err(anyhow::Error::from),
            };
            written.with_context(|| format!("cannot write {}", self.path.display()))?;
        }
        Ok(())
    }

    /// Closes the output and gives it its final name; the number of rows.
    fn finish(mut self) -> Result<usize> {
        self.write_group()?;
        let failed = || format!("cannot write {}", self.path.display());
        let partial = output::partial_path(&self.path);
        match self.sink {
            Sink::Jsonl(mut out) => out.flush().with_context(failed)?,
            Sink::Arrow { writer, .. } => match *writer {
                ArrowSink::Parquet(writer) => {
                    writer.close().with_context(failed)?;
                }
                ArrowSink::Stream(mut writer) => {
                    writer.finish().with_context(failed)?;
                    writer.into_inner()?.flush().with_context(failed)?;
                    let state = serde_json::json!({
                        "_data_files": [{"filename": SAVED_DATA}],
                        "_fingerprint": "codeblock-export",
                        "_format_columns": null,
                        "_format_kwargs": {},
                        "_format_type": null,
                        "_output_all_columns": false,
                        "_split": null,
                    });
                    std::fs::write(partial.join("state.json"), state.to_string()).with_context(failed)?;
                    // The features come from the Arrow schema.
                    std::fs::write(partial.join("dataset_info.json"), "{}").with_context(failed)?;
                    if self.path.exists() {
                        std::fs::remove_dir_all(&self.path).with_context(failed)?;
                    }
                }
            },
        }
        std::fs::rename(&partial, &self.path).with_context(failed)?;
        Ok(self.written)
    }
}

/// Rows as Arrow columns with Hugging Face's types: ids int32, labels int64, masks int8.
fn token_batch(rows: &[(String, TokenRow)], format: Format) -> Result<RecordBatch> {
    let mut ids = StringBuilder::new();
    let mut input_ids = ListBuilder::new(Int32Builder::new());
    let mut attention_mask = ListBuilder::new(Int8Builder::new());
    let mut labels = ListBuilder::new(Int64Builder::new());
    let mut assistant_masks = ListBuilder::new(Int8Builder::new());
    for (id, row) in rows {
        ids.append_value(id);
        input_ids.values().extend(row.input_ids.iter().map(|&i| Some(i as i32)));
        input_ids.append(true);
        attention_mask
            .values()
            .extend(row.attention_mask.iter().map(|&m| Some(m as i8)));
        attention_mask.append(true);
        labels.values().append_slice(&row.labels);
        labels.append(true);
        assistant_masks
            .values()
            .extend(row.assistant_masks.iter().map(|&m| Some(m as i8)));
        assistant_masks.append(true);
    }
    let mut columns: Vec<(&str, ArrayRef)> = Vec::new();
    if format == Format::Trl {
        columns.push(("id", Arc::new(ids.finish())));
    }
    columns.push(("input_ids", Arc::new(input_ids.finish())));
    columns.push(("attention_mask", Arc::new(attention_mask.finish())));
    columns.push(("labels", Arc::new(labels.finish())));
    if format == Format::Trl {
        columns.push(("assistant_masks", Arc::new(assistant_masks.finish())));
    }
    Ok(RecordBatch::try_from_iter(columns)?)
}
