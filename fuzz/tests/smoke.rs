//! A fixed-seed fuzz pass in CI: every target on a few hundred mutated inputs, none of which may
//! panic. (`cargo run --release -p codeblock-fuzz -- --seconds N` runs the same for hours.)

use codeblock_core::pipeline::tokens::HfTokenizer;
use codeblock_fuzz::{Harness, Target, mutate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[test]
fn mutated_inputs_never_panic() {
    let path = std::env::var("CODEBLOCK_TOKENIZER").expect("CODEBLOCK_TOKENIZER (scripts/setup.sh sets it)");
    let tokenizer = HfTokenizer::from_bytes(&std::fs::read(&path).expect("the tokenizer")).expect("a tokenizer");
    let harness = Harness::new(tokenizer);
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = StdRng::seed_from_u64(2026);
    let mut failures = Vec::new();
    for target in Target::ALL {
        let seeds = harness.corpus.seeds(target);
        for run in 0..100 {
            let seed = &seeds[rng.random_range(0..seeds.len())];
            let entropy: Vec<u8> = (0..rng.random_range(0..128)).map(|_| rng.random()).collect();
            let input = mutate(seed, seeds, &entropy);
            if let Err(panic) = harness.check(target, &input) {
                failures.push(format!(
                    "{} run {run}: {panic}\n{}",
                    target.name(),
                    String::from_utf8_lossy(&input)
                ));
            }
        }
    }
    let _ = std::panic::take_hook();
    assert!(
        failures.is_empty(),
        "{} panics; the first:\n{}",
        failures.len(),
        failures[0]
    );
}
