//! The pair stage over a whole pool, as every shell runs it: score each readable pair from its
//! text and what the shell measured of it (its tests in the sandbox, a model's reading), cut,
//! and account for every input line: kept, or dropped with a reason.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{CurateConfig, Quality, code_embedding, cut, knn_distances, long_tail, normalize, parse_share};
use crate::formats::jsonl;
use crate::pipeline::output::Input;
use crate::pipeline::record::Record;

/// What a model says of one pair (`model::read_pairs`).
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The response's mean loss given its instruction over its mean loss alone.
    pub ifd: f64,
    /// The model's last hidden states, mean-pooled over the response tokens.
    pub embedding: Vec<f32>,
}

/// A JSONL pool: its records, and each line's JSON (to find `test` fields and to write a kept
/// pair as it came).
#[derive(Debug)]
pub struct Pool {
    pub inputs: Vec<Input>,
    raw: Vec<Option<Value>>,
}

/// A readable pair of the pool.
#[derive(Debug)]
pub struct Pair<'a> {
    pub record: &'a Record,
    /// The pair's `test` field: a Python program that checks its code.
    pub test: Option<&'a str>,
}

/// What the shell measured of the readable pairs, in [`Pool::pairs`] order.
#[derive(Debug, Default)]
pub struct Measured {
    /// Whether each pair's code passes its `test` (`None`: no test, or tests not run).
    pub passes_tests: Vec<Option<bool>>,
    /// A model's reading of each pair, when a model read the pool (`Err`: why it could not).
    pub readings: Option<Vec<Result<Reading, String>>>,
}

/// The signals and scores of one pair: the `curate` object of a kept line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairScore {
    #[serde(flatten)]
    pub quality: Quality,
    pub quality_score: f64,
    pub knn_distance: f64,
    pub long_tail: f64,
    pub score: f64,
}

/// The stage's result: the kept lines (JSONL, each as it came with its `curate` object) and the
/// report.
#[derive(Debug)]
pub struct Curated {
    pub kept_lines: String,
    pub report: Report,
}

/// Every input line, kept or dropped by reason, and how the scores are spread.
#[derive(Debug, Serialize)]
pub struct Report {
    pub records_in: usize,
    pub kept: usize,
    pub dropped_by_reason: BTreeMap<String, usize>,
    pub config: CurateConfig,
    pub embedding: &'static str,
    /// Ten equal bins over [0, 1] of the scored pairs' quality, long-tail and score.
    pub histograms: BTreeMap<&'static str, [usize; 10]>,
}

impl Pool {
    /// The pool of a JSONL file's bytes and the records read from them (one input per line).
    pub fn new(bytes: &[u8], inputs: Vec<Input>) -> Pool {
        let raw = jsonl::lines(bytes)
            .into_iter()
            .map(|line| line.text.ok().and_then(|t| serde_json::from_str(t).ok()))
            .collect();
        Pool { inputs, raw }
    }

    /// The readable pairs, in input order.
    pub fn pairs(&self) -> Vec<Pair<'_>> {
        self.readable()
            .map(|(i, record)| Pair {
                record,
                test: self.raw[i].as_ref().and_then(|v| v["test"].as_str()),
            })
            .collect()
    }

    fn readable(&self) -> impl Iterator<Item = (usize, &Record)> {
        self.inputs
            .iter()
            .enumerate()
            .filter_map(|(i, input)| Some((i, input.record.as_ref().ok()?)))
    }

    /// Scores the pairs the shell measured, cuts, and accounts for every line.
    pub fn curate(&self, measured: Measured, config: &CurateConfig) -> Result<Curated, String> {
        let mut dropped: BTreeMap<String, usize> = BTreeMap::new();
        for input in &self.inputs {
            if let Err(reject) = &input.record {
                *dropped.entry(format!("unreadable: {}", reject.reason)).or_default() += 1;
            }
        }
        // The pairs that can be scored: with a model, those it read.
        let mut scored = Vec::new(); // (input index, quality)
        let mut embeddings: Vec<Vec<f32>> = Vec::new();
        for (n, (i, record)) in self.readable().enumerate() {
            let mut quality = Quality {
                parses: parse_share(&record.response),
                passes_tests: measured.passes_tests.get(n).copied().flatten(),
                ifd: None,
            };
            let embedding = match measured.readings.as_ref().map(|r| &r[n]) {
                None => code_embedding(&record.response),
                Some(Ok(reading)) => {
                    quality.ifd = Some(reading.ifd);
                    reading.embedding.clone()
                }
                Some(Err(e)) => {
                    *dropped.entry(format!("the model cannot read it: {e}")).or_default() += 1;
                    continue;
                }
            };
            scored.push((i, quality));
            embeddings.push(embedding);
        }
        if measured.readings.is_some() {
            centre(&mut embeddings);
        }
        let distances = knn_distances(&embeddings, config.k);
        let scores: Vec<PairScore> = scored
            .iter()
            .zip(distances)
            .map(|((_, quality), knn_distance)| {
                let quality_score = super::quality(quality);
                let long_tail = long_tail(knn_distance);
                PairScore {
                    quality: quality.clone(),
                    quality_score,
                    knn_distance,
                    long_tail,
                    score: quality_score * long_tail,
                }
            })
            .collect();
        let kept = cut(&scores.iter().map(|s| s.score).collect::<Vec<_>>(), config);

        let mut kept_lines = String::new();
        for (((i, _), score), &keep) in scored.iter().zip(&scores).zip(&kept) {
            if !keep {
                *dropped.entry(drop_reason(score).into()).or_default() += 1;
                continue;
            }
            let mut line = self.raw[*i].clone().ok_or("a readable record is a JSON object")?;
            line["curate"] = serde_json::to_value(score).map_err(|e| e.to_string())?;
            kept_lines.push_str(&line.to_string());
            kept_lines.push('\n');
        }
        let kept_count = kept.iter().filter(|&&k| k).count();
        if kept_count + dropped.values().sum::<usize>() != self.inputs.len() {
            return Err("an input line is neither kept nor dropped".into());
        }
        let histograms = BTreeMap::from([
            ("quality", histogram(scores.iter().map(|s| s.quality_score))),
            ("long_tail", histogram(scores.iter().map(|s| s.long_tail))),
            ("score", histogram(scores.iter().map(|s| s.score))),
        ]);
        let embedding = match measured.readings {
            Some(_) => "the model's last hidden states, mean-pooled over the response",
            None => "hashed token trigrams of the response's code (model-free)",
        };
        Ok(Curated {
            kept_lines,
            report: Report {
                records_in: self.inputs.len(),
                kept: kept_count,
                dropped_by_reason: dropped,
                config: config.clone(),
                embedding,
                histograms,
            },
        })
    }
}

