//! The embedding space of the long-tail score. Model-free: hashed token trigrams of a response's
//! code (FNV-1a into [`DIMS`] buckets, log-scaled counts, unit length), so the stage runs without
//! a model; a model's mean-pooled last hidden states serve as well (`model::embed`). Distances
//! are cosine distances (`1 − cos`, in [0, 2]); neighbours are found exactly.

use crate::curate::code_blocks;
use crate::hash::fnv1a;
use crate::pipeline::tokens::{LexicalTokenizer, Tokenize};

/// Buckets of the hashed features.
pub const DIMS: usize = 1024;

/// The model-free embedding of a response: its code's token trigrams, hashed (the whole
/// response when it holds no code), unit length (all zeros for an empty text).
pub fn code_embedding(response: &str) -> Vec<f32> {
    let blocks = code_blocks(response);
    let text = match blocks.is_empty() {
        true => response.to_string(),
        false => blocks.iter().map(|b| b.code).collect::<String>(),
    };
    let tokens: Vec<&str> = LexicalTokenizer
        .tokenize(&text)
        .unwrap_or_default()
        .iter()
        .map(|t| text[t.span.start..t.span.end].trim())
        .filter(|t| !t.is_empty())
        .collect();
    let mut counts = vec![0f32; DIMS];
    for gram in tokens.windows(3.min(tokens.len().max(1))) {
        let key = gram.join("\u{1f}");
        counts[(fnv1a(key.as_bytes()) % DIMS as u64) as usize] += 1.0;
    }
    let mut vector: Vec<f32> = counts.iter().map(|&c| (1.0 + c).ln() * f32::from(c > 0.0)).collect();
    normalize(&mut vector);
    vector
}

/// Scales a vector to unit length (a zero vector stays zero): [`knn_distances`] takes unit
/// vectors.
pub fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|x| *x /= norm);
    }
}

/// The mean cosine distance of each embedding to its `k` nearest others (fewer when the pool is
/// smaller; 0 for a pool of one). Exact: O(n²·dims), fine to ~100k pairs; the shell refuses
/// larger pools (shard them).
pub fn knn_distances(embeddings: &[Vec<f32>], k: usize) -> Vec<f64> {
    let n = embeddings.len();
    (0..n)
        .map(|i| {
            let mut distances: Vec<f64> = (0..n)
                .filter(|&j| j != i)
                .map(|j| 1.0 - f64::from(dot(&embeddings[i], &embeddings[j])))
                .collect();
            let k = k.min(distances.len());
            if k == 0 {
                return 0.0;
            }
            distances.select_nth_unstable_by(k - 1, f64::total_cmp);
            distances[..k].iter().sum::<f64>() / k as f64
        })
        .collect()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knn_distances_by_hand() {
        // Unit vectors on a circle at 0°, 90° and 180°, and one more at 0°.
        let e = [vec![1.0, 0.0], vec![0.0, 1.0], vec![-1.0, 0.0], vec![1.0, 0.0]];
        let d = knn_distances(&e, 1);
        assert_eq!(d, [0.0, 1.0, 1.0, 0.0], "the nearest other point");
        let d2 = knn_distances(&e, 2);
        assert_eq!(d2, [0.5, 1.0, 1.5, 0.5]);
        assert_eq!(knn_distances(&e[..1], 10), [0.0], "alone");
    }

    #[test]
    fn alike_code_embeds_close_and_other_code_far() {
        let a = code_embedding("```python\ndef add(a, b):\n    return a + b\n```");
        let b = code_embedding("Sure:\n```python\ndef add(a, b):\n    return a + b\n```\nDone.");
        let c = code_embedding("```python\nfor line in open(path):\n    print(line.strip())\n```");
        assert!((dot(&a, &a) - 1.0).abs() < 1e-5);
        assert!((dot(&a, &b) - 1.0).abs() < 1e-5, "the same code, other prose");
        assert!(dot(&a, &c) < 0.5);
    }
}
