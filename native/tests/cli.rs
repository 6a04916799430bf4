//! The `codeblock` binary end to end on bad input: every record is accounted for (ok or a named
//! reject), the run completes, and the summary adds up.

mod common;

use std::path::Path;

use common::{codeblock, mbpp_training_pairs, read_jsonl, scratch};
use serde_json::Value;

#[test]
fn bad_records_are_rejected_by_name_and_nothing_is_lost() {
    let dir = scratch("bad");
    let input = dir.join("pairs.jsonl");
    let huge = format!("```python\n{}```\n", "x = 1\n".repeat(2_000_000));
    let deep = format!("```python\ny = {}1{}\n```\n", "(".repeat(5000), ")".repeat(5000));
    let nested_defs: String = (0..200)
        .map(|d| format!("{}def f{d}():\n", "    ".repeat(d)))
        .collect::<String>()
        + &"    ".repeat(200)
        + "return 1\n";
    let mut lines = vec![
        r#"{"instruction": "Add.", "output": "```python\ndef add(a, b):\n    return a + b\n```"}"#.to_string(),
        "{not json".to_string(),
        r#"{"instruction": "No output."}"#.to_string(),
        r#"{"text": "unknown schema"}"#.to_string(),
        r#"{"instruction": "Wrong type.", "output": 42}"#.to_string(),
        serde_json::json!({"instruction": "Huge.", "output": huge}).to_string(),
        serde_json::json!({"instruction": "Deep.", "output": deep}).to_string(),
        serde_json::json!({"instruction": "Nested.", "output": format!("```python\n{nested_defs}```")}).to_string(),
        r#"{"instruction": "Empty.", "output": ""}"#.to_string(),
        r#"{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "print(1 + 2)"}]}"#
            .to_string(),
    ];
    lines.insert(3, String::new()); // a blank line is not a record
    let mut bytes = lines.join("\n").into_bytes();
    bytes.extend_from_slice(b"\n{\"instruction\": \"bad \xff utf8\", \"output\": \"x\"}\n");
    std::fs::write(&input, bytes).unwrap();

    let out = dir.join("selected.jsonl");
    let report = dir.join("report.json");
    let status = codeblock()
        .args(["select", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .arg("--report")
        .arg(&report)
        .status()
        .unwrap();
    assert!(status.success());

    let outputs = read_jsonl(&out);
    let statuses: Vec<(String, String)> = outputs
        .iter()
        .map(|o| {
            let reason = o.get("reason").and_then(Value::as_str).unwrap_or("");
            (o["status"].as_str().unwrap().to_string(), reason.to_string())
        })
        .collect();
    let expected = [
        ("ok", ""),
        ("rejected", "malformed_json"),
        ("rejected", "missing_field"),
        ("rejected", "unknown_schema"),
        ("rejected", "wrong_field_type"),
        ("rejected", "response_too_large"),
        ("rejected", "nesting_too_deep"),
        ("ok", ""),
        ("rejected", "empty_response"),
        ("ok", ""),
        ("rejected", "invalid_utf8"),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(s, r)| (s.to_string(), r.to_string())).collect();
    assert_eq!(statuses, expected);
    // Rejects name the line; the blank line 4 is skipped, so later lines keep their numbers.
    assert!(outputs[1]["message"].as_str().unwrap().starts_with("line 2:"));
    assert!(outputs[4]["message"].as_str().unwrap().starts_with("line 6:"));
    assert_eq!(outputs[10]["id"], "line 12");
    // Brackets nested past CPython's limit are a named reject (their parse time is the square of
    // the depth); deeply nested blocks are analysed, not a crash: items with their depth cap.
    assert!(
        outputs[6]["message"]
            .as_str()
            .unwrap()
            .contains("brackets nested 5000 deep")
    );
    let nested = &outputs[7];
    assert!(
        nested["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "compound")
    );

    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(summary["records_in"], 11);
    assert_eq!(summary["records_ok"], 3);
    assert_eq!(summary["records_rejected"], 8);
    assert_eq!(summary["rejected_by_reason"]["malformed_json"], 1);
}

/// `select` streams its input a chunk at a time, and past `--in-memory` records the rest waits
/// on disk between its passes: any limit gives the bytes of a run held in memory, rejects and
/// the global budget included.
#[test]
fn a_streamed_select_is_the_whole_select() {
    let dir = scratch("chunks");
    let pairs = mbpp_training_pairs(&dir);
    let mut text = std::fs::read_to_string(&pairs).unwrap();
    text.insert_str(text.len() / 2, "{oops\n\n");
    std::fs::write(&pairs, text).unwrap();
    let tokenizer = std::env::var("CODEBLOCK_TOKENIZER").expect("scripts/setup.sh sets CODEBLOCK_TOKENIZER");
    let select = |in_memory: &str, knobs: &[&str]| {
        let out = dir.join(format!("selected-{in_memory}.jsonl"));
        let status = codeblock()
            .args(["select", "--tokenizer", &tokenizer, "--in-memory", in_memory, "--input"])
            .arg(&pairs)
            .arg("--out")
            .arg(&out)
            .args(knobs)
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::read(&out).unwrap()
    };
    // Token candidates are many: runs of them go to disk at once.
    for knobs in [&[][..], &["--granularity", "tokens"], &["--budget-scope", "per-record"]] {
        let whole = select("100000", knobs);
        assert_eq!(whole.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count(), 375);
        assert!(String::from_utf8_lossy(&whole).contains("malformed_json"));
        for in_memory in ["1", "37"] {
            assert!(
                select(in_memory, knobs) == whole,
                "--in-memory {in_memory} changed the output of {knobs:?}"
            );
        }
    }
}

#[test]
fn precomputed_scores_must_match_the_tokens() {
    let dir = scratch("scores");
    let input = dir.join("pairs.jsonl");
    let pairs = "{\"id\": \"a\", \"prompt\": \"p\", \"completion\": \"x = 1\"}\n\
                 {\"id\": \"b\", \"prompt\": \"p\", \"completion\": \"x = 1\"}\n";
    std::fs::write(&input, pairs).unwrap();
    let scores = dir.join("scores.jsonl");
    // The lexical fallback cuts `x = 1` into 4 tokens: `x`, ` `, `=`, ` 1`.
    let lines = "{\"id\": \"a\", \"token_ids\": [1, 2, 3, 4], \"logprobs\": [-1, -1, -1, -1]}\n\
                 {\"id\": \"b\", \"token_ids\": [1], \"logprobs\": [-1.0]}\n";
    std::fs::write(&scores, lines).unwrap();
    let out = dir.join("selected.jsonl");
    let output = codeblock()
        .args(["select", "--input"])
        .arg(&input)
        .arg("--scores")
        .arg(&scores)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success());
    let outputs = read_jsonl(&out);
    // Without a tokenizer there are no ids to match: a named reject, not a silent pass.
    assert_eq!(outputs[0]["status"], "rejected");
    assert_eq!(outputs[0]["reason"], "scorer_failed");
    assert_eq!(outputs[1]["reason"], "scores_mismatch");
    assert!(
        outputs[1]["message"]
            .as_str()
            .unwrap()
            .contains("scores have 1 tokens, the tokenizer gives 4")
    );
}

#[test]
fn export_refuses_masks_made_with_another_tokenizer() {
    let dir = scratch("export");
    let input = dir.join("pairs.jsonl");
    std::fs::write(
        &input,
        "{\"id\": \"a\", \"prompt\": \"p\", \"completion\": \"x = 1\"}\n",
    )
    .unwrap();
    let model = codeblock_tests::model_path();
    let export = |selected: &Path, format: &str, out: &str| {
        codeblock()
            .args(["export", "--model"])
            .arg(&model)
            .arg("--input")
            .arg(selected)
            .args(["--format", format, "--out"])
            .arg(dir.join(out))
            .output()
            .unwrap()
    };
    let select = |name: &str, tokenizer: Option<&Path>| {
        let out = dir.join(name);
        let mut command = codeblock();
        command
            .args(["select", "--budget", "1", "--input"])
            .arg(&input)
            .arg("--out")
            .arg(&out);
        if let Some(tokenizer) = tokenizer {
            command.arg("--tokenizer").arg(tokenizer);
        }
        assert!(command.status().unwrap().success());
        out
    };
    let failure = |output: std::process::Output| {
        assert!(!output.status.success());
        String::from_utf8(output.stderr).unwrap()
    };
    // Lexical tokens have no ids; Qwen3's ids are not SmolLM2's.
    let lexical = select("lexical.jsonl", None);
    assert!(failure(export(&lexical, "trl", "a.jsonl")).contains("record `a`): no token ids"));
    let qwen = select("qwen.jsonl", Some(&codeblock_tests::tokenizer_path()));
    let message = failure(export(&qwen, "trl", "b.parquet"));
    assert!(message.contains("record `a`): its token ids are not this model's tokenization"));
    // A failed export leaves nothing under the final name.
    assert!(!dir.join("b.parquet").exists());
    let smol = select("smol.jsonl", Some(&model));
    assert!(failure(export(&smol, "weights", "c.parquet")).contains("is written as JSONL"));
    assert!(export(&smol, "weights", "c.jsonl").status.success());
    assert_eq!(read_jsonl(&dir.join("c.jsonl")).len(), 1);
}

#[test]
fn show_renders_a_selected_record() {
    let dir = scratch("show");
    let input = dir.join("pairs.jsonl");
    std::fs::write(
        &input,
        "{\"id\": \"r1\", \"instruction\": \"i\", \"output\": \"Sum:\\n```python\\ntotal = sum(xs)\\nprint(total)\\n```\"}\n",
    )
    .unwrap();
    let out = dir.join("selected.jsonl");
    let status = codeblock()
        .args(["select", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let shown = codeblock().arg("show").arg(&out).args(["--id", "r1"]).output().unwrap();
    let text = String::from_utf8(shown.stdout).unwrap();
    assert!(text.starts_with("record r1:"), "{text}");
    assert!(text.contains("edge #0 → #1: total"), "{text}");
    let html = dir.join("r1.html");
    let status = codeblock()
        .arg("show")
        .arg(&out)
        .args(["--format", "html", "--out"])
        .arg(&html)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(std::fs::read_to_string(&html).unwrap().contains("class=\"supervised\""));
    let missing = codeblock()
        .arg("show")
        .arg(&out)
        .args(["--id", "nope"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no record with id `nope`"));
}

/// The model tier through the command line: `select --model`, `train` and `generate` with SmolLM2.
#[test]
fn select_train_and_generate_with_the_default_model() {
    let model = codeblock_tests::model_path();
    assert!(model.exists(), "{} is missing: run scripts/setup.sh", model.display());
    let dir = scratch("model");
    let input = dir.join("pairs.jsonl");
    let pairs = [
        serde_json::json!({"id": "sum", "instruction": "Sum a list.", "output": "Use `sum`:\n```python\ndef total(xs):\n    return sum(xs)\n```"}),
        serde_json::json!({"id": "max", "instruction": "Largest item.", "output": "```python\ndef largest(xs):\n    best = xs[0]\n    for x in xs:\n        if x > best:\n            best = x\n    return best\n```"}),
    ];
    std::fs::write(&input, pairs.iter().map(|p| format!("{p}\n")).collect::<String>()).unwrap();
    let out = dir.join("selected.jsonl");
    let status = codeblock()
        .args(["select", "--device", "cpu", "--budget", "0.2", "--input"])
        .arg(&input)
        .arg("--model")
        .arg(&model)
        .arg("--out")
        .arg(&out)
        .arg("--report")
        .arg(dir.join("report.json"))
        .status()
        .unwrap();
    assert!(status.success());
    // The report names what cut and scored the tokens: the model, twice.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert!(report["tokenizer"].as_str().unwrap().contains("SmolLM2"), "{report}");
    assert!(report["scorer"].as_str().unwrap().contains("SmolLM2"), "{report}");
    let outputs = read_jsonl(&out);
    for output in &outputs {
        assert_eq!(output["status"], "ok", "{output}");
        let items = output["items"].as_array().unwrap();
        assert!(
            items.iter().any(|i| i["utility"].as_f64().unwrap() > 0.0),
            "model utilities: {output}"
        );
        // Token ids are the model's own vocabulary (SmolLM2: 49152 entries).
        let ids = output["mask"]["token_ids"].as_array().unwrap();
        assert!(ids.iter().all(|id| id.as_u64().unwrap() < 49152));
    }
    // Training: the same batch three times in `full` mode must bring its loss down; every mode
    // runs and logs its supervised fraction.
    let train = |mode: &str, steps: &str, extra: &[&str]| {
        let run = dir.join(format!("run-{mode}"));
        let status = codeblock()
            .args([
                "train",
                "--device",
                "cpu",
                "--mode",
                mode,
                "--epochs",
                "3",
                "--max-steps",
                steps,
            ])
            .args(extra)
            .args([
                "--lr",
                "5e-4",
                "--warmup",
                "0",
                "--batch-tokens",
                "4096",
                "--grad-accum",
                "1",
                "--checkpoint-every",
                "0",
                "--model",
            ])
            .arg(&model)
            .arg("--data")
            .arg(&out)
            .arg("--out")
            .arg(&run)
            .status()
            .unwrap();
        assert!(status.success(), "train --mode {mode}");
        read_jsonl(&run.join("metrics.jsonl"))
    };
    let full = train("full", "3", &["--export"]);
    let losses: Vec<f64> = full.iter().map(|m| m["loss"].as_f64().unwrap()).collect();
    assert!(losses[2] < losses[0], "loss does not decrease: {losses:?}");
    // Full SFT supervises every response token; each turn's end token is counted apart.
    let response_tokens: usize = outputs
        .iter()
        .map(|o| o["mask"]["token_ids"].as_array().unwrap().len())
        .sum();
    assert_eq!(full[0]["supervised_tokens"].as_f64().unwrap(), response_tokens as f64);
    let fraction = |metrics: &[Value]| metrics[0]["supervised_fraction"].as_f64().unwrap();
    let sparse = train("codeblock", "1", &[]);
    // Every mode learns to stop: both records' end tokens are supervised in the sparse mode
    // too, and every step logs its gradient norm before clipping.
    for metrics in [&full[0], &sparse[0]] {
        assert_eq!(
            metrics["end_tokens"].as_f64().unwrap(),
            outputs.len() as f64,
            "{metrics}"
        );
        let norm = metrics["grad_norm"].as_f64().unwrap();
        assert!(norm.is_finite() && norm > 0.0, "{metrics}");
    }
    assert!(
        fraction(&sparse) < fraction(&full),
        "codeblock supervises fewer tokens than full"
    );
    assert_eq!(
        fraction(&train("random", "1", &[])),
        fraction(&sparse),
        "random matches the codeblock count"
    );
    // Whole random items, about the mask's count (two records cannot match it closely: whole
    // items cannot stand for the mask's prose tokens; tests/ablations.rs measures it on MBPP).
    let items = fraction(&train("random-items", "1", &[]));
    assert!(
        items > 0.0 && (items - fraction(&sparse)).abs() <= 0.25 * fraction(&sparse),
        "random items near the codeblock count: {items} vs {}",
        fraction(&sparse)
    );
    assert_eq!(
        fraction(&train("mask", "1", &[])),
        fraction(&sparse),
        "mask without weights is the mask"
    );

    // Token cleaning against a reference (here the model itself, so every token ties) keeps the
    // asked fraction of response tokens: between the mask and everything.
    let reference = model.to_str().expect("the model path is UTF-8");
    let cleaning = train("token-cleaning", "1", &["--reference", reference, "--keep", "0.5"]);
    assert!(fraction(&cleaning) > fraction(&sparse) && fraction(&cleaning) < fraction(&full));

    // The exported checkpoint is a Hugging Face folder that `--model` loads and generates with.
    let exported = dir.join("run-full/final");
    let reply = codeblock()
        .args([
            "generate",
            "--device",
            "cpu",
            "--max-tokens",
            "4",
            "--prompt",
            "Say hi.",
        ])
        .arg("--model")
        .arg(&exported)
        .output()
        .unwrap();
    assert!(reply.status.success(), "{}", String::from_utf8_lossy(&reply.stderr));

    let generated = codeblock()
        .args([
            "generate",
            "--device",
            "cpu",
            "--max-tokens",
            "12",
            "--prompt",
            "Write a Python function that adds two numbers.",
        ])
        .arg("--model")
        .arg(&model)
        .output()
        .unwrap();
    assert!(generated.status.success());
    let text = String::from_utf8(generated.stdout).unwrap();
    assert!(text.starts_with("```python\ndef "), "{text:?}");
}

/// `compare` gives the Jaccard overlap of two selections of the same records.
#[test]
fn compare_reports_how_alike_two_selections_are() {
    let dir = scratch("compare");
    let input = dir.join("pairs.jsonl");
    let pairs: String = (0..6)
        .map(|i| {
            let output = format!("Here:\n```python\nx{i} = load({i})\ny = x{i} * 2\nprint(y, x{i})\n```\n");
            format!(
                "{}\n",
                serde_json::json!({"id": format!("r{i}"), "instruction": "Do it.", "output": output})
            )
        })
        .collect();
    std::fs::write(&input, pairs).unwrap();
    let select = |name: &str, extra: &[&str]| {
        let out = dir.join(name);
        let status = codeblock()
            .args(["select", "--budget", "0.3", "--input"])
            .arg(&input)
            .args(extra)
            .arg("--out")
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success());
        out
    };
    let with = select("with.jsonl", &[]);
    let without = select("without.jsonl", &["--lambda-reach", "0", "--lambda-bridge", "0"]);
    let report = dir.join("overlap.json");
    let output = codeblock()
        .arg("compare")
        .arg(&with)
        .arg(&without)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("mask overlap (Jaccard)"));
    let overlap: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(overlap["records"], 6, "{overlap}");
    let jaccard = overlap["pooled_jaccard"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&jaccard), "{overlap}");
    let itself = codeblock().arg("compare").arg(&with).arg(&with).output().unwrap();
    assert!(String::from_utf8_lossy(&itself.stdout).contains("identical masks 6 (100.0%)"));
}

/// The ablation knobs and the pair stage with the default model: the excess utility against the
/// model itself is zero everywhere (from a reference model and from its precomputed scores);
/// token granularity supervises single tokens, never a whole item; `curate --model` reads every
/// pair (IFD, hidden-state embedding).
#[test]
fn ablations_and_curate_with_the_default_model() {
    let model = codeblock_tests::model_path();
    assert!(model.exists(), "{} is missing: run scripts/setup.sh", model.display());
    let dir = scratch("ablations-model");
    let input = dir.join("pairs.jsonl");
    let pairs = [
        serde_json::json!({"id": "sum", "instruction": "Sum a list.", "output": "Use `sum`:\n```python\ndef total(xs):\n    return sum(xs)\n```"}),
        serde_json::json!({"id": "max", "instruction": "Largest item.", "output": "```python\ndef largest(xs):\n    best = xs[0]\n    for x in xs:\n        if x > best:\n            best = x\n    return best\n```"}),
        serde_json::json!({"id": "words", "instruction": "Count words.", "output": "```python\ndef count(text):\n    return len(text.split())\n```"}),
        serde_json::json!({"id": "prose", "instruction": "What is a list?", "output": "An ordered, mutable sequence."}),
    ];
    std::fs::write(&input, pairs.iter().map(|p| format!("{p}\n")).collect::<String>()).unwrap();
    let run = |args: &[&str], out: &std::path::Path| {
        let output = codeblock()
            .args(args)
            .args(["--device", "cpu", "--input"])
            .arg(&input)
            .arg("--out")
            .arg(out)
            .arg("--model")
            .arg(&model)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let scores = dir.join("scores.jsonl");
    run(&["score"], &scores);
    let reference = model.to_str().expect("the model path is UTF-8");
    let scores_path = scores.to_str().unwrap();
    for reference_args in [["--reference", reference], ["--reference-scores", scores_path]] {
        let out = dir.join("excess.jsonl");
        run(
            &[&["select", "--utility", "excess"][..], &reference_args[..]].concat(),
            &out,
        );
        for output in read_jsonl(&out).iter().filter(|o| o["status"] == "ok") {
            for item in output["items"].as_array().unwrap() {
                assert_eq!(item["utility"], 0.0, "excess over itself: {item}");
            }
        }
    }
    let tokens = dir.join("tokens.jsonl");
    run(&["select", "--granularity", "tokens", "--budget", "0.2"], &tokens);
    let outputs = read_jsonl(&tokens);
    assert!(
        outputs
            .iter()
            .all(|o| o["items"].as_array().unwrap().iter().all(|i| i["selected"] == false))
    );
    let code_tokens: u64 = outputs
        .iter()
        .map(|o| o["stats"]["item_tokens"].as_u64().unwrap())
        .sum();
    assert!(code_tokens > 0, "single code tokens are supervised");

    let kept = dir.join("kept.jsonl");
    let report = dir.join("curate.json");
    let saved = dir.join("readings.jsonl");
    let curate = &[
        "curate",
        "--keep",
        "1.0",
        "--report",
        report.to_str().unwrap(),
        "--readings",
        saved.to_str().unwrap(),
    ];
    run(curate, &kept);
    // The readings are kept a line a pair; a run killed mid-write resumes from the complete
    // lines and ends as an uninterrupted one: the same numbers, the same file.
    let readings = std::fs::read_to_string(&saved).unwrap();
    assert_eq!(readings.lines().count(), 4);
    let first_kept = std::fs::read_to_string(&kept).unwrap();
    let first_line = readings.lines().next().unwrap();
    std::fs::write(&saved, format!("{first_line}\n{}", &first_line[..40])).unwrap();
    run(curate, &kept);
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), first_kept);
    let resumed = std::fs::read_to_string(&saved).unwrap();
    assert_eq!(resumed.lines().count(), 4);
    assert_eq!(resumed.lines().next(), Some(first_line));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert!(
        report["embedding"].as_str().unwrap().contains("hidden states"),
        "{report}"
    );
    assert_eq!(report["records_in"], 4);
    assert_eq!(report["dropped_by_reason"]["no code that parses"], 1, "{report}");
    let kept = read_jsonl(&kept);
    assert_eq!(kept.len(), 3, "{report}");
    for line in &kept {
        let ifd = line["curate"]["ifd"].as_f64().unwrap();
        assert!(ifd > 0.0 && ifd < 1.0, "the instruction helps: {line}");
        assert!(line["curate"]["knn_distance"].as_f64().unwrap() > 0.0, "{line}");
    }
}

/// `pairs` mines a package's documented functions and mlsys-lab's tasks, each pair with its
/// source and licence; `hygiene --clean` drops the pairs that hold a benchmark task.
#[test]
fn pairs_are_mined_with_their_licence_and_cleaned_of_benchmark_tasks() {
    let dir = scratch("mine");
    let package = dir.join("wheel");
    std::fs::create_dir_all(package.join("demo-1.2.dist-info")).unwrap();
    std::fs::create_dir_all(package.join("mlsys/projects/p-add/reference")).unwrap();
    std::fs::write(
        package.join("demo-1.2.dist-info/METADATA"),
        "Metadata-Version: 2.4\nName: demo\nVersion: 1.2\nLicense-Expression: MIT\n\nLicense: not this one\n",
    )
    .unwrap();
    let module = "import math\n\n\ndef hypot(a, b):\n    \"\"\"The hypotenuse.\"\"\"\n    return math.sqrt(a * a + b * b)\n\n\ndef _hidden(x):\n    \"\"\"Private.\"\"\"\n    return x\n";
    std::fs::create_dir_all(package.join("demo")).unwrap();
    std::fs::write(package.join("demo/geometry.py"), module).unwrap();
    let project = package.join("mlsys/projects/p-add");
    std::fs::write(
        project.join("project.json"),
        r#"{"id": "p-add", "title": "Add", "edits": ["add.py"]}"#,
    )
    .unwrap();
    std::fs::write(project.join("brief.md"), "Add two numbers.\n").unwrap();
    std::fs::write(project.join("reference/add.py"), "def add(a, b):\n    return a + b\n").unwrap();

    let mine = |source: &str, out: &std::path::Path| {
        let output = codeblock()
            .args(["pairs", "--source", source, "--input"])
            .arg(&package)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        read_jsonl(out)
    };
    let functions = mine("functions", &dir.join("functions.jsonl"));
    assert_eq!(functions.len(), 1, "{functions:?}");
    assert_eq!(functions[0]["id"], "demo/geometry.py::hypot");
    assert_eq!(functions[0]["license"], "MIT");
    assert_eq!(functions[0]["source"], "demo 1.2 (PyPI)");
    let output = functions[0]["output"].as_str().unwrap();
    assert!(
        output.contains("```python\nimport math\n\ndef hypot(a, b):\n    return math.sqrt"),
        "{output}"
    );
    let tasks = mine("mlsys-lab", &dir.join("tasks.jsonl"));
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["instruction"], "Add\n\nAdd two numbers.\n\nWrite `add.py`.");

    // A pool holding MBPP+'s Mbpp/602 by id loses it and keeps the rest.
    let pool = dir.join("pool.jsonl");
    let copy = serde_json::json!({"id": "MBPP/602", "instruction": "x", "output": "y"});
    let text = format!("{}\n{}\n{copy}\n", functions[0], tasks[0]);
    std::fs::write(&pool, text).unwrap();
    let clean = dir.join("clean.jsonl");
    let status = codeblock()
        .args(["hygiene", "--bench", "mbpp-plus", "--input"])
        .arg(&pool)
        .arg("--clean")
        .arg(&clean)
        .status()
        .unwrap();
    assert!(status.success());
    let ids: Vec<Value> = read_jsonl(&clean).iter().map(|p| p["id"].clone()).collect();
    assert_eq!(ids, [functions[0]["id"].clone(), tasks[0]["id"].clone()]);
}

/// `--device auto` probes the graphics drivers quietly: on a machine without a GPU or a display
/// (Mesa then writes "XDG_RUNTIME_DIR is invalid or not set" once per backend), the user reads
/// one line, ours, saying what was chosen and why.
#[test]
fn device_auto_says_in_one_line_what_it_chose() {
    let dir = scratch("device-auto");
    let input = dir.join("pairs.jsonl");
    std::fs::write(&input, "{\"prompt\": \"p\", \"completion\": \"x = 1\"}\n").unwrap();
    let run = codeblock()
        .env_remove("XDG_RUNTIME_DIR")
        .args(["select", "--device", "auto", "--model"])
        .arg(codeblock_tests::model_path())
        .arg("--input")
        .arg(&input)
        .arg("--out")
        .arg(dir.join("out.jsonl"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let first = stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("model ") && first.contains(" on "), "{stderr}");
    assert!(!stderr.contains("XDG_RUNTIME_DIR"), "{stderr}");
}

/// An output that cannot be written is a clear error, and nothing is left under its name or a
/// temporary one.
#[test]
fn an_unwritable_output_is_a_clear_error_and_leaves_nothing() {
    let dir = scratch("unwritable");
    let input = dir.join("pairs.jsonl");
    std::fs::write(&input, "{\"prompt\": \"p\", \"completion\": \"x = 1\"}\n").unwrap();
    let out = dir.join("missing-folder/selected.jsonl");
    let run = codeblock()
        .args(["select", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains(&format!("cannot write {}", out.display())), "{stderr}");
    assert!(!dir.join("missing-folder").exists());
}