/// Centres a model's embeddings on their mean, then scales each to unit length. A language
/// model's hidden states share one large common direction (they are anisotropic): uncentred,
/// every pair lies within a tiny cosine distance of every other, and the long-tail transform
/// sees only its linear corner near 0.
fn centre(embeddings: &mut [Vec<f32>]) {
    let Some(width) = embeddings.first().map(Vec::len) else {
        return;
    };
    let mut mean = vec![0f32; width];
    for embedding in embeddings.iter() {
        mean.iter_mut()
            .zip(embedding)
            .for_each(|(m, x)| *m += x / embeddings.len() as f32);
    }
    for embedding in embeddings.iter_mut() {
        embedding.iter_mut().zip(&mean).for_each(|(x, m)| *x -= m);
        normalize(embedding);
    }
}

/// Why a pair that was not kept was dropped: its first zero signal, else the cut.
fn drop_reason(s: &PairScore) -> &'static str {
    if s.quality.parses == 0.0 {
        "no code that parses"
    } else if s.quality.passes_tests == Some(false) {
        "fails its tests"
    } else if s.quality_score == 0.0 {
        "misaligned (IFD > 1)"
    } else {
        "below the cut"
    }
}

/// Counts of `values` (in [0, 1]) in ten equal bins.
fn histogram(values: impl Iterator<Item = f64>) -> [usize; 10] {
    let mut bins = [0; 10];
    for v in values {
        bins[((v * 10.0) as usize).min(9)] += 1;
    }
    bins
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::record::Fields;

    fn pool(text: &str) -> Pool {
        Pool::new(
            text.as_bytes(),
            jsonl::records(text.as_bytes(), &Fields::default(), None),
        )
    }

    #[test]
    fn every_line_is_kept_or_dropped_by_reason() {
        let text = concat!(
            r#"{"prompt":"add","completion":"```python\ndef add(a, b):\n    return a + b\n```","test":"assert add(1, 2) == 3"}"#,
            "\n{oops\n",
            r#"{"prompt":"words","completion":"Use sum."}"#,
            "\n",
            r#"{"prompt":"mul","completion":"```python\ndef mul(a, b):\n    return a * b\n```"}"#,
            "\n",
        );
        let pool = pool(text);
        assert_eq!(pool.pairs().len(), 3);
        assert_eq!(pool.pairs()[0].test, Some("assert add(1, 2) == 3"));
        let measured = Measured {
            passes_tests: vec![Some(false), None, None],
            readings: None,
        };
        let all = CurateConfig {
            keep: 1.0,
            ..CurateConfig::default()
        };
        let curated = pool.curate(measured, &all).unwrap();
        let report = &curated.report;
        assert_eq!((report.records_in, report.kept), (4, 1));
        let reasons: Vec<&str> = report.dropped_by_reason.keys().map(String::as_str).collect();
        assert_eq!(
            reasons,
            ["fails its tests", "no code that parses", "unreadable: malformed_json"]
        );
        let kept: Value = serde_json::from_str(curated.kept_lines.trim()).unwrap();
        assert_eq!(kept["prompt"], "mul");
        assert_eq!(kept["curate"]["parses"], 1.0);
    }

    #[test]
    fn a_model_reading_sets_ifd_and_the_embedding() {
        let line = |p: &str| format!("{{\"prompt\":\"{p}\",\"completion\":\"x = 1\\n\"}}\n");
        let pool = pool(&[line("a"), line("b"), line("c")].concat());
        let reading = |ifd, embedding| Ok(Reading { ifd, embedding });
        let measured = Measured {
            passes_tests: vec![],
            readings: Some(vec![
                reading(0.5, vec![1.0, 0.0]),
                reading(0.8, vec![0.0, 1.0]),
                Err("too long".into()),
            ]),
        };
        let all = CurateConfig {
            keep: 1.0,
            ..CurateConfig::default()
        };
        let curated = pool.curate(measured, &all).unwrap();
        let kept: Vec<Value> = curated
            .kept_lines
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0]["curate"]["ifd"], 0.5);
        assert_eq!(kept[0]["curate"]["quality_score"], 0.5);
        // The model's embeddings, centred: [1, 0] and [0, 1] point apart.
        let distance = kept[0]["curate"]["knn_distance"].as_f64().unwrap();
        assert!((distance - 2.0).abs() < 1e-6, "{distance}");
        assert_eq!(
            curated.report.dropped_by_reason["the model cannot read it: too long"],
            1
        );
    }
}
