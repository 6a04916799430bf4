//! The statistics of evaluation: the unbiased pass@k estimator, pass@k over a benchmark, the
//! binomial standard error of a pass rate, and the exact sign test of paired outcomes.

use std::collections::BTreeMap;

/// The unbiased pass@k estimate for `n` samples of which `correct` passed (Chen et al., 2021):
/// `1 − C(n−c, k) / C(n, k)`, computed as a product so large `n` stays exact enough.
pub fn pass_at_k(n: usize, correct: usize, k: usize) -> f64 {
    if n < k || correct == 0 {
        return if correct > 0 { 1.0 } else { 0.0 };
    }
    if n - correct < k {
        return 1.0;
    }
    1.0 - ((n - correct + 1)..=n)
        .map(|i| 1.0 - k as f64 / i as f64)
        .product::<f64>()
}

/// pass@k of a benchmark for each asked k: the mean over tasks of [`pass_at_k`], from each
/// task's (samples, passed). A k that some task has fewer than k samples for is left out.
pub fn pass_at(per_task: &[(usize, usize)], ks: &[usize]) -> BTreeMap<String, f64> {
    ks.iter()
        .filter(|&&k| per_task.iter().all(|&(n, _)| n >= k))
        .map(|&k| {
            let mean = per_task.iter().map(|&(n, c)| pass_at_k(n, c, k)).sum::<f64>() / per_task.len() as f64;
            (format!("pass@{k}"), mean)
        })
        .collect()
}

/// The binomial standard error of a pass rate `p` over `tasks` tasks: how far it moves by the
/// luck of which tasks a benchmark holds.
pub fn standard_error(p: f64, tasks: usize) -> f64 {
    (p * (1.0 - p) / tasks as f64).sqrt()
}

/// The exact two-sided sign test: the chance, were both outcomes equally likely, of a split of
/// `wins + losses` at least as uneven as this one.
pub fn sign_test(wins: usize, losses: usize) -> f64 {
    let n = wins + losses;
    // P(X = i) for X ~ Binomial(n, 1/2), summed over the tail i ≤ min(wins, losses).
    let mut term = 0.5f64.powi(n as i32);
    let mut tail = 0.0;
    for i in 0..=wins.min(losses) {
        tail += term;
        term *= (n - i) as f64 / (i + 1) as f64;
    }
    (2.0 * tail).min(1.0)
}

/// The mean of paired differences and its standard error (`sd / √n`), and how many are above
/// and below zero (for [`sign_test`]): a paired reading of a continuous score over tasks.
pub fn paired_differences(differences: &[f64]) -> (f64, f64, usize, usize) {
    let n = differences.len() as f64;
    if differences.is_empty() {
        return (0.0, 0.0, 0, 0);
    }
    let mean = differences.iter().sum::<f64>() / n;
    let variance = differences.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    let above = differences.iter().filter(|&&d| d > 0.0).count();
    let below = differences.iter().filter(|&&d| d < 0.0).count();
    (mean, (variance / n).sqrt(), above, below)
}

/// Paired outcomes on the same tasks: how many `a` passes and `b` fails, and the reverse, over
/// the tasks both have.
pub fn paired<K: Ord>(a: &BTreeMap<K, bool>, b: &BTreeMap<K, bool>) -> (usize, usize) {
    let only = |x: &BTreeMap<K, bool>, y: &BTreeMap<K, bool>| {
        x.iter()
            .filter(|&(task, &pass)| pass && y.get(task) == Some(&false))
            .count()
    };
    (only(a, b), only(b, a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paired_differences_by_hand() {
        // Mean 1, sample variance ((−1)² + 0² + 1²) / 2 = 1, standard error 1/√3.
        let (mean, se, above, below) = paired_differences(&[0.0, 1.0, 2.0]);
        assert_eq!((mean, above, below), (1.0, 2, 0));
        assert!((se - 1.0 / 3f64.sqrt()).abs() < 1e-12);
        assert_eq!(paired_differences(&[]), (0.0, 0.0, 0, 0));
    }

    #[test]
    fn pass_at_k_matches_the_closed_form() {
        assert_eq!(pass_at_k(1, 1, 1), 1.0);
        assert_eq!(pass_at_k(1, 0, 1), 0.0);
        assert!((pass_at_k(10, 3, 1) - 0.3).abs() < 1e-12);
        // 1 − C(7,5)/C(10,5) = 1 − 21/252
        assert!((pass_at_k(10, 3, 5) - (1.0 - 21.0 / 252.0)).abs() < 1e-12);
        assert_eq!(pass_at_k(10, 8, 5), 1.0);
    }

    #[test]
    fn pass_at_leaves_out_a_k_without_enough_samples() {
        let per_task = [(2, 1), (2, 0), (1, 1)];
        let shown = pass_at(&per_task, &[1, 2]);
        assert_eq!(shown.keys().collect::<Vec<_>>(), ["pass@1"]);
        assert!((shown["pass@1"] - 0.5).abs() < 1e-12, "(0.5 + 0 + 1) / 3");
    }

    #[test]
    fn standard_error_by_hand() {
        assert!((standard_error(0.5, 100) - 0.05).abs() < 1e-12);
        assert_eq!(standard_error(0.0, 10), 0.0);
    }

    #[test]
    fn sign_test_matches_known_values() {
        assert_eq!(sign_test(0, 0), 1.0);
        assert_eq!(sign_test(3, 3), 1.0);
        // 10 to 0: 2 / 2^10.
        assert!((sign_test(10, 0) - 2.0 / 1024.0).abs() < 1e-12);
        // 8 to 2 of 10: 2 · (1 + 10 + 45) / 1024 = 0.109375.
        assert!((sign_test(2, 8) - 0.109_375).abs() < 1e-12);
    }

    #[test]
    fn paired_counts_only_shared_tasks() {
        let a = BTreeMap::from([("t1", true), ("t2", false), ("t3", true), ("t4", true)]);
        let b = BTreeMap::from([("t1", false), ("t2", true), ("t3", true)]);
        assert_eq!(paired(&a, &b), (1, 1));
    }
}
