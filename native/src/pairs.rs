//! `codeblock pairs`: instruction/response pairs from a source, each line with the source and
//! its licence: MBPP in HumanEval format (see `codeblock_core::eval::mbpp`), the documented
//! functions of a Python package, or mlsys-lab's tasks with their reference solutions (see
//! `codeblock_core::mine`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use clap::ValueEnum;
use codeblock_core::eval::mbpp::{MbppTask, Split};
use codeblock_core::mine::{self, MAX_CODE_BYTES, Mined};
use serde_json::{Value, json};

use crate::input;
use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where the pairs come from.
    #[arg(long, value_enum, default_value = "mbpp")]
    source: Source,
    /// MBPP in HumanEval format (`mbpp_humaneval_format.jsonl.gz`), or a Python package's
    /// unpacked wheel (with its `*.dist-info`, whose licence each pair records).
    #[arg(long)]
    input: PathBuf,
    /// MBPP's split: 1–10 prompt, 11–510 test, 511–600 validation, 601–974 train.
    #[arg(long, value_enum, default_value = "train")]
    split: SplitArg,
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, ValueEnum)]
enum Source {
    /// MBPP's tasks, each with its tests (CC-BY-4.0).
    Mbpp,
    /// The documented public functions of a Python package (e.g. PyPI `algorithms==1.0.1`, MIT).
    Functions,
    /// mlsys-lab's projects (PyPI `mlsys-lab==0.4.0`, MIT): brief → reference files.
    MlsysLab,
}

#[derive(Debug, Clone, Copy, PartialEq, ValueEnum)]
enum SplitArg {
    Prompt,
    Test,
    Validation,
    Train,
    All,
}

impl SplitArg {
    fn contains(self, split: Split) -> bool {
        match self {
            SplitArg::Prompt => split == Split::Prompt,
            SplitArg::Test => split == Split::Test,
            SplitArg::Validation => split == Split::Validation,
            SplitArg::Train => split == Split::Train,
            SplitArg::All => true,
        }
    }
}

pub fn run(args: Args) -> Result<()> {
    let (pairs, skipped) = match args.source {
        Source::Mbpp => (mbpp(&args)?, BTreeMap::new()),
        Source::Functions => functions(&args.input)?,
        Source::MlsysLab => mlsys_lab(&args.input)?,
    };
    output::write_with(&args.out, |out| {
        for pair in &pairs {
            writeln!(out, "{pair}")?;
        }
        Ok(())
    })?;
    let skipped: Vec<String> = skipped.iter().map(|(why, n)| format!("{n} {why}")).collect();
    let skipped = match skipped.is_empty() {
        true => String::new(),
        false => format!("; skipped {}", skipped.join(", ")),
    };
    eprintln!("wrote {} pairs to {}{skipped}", pairs.len(), args.out.display());
    Ok(())
}

fn mbpp(args: &Args) -> Result<Vec<Value>> {
    let mut pairs = Vec::new();
    for (number, task) in input::read_jsonl::<MbppTask>(&args.input, "an MBPP task")? {
        let where_ = format!("{} line {number}", args.input.display());
        let Some(split) = task.split() else {
            bail!("{where_}: task_id `{}` is not MBPP/N with N in 1..=974", task.task_id);
        };
        if !args.split.contains(split) {
            continue;
        }
        let record = task.record();
        // The task's tests travel with the pair, for `codeblock curate` to run the response's code.
        pairs.push(json!({
            "id": record.id,
            "instruction": record.prompt[0].content,
            "output": record.response,
            "test": task.test_program(),
            "source": "MBPP (mbpp_humaneval_format, MBXP release v1)",
            "license": "CC-BY-4.0",
        }));
    }
    Ok(pairs)
}

/// A mined pair as a line, with where it came from.
fn line(pair: Mined, package: &Package) -> Value {
    json!({
        "id": pair.id,
        "instruction": pair.instruction,
        "output": pair.response,
        "source": format!("{} {} (PyPI)", package.name, package.version),
        "license": package.license,
    })
}

