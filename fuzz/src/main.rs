//! The fuzz driver: mutates the seeds for as long as it is given, round-robin over the targets,
//! and keeps every input that panics (and every one slower than `--slow-ms`) in `--crashes`.
//! The input in flight is written first to `CRASHES/in-flight-TARGET`, so one that aborts the
//! process (a stack overflow) is kept too.
//!
//!     cargo run --release -p codeblock-fuzz -- --seconds 3600 --seed 7 --crashes fuzz/crashes

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use codeblock_core::pipeline::tokens::HfTokenizer;
use codeblock_fuzz::{Harness, Target, mutate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Debug, Parser)]
struct Args {
    /// How long to run.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// The random seed (a run is repeatable from it).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where findings go.
    #[arg(long, default_value = "fuzz/crashes")]
    crashes: PathBuf,
    /// A `tokenizer.json` (default: CODEBLOCK_TOKENIZER, which scripts/setup.sh sets).
    #[arg(long)]
    tokenizer: Option<PathBuf>,
    /// An input slower than this is kept as a finding.
    #[arg(long, default_value_t = 5000)]
    slow_ms: u64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let path = args
        .tokenizer
        .clone()
        .or_else(|| std::env::var_os("CODEBLOCK_TOKENIZER").map(PathBuf::from))
        .context("give --tokenizer or set CODEBLOCK_TOKENIZER")?;
    let tokenizer_bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let tokenizer = HfTokenizer::from_bytes(&tokenizer_bytes)?;
    let harness = Harness::new(tokenizer);
    std::fs::create_dir_all(&args.crashes)?;
    // Panics are findings, reported here; the default hook would print each one.
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = StdRng::seed_from_u64(args.seed);
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let (mut runs, mut findings) = ([0usize; Target::ALL.len()], 0);
    'run: loop {
        for (t, target) in Target::ALL.into_iter().enumerate() {
            if Instant::now() >= deadline {
                break 'run;
            }
            let seeds = harness.corpus.seeds(target);
            let seed = &seeds[rng.random_range(0..seeds.len())];
            let entropy: Vec<u8> = (0..rng.random_range(0..256)).map(|_| rng.random()).collect();
            let input = mutate(seed, seeds, &entropy);
            std::fs::write(args.crashes.join(format!("in-flight-{}", target.name())), &input)?;
            let clock = Instant::now();
            let result = harness.check(target, &input);
            let slow = clock.elapsed() > Duration::from_millis(args.slow_ms);
            runs[t] += 1;
            if result.is_err() || slow {
                findings += 1;
                let kind = if result.is_err() { "panic" } else { "slow" };
                let name = format!("{kind}-{}-{}-{}", target.name(), args.seed, runs[t]);
                std::fs::write(args.crashes.join(&name), &input)?;
                let why = result.err().unwrap_or_else(|| format!("{:?}", clock.elapsed()));
                eprintln!("{name}: {why}");
            }
        }
    }
    for target in Target::ALL {
        let _ = std::fs::remove_file(args.crashes.join(format!("in-flight-{}", target.name())));
    }
    let counts: Vec<String> = Target::ALL
        .iter()
        .zip(runs)
        .map(|(t, n)| format!("{} {n}", t.name()))
        .collect();
    println!(
        "{} inputs ({}), {findings} findings in {}",
        runs.iter().sum::<usize>(),
        counts.join(", "),
        args.crashes.display()
    );
    Ok(())
}
