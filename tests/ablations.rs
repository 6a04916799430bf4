//! The ablation modes at the mask's budget, on MBPP's 374 training pairs as `codeblock pairs`
//! makes them (Qwen3's tokenizer, the n-gram scorer, default knobs): `random-items` supervises
//! whole items, as many tokens as the masks within 5% over the set (a record's own count can
//! differ by its item granularity: whole items cannot stand for a mask's prose tokens).

use std::io::Read;

use codeblock_core::eval::mbpp::{MbppTask, Split};
use codeblock_core::pipeline::score::NgramScorer;
use codeblock_core::train::{Mode, token_weights};
use codeblock_core::{Config, Input};
use codeblock_tests::tokenizer;

fn mbpp_training_pairs() -> Vec<Input> {
    let data = std::env::var("CODEBLOCK_DATA")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data").into());
    let path = format!("{data}/mbpp_humaneval_format.jsonl.gz");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e} (set CODEBLOCK_DATA)"));
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .map(|line| serde_json::from_str::<MbppTask>(line).unwrap())
        .filter(|task| task.split() == Some(Split::Train))
        .map(|task| Input::record(task.record()))
        .collect()
}

#[test]
fn random_items_match_the_masks_count() {
    let outputs = codeblock_core::run(
        mbpp_training_pairs(),
        &tokenizer(),
        &mut NgramScorer::default(),
        None,
        &Config::default(),
        &mut (),
    );
    assert_eq!(outputs.len(), 374);
    let (mut masked, mut items, mut exact) = (0.0, 0.0, 0);
    for output in &outputs {
        let selected = output.selected().expect("every MBPP pair is ok");
        let weights = token_weights(Mode::RandomItems, selected, None, 0).unwrap();
        let (mask, random) = (selected.stats.supervised_tokens as f32, weights.iter().sum::<f32>());
        exact += usize::from(random == mask);
        masked += mask;
        items += random;
    }
    eprintln!("random items: {items} tokens, masks {masked}; {exact} of 374 records exactly");
    assert!(
        exact >= 280,
        "most records match their mask's count exactly: {exact} of 374"
    );
    assert!(
        (items - masked).abs() <= 0.05 * masked,
        "random items supervise {items} tokens, the masks {masked}"
    );
}
