//! The model tier: tests on the real default model, SmolLM2-135M-Instruct (Q4_1 GGUF), which
//! `scripts/setup.sh` fetches and checks. They run in CI like every other test.

use codeblock_core::formats::gguf::Gguf;
use codeblock_core::pipeline::tokens::{HfTokenizer, Tokenize};
use codeblock_tests::model_bytes;

#[test]
fn the_gguf_parses_and_describes_smollm2() {
    let bytes = model_bytes();
    let gguf = Gguf::parse(&bytes).unwrap();
    assert_eq!(gguf.get("general.architecture").unwrap().as_str(), Some("llama"));
    assert_eq!(gguf.get("llama.block_count").unwrap().as_u64(), Some(30));
    assert_eq!(gguf.tensors.len(), 272);
    let embedding = gguf.tensor("token_embd.weight").unwrap();
    assert_eq!(embedding.shape(), [49152, 576]);
    let values = gguf.dequantize("blk.0.attn_q.weight").unwrap();
    assert_eq!(values.len(), 576 * 576);
    assert!(values.iter().all(|v| v.is_finite()));
}

#[test]
fn the_embedded_tokenizer_splits_like_smollm2() {
    let bytes = model_bytes();
    let tokenizer = HfTokenizer::from_gguf(&Gguf::parse(&bytes).unwrap()).unwrap();
    let text = "def add(a, b):\n    return a + 12\n# café 🦀";
    let tokens = tokenizer.tokenize(text).unwrap();
    let pieces: Vec<&str> = tokens.iter().map(|t| &text[t.span.start..t.span.end]).collect();
    let ids: Vec<u32> = tokens.iter().map(|t| t.id.unwrap()).collect();
    assert_eq!(tokenizer.decode(&ids).unwrap(), text, "decoding gives the text back");
    // SmolLM2 splits digits one by one and keeps chat markers whole.
    assert!(pieces.contains(&"1") && pieces.contains(&"2"));
    let chat = tokenizer
        .encode_with_specials("<|im_start|>user\nhi<|im_end|>\n")
        .unwrap();
    assert_eq!(chat[0], tokenizer.token_id("<|im_start|>").unwrap());
    assert!(chat.contains(&tokenizer.token_id("<|im_end|>").unwrap()));
}

mod model {
    use burn::tensor::Device;
    use codeblock_core::formats::chat::{ChatTemplate, ChatTokenizer};
    use codeblock_core::formats::gguf::Gguf;
    use codeblock_core::model::{
        GenerateConfig, ModelBundle, ModelScorer, Request, Stop, generate, generate_batch, load_gguf, score_contexts,
    };
    use codeblock_core::pipeline::record::{Message, Record};
    use codeblock_core::pipeline::score::{ScoreRequest, TokenScorer};
    use codeblock_core::pipeline::tokens::{HfTokenizer, Tokenize};
    use codeblock_core::train::Context;
    use codeblock_tests::model_bytes;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Golden {
        prompts: Vec<Prompt>,
        greedy: Greedy,
    }

    #[derive(Deserialize)]
    struct Prompt {
        text: String,
        ids: Vec<u32>,
        logprobs: Vec<f64>,
    }

    #[derive(Deserialize)]
    struct Greedy {
        ids: Vec<u32>,
        continuation: Vec<u32>,
    }

    /// Golden values from `tools/reference/smollm2_reference.py` (float64 NumPy forward pass).
    fn golden() -> Golden {
        serde_json::from_str(include_str!("data/smollm2_golden.json")).expect("the golden file parses")
    }

    /// Everything about the model in one test, so the 135M weights load once.
    #[test]
    fn smollm2_matches_the_reference() {
        let bytes = model_bytes();
        let gguf = Gguf::parse(&bytes).unwrap();
        let device = Device::flex();
        let (model_config, model) = load_gguf(&gguf, &device).unwrap();
        let tokenizer = HfTokenizer::from_gguf(&gguf).unwrap();
        let template = gguf
            .get("tokenizer.chat_template")
            .unwrap()
            .as_str()
            .map(|t| ChatTemplate::new(t).unwrap());
        let golden = golden();

        // Log-probs of every token after the first, against the reference's.
        let bundle = ModelBundle {
            config: model_config.clone(),
            model: model.clone(),
            chat: ChatTokenizer {
                tokenizer: HfTokenizer::from_gguf(&gguf).unwrap(),
                template,
                template_source: None,
                end_tokens: vec![],
            },
        };
        for prompt in &golden.prompts {
            assert_eq!(
                tokenizer.encode_with_specials(&prompt.text).unwrap(),
                prompt.ids,
                "token ids"
            );
            let context = Context {
                ids: prompt.ids.clone(),
                prompt_len: 1,
            };
            let ours = score_contexts(&model, &device, &[context]).remove(0);
            assert_eq!(ours.len(), prompt.logprobs.len());
            let worst = ours
                .iter()
                .zip(&prompt.logprobs)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(worst <= 1e-3, "max abs log-prob difference {worst}");
        }

        // Greedy generation with the KV cache follows the reference token for token.
        let config = GenerateConfig {
            max_tokens: golden.greedy.continuation.len(),
            ..GenerateConfig::default()
        };
        let generation = generate(&model, &device, &tokenizer, &golden.greedy.ids, &[], 4096, &config);
        assert_eq!(generation.stop, Stop::MaxTokens);
        assert_eq!(
            generation.ids, golden.greedy.continuation,
            "greedy text: {:?}",
            generation.text
        );
        assert!(generation.text.starts_with("```python\ndef "), "{:?}", generation.text);

        // In a batch with a longer and a shorter prompt (left-padded), each row follows it too.
        let long = golden.prompts.iter().max_by_key(|p| p.ids.len()).unwrap().ids.clone();
        let short = golden.greedy.ids[golden.greedy.ids.len() / 2..].to_vec();
        let requests: Vec<Request> = [long, golden.greedy.ids.clone(), short]
            .map(|prompt| Request {
                prompt,
                config: config.clone(),
            })
            .to_vec();
        let batch = generate_batch(&model, &device, &tokenizer, &requests, &[], 4096);
        assert_eq!(batch[1].ids, golden.greedy.continuation, "batched greedy");
        for (request, generated) in requests.iter().zip(&batch) {
            let alone = generate(&model, &device, &tokenizer, &request.prompt, &[], 4096, &config);
            assert_eq!(generated.ids, alone.ids, "a batched row equals its prompt alone");
        }

        // Exported to Hugging Face layout and loaded back, the model scores the same.
        let (config_json, weights) = codeblock_core::model::export_hf(&model, &model_config).unwrap();
        let (_, reloaded) = codeblock_core::model::load_hf(&config_json, &[weights], &device).unwrap();
        let prompt = &golden.prompts[1];
        let context = Context {
            ids: prompt.ids.clone(),
            prompt_len: 1,
        };
        let again = score_contexts(&reloaded, &device, &[context]).remove(0);
        let worst = again
            .iter()
            .zip(&prompt.logprobs)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst <= 1e-3, "exported model: max abs log-prob difference {worst}");

