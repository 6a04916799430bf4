//! `codeblock show`: one selected record, as a person wants to see it. Items are coloured in
//! turn so their boundaries show, selected items are green, and supervised tokens are marked
//! (green background); a table lists every item with its scores. `--format html` writes the same
//! as a standalone page.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::ValueEnum;
use codeblock_core::pipeline::output::{RecordOutput, Selected, Status};
use codeblock_core::pipeline::segment::SegmentKind;
use codeblock_core::span::LineIndex;

use crate::input;
use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The output of `codeblock select`.
    selected: PathBuf,
    /// The record to show (default: the first).
    #[arg(long)]
    id: Option<String>,
    #[arg(long, value_enum, default_value = "terminal")]
    format: Format,
    /// With `--format html`, the page to write (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Terminal,
    Html,
}

pub fn run(args: Args) -> Result<()> {
    let record = find(&args)?;
    let selected = match &record.status {
        Status::Ok(selected) => selected,
        Status::Rejected(reject) => bail!(
            "record `{}` was rejected ({}): {}",
            record.id,
            reject.reason,
            reject.message
        ),
    };
    let text = match args.format {
        Format::Terminal => terminal(&record.id, selected),
        Format::Html => html(&record.id, selected),
    };
    match &args.out {
        Some(path) => output::write(path, text),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

fn find(args: &Args) -> Result<RecordOutput> {
    let records = input::read_jsonl::<RecordOutput>(&args.selected, "a `codeblock select` output line")?;
    if let Some((_, record)) = records
        .into_iter()
        .find(|(_, record)| args.id.as_ref().is_none_or(|id| *id == record.id))
    {
        return Ok(record);
    }
    match &args.id {
        Some(id) => bail!("no record with id `{id}` in {}", args.selected.display()),
        None => bail!("{} holds no records", args.selected.display()),
    }
}

/// How one byte of the response is shown.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Style {
    item: Option<usize>,
    selected: bool,
    supervised: bool,
    markup: bool,
}

/// The response cut into runs of one style.
fn runs(selected: &Selected) -> Vec<(usize, usize, Style)> {
    let n = selected.response.len();
    let mut styles = vec![
        Style {
            item: None,
            selected: false,
            supervised: false,
            markup: false
        };
        n
    ];
    for segment in &selected.segments {
        if segment.kind == SegmentKind::Fence {
            styles[segment.span.start..segment.span.end]
                .iter_mut()
                .for_each(|s| s.markup = true);
        }
    }
    for (i, item) in selected.items.iter().enumerate() {
        for style in &mut styles[item.span.start..item.span.end] {
            style.item = Some(i);
            style.selected = item.selected;
        }
    }
    for span in &selected.mask.spans {
        styles[span.start..span.end]
            .iter_mut()
            .for_each(|s| s.supervised = true);
    }
    for (span, &flag) in selected.mask.token_spans.iter().zip(&selected.mask.supervised) {
        if flag == 1 {
            styles[span.start..span.end]
                .iter_mut()
                .for_each(|s| s.supervised = true);
        }
    }
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 1..=n {
        let boundary = i == n || styles[i] != styles[start] || !selected.response.is_char_boundary(i);
        if boundary && selected.response.is_char_boundary(i) {
            runs.push((start, i, styles[start]));
            start = i;
        }
    }
    runs
}

fn header(id: &str, selected: &Selected) -> String {
    let stats = &selected.stats;
    let percent = 100.0 * stats.supervised_tokens as f64 / stats.response_tokens.max(1) as f64;
    format!(
        "record {id}: {} tokens, {} supervised ({percent:.1}%), {} items, {} selected, {} prose tokens{}",
        stats.response_tokens,
        stats.supervised_tokens,
        stats.items,
        stats.selected_items,
        stats.selected_prose_tokens,
        if stats.guarded { ", guarded" } else { "" }
    )
}

fn terminal(id: &str, selected: &Selected) -> String {
    let mut out = format!("{}\n\n", header(id, selected));
    for (i, item) in selected.items.iter().enumerate() {
        let _ = writeln!(
            out,
            "{} #{i:<3} lines {:>3}-{:<3} {:<8} {:<22} utility {:.3}  reach {:.3}  bridge {:.3}  priority {:.3}",
            if item.selected { "\x1b[32m✔\x1b[0m" } else { " " },
            item.lines.0,
            item.lines.1,
            format!("{:?}", item.kind).to_lowercase(),
            item.node,
            item.utility,
            item.reach,
            item.bridge,
            item.priority
        );
    }
    for edge in &selected.edges {
        let _ = writeln!(out, "  edge #{} → #{}: {}", edge.from, edge.to, edge.names.join(", "));
    }
    for diagnostic in &selected.diagnostics {
        let _ = writeln!(
            out,
            "  \x1b[33mline {}: {}\x1b[0m",
            diagnostic.lines.0, diagnostic.message
        );
    }
    out.push('\n');
    let index = LineIndex::new(&selected.response);
    let mut line = 0;
    for (start, end, style) in runs(selected) {
        let code = match style {
            Style { supervised: true, .. } => "\x1b[30;42m",
            Style { markup: true, .. } => "\x1b[2m",
            Style { selected: true, .. } => "\x1b[1;32m",
            Style { item: Some(i), .. } => {
                if i % 2 == 0 {
                    "\x1b[36m"
                } else {
                    "\x1b[35m"
                }
            }
            _ => "",
        };
        for (k, piece) in selected.response[start..end].split_inclusive('\n').enumerate() {
            let offset = start
                + selected.response[start..end]
                    .split_inclusive('\n')
                    .take(k)
                    .map(str::len)
                    .sum::<usize>();
            if index.line(offset) != line {
                line = index.line(offset);
                let _ = write!(out, "\x1b[2m{line:>4} │\x1b[0m ");
            }
            let _ = write!(out, "{code}{}\x1b[0m", piece.trim_end_matches(['\n', '\r']));
            if piece.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out.push('\n');
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn html(id: &str, selected: &Selected) -> String {
    let mut body = String::new();
    for (start, end, style) in runs(selected) {
        let mut classes = Vec::new();
        if let Some(i) = style.item {
            classes.push(if i % 2 == 0 { "item-even" } else { "item-odd" });
        }
        if style.selected {
            classes.push("selected");
        }
        if style.supervised {
            classes.push("supervised");
        }
        if style.markup {
            classes.push("markup");
        }
        let title = style.item.map_or(String::new(), |i| {
            let item = &selected.items[i];
            format!(
                " title=\"#{i} {} utility {:.3} reach {:.3} bridge {:.3} priority {:.3}\"",
                item.node, item.utility, item.reach, item.bridge, item.priority
            )
        });
        let _ = write!(
            body,
            "<span class=\"{}\"{title}>{}</span>",
            classes.join(" "),
            escape(&selected.response[start..end])
        );
    }
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>codeblock: {id}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #1b1b1b; }}
pre {{ font-size: 14px; line-height: 1.5; background: #fafafa; padding: 1rem; border: 1px solid #ddd; white-space: pre-wrap; }}
.item-even {{ border-bottom: 2px solid #0072b2; }}
.item-odd {{ border-bottom: 2px solid #cc79a7; }}
.selected {{ font-weight: bold; }}
.supervised {{ background: #009e73; color: #fff; }}
.markup {{ color: #888; }}
.legend span {{ margin-right: 1.5rem; padding: 0 .3rem; }}
</style></head><body>
<h1>{}</h1>
<p class="legend"><span class="item-even">item</span><span class="item-odd">next item</span><span class="selected">selected item</span><span class="supervised">supervised token</span><span class="markup">fence</span></p>
<pre>{body}</pre>
</body></html>
"#,
        escape(&header(id, selected))
    )
}
