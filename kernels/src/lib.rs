//! CPU kernels for the model's steps that burn's CPU backend (flex) runs one value at a time
//! through libm's scalar `exp`: SwiGLU's SiLU and the LM head's log-softmax. Here they run eight
//! lanes at a time (`wide`, which uses the widest SIMD the build targets), fused into one pass
//! over the values instead of flex's one pass per tensor op. Also the transpose of every linear
//! layer's weights at load, tiled for the cache (by the `transpose` crate).
//!
//! Plain functions over `f32` slices, so they are tested here without a model; core's model
//! calls the first two on flex's inference path (`Llama::flex_inference`) and the transpose at
//! every load, on any device. Their own crate, so that dev builds optimise them as they do flex
//! (the workspace's dev profile).

use wide::f32x8;

const LANES: usize = 8;

/// `gate[i] ← silu(gate[i]) · up[i]`, SwiGLU's gating, with `silu(x) = x / (1 + e^{-x})`.
///
/// # Panics
/// If the slices differ in length.
pub fn silu_times(gate: &mut [f32], up: &[f32]) {
    assert_eq!(gate.len(), up.len(), "silu_times: gate and up differ in length");
    let mut gates = gate.chunks_exact_mut(LANES);
    let mut ups = up.chunks_exact(LANES);
    for (g, u) in gates.by_ref().zip(ups.by_ref()) {
        g.copy_from_slice(&silu_times_lanes(lanes(g), lanes(u)));
    }
    // The tail goes through the same lanes, so a value's result never depends on its position.
    let (g, u) = (gates.into_remainder(), ups.remainder());
    let out = silu_times_lanes(padded(g, 0.0), padded(u, 0.0));
    g.copy_from_slice(&out[..g.len()]);
}

fn silu_times_lanes(gate: f32x8, up: f32x8) -> [f32; LANES] {
    (gate / (f32x8::ONE + (-gate).exp()) * up).to_array()
}

/// Each row's log-softmax at its target: `logits` holds `targets.len()` rows of `vocab` values,
/// and row r gives `logits[r][t] − max_r − ln Σ_j e^{logits[r][j] − max_r}` for its target `t`.
/// The same arithmetic as burn's `log_softmax` then `gather`, without writing out the rest.
///
/// # Panics
/// If `logits` is not `targets.len()` rows of `vocab` values, or a target is not below `vocab`.
pub fn target_log_probs(logits: &[f32], vocab: usize, targets: &[usize]) -> Vec<f32> {
    assert_eq!(
        logits.len(),
        vocab * targets.len(),
        "target_log_probs: logits are not rows × vocab"
    );
    logits
        .chunks_exact(vocab)
        .zip(targets)
        .map(|(row, &target)| {
            let max = row_max(row);
            row[target] - max - sum_exp_shifted(row, max).ln()
        })
        .collect()
}

/// A row-major `[rows, cols]` matrix as row-major `[cols, rows]`.
///
/// # Panics
/// If `values` is not `rows × cols` values.
pub fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    assert_eq!(values.len(), rows * cols, "transpose: values are not rows × cols");
    let mut out = vec![0.0; values.len()];
    ::transpose::transpose(values, &mut out, cols, rows);
    out
}

fn row_max(row: &[f32]) -> f32 {
    let chunks = row.chunks_exact(LANES);
    let tail = chunks.remainder().iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let max = chunks.fold(f32x8::splat(f32::NEG_INFINITY), |max, c| max.max(lanes(c)));
    max.to_array().into_iter().fold(tail, f32::max)
}

/// `Σ e^{x − max}` over a row, in eight partial sums.
fn sum_exp_shifted(row: &[f32], max: f32) -> f32 {
    let shift = f32x8::splat(max);
    let chunks = row.chunks_exact(LANES);
    // Padding lanes are −∞, whose exponential adds nothing.
    let tail = (padded(chunks.remainder(), f32::NEG_INFINITY) - shift).exp();
    let sum = chunks.fold(tail, |sum, c| sum + (lanes(c) - shift).exp());
    sum.reduce_add()
}

fn lanes(values: &[f32]) -> f32x8 {
    f32x8::from(<[f32; LANES]>::try_from(values).expect("a whole chunk of lanes"))
}

