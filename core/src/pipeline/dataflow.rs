//! Data flow: rerank items by where their definitions flow.
//!
//! On the def-use graph of one response (from [`crate::pipeline::names`]):
//! - **reach** of item i: the utility of every item its definitions flow into, directly or
//!   transitively, over the response's total utility — in [0, 1).
//! - **bridge** of item i: the pairs of other items that are connected (ignoring direction) only
//!   through i, over all pairs of other items, `C(n-1, 2)` — in [0, 1]; the middle of a chain
//!   scores 1, a leaf 0.
//! - **priority**: items below the gate (the `gate_quantile` utility of the response's
//!   candidate items) keep their utility; above it, `utility × (1 + λ_reach·reach +
//!   λ_bridge·bridge)`. The gate stops plumbing that the model already predicts well from
//!   riding on its connections.

use serde::{Deserialize, Serialize};

use crate::pipeline::names::Edge;

/// Knobs of the data-flow rerank.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataflowConfig {
    pub lambda_reach: f64,
    pub lambda_bridge: f64,
    /// Utility quantile (0–1, within a response) an item must reach to get data-flow bonuses.
    pub gate_quantile: f64,
    /// Responses with more items than this skip data flow (reach and bridge cost O(n·edges)).
    pub max_items: usize,
}

impl Default for DataflowConfig {
    fn default() -> Self {
        DataflowConfig {
            lambda_reach: 0.5,
            lambda_bridge: 0.5,
            gate_quantile: 0.5,
            max_items: 2000,
        }
    }
}

/// Adjacency lists of the def-use graph.
struct Graph {
    out: Vec<Vec<usize>>,
    undirected: Vec<Vec<usize>>,
}

impl Graph {
    fn new(n: usize, edges: &[Edge]) -> Self {
        let mut graph = Graph {
            out: vec![Vec::new(); n],
            undirected: vec![Vec::new(); n],
        };
        for edge in edges {
            graph.out[edge.from].push(edge.to);
            graph.undirected[edge.from].push(edge.to);
            graph.undirected[edge.to].push(edge.from);
        }
        graph
    }
}

/// The data-flow signals of one response's items.
#[derive(Debug, Clone, PartialEq)]
pub struct Signals {
    pub reach: Vec<f64>,
    pub bridge: Vec<f64>,
    /// Why data flow was skipped (too many items), to report as a diagnostic.
    pub skipped: Option<String>,
}

/// Reach and bridge of every item, or zeros with the reason when the response has more than
/// `max_items` items.
pub fn signals(utility: &[f64], edges: &[Edge], config: &DataflowConfig) -> Signals {
    let n = utility.len();
    if n > config.max_items {
        return Signals {
            reach: vec![0.0; n],
            bridge: vec![0.0; n],
            skipped: Some(format!(
                "{n} items exceed dataflow.max_items ({}): reach and bridge are left at 0",
                config.max_items
            )),
        };
    }
    Signals {
        reach: reach(utility, edges),
        bridge: bridge(n, edges),
        skipped: None,
    }
}

/// Reach of every item; `utility` is per item.
pub fn reach(utility: &[f64], edges: &[Edge]) -> Vec<f64> {
    let n = utility.len();
    let total: f64 = utility.iter().sum();
    let graph = Graph::new(n, edges);
    let mut seen = vec![usize::MAX; n];
    (0..n)
        .map(|start| {
            // Depth-first over descendants; `seen[k] == start` marks visits of this walk.
            let mut stack = vec![start];
            seen[start] = start;
            let mut flowed = 0.0;
            while let Some(node) = stack.pop() {
                for &next in &graph.out[node] {
                    if seen[next] != start {
                        seen[next] = start;
                        flowed += utility[next];
                        stack.push(next);
                    }
                }
            }
            if total > 0.0 { flowed / total } else { 0.0 }
        })
        .collect()
}

/// Bridge of every item among `n`, from articulation points of the undirected graph.
pub fn bridge(n: usize, edges: &[Edge]) -> Vec<f64> {
    let pairs = |k: usize| (k * k.saturating_sub(1) / 2) as f64;
    let all_pairs = pairs(n.saturating_sub(1));
    let graph = Graph::new(n, edges);
    let disconnected = disconnected_pairs(&graph.undirected);
    disconnected
        .into_iter()
        .map(|d| if all_pairs > 0.0 { d as f64 / all_pairs } else { 0.0 })
        .collect()
}

