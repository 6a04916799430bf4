//! The pair stage, before token selection: keep the instruction/response pairs that are of high
//! quality and in the long tail of the pool (CodeBlock's first stage, after DS²). Per pair a
//! **quality** in [0, 1] ([`quality`]) and a **long-tail** score in [0, 1) ([`long_tail`]: how
//! far the pair lies from its k nearest neighbours in an embedding space), combined into one
//! `score = quality × long_tail`; the top fraction is kept ([`cut`]).

mod embed;
mod pool;

pub use embed::{code_embedding, knn_distances, normalize};
pub use pool::{Curated, Measured, Pair, PairScore, Pool, Reading, Report};

use serde::{Deserialize, Serialize};

use crate::pipeline::lang::Language;
use crate::pipeline::partition::PartitionConfig;
use crate::pipeline::segment::SegmentKind;
use crate::pipeline::structure;

/// Knobs of the pair stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CurateConfig {
    /// Fraction of the pairs to keep (by score), when no count is given.
    pub keep: f64,
    /// Keep this many pairs instead of a fraction.
    pub keep_count: Option<usize>,
    /// Neighbours whose mean distance makes the long-tail score.
    pub k: usize,
}

impl Default for CurateConfig {
    fn default() -> Self {
        CurateConfig {
            keep: 0.5,
            keep_count: None,
            k: 10,
        }
    }
}

/// What is known of one pair's quality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    /// The share of the response's code (bytes) in code blocks that parse without an error;
    /// 0 for a response with no code in a language this build parses.
    pub parses: f64,
    /// Whether the response's code passes the pair's own tests, when it carries any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passes_tests: Option<bool>,
    /// Instruction-following difficulty under a model, when one scored the pair: the response's
    /// loss given the instruction over its loss alone (Li et al. 2024).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ifd: Option<f64>,
}

/// The quality of a pair: `parses × tests × ifd`, where failing its own tests makes it 0, and
/// IFD counts as itself up to 1 (high: the response stays hard to predict even given the
/// instruction, so there is most to learn) and as 0 above 1 (the instruction makes the
/// response *less* likely: a misaligned pair, which Li et al. drop). Missing signals count 1.
pub fn quality(q: &Quality) -> f64 {
    let tests = match q.passes_tests {
        Some(false) => 0.0,
        _ => 1.0,
    };
    let ifd = match q.ifd {
        Some(ifd) if ifd.is_finite() && ifd <= 1.0 => ifd.max(0.0),
        Some(_) => 0.0,
        None => 1.0,
    };
    q.parses * tests * ifd
}

/// The share of a response's code, in bytes, that lies in code blocks parsing without an error
/// (a response that is code without fences counts as one block).
pub fn parse_share(response: &str) -> f64 {
    let (mut clean, mut all) = (0, 0);
    for block in code_blocks(response) {
        all += block.code.len();
        clean += if block.parses { block.code.len() } else { 0 };
    }
    match all {
        0 => 0.0,
        _ => clean as f64 / all as f64,
    }
}

/// A block of a response's code, in a language this build parses.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeBlock<'a> {
    pub language: Language,
    pub code: &'a str,
    /// Whether it parses without an error.
    pub parses: bool,
}

/// The code of a response, as the structure stages read it: its fences in the languages this
/// build parses (an untagged one in the language it is read as), or the whole response when it
/// has no fence and parses as Python.
pub fn code_blocks(response: &str) -> Vec<CodeBlock<'_>> {
    let mut diagnostics = Vec::new();
    structure::parsed_segments(response, &PartitionConfig::default(), &mut diagnostics)
        .into_iter()
        .filter_map(|(segment, tree)| {
            let (SegmentKind::Code { language, .. }, Some(tree)) = (segment.kind, tree) else {
                return None;
            };
            Some(CodeBlock {
                language,
                code: &response[segment.span.start..segment.span.end],
                parses: !tree.root_node().has_error(),
            })
        })
        .collect()
}

/// A response's Python code blocks (what a pair's Python `test` runs against).
pub fn python_blocks(response: &str) -> Vec<&str> {
    code_blocks(response)
        .into_iter()
        .filter(|b| b.language == Language::Python)
        .map(|b| b.code)
        .collect()
}