/// Up to eight values, the rest of the lanes set to `fill`.
fn padded(values: &[f32], fill: f32) -> f32x8 {
    let mut lanes = [fill; LANES];
    lanes[..values.len()].copy_from_slice(values);
    f32x8::from(lanes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn silu_times_matches_the_scalar_formula_at_every_length() {
        // Lengths on and off the lanes, values from deep in either tail to near zero.
        for len in [0, 1, 7, 8, 9, 23, 64] {
            let gate: Vec<f32> = (0..len).map(|i| (i as f32 - 11.0) * 1.7).collect();
            let up: Vec<f32> = (0..len).map(|i| 0.5 - i as f32 * 0.13).collect();
            let mut out = gate.clone();
            silu_times(&mut out, &up);
            for ((g, u), o) in gate.iter().zip(&up).zip(&out) {
                let expected = g / (1.0 + (-g).exp()) * u;
                assert!(
                    close(*o, expected),
                    "len {len}: silu({g}) · {u} = {o}, expected {expected}"
                );
            }
        }
        let mut extreme = [-200.0, 200.0, 0.0, -0.0, 88.0, -88.0, 1e-30, -1e-30, 1e30];
        silu_times(&mut extreme, &[1.0; 9]);
        assert_eq!(extreme[..4], [0.0, 200.0, 0.0, 0.0]);
        assert!(extreme.iter().all(|x| x.is_finite()), "{extreme:?}");
    }

    #[test]
    fn a_value_gets_the_same_bits_wherever_it_sits() {
        let mut alone = [0.37];
        silu_times(&mut alone, &[2.0]);
        let mut among = [1.0, 2.0, 3.0, 0.37];
        silu_times(&mut among, &[1.0, 1.0, 1.0, 2.0]);
        let mut longer = vec![0.5; 11];
        longer[8] = 0.37;
        let mut up = vec![1.0; 11];
        up[8] = 2.0;
        silu_times(&mut longer, &up);
        assert_eq!(alone[0].to_bits(), among[3].to_bits());
        assert_eq!(alone[0].to_bits(), longer[8].to_bits());
    }

    #[test]
    fn target_log_probs_match_a_scalar_log_softmax() {
        for vocab in [1, 5, 8, 13, 1000] {
            let rows = 3;
            let logits: Vec<f32> = (0..rows * vocab)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.3)
                .collect();
            let targets: Vec<usize> = (0..rows).map(|r| (r * 7) % vocab).collect();
            let got = target_log_probs(&logits, vocab, &targets);
            for (r, (row, &t)) in logits.chunks(vocab).zip(&targets).enumerate() {
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let sum: f64 = row.iter().map(|&x| f64::from(x - max).exp()).sum();
                let expected = (f64::from(row[t] - max) - sum.ln()) as f32;
                assert!(
                    close(got[r], expected),
                    "vocab {vocab}, row {r}: {} vs {expected}",
                    got[r]
                );
                assert!(got[r] <= 0.0);
            }
        }
    }

    #[test]
    fn transpose_moves_every_value_to_its_mirrored_place() {
        // Shapes smaller and larger than a cache tile, square and not, and empty.
        for (rows, cols) in [(0, 3), (1, 1), (2, 3), (3, 2), (17, 5), (64, 130), (257, 96)] {
            let values: Vec<f32> = (0..rows * cols).map(|i| i as f32).collect();
            let out = transpose(&values, rows, cols);
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(out[c * rows + r], values[r * cols + c], "{rows}×{cols} at ({r}, {c})");
                }
            }
            assert_eq!(transpose(&out, cols, rows), values, "{rows}×{cols} and back");
        }
    }

    #[test]
    fn a_dominant_logit_gives_a_log_prob_near_zero_and_the_others_far_below() {
        let logits = [0.0, 100.0, 0.0, 0.0, -1e30, 0.0, 0.0, 0.0, 0.0];
        let got = target_log_probs(&logits, 9, &[1]);
        assert!(got[0].abs() < 1e-6, "{got:?}");
        let got = target_log_probs(&logits, 9, &[0]);
        assert!(close(got[0], -100.0), "{got:?}");
        assert!(target_log_probs(&logits, 9, &[4])[0] < -1e29);
    }
}
