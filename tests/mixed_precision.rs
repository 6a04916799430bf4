//! Mixed precision: with the matrix products in bf16 or f16, the sparse loss and its gradients
//! stay close to f32's (the parameters stay f32 and receive the gradients), on the CPU backend
//! and, for f16, on wgpu (Vulkan's f16; lavapipe has no bf16 arithmetic).

use burn::tensor::{Device, DeviceKind, Int, Tensor, TensorData};
use codeblock_core::model::{Llama, Precision, Target, load_hf, sparse_loss};

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().iter::<f32>().collect()
}

/// The loss and the gradients of two parameters, computed in `precision`.
fn loss_and_grads(device: &Device, precision: Precision) -> (f32, Vec<Vec<f32>>) {
    let (config, shards) = codeblock_tests::tiny_checkpoint("llama");
    let model: Llama = load_hf(&config, &shards, device).unwrap().1.with_precision(precision);
    let ids: Vec<i64> = vec![1, 5, 9, 2, 33, 60, 7, 7, 12, 40, 3, 8, 21, 21, 50, 6, 1, 0, 63, 30];
    let tokens = Tensor::<2, Int>::from_data(TensorData::new(ids.clone(), [2, 10]), device);
    let targets: Vec<Target> = [(0, 3), (0, 4), (1, 1), (1, 9), (1, 5)]
        .map(|(batch, position)| Target {
            batch,
            position,
            token: ids[batch * 10 + position] as u32,
            weight: 1.0,
        })
        .to_vec();
    let loss = sparse_loss(&model, tokens, &targets, 5.0);
    let value = values(loss.clone())[0];
    let grads = loss.backward();
    let of = |param: Tensor<2>| values(param.grad(&grads).expect("the gradient reaches the f32 parameter"));
    let grads = vec![
        of(model.embedding.weight.val()),
        of(model.blocks[0].attention.q.weight.val()),
        of(model.blocks[1].mlp.down.weight.val()),
    ];
    (value, grads)
}

fn assert_close_to_f32(device: &Device, precision: Precision) {
    let (reference, reference_grads) = loss_and_grads(device, Precision::F32);
    let (value, grads) = loss_and_grads(device, precision);
    assert!(
        (value - reference).abs() <= 0.02 * reference.abs(),
        "{precision:?}: loss {value} vs f32 {reference}"
    );
    assert_ne!(value, reference, "{precision:?} should round differently from f32");
    for (found, expected) in grads.iter().zip(&reference_grads) {
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        let difference: Vec<f32> = found.iter().zip(expected).map(|(a, b)| a - b).collect();
        let relative = norm(&difference) / norm(expected);
        assert!(
            relative <= 0.05,
            "{precision:?}: gradient off by {relative} (relative norm)"
        );
    }
}

#[test]
fn half_precision_products_keep_the_loss_and_gradients() {
    let cpu = Device::flex().autodiff();
    assert_close_to_f32(&cpu, Precision::Bf16);
    assert_close_to_f32(&cpu, Precision::F16);
    assert_close_to_f32(&Device::wgpu(DeviceKind::DefaultDevice).autodiff(), Precision::F16);
}
