//! The experiment's table (`table.md`) and summary (`experiment.json`). Per arm: pass@1 on
//! each benchmark (base tests, and base + plus where there are plus inputs) as the mean over
//! seeds with their standard deviation, the mean NLL of the canonical solutions, the supervised
//! fraction, reply length and training time. Then the sweep, and paired comparisons on the same
//! tasks against `base` and `full` (and `codeblock` against each other arm), on the seeds both
//! sides have: pass/fail per task (a task's pass averaged over those seeds) with the exact sign
//! test, and the NLL difference per task with its standard error and sign test.

use std::collections::BTreeMap;

use anyhow::Result;
use codeblock_core::eval::results::first_outcomes;
use codeblock_core::eval::stats::{paired_differences, sign_test};
use codeblock_core::eval::tasks::InputSet;
use serde::Serialize;
use serde_json::{Value, json};

use super::{Args, Arm, Readings, Run, Training};

/// One trained model's run and measurements.
#[derive(Debug)]
pub struct Row {
    pub run: Run,
    pub training: Training,
    pub readings: Readings,
}

/// One setting the sweep tried, read on the validation benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct Tried {
    pub run: Run,
    pub pass_at_1: f64,
    pub nll: f64,
    pub chosen: bool,
}

impl Tried {
    pub fn new(run: Run, readings: &Readings, bench: &str) -> Tried {
        let pass_at_1 = readings
            .results
            .benchmarks
            .get(bench)
            .and_then(|b| b.pass_at_1())
            .unwrap_or(f64::NAN);
        Tried {
            run,
            pass_at_1,
            nll: mean(readings.nll.iter().map(|l| l.nll)),
            chosen: false,
        }
    }
}

/// A benchmark's column: its base tests, or base and plus inputs together (`NAME+`).
type Column = (String, InputSet);

/// A group of models read together: `base`, or one arm's seeds.
struct Group<'a> {
    name: String,
    readings: Vec<&'a Readings>,
    training: Vec<&'a Training>,
}

pub fn write(args: &Args, base: &Readings, rows: &[Row], sweep: &[Tried]) -> Result<()> {
    let mut groups = vec![Group {
        name: "base".into(),
        readings: vec![base],
        training: Vec::new(),
    }];
    for &arm in &args.modes {
        let of_arm: Vec<&Row> = rows.iter().filter(|r| r.run.arm == arm).collect();
        groups.push(Group {
            name: arm.name(),
            readings: of_arm.iter().map(|r| &r.readings).collect(),
            training: of_arm.iter().map(|r| &r.training).collect(),
        });
    }
    let benches: Vec<&str> = args.eval.split(',').map(str::trim).collect();
    let columns = columns(&benches, &groups);
    let mut lines = main_table(&columns, &benches, &groups);
    let mut summary = json!({
        "settings": settings(args),
        "arms": groups.iter().map(|g| group_summary(g, &columns, &benches)).collect::<Vec<_>>(),
        "runs": rows.iter().map(|r| json!({
            "run": r.run, "name": r.run.name(),
            "supervised_fraction": r.training.supervised_fraction, "train_s": r.training.seconds,
            "train_settings": r.training.settings,
            "pass@1": columns.iter().map(|c| (name(c), pass_at_1(&r.readings, c))).collect::<BTreeMap<_, _>>(),
        })).collect::<Vec<_>>(),
        "sweep": sweep,
    });
    if !sweep.is_empty() {
        lines.extend(sweep_table(args, sweep));
    }
    let (paired_lines, paired) = paired(&groups, &columns);
    lines.extend(paired_lines);
    summary["paired"] = paired;
    let table = lines.join("\n") + "\n";
    print!("{table}");
    std::fs::write(args.out.join("table.md"), &table)?;
    std::fs::write(
        args.out.join("experiment.json"),
        serde_json::to_string_pretty(&summary)? + "\n",
    )?;
    Ok(())
}

fn columns(benches: &[&str], groups: &[Group]) -> Vec<Column> {
    let mut columns = Vec::new();
    for &bench in benches {
        columns.push((bench.to_string(), InputSet::Base));
        let has_plus = groups
            .iter()
            .flat_map(|g| &g.readings)
            .any(|r| r.results.benchmarks.get(bench).is_some_and(|b| b.plus.is_some()));
        if has_plus {
            columns.push((bench.to_string(), InputSet::Plus));
        }
    }
    columns
}

