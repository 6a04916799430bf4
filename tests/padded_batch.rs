//! Batched generation's cache: left-padded rows of a batch give the hidden states each prompt
//! gives alone, at the prompt and at later decoding steps, and dropping finished rows keeps the
//! rest right (tiny random Llama checkpoint).

use burn::tensor::{Device, Int, Tensor, TensorData};
use codeblock_core::model::{KvCache, Llama, load_hf};

fn tokens(rows: &[Vec<u32>], device: &Device) -> Tensor<2, Int> {
    let width = rows[0].len();
    let ids: Vec<i64> = rows.iter().flatten().map(|&t| i64::from(t)).collect();
    Tensor::from_data(TensorData::new(ids, [rows.len(), width]), device)
}

/// Hidden states of the last position of each row, as rows of floats.
fn last(hidden: Tensor<3>) -> Vec<Vec<f32>> {
    let [batch, length, width] = hidden.dims();
    let values: Vec<f32> = hidden
        .slice([0..batch, length - 1..length])
        .into_data()
        .iter::<f32>()
        .collect();
    values.chunks(width).map(<[f32]>::to_vec).collect()
}

fn alone(model: &Llama, prompt: &[u32], then: &[u32], device: &Device) -> Vec<Vec<f32>> {
    let mut cache = KvCache::default();
    let mut states = last(model.hidden_cached(tokens(&[prompt.to_vec()], device), &mut cache));
    for &token in then {
        states.extend(last(model.hidden_cached(tokens(&[vec![token]], device), &mut cache)));
    }
    states
}

fn assert_close(a: &[f32], b: &[f32], what: &str) {
    let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
    assert!(worst <= 1e-5, "{what}: max abs difference {worst}");
}

#[test]
fn padded_rows_match_their_prompts_alone() {
    let device = Device::flex();
    let (config, shards) = codeblock_tests::tiny_checkpoint("llama");
    let model = load_hf(&config, &shards, &device).unwrap().1;
    let prompts = [vec![5, 9, 2, 33, 60, 7, 12], vec![40, 3], vec![8, 21, 21, 50]];
    let then = [[6, 1], [63, 30], [2, 2]];
    let longest = prompts.iter().map(Vec::len).max().unwrap();
    let padding: Vec<usize> = prompts.iter().map(|p| longest - p.len()).collect();
    let padded: Vec<Vec<u32>> = prompts
        .iter()
        .map(|p| [vec![0; longest - p.len()], p.clone()].concat())
        .collect();

    let mut cache = KvCache::padded(padding);
    let mut batch = vec![last(model.hidden_cached(tokens(&padded, &device), &mut cache))];
    let step = |column: usize, rows: &[usize]| rows.iter().map(|&r| vec![then[r][column]]).collect::<Vec<_>>();
    batch.push(last(
        model.hidden_cached(tokens(&step(0, &[0, 1, 2]), &device), &mut cache),
    ));
    // The second row finishes; the others go on without it.
    cache.keep_rows(&[0, 2], &device);
    let kept = last(model.hidden_cached(tokens(&step(1, &[0, 2]), &device), &mut cache));

    for (row, prompt) in prompts.iter().enumerate() {
        let expected = alone(&model, prompt, &then[row], &device);
        assert_close(&batch[0][row], &expected[0], &format!("row {row}, prompt"));
        assert_close(&batch[1][row], &expected[1], &format!("row {row}, first step"));
    }
    assert_close(
        &kept[0],
        &alone(&model, &prompts[0], &then[0], &device)[2],
        "row 0 after the drop",
    );
    assert_close(
        &kept[1],
        &alone(&model, &prompts[2], &then[2], &device)[2],
        "row 2 after the drop",
    );
}