/// The documented functions of every module of an unpacked package, in path order.
fn functions(dir: &Path) -> Result<(Vec<Value>, BTreeMap<String, usize>)> {
    let package = Package::read(dir)?;
    let mut pairs = Vec::new();
    let mut skipped = BTreeMap::new();
    for path in files(dir, "py")? {
        let module = path
            .strip_prefix(dir)
            .expect("under the input")
            .to_string_lossy()
            .to_string();
        if module.contains(".dist-info") || module.contains("tests/") || module.contains("/test_") {
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(source) => pairs.extend(
                mine::documented_functions(&module, &source)
                    .into_iter()
                    .map(|p| line(p, &package)),
            ),
            Err(_) => *skipped.entry("modules that are not UTF-8".to_string()).or_default() += 1,
        }
    }
    Ok((pairs, skipped))
}

/// mlsys-lab's projects: each `project.json` with its `brief.md` and the reference version of
/// the files it `edits`; a project whose reference is missing or larger than
/// [`MAX_CODE_BYTES`] is skipped and counted.
fn mlsys_lab(dir: &Path) -> Result<(Vec<Value>, BTreeMap<String, usize>)> {
    #[derive(serde::Deserialize)]
    struct Project {
        id: String,
        title: String,
        edits: Vec<String>,
    }
    let package = Package::read(dir)?;
    let mut pairs = Vec::new();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    // The package's layout: mlsys/projects/<id>/{project.json, brief.md, reference/}.
    let root = dir.join("mlsys/projects");
    let mut projects: Vec<PathBuf> = std::fs::read_dir(&root)
        .with_context(|| format!("{}: not an unpacked mlsys-lab wheel", dir.display()))?
        .filter_map(|e| Some(e.ok()?.path().join("project.json")))
        .filter(|p| p.exists())
        .collect();
    projects.sort();
    ensure!(
        !projects.is_empty(),
        "{}: no mlsys-lab project.json found",
        dir.display()
    );
    for path in projects {
        let project_dir = path.parent().expect("a file has a folder");
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let project: Project = serde_json::from_str(&text).with_context(|| format!("{}", path.display()))?;
        let brief = std::fs::read_to_string(project_dir.join("brief.md"))
            .with_context(|| format!("{}: no brief.md", project_dir.display()))?;
        let files: Option<Vec<(String, String)>> = project
            .edits
            .iter()
            .map(|edit| {
                Some((
                    edit.clone(),
                    std::fs::read_to_string(project_dir.join("reference").join(edit)).ok()?,
                ))
            })
            .collect();
        let why = match &files {
            None => Some("projects whose reference lacks a file they edit"),
            Some(files) if files.iter().map(|(_, t)| t.len()).sum::<usize>() > MAX_CODE_BYTES => {
                Some("projects whose reference is over 4000 bytes")
            }
            Some(_) => None,
        };
        match (why, files) {
            (Some(why), _) => *skipped.entry(why.to_string()).or_default() += 1,
            (None, Some(files)) => {
                let pair = mine::task_with_files(&project.id, &project.title, &brief, &files);
                pairs.push(line(pair, &package));
            }
            (None, None) => unreachable!("a project without files has a reason"),
        }
    }
    Ok((pairs, skipped))
}

/// The files under `dir` ending in `.ext`, sorted.
fn files(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == ext) {
            paths.push(entry.into_path());
        }
    }
    Ok(paths)
}

/// An unpacked wheel's name, version and licence, from its `*.dist-info/METADATA`.
struct Package {
    name: String,
    version: String,
    license: String,
}

impl Package {
    fn read(dir: &Path) -> Result<Package> {
        let metadata = std::fs::read_dir(dir)
            .with_context(|| format!("cannot list {}", dir.display()))?
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("METADATA"))
            .find(|p| p.parent().is_some_and(|d| d.to_string_lossy().ends_with(".dist-info")) && p.exists())
            .with_context(|| format!("{}: no *.dist-info/METADATA, so no licence to record", dir.display()))?;
        let text = std::fs::read_to_string(&metadata).with_context(|| format!("cannot read {}", metadata.display()))?;
        let field = |key: &str| {
            text.lines()
                .take_while(|l| !l.is_empty())
                .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
        };
        let license = field("License-Expression:").or_else(|| field("License:"));
        let (Some(name), Some(version), Some(license)) = (field("Name:"), field("Version:"), license) else {
            bail!("{}: no Name, Version and License", metadata.display());
        };
        Ok(Package { name, version, license })
    }
}
