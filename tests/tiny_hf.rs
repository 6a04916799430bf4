//! Hugging Face checkpoints: a tiny random Llama (one `model.safetensors`, tied head) and a tiny
//! random Qwen2 (two shards with an index, q/k/v biases, untied head, one key/value head) load and
//! give the logits of an independent float64 NumPy forward pass written the Hugging Face way
//! (`tools/reference/tiny_hf_reference.py` makes the checkpoints and `logits.json`).

use std::collections::BTreeMap;
use std::path::Path;

use burn::tensor::{Device, Int, Tensor, TensorData};
use codeblock_core::model::{Arch, load_hf};
use codeblock_tests::tiny_checkpoint;

fn logits_of(name: &str, ids: &[u32]) -> (Arch, Vec<f32>) {
    let (config, shards) = tiny_checkpoint(name);
    let device = Device::flex();
    let (config, model) = load_hf(&config, &shards, &device).unwrap();
    let n = ids.len();
    let tokens: Vec<i64> = ids.iter().map(|&i| i64::from(i)).collect();
    let hidden = model.hidden(Tensor::<2, Int>::from_data(TensorData::new(tokens, [1, n]), &device));
    let width = hidden.dims()[2];
    let logits = model.logits(hidden.reshape([n, width]));
    (config.arch, logits.into_data().iter::<f32>().collect())
}

#[test]
fn tiny_checkpoints_match_the_reference() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/tiny");
    let golden: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("logits.json")).unwrap()).unwrap();
    let ids: Vec<u32> = serde_json::from_value(golden["ids"].clone()).unwrap();
    for (name, arch) in [("llama", Arch::Llama), ("qwen2", Arch::Qwen2)] {
        let expected: Vec<Vec<f64>> = serde_json::from_value(golden[name].clone()).unwrap();
        let (found_arch, logits) = logits_of(name, &ids);
        assert_eq!(found_arch, arch);
        let expected: Vec<f64> = expected.into_iter().flatten().collect();
        assert_eq!(logits.len(), expected.len(), "{name}");
        let worst = logits
            .iter()
            .zip(&expected)
            .map(|(a, b)| (f64::from(*a) - b).abs())
            .fold(0.0, f64::max);
        assert!(worst <= 1e-4, "{name}: max abs logit difference {worst}");
    }
}

