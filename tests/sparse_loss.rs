//! The sparse loss equals the full-logits masked cross-entropy in value and in gradient, on the
//! tiny random Llama checkpoint (tied head, so the embedding's gradient gets both paths).

use burn::tensor::{Device, Int, Tensor, TensorData};
use codeblock_core::model::{Llama, Target, full_logits_loss, load_hf, sparse_loss};

fn tiny_llama(device: &Device) -> Llama {
    let (config, shards) = codeblock_tests::tiny_checkpoint("llama");
    load_hf(&config, &shards, device).unwrap().1
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().iter::<f32>().collect()
}

#[test]
fn sparse_and_full_losses_have_the_same_gradient() {
    let device = Device::flex().autodiff();
    let model = tiny_llama(&device);
    let ids: Vec<i64> = vec![1, 5, 9, 2, 33, 60, 7, 7, 12, 40, 3, 8, 21, 21, 50, 6, 1, 0, 63, 30];
    let tokens = || Tensor::<2, Int>::from_data(TensorData::new(ids.clone(), [2, 10]), &device);
    let target = |batch: usize, position: usize, weight: f32| Target {
        batch,
        position,
        token: ids[batch * 10 + position] as u32,
        weight,
    };
    let targets = [
        target(0, 3, 1.0),
        target(0, 4, 1.0),
        target(1, 1, 0.5),
        target(1, 9, 2.0),
    ];
    let normalizer = 4.5;

    let sparse = sparse_loss(&model, tokens(), &targets, normalizer);
    let sparse_value = values(sparse.clone())[0];
    let sparse_grads = sparse.backward();
    let full = full_logits_loss(&model, tokens(), &targets, normalizer);
    let full_value = values(full.clone())[0];
    let full_grads = full.backward();

    assert!(
        sparse_value > 0.0 && (sparse_value - full_value).abs() <= 1e-6,
        "{sparse_value} vs {full_value}"
    );
    let params = [
        ("embedding", model.embedding.weight.val()),
        ("block 0 q", model.blocks[0].attention.q.weight.val()),
        ("block 1 down", model.blocks[1].mlp.down.weight.val()),
    ];
    for (name, param) in params {
        let a = values(
            param
                .grad(&sparse_grads)
                .expect("the sparse loss reaches every parameter"),
        );
        let b = values(param.grad(&full_grads).expect("the full loss reaches every parameter"));
        let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        let scale = b.iter().map(|x| x.abs()).fold(0.0f32, f32::max);
        assert!(
            scale > 0.0 && worst <= 1e-5 * scale.max(1.0),
            "{name}: gradients differ by {worst} (scale {scale})"
        );
    }
    let norm = values(model.norm.gamma.val().grad(&sparse_grads).unwrap());
    let norm_full = values(model.norm.gamma.val().grad(&full_grads).unwrap());
    assert!(norm.iter().zip(&norm_full).all(|(x, y)| (x - y).abs() <= 1e-5));
}
