//! The GGUF reader against the reference: `tests/data/quants.gguf` holds one tensor of every
//! supported type, and `quants.json` their dequantization by PyPI `gguf` (llama.cpp's own
//! package; `tools/reference/quant_fixture.py` makes both). Then corrupted and truncated copies
//! of the file must give errors, never panics.

use std::collections::BTreeMap;

use codeblock_core::formats::gguf::{Gguf, GgufError};

const FILE: &[u8] = include_bytes!("data/quants.gguf");

#[test]
fn dequantization_matches_the_reference() {
    let golden: BTreeMap<String, Vec<f32>> =
        serde_json::from_str(include_str!("data/quants.json")).expect("the golden file is JSON");
    let gguf = Gguf::parse(FILE).unwrap();
    assert_eq!(gguf.get("codeblock.fixture").unwrap().as_str(), Some("quants"));
    assert_eq!(golden.len(), 11);
    for (name, expected) in &golden {
        let values = gguf.dequantize(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(values.len(), expected.len(), "{name}");
        let worst = values
            .iter()
            .zip(expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst <= 1e-6, "{name}: max abs difference {worst}");
        assert_eq!(gguf.tensor(name).unwrap().shape()[0], 2, "{name} has two rows");
    }
}

#[test]
fn errors_name_the_problem() {
    assert_eq!(
        Gguf::parse(b"GGML\x03\0\0\0").unwrap_err(),
        GgufError::BadMagic(*b"GGML")
    );
    assert!(matches!(Gguf::parse(b"GGUF").unwrap_err(), GgufError::Truncated { .. }));
    let gguf = Gguf::parse(FILE).unwrap();
    assert_eq!(
        gguf.dequantize("nope").unwrap_err(),
        GgufError::MissingTensor("nope".into())
    );
    let cut = Gguf::parse(&FILE[..FILE.len() - 100]).unwrap();
    let err = cut.dequantize("t.Q6_K").unwrap_err();
    assert!(
        err.to_string().starts_with("the file is truncated: tensor `t.Q6_K`"),
        "{err}"
    );
}

/// A fixed-seed fuzz pass: flipped bytes and truncations anywhere must not panic.
#[test]
fn corrupted_files_never_panic() {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3000 {
        let mut bytes = FILE.to_vec();
        for _ in 0..1 + next() % 4 {
            let at = (next() as usize) % bytes.len();
            bytes[at] = next() as u8;
        }
        let cut = (next() as usize) % (bytes.len() + 1);
        for candidate in [&bytes[..], &bytes[..cut]] {
            if let Ok(gguf) = Gguf::parse(candidate) {
                for tensor in &gguf.tensors {
                    let _ = gguf.dequantize(&tensor.name);
                }
            }
        }
    }
}