#[test]
fn bad_checkpoints_are_named() {
    let device = Device::flex();
    let err = load_hf("{\"model_type\": \"gpt2\"}", &[], &device).unwrap_err();
    assert_eq!(
        err.to_string(),
        "architecture `gpt2` is not supported (llama and qwen2 are)"
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/tiny/llama");
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap();
    let truncated = std::fs::read(dir.join("model.safetensors")).unwrap()[..100].to_vec();
    let err = load_hf(&config, &[truncated], &device).unwrap_err();
    assert!(err.to_string().starts_with("config: safetensors shard 0"), "{err}");
    let wrong = config.replace("\"hidden_size\": 32", "\"hidden_size\": 64");
    let shards = vec![std::fs::read(dir.join("model.safetensors")).unwrap()];
    let err = load_hf(
        &wrong.replace("\"num_attention_heads\": 4", "\"num_attention_heads\": 8"),
        &shards,
        &device,
    )
    .unwrap_err();
    assert!(err.to_string().contains("has shape"), "{err}");
}

/// Exporting gives back the checkpoint we loaded, tensor for tensor (the RoPE permutation and
/// the transposes are undone exactly).
#[test]
fn export_gives_back_the_checkpoint() {
    use codeblock_core::model::export_hf;
    use safetensors::SafeTensors;

    for name in ["llama", "qwen2"] {
        let (config, shards) = tiny_checkpoint(name);
        let (model_config, model) = load_hf(&config, &shards, &Device::flex()).unwrap();
        let (exported_config, bytes) = export_hf(&model, &model_config).unwrap();
        let exported = SafeTensors::deserialize(&bytes).unwrap();
        let mut count = 0;
        for shard in &shards {
            let original = SafeTensors::deserialize(shard).unwrap();
            for tensor in original.names() {
                let (a, b) = (original.tensor(tensor).unwrap(), exported.tensor(tensor).unwrap());
                assert_eq!(a.shape(), b.shape(), "{name} {tensor}");
                assert_eq!(a.data(), b.data(), "{name} {tensor} differs after export");
                count += 1;
            }
        }
        assert_eq!(count, exported.names().len(), "{name}: the export has the same tensors");
        let (again, _) = load_hf(&exported_config, &[bytes], &Device::flex()).unwrap();
        assert_eq!(again, model_config, "{name}: config.json round trip");
    }
}

#[test]
fn a_random_model_has_the_checkpoints_tensors() {
    use codeblock_core::model::{export_hf, random_model};
    use safetensors::SafeTensors;

    for name in ["llama", "qwen2"] {
        let (config, shards) = tiny_checkpoint(name);
        let (model_config, _) = load_hf(&config, &shards, &Device::flex()).unwrap();
        let model = random_model(&model_config, &Device::flex()).unwrap();
        let (_, bytes) = export_hf(&model, &model_config).unwrap();
        let random = SafeTensors::deserialize(&bytes).unwrap();
        let mut expected = BTreeMap::new();
        for shard in &shards {
            let original = SafeTensors::deserialize(shard).unwrap();
            for tensor in original.names() {
                expected.insert(tensor.to_string(), original.tensor(tensor).unwrap().shape().to_vec());
            }
        }
        let found: BTreeMap<String, Vec<usize>> = random
            .names()
            .into_iter()
            .map(|tensor| (tensor.to_string(), random.tensor(tensor).unwrap().shape().to_vec()))
            .collect();
        assert_eq!(found, expected, "{name}: the same tensors, of the same shapes");
        let q = random.tensor("model.layers.0.self_attn.q_proj.weight").unwrap();
        let values: Vec<f32> = q
            .data()
            .chunks(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert!(
            values.iter().all(|v| v.is_finite()) && values.iter().any(|&v| v != values[0]),
            "{name}: random weights"
        );
    }
}

#[test]
fn a_batch_scores_as_each_context_alone_with_its_shared_prefix_run_once_and_on_flexs_path_as_on_burns() {
    use codeblock_core::model::score_contexts;
    use codeblock_core::train::Context;

    let system = [1, 2, 3, 4, 5];
    let context = |prompt: &[u32], response: &[u32]| Context::new([&system[..], prompt].concat(), response);
    let contexts = [
        context(&[9, 10], &[11, 12, 13, 14]),
        context(&[9, 20, 21], &[22]),
        context(&[30], &[31, 32, 33]),
        // Longer than a chunk of queries (64) on the path that splits them.
        context(&[40], &(0..100).map(|i| i * 7 % 64).collect::<Vec<_>>()),
    ];
    for name in ["llama", "qwen2"] {
        let (config, shards) = tiny_checkpoint(name);
        let device = Device::flex();
        let (_, model) = load_hf(&config, &shards, &device).unwrap();
        assert!(model.flex_inference, "{name}: built on flex without autodiff");
        let batch = score_contexts(&model, &device, &contexts);
        for (context, scores) in contexts.iter().zip(&batch) {
            let alone = score_contexts(&model, &device, std::slice::from_ref(context)).remove(0);
            assert_eq!(scores.len(), context.response().len());
            for (a, b) in scores.iter().zip(&alone) {
                assert!((a - b).abs() < 1e-5, "{name}: {a} in the batch, {b} alone");
            }
        }
        // On flex, attention takes the grouped key/value heads (2 and 1 for 4 query heads here)
        // as they are and the queries a chunk at a time, and SiLU and the head's log-softmax run
        // in our kernels: the same scores as burn's general path (heads repeated per query
        // head, all queries in one call, burn's ops), up to the kernels' `exp`.
        let general = model.with_flex_inference(false);
        let general = score_contexts(&general, &device, &contexts);
        for (flex, burn) in batch.iter().flatten().zip(general.iter().flatten()) {
            assert!(
                (flex - burn).abs() < 1e-5,
                "{name}: {flex} on flex's path, {burn} on burn's"
            );
        }
        assert_eq!(general.concat().len(), batch.concat().len());
    }
}
