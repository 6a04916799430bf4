//! `codeblock eval` on known answers: canonical solutions pass every HumanEval and MBPP+ task,
//! wrong ones none; and untrusted programs that loop, fork, flood, hog memory, fill the disk,
//! reach the network or write outside their dir are contained and reported.
//! Needs CODEBLOCK_HUMANEVAL and CODEBLOCK_DATA (scripts/setup.sh sets both) and bubblewrap.

mod common;

use std::path::{Path, PathBuf};

use common::{codeblock, mbpp_training_pairs, read_jsonl, scratch};
use serde_json::Value;

fn eval(args: &[&str], out: &Path) -> Value {
    let output = codeblock()
        .arg("eval")
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap()
}

/// A samples file of (task id, solution) lines in `dir`.
fn write_samples(dir: &Path, samples: &[(&str, &str)]) -> PathBuf {
    let lines: String = samples
        .iter()
        .map(|(task, solution)| format!("{}\n", serde_json::json!({"task_id": task, "solution": solution})))
        .collect();
    let path = dir.join("samples.jsonl");
    std::fs::write(&path, lines).unwrap();
    path
}

#[test]
fn canonical_solutions_pass_humaneval_and_mbpp_plus() {
    let out = scratch("canonical");
    let results = eval(&["--bench", "humaneval,mbpp-plus", "--canonical"], &out);
    for (bench, tasks) in [("humaneval", 164), ("mbpp-plus", 378)] {
        let result = &results["benchmarks"][bench];
        assert_eq!(result["tasks"], tasks, "{bench}");
        assert_eq!(result["passed"], tasks, "{bench}: {result}");
        assert_eq!(result["pass_at"]["pass@1"], 1.0);
    }
    // MBPP+ also on its plus inputs (EvalPlus's "+"); HumanEval's file has none.
    let plus = &results["benchmarks"]["mbpp-plus"]["plus"];
    assert_eq!(
        plus["passed"], 377,
        "every task with plus inputs (Mbpp/793 has none): {plus}"
    );
    assert_eq!(plus["pass_at"]["pass@1"], 1.0);
    assert!(results["benchmarks"]["humaneval"].get("plus").is_none());
    // samples.jsonl is EvalPlus's format: task_id and solution.
    let first: Value = serde_json::from_str(
        std::fs::read_to_string(out.join("samples.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["task_id"], "HumanEval/0");
    assert!(first["solution"].as_str().unwrap().contains("def has_close_elements"));
}

/// Solutions right on MBPP+'s base inputs but wrong on some plus inputs pass base and fail plus.
#[test]
fn plus_inputs_catch_what_base_inputs_miss() {
    let dir = scratch("plus");
    let samples = [
        // Mbpp/2: no answer for empty tuples (the base inputs have none).
        (
            "Mbpp/2",
            "def similar_elements(a, b):\n    if not a or not b:\n        return None\n    return tuple(set(a) & set(b))\n",
        ),
        // Mbpp/3: the base inputs' answers, memorised.
        (
            "Mbpp/3",
            "def is_not_prime(n):\n    return {1: True, 2: False, 10: True, 35: True, 37: False}[n]\n",
        ),
        // Mbpp/4: right only for lists that start with 25, as the base inputs all do.
        (
            "Mbpp/4",
            "def heap_queue_largest(nums, n):\n    return sorted(nums, reverse=True)[:n] if nums[0] == 25 else nums[:n]\n",
        ),
    ];
    let path = write_samples(&dir, &samples);
    let out = dir.join("eval");
    let results = eval(
        &[
            "--bench",
            "mbpp-plus",
            "--limit",
            "3",
            "--samples",
            path.to_str().unwrap(),
        ],
        &out,
    );
    let result = &results["benchmarks"]["mbpp-plus"];
    assert_eq!(result["passed"], 3, "right on every base input: {result}");
    assert_eq!(result["plus"]["passed"], 0, "wrong on some plus input: {result}");
    assert_eq!(result["plus"]["pass_at"]["pass@1"], 0.0);
    for outcome in read_jsonl(&out.join("outcomes.jsonl")) {
        assert_eq!(outcome["status"], "passed", "{outcome}");
        assert_eq!(outcome["plus"]["status"], "failed", "{outcome}");
    }
}

/// A HumanEval+ file (EvalPlus's schema: HumanEval's `test` and the inputs) is judged on its
/// base and plus inputs; `find_zero` (HumanEval/32) takes any zero of the polynomial, as
/// EvalPlus's oracle does, not only the canonical one.
#[test]
fn humaneval_plus_runs_its_plus_inputs_and_the_find_zero_oracle() {
    let dir = scratch("humaneval-plus");
    let poly = "import math\n\ndef poly(xs: list, x: float):\n    return sum(c * math.pow(x, i) for i, c in enumerate(xs))\n\n";
    let tasks = [
        serde_json::json!({
            "task_id": "HumanEval/32", "entry_point": "find_zero",
            "prompt": format!("{poly}def find_zero(xs: list):\n    \"\"\"A zero of the polynomial xs.\"\"\"\n"),
            "canonical_solution": "    lo, hi = -100.0, 100.0\n    while hi - lo > 1e-10:\n        mid = (lo + hi) / 2\n        if (poly(xs, mid) > 0) == (poly(xs, lo) > 0):\n            lo = mid\n        else:\n            hi = mid\n    return lo\n",
            "test": "def check(candidate):\n    assert abs(poly([1, 2], candidate([1, 2]))) < 1e-6\n",
            "base_input": [[[1, 2]]], "plus_input": [[[-6, 11, -6, 1]]], "atol": 1e-4,
        }),
        serde_json::json!({
            "task_id": "HumanEval/900", "entry_point": "double",
            "prompt": "def double(x: int) -> int:\n    \"\"\"Twice x.\"\"\"\n",
            "canonical_solution": "    return 2 * x\n",
            "test": "def check(candidate):\n    assert candidate(2) == 4\n",
            "base_input": [[2], [3]], "plus_input": [[-7], [10]], "atol": 0,
        }),
    ];
    let bench = dir.join("HumanEvalPlus.jsonl");
    std::fs::write(&bench, tasks.iter().map(|t| format!("{t}\n")).collect::<String>()).unwrap();
    let bench = bench.to_str().unwrap();
    let canonical = eval(&["--bench", bench, "--canonical"], &dir.join("canonical"));
    let result = canonical["benchmarks"].as_object().unwrap().values().next().unwrap();
    assert_eq!(
        (&result["passed"], &result["plus"]["passed"]),
        (&2.into(), &2.into()),
        "{result}"
    );

    // A root other than the canonical one (3 of 1, 2, 3) passes by the oracle; `double` right
    // on the base inputs only fails plus.
    let samples = [
        (
            "HumanEval/32",
            "def find_zero(xs):\n    for x in range(100, -101, -1):\n        if abs(sum(c * x ** i for i, c in enumerate(xs))) < 1e-9:\n            return float(x)\n    return -0.5\n",
        ),
        ("HumanEval/900", "def double(x):\n    return {2: 4, 3: 6}.get(x, 0)\n"),
    ];
    let path = write_samples(&dir, &samples);
    let out = dir.join("eval");
    let results = eval(&["--bench", bench, "--samples", path.to_str().unwrap()], &out);
    let result = results["benchmarks"].as_object().unwrap().values().next().unwrap();
    assert_eq!(
        (&result["passed"], &result["plus"]["passed"]),
        (&2.into(), &1.into()),
        "{result}"
    );
    let plus: Vec<(String, String)> = read_jsonl(&out.join("outcomes.jsonl"))
        .iter()
        .map(|o| {
            (
                o["task_id"].as_str().unwrap().into(),
                o["plus"]["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(plus.contains(&("HumanEval/32".into(), "passed".into())), "{plus:?}");
    assert!(plus.contains(&("HumanEval/900".into(), "failed".into())), "{plus:?}");
}

#[test]
fn wrong_solutions_pass_nothing() {
    let dir = scratch("wrong");
    let samples: String = (0..20)
        .map(|i| {
            format!(
                "{}\n",
                serde_json::json!({"task_id": format!("HumanEval/{i}"), "completion": "    return None\n"})
            )
        })
        .collect();
    std::fs::write(dir.join("samples.jsonl"), samples).unwrap();
    let samples = dir.join("samples.jsonl");
    let results = eval(
        &[
            "--bench",
            "humaneval",
            "--limit",
            "20",
            "--samples",
            samples.to_str().unwrap(),
        ],
        &dir.join("out"),
    );
    assert_eq!(results["benchmarks"]["humaneval"]["passed"], 0);
    assert_eq!(results["benchmarks"]["humaneval"]["pass_at"]["pass@1"], 0.0);
}

#[test]
fn hostile_programs_are_contained_and_reported() {
    let dir = scratch("hostile");
    let escape = std::env::temp_dir().join(format!("codeblock-escape-{}", std::process::id()));
    let task = serde_json::json!({
        "task_id": "T/0", "prompt": "def f():\n", "entry_point": "f",
        "canonical_solution": "    return 1\n", "test": "def check(c):\n    assert c() == 1\n"
    });
    std::fs::write(dir.join("bench.jsonl"), format!("{task}\n")).unwrap();
    let hostile = [
        ("correct", "def f():\n    return 1\n"),
        ("infinite loop", "def f():\n    while True:\n        pass\n"),
        (
            "fork bomb",
            "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
        ),
        (
            "huge output",
            "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n",
        ),
        ("memory hog", "hog = bytearray(8 * 1024 ** 3)\ndef f():\n    return 1\n"),
        (
            "disk filler",
            "with open('big', 'wb') as out:\n    out.write(b'0' * 200 * 1024 ** 2)\n",
        ),
        (
            "network",
            "import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=2)\ndef f():\n    return 1\n",
        ),
        (
            "write outside",
            &format!(
                "open({:?}, 'w').write('escaped')\ndef f():\n    return 1\n",
                escape.display()
            ),
        ),
    ];
    let samples: String = hostile
        .iter()
        .map(|(_, code)| format!("{}\n", serde_json::json!({"task_id": "T/0", "solution": code})))
        .collect();
    std::fs::write(dir.join("samples.jsonl"), samples).unwrap();
    let (bench, samples) = (dir.join("bench.jsonl"), dir.join("samples.jsonl"));
    let out = dir.join("out");
    let results = eval(
        &[
            "--bench",
            bench.to_str().unwrap(),
            "--samples",
            samples.to_str().unwrap(),
            "--timeout",
            "3",
            "--k",
            "1,2",
        ],
        &out,
    );
    let outcomes = read_jsonl(&out.join("outcomes.jsonl"));
    let status = |i: usize| outcomes[i]["status"].as_str().unwrap().to_string();
    let error = |i: usize| outcomes[i]["error"].as_str().unwrap_or_default().to_string();
    assert_eq!(status(0), "passed");
    assert_eq!(status(1), "timeout", "infinite loop");
    assert!(
        ["timeout", "failed"].contains(&status(2).as_str()),
        "fork bomb: {}",
        outcomes[2]
    );
    assert!(
        ["timeout", "failed"].contains(&status(3).as_str()),
        "huge output: {}",
        outcomes[3]
    );
    assert!(error(4).contains("MemoryError"), "memory hog: {}", outcomes[4]);
    assert_eq!(status(5), "failed", "disk filler: {}", outcomes[5]);
    assert!(error(6).contains("Network is unreachable"), "network: {}", outcomes[6]);
    assert!(
        error(7).contains("Read-only file system"),
        "write outside: {}",
        outcomes[7]
    );
    assert!(!escape.exists(), "a program wrote outside its dir");
    for outcome in &outcomes {
        assert!(outcome.to_string().len() < 4096, "a reported error is trimmed");
    }
    // One pass in eight samples: pass@1 = 1/8, pass@2 = 1 − C(7,2)/C(8,2) = 1/4.
    let pass_at = &results["benchmarks"][bench.to_str().unwrap()]["pass_at"];
    assert!((pass_at["pass@1"].as_f64().unwrap() - 0.125).abs() < 1e-12);
    assert!((pass_at["pass@2"].as_f64().unwrap() - 0.25).abs() < 1e-12);
}

/// The model tier: SmolLM2 answers two HumanEval tasks greedily, end to end.
#[test]
fn a_model_is_evaluated_end_to_end() {
    let out = scratch("model");
    let model = codeblock_tests::model_path();
    let results = eval(
        &[
            "--bench",
            "humaneval",
            "--limit",
            "2",
            "--device",
            "cpu",
            "--max-tokens",
            "96",
            // One reply a batch, two batches at once: replies still come back in task order.
            "--batch",
            "1",
            "--threads",
            "2",
            "--model",
            model.to_str().unwrap(),
        ],
        &out,
    );
    let humaneval = &results["benchmarks"]["humaneval"];
    assert_eq!(humaneval["samples"], 2);
    let pass_at_1 = humaneval["pass_at"]["pass@1"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&pass_at_1));
    assert_eq!(results["generation"]["temperature"], 0.0);
    assert_eq!(results["generation"]["batch"], 1);
    assert_eq!(results["generation"]["threads"], 2);
    assert_eq!(results["generated"]["replies"], 2);
    assert!(results["generated"]["tokens"].as_u64().unwrap() > 0);
    // The raw replies are kept in task order, and the solutions are what ran.
    let replies = read_jsonl(&out.join("replies.jsonl"));
    let ids: Vec<&str> = replies.iter().map(|r| r["task_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["HumanEval/0", "HumanEval/1"]);
    // A reply stops once its code is answered (its fence closed), else at its end or the limit.
    assert_eq!(results["generation"]["stop_when_answered"], true);
    for reply in &replies {
        match reply["stop"].as_str().unwrap() {
            "answered" => assert!(reply["reply"].as_str().unwrap().ends_with("```"), "{reply}"),
            stop => assert!(["end_token", "max_tokens"].contains(&stop), "{reply}"),
        }
    }
    // The continuous reading: each task's canonical solution's mean NLL under the model.
    let nll = out.join("nll.jsonl");
    let status = codeblock()
        .args([
            "nll",
            "--bench",
            "humaneval",
            "--limit",
            "3",
            "--device",
            "cpu",
            "--model",
        ])
        .arg(&model)
        .arg("--out")
        .arg(&nll)
        .status()
        .unwrap();
    assert!(status.success());
    let lines = read_jsonl(&nll);
    assert_eq!(lines.len(), 3);
    for line in &lines {
        let value = line["nll"].as_f64().unwrap();
        assert!(
            value > 0.0 && value < 5.0 && line["tokens"].as_u64().unwrap() > 10,
            "{line}"
        );
    }
    let samples = std::fs::read_to_string(out.join("samples.jsonl")).unwrap();
    assert!(samples.lines().all(|l| l.contains("\"task_id\":\"HumanEval/")));
}

/// The model tier: a whole (tiny) experiment — the pair stage, a sweep of two settings per
/// family on the validation tasks, four arms (one with two seeds), their evaluations and NLL
/// readings — then the same command again, which redoes nothing.
#[test]
fn an_experiment_runs_and_resumes() {
    let out = scratch("experiment");
    let model = codeblock_tests::model_path();
    let run = || {
        codeblock()
            .arg("experiment")
            .arg("--model")
            .arg(&model)
            .args(["--train-limit", "5", "--curate", "3", "--steps", "1", "--device", "cpu"])
            .args(["--modes", "full,codeblock,codeblock-no-dataflow,full-pool"])
            .args(["--seeds", "2", "--seeded", "codeblock", "--sweep", "1e-4,lora4:1e-3"])
            .args(["--eval", "humaneval", "--eval-limit", "1", "--max-tokens", "32"])
            .args(["--batch-tokens", "2048", "--grad-accum", "1", "--checkpoint-every", "0"])
            .args(["--precision", "bf16"])
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
    };
    let first = run();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let lines = |path: &str| std::fs::read_to_string(out.join(path)).unwrap().lines().count();
    assert_eq!((lines("curate/kept.jsonl"), lines("curate/pool-draw.jsonl")), (3, 3));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(out.join("experiment.json")).unwrap()).unwrap();
    let arms: Vec<(&str, u64)> = report["arms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["arm"].as_str().unwrap(), a["seeds"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        arms,
        [
            ("base", 1),
            ("full", 1),
            ("codeblock", 2),
            ("codeblock-no-dataflow", 1),
            ("full-pool", 1)
        ]
    );
    // The sweep tried both settings for each family on the validation tasks and chose one.
    let sweep = report["sweep"].as_array().unwrap();
    assert_eq!(sweep.len(), 4);
    for family in ["full", "codeblock"] {
        let tried: Vec<&Value> = sweep.iter().filter(|t| t["run"]["arm"] == family).collect();
        assert_eq!(tried.len(), 2);
        assert_eq!(tried.iter().filter(|t| t["chosen"] == true).count(), 1);
        assert!(out.join(format!("valid-{family}-lr1e-4-seed0/nll.jsonl")).exists());
    }
    let chosen = |family: &str| {
        let t = sweep
            .iter()
            .find(|t| t["run"]["arm"] == family && t["chosen"] == true)
            .unwrap();
        (t["run"]["point"]["lr"].clone(), t["run"]["point"]["lora_rank"].clone())
    };
    // Every run trained with the experiment's flags and its family's chosen setting.
    let runs = report["runs"].as_array().unwrap();
    let seeds: Vec<u64> = runs.iter().map(|r| r["run"]["seed"].as_u64().unwrap()).collect();
    assert_eq!(seeds, [0, 0, 0, 0, 1]);
    for run in runs {
        let settings = &run["train_settings"];
        assert_eq!(
            (settings["precision"].as_str(), settings["max_steps"].as_u64()),
            (Some("bf16"), Some(1))
        );
        let family = if run["run"]["arm"].as_str().unwrap().starts_with("full") {
            "full"
        } else {
            "codeblock"
        };
        assert_eq!(
            (settings["lr"].clone(), settings["lora_rank"].clone()),
            chosen(family),
            "{run}"
        );
        assert_eq!(settings["seed"], run["run"]["seed"]);
    }
    let fraction = |arm: usize| report["arms"][arm]["supervised_fraction"].as_f64().unwrap();
    assert!(fraction(2) < fraction(1), "codeblock supervises fewer tokens than full");
    let table = std::fs::read_to_string(out.join("table.md")).unwrap();
    assert_eq!(
        table.lines().filter(|l| l.starts_with("| base |")).count(),
        1,
        "{table}"
    );
    // Paired on the same tasks: each arm against the base and full, codeblock against the rest.
    let paired: Vec<String> = report["paired"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p.get("nll_difference").is_none())
        .map(|p| format!("{} vs {}", p["a"].as_str().unwrap(), p["b"].as_str().unwrap()))
        .collect();
    assert!(
        paired.contains(&"codeblock vs codeblock-no-dataflow".to_string()),
        "{paired:?}"
    );
    assert!(paired.contains(&"full-pool vs full".to_string()), "{paired:?}");
    assert!(table.contains("| codeblock vs full | "), "{table}");
    assert!(table.contains("NLL, paired over tasks"), "{table}");
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_eq!(
        report.matches("<figure data-chart=").count(),
        5,
        "loss, gradient norm, pass@1, lengths, NLL"
    );

    let again = run();
    assert!(again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!stderr.contains(" …"), "a stage ran again: {stderr}");
}

/// The validation tasks are MBPP's 511–600 less the 39 that MBPP+ holds (settings chosen on
/// them would be chosen on the test set), e.g. 554.
#[test]
fn validation_tasks_are_not_test_tasks() {
    let out = scratch("validation");
    let results = eval(&["--bench", "mbpp-validation", "--canonical"], &out);
    let result = &results["benchmarks"]["mbpp-validation"];
    assert_eq!(
        (&result["tasks"], &result["passed"]),
        (&51.into(), &51.into()),
        "{result}"
    );
    let numbers: Vec<u32> = read_jsonl(&out.join("outcomes.jsonl"))
        .iter()
        .map(|l| {
            l["task_id"]
                .as_str()
                .unwrap()
                .rsplit_once('/')
                .unwrap()
                .1
                .parse()
                .unwrap()
        })
        .collect();
    assert!(numbers.iter().all(|n| (511..=600).contains(n)), "{numbers:?}");
    assert!(numbers.contains(&511) && !numbers.contains(&554), "{numbers:?}");
}

/// MBPP+ shares 108 task ids with MBPP's training split: an experiment that trains on the one
/// and evaluates on the other stops before it selects, naming the tasks.
#[test]
fn an_experiment_refuses_to_evaluate_on_its_training_tasks() {
    let out = scratch("overlap");
    let output = codeblock()
        .arg("experiment")
        .arg("--model")
        .arg(codeblock_tests::model_path())
        .args(["--train", "mbpp-train", "--eval", "mbpp-plus", "--device", "cpu"])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("mbpp-plus: 108 of its 378 tasks are in the training data"),
        "{stderr}"
    );
    assert!(stderr.contains("Mbpp/602"), "{stderr}");
    assert!(!out.join("selected.jsonl").exists(), "nothing was selected");
}

/// `curate` on MBPP training pairs with their tests, and one pair whose code fails its test:
/// every pair is kept or dropped with a reason, kept lines carry their scores.
#[test]
fn curate_keeps_tested_long_tail_pairs_and_accounts_for_every_one() {
    let dir = scratch("curate");
    let all = mbpp_training_pairs(&dir);
    let mut lines: Vec<String> = std::fs::read_to_string(&all)
        .unwrap()
        .lines()
        .take(19)
        .map(String::from)
        .collect();
    let wrong = serde_json::json!({
        "id": "wrong", "instruction": "Add two numbers.",
        "output": "```python\ndef add(a, b):\n    return a - b\n```",
        "test": "def check(f):\n    assert f(2, 3) == 5\n\ncheck(add)\n",
    });
    lines.push(wrong.to_string());
    let pool = dir.join("pool.jsonl");
    std::fs::write(&pool, lines.join("\n") + "\n").unwrap();
    let (out, report) = (dir.join("kept.jsonl"), dir.join("report.json"));
    let output = codeblock()
        .args(["curate", "--keep", "0.5", "--input"])
        .arg(&pool)
        .arg("--out")
        .arg(&out)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let kept = read_jsonl(&out);
    assert_eq!(report["records_in"], 20);
    assert_eq!(report["kept"], kept.len());
    let dropped: u64 = report["dropped_by_reason"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(kept.len() as u64 + dropped, 20, "{report}");
    assert!(
        report["dropped_by_reason"]["fails its tests"].as_u64().unwrap() >= 1,
        "{report}"
    );
    assert!(kept.len() <= 10 && !kept.is_empty());
    for line in &kept {
        assert_ne!(line["id"], "wrong");
        assert_eq!(line["curate"]["passes_tests"], true, "{line}");
        let score = line["curate"]["score"].as_f64().unwrap();
        assert!(score > 0.0 && score < 1.0, "{line}");
    }
}

/// The hygiene report on the shipped data: MBPP's training pairs hold 108 MBPP+ tasks by id;
/// by text (8-word shingles) it finds about half of those (MBPP+ rewords some prompts, and the
/// pairs' solutions carry docstrings) and copies of MBPP test tasks under training ids (e.g.
/// MBPP/67 in MBPP/608's solution); none of HumanEval's.
#[test]
fn hygiene_finds_the_benchmark_tasks_a_training_set_holds() {
    let dir = scratch("hygiene");
    let pairs = mbpp_training_pairs(&dir);
    let report_path = dir.join("hygiene.json");
    let output = codeblock()
        .args(["hygiene", "--bench", "humaneval,mbpp-plus", "--input"])
        .arg(&pairs)
        .arg("--report")
        .arg(&report_path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    let plus = &report["mbpp-plus"];
    assert_eq!(plus["by_id"].as_array().unwrap().len(), 108, "{}", plus["by_id"]);
    let copied = plus["tasks_copied"].as_u64().unwrap();
    assert!((50..=120).contains(&copied), "MBPP+ tasks copied by text: {copied}");
    let copies = plus["copies"].as_array().unwrap();
    assert!(
        copies
            .iter()
            .any(|c| c["task_id"] == "Mbpp/67" && c["pair_id"] == "MBPP/608"),
        "a test task copied under a training id"
    );
    assert_eq!(report["humaneval"]["by_id"].as_array().unwrap().len(), 0);
    assert_eq!(report["humaneval"]["tasks_copied"], 0, "{}", report["humaneval"]);
}