fn name((bench, set): &Column) -> String {
    match set {
        InputSet::Base => bench.clone(),
        InputSet::Plus => format!("{bench}+"),
    }
}

fn pass_at_1(readings: &Readings, (bench, set): &Column) -> f64 {
    let result = readings.results.benchmarks.get(bench);
    match set {
        InputSet::Base => result.and_then(|r| r.pass_at_1()),
        InputSet::Plus => result.and_then(|r| r.plus_pass_at_1()),
    }
    .unwrap_or(f64::NAN)
}

pub fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    sum / n as f64
}

/// The sample standard deviation; `None` for fewer than two values.
pub fn spread(values: &[f64]) -> Option<f64> {
    (values.len() >= 2).then(|| {
        let m = mean(values.iter().copied());
        (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (values.len() - 1) as f64).sqrt()
    })
}

/// A model's mean NLL over one benchmark's tasks.
fn bench_nll(readings: &Readings, bench: &str) -> f64 {
    mean(readings.nll.iter().filter(|l| l.bench == bench).map(|l| l.nll))
}

fn reply_tokens(readings: &Readings) -> f64 {
    readings
        .results
        .generated
        .as_ref()
        .map_or(f64::NAN, |g| g.tokens as f64 / g.replies.max(1) as f64)
}

fn main_table(columns: &[Column], benches: &[&str], groups: &[Group]) -> Vec<String> {
    let names: Vec<String> = columns.iter().map(name).collect();
    let nll_names: Vec<String> = benches.iter().map(|b| format!("NLL {b}")).collect();
    let mut lines = vec![
        format!(
            "| arm | seeds | supervised | train s | reply tokens | {} | {} |",
            names.join(" | "),
            nll_names.join(" | ")
        ),
        format!("|---|---|---|---|---|{}", "---|".repeat(names.len() + benches.len())),
    ];
    for group in groups {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| {
                let values: Vec<f64> = group.readings.iter().map(|r| pass_at_1(r, c)).collect();
                let shown = format!("{:.1}%", 100.0 * mean(values.iter().copied()));
                match spread(&values) {
                    Some(sd) => format!("{shown} ±{:.1}", 100.0 * sd),
                    None => shown,
                }
            })
            .collect();
        let nll: Vec<String> = benches
            .iter()
            .map(|b| format!("{:.4}", mean(group.readings.iter().map(|r| bench_nll(r, b)))))
            .collect();
        let trained = |f: fn(&Training) -> f64| match group.training.is_empty() {
            true => None,
            false => Some(mean(group.training.iter().map(|t| f(t)))),
        };
        let supervised = trained(|t| t.supervised_fraction).map_or("–".into(), |f| format!("{:.2}%", 100.0 * f));
        let seconds = trained(|t| t.seconds).map_or("–".into(), |s| format!("{s:.0}"));
        lines.push(format!(
            "| {} | {} | {supervised} | {seconds} | {:.0} | {} | {} |",
            group.name,
            group.readings.len(),
            mean(group.readings.iter().map(|r| reply_tokens(r))),
            cells.join(" | "),
            nll.join(" | ")
        ));
    }
    lines.push(String::new());
    lines.push(
        "Pass@1 is the mean over seeds, ± their standard deviation (two or more seeds); NLL is the \
         mean negative log-likelihood per token (nats) of the canonical solutions, lower is better."
            .into(),
    );
    lines
}

fn group_summary(group: &Group, columns: &[Column], benches: &[&str]) -> Value {
    let per_column = |c: &Column| {
        let values: Vec<f64> = group.readings.iter().map(|r| pass_at_1(r, c)).collect();
        json!({ "mean": mean(values.iter().copied()), "sd": spread(&values), "seeds": values })
    };
    json!({
        "arm": group.name,
        "seeds": group.readings.len(),
        "pass@1": columns.iter().map(|c| (name(c), per_column(c))).collect::<BTreeMap<_, _>>(),
        "nll": benches.iter().map(|b| (b.to_string(), mean(group.readings.iter().map(|r| bench_nll(r, b))))).collect::<BTreeMap<_, _>>(),
        "reply_tokens": mean(group.readings.iter().map(|r| reply_tokens(r))),
        "supervised_fraction": (!group.training.is_empty()).then(|| mean(group.training.iter().map(|t| t.supervised_fraction))),
        "train_s": (!group.training.is_empty()).then(|| mean(group.training.iter().map(|t| t.seconds))),
    })
}

