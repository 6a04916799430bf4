//! Throughput of the structure stages (segment, parse, partition, names, core logic) on the
//! MBPP pairs (prose + fenced solution, as `codeblock pairs` writes them), next to a bare
//! tree-sitter parse of the same solutions. The figure we track is structure throughput as a
//! share of parse throughput (aim: at least 60%), printed at the end; both are counted over the
//! code bytes.
//!
//! Data: `mbpp_humaneval_format.jsonl.gz` in `CODEBLOCK_DATA` (default `../shared/data`, as
//! everywhere else).

use std::io::Read;
use std::time::Instant;

use codeblock_core::Config;
use codeblock_core::eval::mbpp::MbppTask;
use codeblock_core::pipeline::{lang, structure};
use criterion::{Criterion, Throughput, criterion_group};

/// The MBPP tasks: (response of the pair, its solution code).
fn inputs() -> Vec<(String, String)> {
    let data = std::env::var("CODEBLOCK_DATA")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data").into());
    let path = format!("{data}/mbpp_humaneval_format.jsonl.gz");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("cannot open {path}: {e} (set CODEBLOCK_DATA)"));
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(file)
        .read_to_string(&mut text)
        .expect("the MBPP file is gzip'd UTF-8");
    text.lines()
        .map(|line| {
            let task: MbppTask = serde_json::from_str(line).expect("MBPP lines are tasks");
            (task.record().response, task.code())
        })
        .collect()
}

fn parse_all(inputs: &[(String, String)]) -> usize {
    inputs
        .iter()
        .map(|(_, code)| lang::parse_python(code).root_node().child_count() as usize)
        .sum()
}

fn structure_all(inputs: &[(String, String)], config: &Config) -> usize {
    inputs
        .iter()
        .map(|(response, _)| structure::structure(response, &config.partition).items.len())
        .sum()
}

fn bench(c: &mut Criterion) {
    let inputs = inputs();
    let config = Config::default();
    let code_bytes: usize = inputs.iter().map(|(_, code)| code.len()).sum();
    let mut group = c.benchmark_group("mbpp_code_bytes");
    group.throughput(Throughput::Bytes(code_bytes as u64));
    group.bench_function("tree_sitter_parse", |b| b.iter(|| parse_all(&inputs)));
    group.bench_function("structure_stages", |b| b.iter(|| structure_all(&inputs, &config)));
    group.finish();
    let mut group = c.benchmark_group("mbpp_records");
    group.throughput(Throughput::Elements(inputs.len() as u64));
    group.bench_function("structure_stages", |b| b.iter(|| structure_all(&inputs, &config)));
    group.finish();
}

/// Prints the ratio directly: best of several timed passes of each.
fn ratio() {
    let inputs = inputs();
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
    let parse = best(&|| parse_all(&inputs));
    let structure = best(&|| structure_all(&inputs, &config));
    let mb = inputs.iter().map(|(_, code)| code.len()).sum::<usize>() as f64 / 1e6;
    println!(
        "{} MBPP pairs: parse {:.2} MB/s, structure {:.2} MB/s ({:.0} records/s): \
         structure is {:.0}% of parse throughput (aim: 60%)",
        inputs.len(),
        mb / parse,
        mb / structure,
        inputs.len() as f64 / structure,
        100.0 * parse / structure
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    ratio();
    Criterion::default().configure_from_args().final_summary();
}