/// For every node v: how many pairs of other nodes that are connected lose their connection
/// when v is removed (Tarjan's articulation points, iteratively, with subtree sizes).
fn disconnected_pairs(adjacency: &[Vec<usize>]) -> Vec<usize> {
    let n = adjacency.len();
    let pairs = |k: usize| k * k.saturating_sub(1) / 2;
    let mut order = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut size = vec![1usize; n];
    // Sizes of the subtrees that removing v cuts off, per v.
    let mut separated: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut result = vec![0; n];
    let mut counter = 0;
    for root in 0..n {
        if order[root] != usize::MAX {
            continue;
        }
        let mut component = Vec::new();
        // Frames: (node, parent, index of the next neighbour to look at).
        let mut stack = vec![(root, usize::MAX, 0usize)];
        order[root] = counter;
        low[root] = counter;
        counter += 1;
        while let Some(frame) = stack.last_mut() {
            let (node, parent, next) = *frame;
            if next < adjacency[node].len() {
                frame.2 += 1;
                let neighbour = adjacency[node][next];
                if order[neighbour] == usize::MAX {
                    order[neighbour] = counter;
                    low[neighbour] = counter;
                    counter += 1;
                    stack.push((neighbour, node, 0));
                } else if neighbour != parent {
                    low[node] = low[node].min(order[neighbour]);
                }
            } else {
                stack.pop();
                component.push(node);
                if parent != usize::MAX {
                    low[parent] = low[parent].min(low[node]);
                    size[parent] += size[node];
                    if low[node] >= order[parent] {
                        separated[parent].push(size[node]);
                    }
                }
            }
        }
        let others = component.len() - 1;
        for &v in &component {
            let cut: usize = separated[v].iter().sum();
            let rest = others - cut;
            let after: usize = separated[v].iter().map(|&s| pairs(s)).sum::<usize>() + pairs(rest);
            result[v] = pairs(others) - after;
        }
    }
    result
}

/// Gated priority of every item of one response. The gate is the quantile of the utilities of
/// the `candidate` items only: items that can never be selected (no core tokens, utility 0)
/// must not pull it down.
pub fn priority(
    utility: &[f64],
    reach: &[f64],
    bridge: &[f64],
    candidate: &[bool],
    config: &DataflowConfig,
) -> Vec<f64> {
    let ranked: Vec<f64> = utility
        .iter()
        .zip(candidate)
        .filter(|&(_, &c)| c)
        .map(|(&u, _)| u)
        .collect();
    let gate = quantile(&ranked, config.gate_quantile);
    utility
        .iter()
        .zip(reach.iter().zip(bridge))
        .map(|(&u, (&r, &b))| {
            if u < gate {
                u
            } else {
                u * (1.0 + config.lambda_reach * r + config.lambda_bridge * b)
            }
        })
        .collect()
}

/// The lower nearest-rank quantile: the value at index `floor(q·(n−1))` of the sorted values.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let index = (q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64).floor() as usize;
    sorted[index]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(pairs: &[(usize, usize)]) -> Vec<Edge> {
        pairs
            .iter()
            .map(|&(from, to)| Edge {
                from,
                to,
                names: vec![],
            })
            .collect()
    }

    #[test]
    fn reach_on_a_chain_and_a_fork() {
        // 0 → 1 → 2, and 0 → 3. Utilities 1, 2, 3, 4 (total 10).
        let e = edges(&[(0, 1), (1, 2), (0, 3)]);
        let r = reach(&[1.0, 2.0, 3.0, 4.0], &e);
        assert_eq!(r, vec![0.9, 0.3, 0.0, 0.0]);
    }

    #[test]
    fn reach_survives_cycles() {
        let r = reach(&[1.0, 1.0], &edges(&[(0, 1), (1, 0)]));
        assert_eq!(r, vec![0.5, 0.5]);
    }

    #[test]
    fn bridge_by_hand() {
        // Chain 0 - 1 - 2: removing 1 disconnects the only other pair → 1.
        assert_eq!(bridge(3, &edges(&[(0, 1), (1, 2)])), vec![0.0, 1.0, 0.0]);
        // Star with centre 0 and leaves 1, 2, 3, plus an isolated 4: C(4,2) = 6 pairs of others;
        // removing 0 disconnects the 3 leaf pairs → 0.5.
        assert_eq!(
            bridge(5, &edges(&[(0, 1), (0, 2), (0, 3)])),
            vec![0.5, 0.0, 0.0, 0.0, 0.0]
        );
        // A triangle has no bridge; a tail 2 - 3 hanging off it makes 2 one: removing 2
        // disconnects 3 from 0 and 1 → 2 of C(3,2) = 3 pairs.
        let b = bridge(4, &edges(&[(0, 1), (1, 2), (2, 0), (2, 3)]));
        assert_eq!(b, vec![0.0, 0.0, 2.0 / 3.0, 0.0]);
    }

    #[test]
    fn priority_is_gated() {
        let config = DataflowConfig {
            lambda_reach: 0.5,
            lambda_bridge: 1.0,
            gate_quantile: 0.5,
            ..Default::default()
        };
        // Gate = lower median of [1, 2, 4] = 2: item 0 gets no bonus.
        let (reach, bridge) = ([1.0, 0.5, 0.0, 0.0], [1.0, 0.0, 0.5, 0.0]);
        let p = priority(
            &[1.0, 2.0, 4.0, 0.0],
            &reach,
            &bridge,
            &[true, true, true, false],
            &config,
        );
        assert_eq!(p, vec![1.0, 2.0 * 1.25, 4.0 * 1.5, 0.0]);
        // Over all four items the gate would be 1, and item 0 would ride on its reach.
        let p = priority(&[1.0, 2.0, 4.0, 0.0], &reach, &bridge, &[true; 4], &config);
        assert_eq!(p[0], 1.0 * 2.5);
    }

    #[test]
    fn quantiles() {
        assert_eq!(quantile(&[3.0, 1.0, 2.0, 4.0], 0.5), 2.0);
        assert_eq!(quantile(&[3.0, 1.0], 1.0), 3.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }
}