fn sweep_table(args: &Args, sweep: &[Tried]) -> Vec<String> {
    let mut lines = vec![
        String::new(),
        format!(
            "| sweep (seed {}, on {}) | pass@1 | NLL | chosen |",
            args.training.seed, args.validate
        ),
        "|---|---|---|---|".into(),
    ];
    for tried in sweep {
        lines.push(format!(
            "| {} | {:.1}% | {:.4} | {} |",
            tried.run.name(),
            100.0 * tried.pass_at_1,
            tried.nll,
            if tried.chosen { "yes" } else { "" }
        ));
    }
    lines
}

/// Which groups are compared: each arm with `base` and with `full`, and `codeblock` with
/// every other arm.
fn comparisons<'a>(groups: &'a [Group]) -> Vec<(&'a Group<'a>, &'a Group<'a>)> {
    let find = |name: &str| groups.iter().find(|g| g.name == name);
    let mut pairs = Vec::new();
    for other in [find("base"), find(&Arm::Full.name())].into_iter().flatten() {
        pairs.extend(
            groups
                .iter()
                .filter(|g| g.name != other.name && g.name != "base")
                .map(|g| (g, other)),
        );
    }
    if let Some(codeblock) = find(&Arm::Codeblock.name()) {
        let full = Arm::Full.name();
        pairs.extend(
            groups
                .iter()
                .filter(|g| ![codeblock.name.as_str(), "base", full.as_str()].contains(&g.name.as_str()))
                .map(|g| (codeblock, g)),
        );
    }
    pairs
}

/// Each task's pass rate over some models (first sample of each).
fn task_passes(models: &[&Readings], set: InputSet) -> BTreeMap<(String, String), f64> {
    mean_per_task(models.iter().flat_map(|r| {
        first_outcomes(&r.outcomes, set)
            .into_iter()
            .map(|(task, pass)| (task, f64::from(u8::from(pass))))
    }))
}

/// The models two groups are paired on: the seeds both have (the first of each, in seed order).
/// Averaging more seeds on one side only would bias the sign test: at low pass rates a task's
/// mean over three seeds beats a single model's 0 far more often than it falls short of a 1.
fn seed_matched<'g, 'r>(a: &'g Group<'r>, b: &'g Group<'r>) -> (&'g [&'r Readings], &'g [&'r Readings]) {
    let seeds = a.readings.len().min(b.readings.len());
    (&a.readings[..seeds], &b.readings[..seeds])
}

/// For each task both have, `a`'s value less `b`'s (in task order).
fn differences(a: &BTreeMap<(String, String), f64>, b: &BTreeMap<(String, String), f64>) -> Vec<f64> {
    a.iter().filter_map(|(task, x)| b.get(task).map(|y| x - y)).collect()
}

/// Each task's NLL averaged over some models.
fn task_nll(models: &[&Readings]) -> BTreeMap<(String, String), f64> {
    mean_per_task(
        models
            .iter()
            .flat_map(|r| &r.nll)
            .map(|l| ((l.bench.clone(), l.task_id.clone()), l.nll)),
    )
}

/// The mean of each task's values (one a model: a task's value averaged over seeds).
pub fn mean_per_task(values: impl Iterator<Item = ((String, String), f64)>) -> BTreeMap<(String, String), f64> {
    let mut sums: BTreeMap<(String, String), (f64, usize)> = BTreeMap::new();
    for (task, value) in values {
        let entry = sums.entry(task).or_default();
        *entry = (entry.0 + value, entry.1 + 1);
    }
    sums.into_iter()
        .map(|(task, (sum, n))| (task, sum / n as f64))
        .collect()
}

