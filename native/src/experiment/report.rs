//! `report.html`: an experiment's table and charts on one standalone page (inline SVG drawn
//! with plotters, no script, no network). Drawn from the files the experiment
//! wrote (`experiment.json` and each run's folders), so `codeblock report DIR` redraws a
//! finished or partial experiment without a model. Charts: training loss and gradient norm per
//! step of every run; pass@1 per benchmark column (each seed a dot, the mean with ± one standard
//! deviation over seeds); the length of the replies per arm (box plots); and each arm's
//! per-task NLL difference from the base model, sorted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use codeblock_core::train::Metrics;
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::Value;

use super::read_all;
use super::table::{mean, mean_per_task, spread};
use crate::nll::NllLine;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The experiment's folder (its `--out`).
    dir: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    write(&args.dir)?;
    println!("wrote {}", args.dir.join("report.html").display());
    Ok(())
}

const SIZE: (u32, u32) = (1000, 420);

/// A run as the report needs it: its arm and folder name.
struct Run {
    arm: String,
    name: String,
}

pub fn write(dir: &Path) -> Result<()> {
    let summary: Value = read_json(&dir.join("experiment.json"))?;
    let runs: Vec<Run> = summary["runs"]
        .as_array()
        .context("experiment.json: no runs")?
        .iter()
        .map(|r| Run {
            arm: r["run"]["arm"].as_str().unwrap_or("?").to_string(),
            name: r["name"].as_str().unwrap_or("?").to_string(),
        })
        .collect();
    let arms: Vec<String> = summary["arms"]
        .as_array()
        .context("experiment.json: no arms")?
        .iter()
        .filter_map(|a| a["arm"].as_str().map(str::to_string))
        .collect();
    let mut figures = Vec::new();
    let curves: Vec<(String, usize, Vec<Metrics>)> = runs
        .iter()
        .map(|r| {
            let metrics = read_all(&dir.join(format!("train-{}/metrics.jsonl", r.name)), "a metrics line")?;
            Ok((r.name.clone(), colour_index(&arms, &r.arm), metrics))
        })
        .collect::<Result<_>>()?;
    let per_step: [(&str, &str, &str, StepValue); 2] = [
        (
            "loss",
            "Training loss per step, every run (one colour an arm)",
            "loss",
            |m| m.loss,
        ),
        (
            "grad-norm",
            "Gradient norm per step (before clipping), every run",
            "gradient norm",
            |m| m.grad_norm,
        ),
    ];
    for (kind, caption, label, value) in per_step {
        figures.push(figure(kind, caption, |area| {
            let lines: Vec<_> = curves
                .iter()
                .map(|(name, colour, m)| Line::of_steps(name, *colour, m, value))
                .collect();
            lines_chart(area, ("step", label), &lines)
        })?);
    }
    for (column, _) in summary["arms"][0]["pass@1"].as_object().into_iter().flatten() {
        let per_arm: Vec<(String, Vec<f64>)> = summary["arms"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                let seeds = a["pass@1"][column]["seeds"].as_array().cloned().unwrap_or_default();
                let values = seeds.iter().filter_map(Value::as_f64).map(|v| 100.0 * v).collect();
                (a["arm"].as_str().unwrap_or("?").to_string(), values)
            })
            .collect();
        figures.push(figure(
            "pass",
            &format!("pass@1 on {column} (%): each seed a dot, the mean ± one standard deviation over seeds"),
            |area| pass_chart(area, column, &per_arm),
        )?);
    }
    let lengths: Vec<(String, Vec<f64>)> = std::iter::once("base".to_string())
        .chain(arms.iter().filter(|a| *a != "base").cloned())
        .map(|arm| {
            let mut values = Vec::new();
            for name in folders(&arm, &runs) {
                let replies: Vec<Value> = read_all(&dir.join(format!("eval-{name}/replies.jsonl")), "a reply line")?;
                values.extend(replies.iter().map(|r| r["reply"].as_str().map_or(0, str::len) as f64));
            }
            Ok((arm, values))
        })
        .collect::<Result<_>>()?;
    figures.push(figure(
        "reply-length",
        "Reply length (characters) per arm, all seeds and benchmarks",
        |area| boxes_chart(area, &lengths),
    )?);
    let base = task_nll(dir, &["base".to_string()])?;
    let differences: Vec<Line> = arms
        .iter()
        .filter(|a| *a != "base")
        .map(|arm| {
            let nll = task_nll(dir, &folders(arm, &runs))?;
            let mut deltas: Vec<f64> = nll.iter().filter_map(|(t, x)| base.get(t).map(|y| x - y)).collect();
            deltas.sort_by(f64::total_cmp);
            let line = deltas.iter().enumerate().map(|(i, d)| (i as f64, *d)).collect();
            Ok(Line {
                name: arm.clone(),
                colour: colour_index(&arms, arm),
                points: line,
            })
        })
        .collect::<Result<_>>()?;
    figures.push(figure(
        "nll-difference",
        "Per-task NLL difference from the base model (nats per token, mean over seeds), sorted: below zero the arm reads the canonical solution better",
        |area| lines_chart(area, ("tasks, by difference", "NLL − base NLL"), &differences),
    )?);
    let table = std::fs::read_to_string(dir.join("table.md")).unwrap_or_default();
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>codeblock experiment</title>\n\
         <style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0;font-size:13px}}td,th{{border:1px solid #ccc;padding:2px 6px}}\
         figure{{margin:2em 0}}figcaption{{color:#555}}</style></head>\n<body>\n\
         <h1>codeblock experiment</h1>\n<p>Model <code>{}</code>; training pairs <code>{}</code>; benchmarks <code>{}</code>; \
         {} optimizer steps a run.</p>\n{}\n{}\n</body></html>\n",
        escape(&summary["settings"]["model"].to_string()),
        escape(&summary["settings"]["train"].to_string()),
        escape(&summary["settings"]["eval"].to_string()),
        summary["settings"]["steps"],
        markdown_tables(&table),
        figures.join("\n")
    );
    let path = dir.join("report.html");
    std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// The eval/train folder names of an arm's runs (`base` is its own).
fn folders(arm: &str, runs: &[Run]) -> Vec<String> {
    match arm {
        "base" => vec!["base".into()],
        _ => runs.iter().filter(|r| r.arm == arm).map(|r| r.name.clone()).collect(),
    }
}

/// Each task's NLL, averaged over these eval folders.
fn task_nll(dir: &Path, names: &[String]) -> Result<BTreeMap<(String, String), f64>> {
    let mut lines: Vec<NllLine> = Vec::new();
    for name in names {
        lines.extend(read_all::<NllLine>(
            &dir.join(format!("eval-{name}/nll.jsonl")),
            "an NLL line",
        )?);
    }
    Ok(mean_per_task(lines.into_iter().map(|l| ((l.bench, l.task_id), l.nll))))
}

fn colour_index(arms: &[String], arm: &str) -> usize {
    arms.iter().position(|a| a == arm).unwrap_or(0)
}

/// What a per-step chart draws of a training step.
type StepValue = fn(&Metrics) -> f64;

/// One named line of a chart, coloured by its arm.
struct Line {
    name: String,
    colour: usize,
    points: Vec<(f64, f64)>,
}

impl Line {
    /// A value of every training step.
    fn of_steps(name: &str, colour: usize, metrics: &[Metrics], value: impl Fn(&Metrics) -> f64) -> Line {
        Line {
            name: name.to_string(),
            colour,
            points: metrics.iter().map(|m| (m.step as f64, value(m))).collect(),
        }
    }
}

/// One chart as a `<figure>`: its SVG and caption.
fn figure(
    kind: &str,
    caption: &str,
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<(), Box<dyn std::error::Error>>,
) -> Result<String> {
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        area.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
        draw(&area).map_err(|e| anyhow::anyhow!("drawing the {kind} chart: {e}"))?;
        area.present().map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(format!(
        "<figure data-chart=\"{kind}\">\n{svg}\n<figcaption>{}</figcaption>\n</figure>",
        escape(caption)
    ))
}

/// The range of some values, widened a little (and to a unit when they are all equal).
fn span(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return 0.0..1.0;
    }
    let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5 };
    lo - pad..hi + pad
}

fn lines_chart(
    area: &DrawingArea<SVGBackend, Shift>,
    (x_label, y_label): (&str, &str),
    lines: &[Line],
) -> Result<(), Box<dyn std::error::Error>> {
    let all = || lines.iter().flat_map(|l| l.points.iter());
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d(span(all().map(|p| p.0)), span(all().map(|p| p.1)))?;
    chart.configure_mesh().x_desc(x_label).y_desc(y_label).draw()?;
    for line in lines {
        let style = Palette99::pick(line.colour).stroke_width(2);
        chart
            .draw_series(LineSeries::new(line.points.iter().copied(), style))?
            .label(line.name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], style));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 11))
        .draw()?;
    Ok(())
}