        // Through the pipeline's seam: a record's response tokens, batched with another record.
        let mut scorer = ModelScorer::from_bundle(bundle, device.clone());
        let record = |response: &str| Record {
            id: "r".into(),
            prompt: vec![Message {
                role: "user".into(),
                content: "Add two numbers.".into(),
            }],
            response: response.into(),
        };
        let (short, long) = (record("def add(a, b):\n    return a + b"), record("x = 1"));
        let short_tokens = tokenizer.tokenize(&short.response).unwrap();
        let long_tokens = tokenizer.tokenize(&long.response).unwrap();
        let batch = [
            ScoreRequest {
                record: &short,
                tokens: &short_tokens,
            },
            ScoreRequest {
                record: &long,
                tokens: &long_tokens,
            },
        ];
        let together = scorer.logprobs(&batch);
        let alone = scorer.logprobs(&batch[..1]);
        let (together, alone) = (together[0].as_ref().unwrap(), alone[0].as_ref().unwrap());
        assert_eq!(together.len(), short_tokens.len());
        let worst = together
            .iter()
            .zip(alone)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst <= 1e-4, "padding in a batch changes log-probs by {worst}");
        assert!(together.iter().all(|&l| l <= 0.0 && l.is_finite()));
    }
}

/// The same model code on burn-wgpu (Debian's software Vulkan in CI) gives the CPU's log-probs.
#[test]
fn wgpu_and_cpu_agree() {
    use burn::tensor::{Device, DeviceKind};
    use codeblock_core::model::{load_gguf, score_contexts};
    use codeblock_core::train::Context;

    let bytes = model_bytes();
    let gguf = Gguf::parse(&bytes).unwrap();
    let ids: Vec<u32> = HfTokenizer::from_gguf(&gguf)
        .unwrap()
        .encode_with_specials("def square(x):\n    return x * x\n")
        .unwrap();
    let scores = |device: Device| {
        let (_, model) = load_gguf(&gguf, &device).unwrap();
        let context = Context {
            ids: ids.clone(),
            prompt_len: 1,
        };
        score_contexts(&model, &device, &[context]).remove(0)
    };
    let cpu = scores(Device::flex());
    let gpu = scores(Device::wgpu(DeviceKind::DefaultDevice));
    let worst = cpu.iter().zip(&gpu).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(worst <= 1e-3, "wgpu and CPU log-probs differ by {worst}");
}

/// The pair stage's reading (IFD and the mean-pooled hidden states) on burn-wgpu is the CPU's.
/// (The browser test checks the reading on the CPU only; on WebGPU it checks the scoring.)
#[test]
fn pair_readings_agree_on_wgpu_and_cpu() {
    use burn::tensor::{Device, DeviceKind};
    use codeblock_core::curate::Reading;
    use codeblock_core::model::{ModelBundle, read_pairs};
    use codeblock_core::pipeline::record::{Message, Record};

    let bytes = model_bytes();
    let pairs = [
        ("Sum a list.", "```python\ndef total(xs):\n    return sum(xs)\n```"),
        (
            "Count words.",
            "Split on spaces:\n```python\ndef count(text):\n    return len(text.split())\n```",
        ),
    ];
    let records: Vec<Record> = pairs
        .iter()
        .map(|&(instruction, response)| Record {
            id: instruction.into(),
            prompt: vec![Message {
                role: "user".into(),
                content: instruction.into(),
            }],
            response: response.into(),
        })
        .collect();
    let read = |device: Device| -> Vec<Reading> {
        let bundle = ModelBundle::from_gguf(&bytes, &device).unwrap();
        let records: Vec<&Record> = records.iter().collect();
        let readings = pollster::block_on(read_pairs(&bundle, &device, &records, 2048));
        readings.into_iter().map(Result::unwrap).collect()
    };
    let cpu = read(Device::flex());
    let gpu = read(Device::wgpu(DeviceKind::DefaultDevice));
    for (c, g) in cpu.iter().zip(&gpu) {
        assert!(
            (c.ifd - g.ifd).abs() <= 1e-3,
            "IFD {} on the CPU, {} on wgpu",
            c.ifd,
            g.ifd
        );
        assert_eq!(c.embedding.len(), g.embedding.len());
        let worst = c
            .embedding
            .iter()
            .zip(&g.embedding)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(worst <= 1e-3, "embeddings differ by up to {worst}");
    }
}
