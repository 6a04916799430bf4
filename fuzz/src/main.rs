//! The fuzz driver: mutates the seeds for as long as it is given, round-robin over the targets,
//! and keeps every input that panics (and every one slower than `--slow-ms`) in `--crashes`.
//! The input in flight is written first to `CRASHES/in-flight-TARGET`, so one that aborts the
//! process (a stack overflow) is kept too; one still running after `--hang-s` is kept as a hang,
//! and the run stops there with the count so far.
//!
//!     cargo run --release -p codeblock-fuzz -- --seconds 3600 --seed 7 --crashes fuzz/crashes

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
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
    /// An input still running after this long is a hang: kept, and the run stops.
    #[arg(long, default_value_t = 120)]
    hang_s: u64,
}

/// The input being run, for the hang watch.
struct InFlight {
    since: Instant,
    target: Target,
    run: usize,
    inputs_before: usize,
}

/// Watches the input in flight from another thread: one that runs past `hang` is copied to
/// `hang-TARGET-SEED-RUN` and the process ends (status 2), saying how many inputs ran before it.
fn watch_for_hangs(in_flight: Arc<Mutex<Option<InFlight>>>, crashes: PathBuf, seed: u64, hang: Duration) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let watched = in_flight.lock().expect("the watch");
            if let Some(input) = watched.as_ref().filter(|input| input.since.elapsed() > hang) {
                let name = format!("hang-{}-{seed}-{}", input.target.name(), input.run);
                let _ = std::fs::copy(
                    crashes.join(format!("in-flight-{}", input.target.name())),
                    crashes.join(&name),
                );
                eprintln!("{name}: still running after {hang:?}");
                println!(
                    "{} inputs, then a hang: {}",
                    input.inputs_before,
                    crashes.join(&name).display()
                );
                std::process::exit(2);
            }
        }
    });
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
    let in_flight = Arc::new(Mutex::new(None));
    watch_for_hangs(
        Arc::clone(&in_flight),
        args.crashes.clone(),
        args.seed,
        Duration::from_secs(args.hang_s),
    );
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
            *in_flight.lock().expect("the watch") = Some(InFlight {
                since: clock,
                target,
                run: runs[t] + 1,
                inputs_before: runs.iter().sum(),
            });
            let result = harness.check(target, &input);
            *in_flight.lock().expect("the watch") = None;
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
