//! Throughput of the structure stages (segment, parse, partition, names, core logic) on the
//! MBPP solutions, next to a bare tree-sitter parse of the same code. The figure we track is
//! structure throughput as a share of parse throughput (aim: at least 60%), printed at the end.
//!
//! Data: `../shared/data/mbpp_humaneval_format.jsonl.gz`, or the file in `CODEBLOCK_MBPP`.

use std::io::Read;
use std::time::Instant;

use codeblock_core::{Config, lang, pipeline};
use criterion::{Criterion, Throughput, criterion_group};

fn responses() -> Vec<String> {
    let path = std::env::var("CODEBLOCK_MBPP").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/mbpp_humaneval_format.jsonl.gz"
        )
        .into()
    });
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("cannot open {path}: {e} (set CODEBLOCK_MBPP)"));
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(file)
        .read_to_string(&mut text)
        .expect("the MBPP file is gzip'd UTF-8");
    text.lines()
        .map(|line| {
            let task: serde_json::Value = serde_json::from_str(line).expect("MBPP lines are JSON");
            format!(
                "{}{}",
                task["prompt"].as_str().unwrap_or(""),
                task["canonical_solution"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn parse_all(responses: &[String]) -> usize {
    responses
        .iter()
        .map(|r| lang::parse_python(r).root_node().child_count() as usize)
        .sum()
}

fn structure_all(responses: &[String], config: &Config) -> usize {
    responses
        .iter()
        .map(|r| pipeline::structure(r, config).items.len())
        .sum()
}

fn bench(c: &mut Criterion) {
    let responses = responses();
    let config = Config::default();
    let bytes: usize = responses.iter().map(String::len).sum();
    let mut group = c.benchmark_group("mbpp_bytes");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("tree_sitter_parse", |b| b.iter(|| parse_all(&responses)));
    group.bench_function("structure_stages", |b| b.iter(|| structure_all(&responses, &config)));
    group.finish();
    let mut group = c.benchmark_group("mbpp_records");
    group.throughput(Throughput::Elements(responses.len() as u64));
    group.bench_function("structure_stages", |b| b.iter(|| structure_all(&responses, &config)));
    group.finish();
}

/// Prints the ratio directly: best of several timed passes of each.
fn ratio() {
    let responses = responses();
    let config = Config::default();
    let best = |f: &dyn Fn() -> usize| {
        (0..10)
            .map(|_| {
                let clock = Instant::now();
                std::hint::black_box(f());
                clock.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let parse = best(&|| parse_all(&responses));
    let structure = best(&|| structure_all(&responses, &config));
    let mb = responses.iter().map(String::len).sum::<usize>() as f64 / 1e6;
    println!(
        "parse {:.2} MB/s, structure {:.2} MB/s ({:.0} records/s): structure is {:.0}% of parse throughput",
        mb / parse,
        mb / structure,
        responses.len() as f64 / structure,
        100.0 * parse / structure
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    ratio();
    Criterion::default().configure_from_args().final_summary();
}