fn pass_chart(
    area: &DrawingArea<SVGBackend, Shift>,
    column: &str,
    per_arm: &[(String, Vec<f64>)],
) -> Result<(), Box<dyn std::error::Error>> {
    let names: Vec<&str> = per_arm.iter().map(|(n, _)| n.as_str()).collect();
    let top = per_arm.iter().flat_map(|(_, v)| v).copied().fold(1.0, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d(names.as_slice().into_segmented(), 0.0..top)?;
    chart
        .configure_mesh()
        .x_label_formatter(&segment_label)
        .y_desc(format!("{column} pass@1 (%)"))
        .draw()?;
    for (i, (_, values)) in per_arm.iter().enumerate() {
        let colour = Palette99::pick(i);
        let at = SegmentValue::CenterOf(&names[i]);
        chart.draw_series(values.iter().map(|&v| Circle::new((at.clone(), v), 4, colour.filled())))?;
        // An arm with no reading of this column keeps its bar at zero, as before.
        let mean = if values.is_empty() {
            0.0
        } else {
            mean(values.iter().copied())
        };
        let sd = spread(values).unwrap_or(0.0);
        chart.draw_series(std::iter::once(ErrorBar::new_vertical(
            at,
            mean - sd,
            mean,
            mean + sd,
            BLACK.stroke_width(2),
            14,
        )))?;
    }
    Ok(())
}

fn boxes_chart(
    area: &DrawingArea<SVGBackend, Shift>,
    per_arm: &[(String, Vec<f64>)],
) -> Result<(), Box<dyn std::error::Error>> {
    let names: Vec<&str> = per_arm.iter().map(|(n, _)| n.as_str()).collect();
    let top = per_arm.iter().flat_map(|(_, v)| v).copied().fold(1.0, f64::max) as f32 * 1.05;
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d(names.as_slice().into_segmented(), 0f32..top)?;
    chart
        .configure_mesh()
        .x_label_formatter(&segment_label)
        .y_desc("characters")
        .draw()?;
    chart.draw_series(
        per_arm
            .iter()
            .enumerate()
            .filter(|(_, (_, v))| !v.is_empty())
            .map(|(i, (_, v))| {
                Boxplot::new_vertical(SegmentValue::CenterOf(&names[i]), &Quartiles::new(v))
                    .style(Palette99::pick(i).stroke_width(2))
                    .width(24)
            }),
    )?;
    Ok(())
}

/// An arm's name under its place on a categorical axis.
fn segment_label(value: &SegmentValue<&&str>) -> String {
    match value {
        SegmentValue::CenterOf(name) | SegmentValue::Exact(name) => name.to_string(),
        SegmentValue::Last => String::new(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The table's markdown (pipe tables and paragraphs) as HTML.
fn markdown_tables(markdown: &str) -> String {
    let mut html = String::new();
    let mut in_table = false;
    let mut header = false;
    for line in markdown.lines() {
        let is_row = line.starts_with('|');
        if is_row && !in_table {
            html += "<table>\n";
            (in_table, header) = (true, true);
        } else if !is_row && in_table {
            html += "</table>\n";
            in_table = false;
        }
        if !is_row {
            if !line.trim().is_empty() {
                html += &format!("<p>{}</p>\n", escape(line));
            }
            continue;
        }
        if line.starts_with("|---") {
            continue;
        }
        let tag = if header { "th" } else { "td" };
        header = false;
        let cells: String = line
            .trim_matches('|')
            .split('|')
            .map(|c| format!("<{tag}>{}</{tag}>", escape(c.trim())))
            .collect();
        html += &format!("<tr>{cells}</tr>\n");
    }
    if in_table {
        html += "</table>\n";
    }
    html
}