fn paired(groups: &[Group], columns: &[Column]) -> (Vec<String>, Value) {
    let pairs = comparisons(groups);
    let mut lines = vec![
        String::new(),
        "| paired, same tasks | seeds | tasks it solves more often | the other solves more often | sign test p |"
            .into(),
        "|---|---|---|---|---|".into(),
    ];
    let mut report = Vec::new();
    let has_plus = columns.iter().any(|(_, set)| *set == InputSet::Plus);
    let sets: &[(InputSet, &str)] = if has_plus {
        &[(InputSet::Base, ""), (InputSet::Plus, " (+)")]
    } else {
        &[(InputSet::Base, "")]
    };
    for &(set, suffix) in sets {
        for &(a, b) in &pairs {
            let (ma, mb) = seed_matched(a, b);
            let (_, _, wins, losses) = paired_differences(&differences(&task_passes(ma, set), &task_passes(mb, set)));
            let p = sign_test(wins, losses);
            lines.push(format!(
                "| {} vs {}{suffix} | {} | {wins} | {losses} | {p:.2} |",
                a.name,
                b.name,
                ma.len()
            ));
            report.push(json!({
                "a": a.name, "b": b.name, "plus": set == InputSet::Plus, "seeds": ma.len(),
                "a_more": wins, "b_more": losses, "sign_test_p": p,
            }));
        }
    }
    lines.extend([
        String::new(),
        "| NLL, paired over tasks | seeds | mean difference (a − b) ± s.e. | tasks a lower | tasks b lower | sign test p |"
            .into(),
        "|---|---|---|---|---|---|".into(),
    ]);
    for &(a, b) in &pairs {
        let (ma, mb) = seed_matched(a, b);
        let per_task = differences(&task_nll(ma), &task_nll(mb));
        let (mean, se, above, below) = paired_differences(&per_task);
        let p = sign_test(below, above);
        lines.push(format!(
            "| {} vs {} | {} | {mean:+.4} ± {se:.4} | {below} | {above} | {p:.2} |",
            a.name,
            b.name,
            ma.len()
        ));
        report.push(json!({
            "a": a.name, "b": b.name, "seeds": ma.len(), "nll_difference": mean, "standard_error": se,
            "a_lower": below, "b_lower": above, "sign_test_p": p, "tasks": per_task.len(),
        }));
    }
    (lines, Value::Array(report))
}

fn settings(args: &Args) -> Value {
    json!({
        "model": args.model, "train": args.train, "train_limit": args.train_limit, "curate": args.curate,
        "eval": args.eval, "eval_limit": args.eval_limit, "modes": args.modes, "seeds": args.seeds,
        "seeded": args.seeded, "sweep": args.sweep, "validate": args.validate, "reference": args.reference,
        "steps": args.steps, "training": args.training, "max_tokens": args.max_tokens,
        "eval_batch": args.eval_batch, "device": args.device, "allow_trained_tasks": args.allow_trained_tasks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passes(tasks: &[(&str, f64)]) -> BTreeMap<(String, String), f64> {
        tasks.iter().map(|&(t, p)| (("bench".into(), t.into()), p)).collect()
    }

    /// Only the tasks both have are paired; the signs are the sign test's two sides.
    #[test]
    fn differences_pair_the_tasks_both_have() {
        let a = passes(&[("1", 1.0), ("2", 0.0), ("3", 2.0 / 3.0), ("4", 0.0), ("only a", 1.0)]);
        let b = passes(&[("1", 0.0), ("2", 0.0), ("3", 1.0), ("4", 1.0 / 3.0), ("only b", 0.0)]);
        let per_task = differences(&a, &b);
        assert_eq!(per_task, [1.0, 0.0, 2.0 / 3.0 - 1.0, -1.0 / 3.0]);
        let (_, _, more, fewer) = paired_differences(&per_task);
        assert_eq!((more, fewer), (1, 2));
    }

    /// Three seeds against one: only the seed both have is paired.
    #[test]
    fn groups_pair_on_the_seeds_both_have() {
        let results = json!({
            "benchmarks": {}, "memory_mib": 0, "sandbox_s": 0.0, "solutions": "", "timeout_s": 1.0, "workers": 1,
        });
        let model = || Readings {
            results: serde_json::from_value(results.clone()).unwrap(),
            outcomes: Vec::new(),
            nll: Vec::new(),
        };
        let (one, two, three, four) = (model(), model(), model(), model());
        fn group<'r>(readings: Vec<&'r Readings>) -> Group<'r> {
            Group {
                name: String::new(),
                readings,
                training: Vec::new(),
            }
        }
        let (a, b) = (group(vec![&one, &two, &three]), group(vec![&four]));
        let (ma, mb) = seed_matched(&a, &b);
        assert!(ma.len() == 1 && std::ptr::eq(ma[0], &one) && std::ptr::eq(mb[0], &four));
        let (mb, ma) = seed_matched(&b, &a);
        assert!(ma.len() == 1 && std::ptr::eq(ma[0], &one) && std::ptr::eq(mb[0], &four));
    }
}