/// DS²'s long-tail score of a mean neighbour distance `d`: `2 / (1 + e^(−d)) − 1`, in [0, 1).
pub fn long_tail(d: f64) -> f64 {
    2.0 / (1.0 + libm::exp(-d)) - 1.0
}

/// Which pairs to keep: the top `keep_count` (or `keep` fraction, rounded) by score, never one
/// that scores 0 (no parsing code, failed tests); ties keep the earlier pair.
pub fn cut(scores: &[f64], config: &CurateConfig) -> Vec<bool> {
    let count = config
        .keep_count
        .unwrap_or_else(|| (config.keep.clamp(0.0, 1.0) * scores.len() as f64).round() as usize)
        .min(scores.len());
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut kept = vec![false; scores.len()];
    for &i in order[..count].iter().filter(|&&i| scores[i] > 0.0) {
        kept[i] = true;
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ds2_transform_by_hand() {
        assert_eq!(long_tail(0.0), 0.0);
        // 2 / (1 + e^-1) - 1 = tanh(1/2).
        assert!((long_tail(1.0) - 0.5f64.tanh()).abs() < 1e-12);
        // Cosine distances lie in [0, 2]: the score stays below 2 / (1 + e^-2) - 1 = 0.762.
        assert!(long_tail(2.0) > long_tail(1.0) && long_tail(2.0) < 0.77);
    }

    #[test]
    fn quality_multiplies_its_signals() {
        let q = |parses, passes_tests, ifd| {
            quality(&Quality {
                parses,
                passes_tests,
                ifd,
            })
        };
        assert_eq!(q(1.0, None, None), 1.0);
        assert_eq!(q(0.5, Some(true), None), 0.5);
        assert_eq!(q(1.0, Some(false), None), 0.0, "failing its own tests");
        assert_eq!(q(1.0, None, Some(0.8)), 0.8);
        assert_eq!(
            q(1.0, None, Some(1.3)),
            0.0,
            "the instruction makes the response less likely"
        );
        assert_eq!(q(0.0, Some(true), Some(0.9)), 0.0, "no code that parses");
    }

    #[test]
    fn parse_share_counts_code_bytes_in_clean_blocks() {
        assert_eq!(parse_share("Just words."), 0.0);
        assert_eq!(parse_share("```python\nx = 1\n```\n"), 1.0);
        assert_eq!(parse_share("x = 1\ny = x\n"), 1.0, "code without fences");
        let half = "```python\nx = 1\n```\n```python\ny = (\n```\n";
        assert_eq!(parse_share(half), 0.5, "one clean block of two the same size");
        assert_eq!(parse_share("```js\nlet x = 1;\n```\n"), 1.0, "JavaScript parses");
        assert_eq!(parse_share("```js\nlet x = ;\n```\n"), 0.0, "broken JavaScript");
        assert_eq!(
            parse_share("```bash\nls -l\n```\n"),
            0.0,
            "no grammar: not code that parses"
        );
        let blocks = code_blocks("```\nconst f = (x) => x * 2;\n```\n```py\nimport os\n```\n");
        let languages: Vec<Language> = blocks.iter().map(|b| b.language).collect();
        assert_eq!(
            languages,
            [Language::JavaScript, Language::Python],
            "an untagged fence read as JavaScript"
        );
        assert_eq!(
            python_blocks("```\nconst f = (x) => x * 2;\n```\n```py\nimport os\n```\n"),
            ["import os\n"]
        );
    }

    #[test]
    fn the_cut_keeps_the_top_scores() {
        let scores = [0.2, 0.9, 0.5, 0.9, 0.1];
        let config = CurateConfig {
            keep: 0.4,
            ..CurateConfig::default()
        };
        assert_eq!(cut(&scores, &config), [false, true, false, true, false]);
        let three = CurateConfig {
            keep_count: Some(3),
            ..config
        };
        assert_eq!(cut(&scores, &three), [false, true, true, true, false]);
        let all = CurateConfig {
            keep: 1.0,
            ..CurateConfig::default()
        };
        assert_eq!(cut(&[0.3, 0.0], &all), [true, false], "a zero score is never kept");
    }
}
