//! The pair stage on a small hand-made pool: quality (parses), distances to the nearest
//! neighbours in the model-free embedding, the DS² long-tail score, the combined score and the
//! kept set, as a readable snapshot.

use std::fmt::Write;

use codeblock_core::curate::{self, CurateConfig, Quality, code_embedding, knn_distances, long_tail};

const POOL: [(&str, &str); 8] = [
    ("add", "Here:\n```python\ndef add(a, b):\n    return a + b\n```\n"),
    (
        "add-again",
        "Sure.\n```python\ndef add(a, b):\n    return a + b\n```\nDone.",
    ),
    ("add-renamed", "```python\ndef plus(x, y):\n    return x + y\n```\n"),
    (
        "lines",
        "```python\nfor line in open(path):\n    print(line.strip())\n```\n",
    ),
    (
        "primes",
        "```python\ndef primes(n):\n    sieve = [True] * (n + 1)\n    for i in range(2, n + 1):\n        if sieve[i]:\n            yield i\n            for j in range(i * i, n + 1, i):\n                sieve[j] = False\n```\n",
    ),
    ("broken", "```python\ndef broken(:\n    return\n```\n"),
    ("prose", "Use the built-in sum function on the list."),
    (
        "json",
        "```python\nimport json\nwith open(p) as f:\n    data = json.load(f)\n```\n",
    ),
];

#[test]
fn a_small_pool_is_scored_and_cut() {
    let config = CurateConfig {
        keep: 0.5,
        k: 2,
        ..CurateConfig::default()
    };
    let embeddings: Vec<Vec<f32>> = POOL.iter().map(|(_, r)| code_embedding(r)).collect();
    let distances = knn_distances(&embeddings, config.k);
    let scores: Vec<(f64, f64, f64, f64)> = POOL
        .iter()
        .zip(&distances)
        .map(|((_, response), &d)| {
            let quality = Quality {
                parses: curate::parse_share(response),
                passes_tests: None,
                ifd: None,
            };
            let q = curate::quality(&quality);
            (q, d, long_tail(d), q * long_tail(d))
        })
        .collect();
    let kept = curate::cut(&scores.iter().map(|s| s.3).collect::<Vec<_>>(), &config);
    assert_eq!(kept.iter().filter(|&&k| k).count(), 4, "half of eight");
    let mut text = String::from("pair         quality  knn-dist  long-tail  score  kept\n");
    for (((id, _), (q, d, l, s)), k) in POOL.iter().zip(&scores).zip(&kept) {
        let _ = writeln!(
            text,
            "{id:<12} {q:>7.3} {d:>9.3} {l:>10.3} {s:>6.3}  {}",
            if *k { "yes" } else { "-" }
        );
    }
    insta::with_settings!({ snapshot_path => "snapshots_curate" }, {
        insta::assert_snapshot!(text);
    });
}
