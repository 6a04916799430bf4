//! Checkpoints and `--resume` on a tiny Llama (tests/data/tiny, with a character-level
//! tokenizer made here): a run killed with SIGKILL mid-training resumes to exactly the loss
//! curve of an uninterrupted run; a corrupted checkpoint stops the resume with an error naming
//! the file; a partial one is ignored; a run with none starts again.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{codeblock, read_jsonl, scratch};

/// Characters of the tokenizer: 63 plus `<unk>` fill the tiny model's 64-entry vocabulary.
const CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789 \n()=:+-*,._[]'#<>`\"!?%/{}$";

/// The tiny Llama as a Hugging Face folder, with a character-level `tokenizer.json`.
fn tiny_model(dir: &Path) -> PathBuf {
    let model = dir.join("model");
    std::fs::create_dir_all(&model).unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/tiny/llama");
    for file in ["config.json", "model.safetensors"] {
        std::fs::copy(source.join(file), model.join(file)).unwrap();
    }
    let mut vocab = serde_json::Map::new();
    vocab.insert("<unk>".into(), 0.into());
    for (i, c) in CHARS.chars().enumerate() {
        vocab.insert(c.to_string(), (i + 1).into());
    }
    assert_eq!(vocab.len(), 64);
    let tokenizer = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [], "normalizer": null,
        "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(?s)."}, "behavior": "Isolated", "invert": false},
        "post_processor": null, "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<unk>"}
    });
    std::fs::write(model.join("tokenizer.json"), tokenizer.to_string()).unwrap();
    model
}

/// `select` output for a few short records, tokenized by the tiny model's tokenizer.
fn selected(dir: &Path, model: &Path) -> PathBuf {
    let pairs: String = (0..6)
        .map(|i| {
            let code = format!("```python\ndef f{i}(x):\n    y = x * {i} + 1\n    return y\n```");
            format!(
                "{}\n",
                serde_json::json!({"id": i.to_string(), "prompt": "add", "completion": code})
            )
        })
        .collect();
    std::fs::write(dir.join("pairs.jsonl"), pairs).unwrap();
    let out = dir.join("selected.jsonl");
    let status = codeblock()
        .args(["select", "--device", "cpu", "--budget", "0.3", "--input"])
        .arg(dir.join("pairs.jsonl"))
        .arg("--model")
        .arg(model)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    out
}

fn train_command(model: &Path, data: &Path, out: &Path, checkpoint_every: &str) -> Command {
    train_command_with(model, data, out, checkpoint_every, &[])
}

fn train_command_with(model: &Path, data: &Path, out: &Path, checkpoint_every: &str, extra: &[&str]) -> Command {
    let mut command = codeblock();
    let settings = [
        "--mode",
        "full",
        "--epochs",
        "200",
        "--lr",
        "1e-3",
        "--batch-tokens",
        "64",
        "--grad-accum",
        "2",
    ];
    command
        .args(["train", "--device", "cpu"])
        .args(settings)
        .args(extra)
        .args(["--checkpoint-every", checkpoint_every])
        .arg("--model")
        .arg(model)
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out)
        .stderr(Stdio::null())
        .stdout(Stdio::null());
    command
}

fn losses(run: &Path) -> Vec<(u64, f64)> {
    read_jsonl(&run.join("metrics.jsonl"))
        .iter()
        .map(|m| (m["step"].as_u64().unwrap(), m["loss"].as_f64().unwrap()))
        .collect()
}

fn checkpoints(run: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(run.join("checkpoints"))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_killed_run_resumes_to_the_uninterrupted_result() {
    killed_and_resumed("kill", &[]);
}

#[test]
fn a_killed_lora_run_resumes_to_the_uninterrupted_result() {
    let dir = killed_and_resumed("kill-lora", &["--lora-rank", "4", "--lora-targets", "q,v,down"]);
    // The checkpoint holds the adapters only: much smaller than the model.
    let run = dir.join("killed");
    let newest = run.join("checkpoints").join(checkpoints(&run).last().unwrap());
    let adapters = std::fs::metadata(newest.join("model.bpk")).unwrap().len();
    let model = std::fs::metadata(dir.join("model/model.safetensors")).unwrap().len();
    assert!(
        adapters * 3 < model,
        "{adapters} bytes of adapters for a {model}-byte model"
    );
    let curve = losses(&run);
    assert!(
        curve.last().unwrap().1 < curve[0].1,
        "LoRA training lowers the loss: {curve:?}"
    );
}

/// Trains once whole and once killed (SIGKILL) then resumed, with `extra` flags; the loss
/// curves must be equal. Returns the scratch folder.
fn killed_and_resumed(name: &str, extra: &[&str]) -> common::Scratch {
    let dir = scratch(name);
    let model = tiny_model(&dir);
    let data = selected(&dir, &model);
    let train_command =
        |model: &Path, data: &Path, out: &Path, every: &str| train_command_with(model, data, out, every, extra);

    let whole = dir.join("whole");
    assert!(train_command(&model, &data, &whole, "0").status().unwrap().success());
    let expected = losses(&whole);
    assert!(expected.len() >= 100, "{} steps", expected.len());

    // Kill the same run with SIGKILL once its first checkpoint is on disk, mid-training.
    let killed = dir.join("killed");
    let mut child = train_command(&model, &data, &killed, "20").spawn().unwrap();
    let clock = Instant::now();
    while !checkpoints(&killed).iter().any(|c| c.starts_with("step-")) {
        assert!(clock.elapsed() < Duration::from_secs(120), "no checkpoint appeared");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended before it could be killed"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let done_before_kill = losses(&killed).len();
    assert!(done_before_kill < expected.len(), "killed after the last step");

    let resumed = codeblock().arg("train").arg("--resume").arg(&killed).output().unwrap();
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    assert!(String::from_utf8_lossy(&resumed.stderr).contains("resuming from"));
    assert_eq!(losses(&killed), expected, "the resumed loss curve differs");
    assert!(
        checkpoints(&killed).len() <= 2,
        "old checkpoints are pruned: {:?}",
        checkpoints(&killed)
    );
    dir
}

#[test]
fn damaged_or_partial_checkpoints_are_detected() {
    let dir = scratch("damaged");
    let model = tiny_model(&dir);
    let data = selected(&dir, &model);
    let run = dir.join("run");
    let mut command = train_command(&model, &data, &run, "10");
    command.args(["--max-steps", "20"]);
    assert!(command.status().unwrap().success());
    let names = checkpoints(&run);
    assert_eq!(names, ["step-000010", "step-000020"]);

    // A new run refuses a folder that holds one.
    let again = train_command(&model, &data, &run, "10")
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--resume"));

    // A partial checkpoint (killed mid-write) is ignored, with a note.
    std::fs::create_dir_all(run.join("checkpoints/.partial-step-000030")).unwrap();
    let resume = || codeblock().arg("train").arg("--resume").arg(&run).output().unwrap();
    let output = resume();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("never finished") && stderr.contains("resuming from"),
        "{stderr}"
    );

    // A flipped byte in the newest checkpoint's weights stops the resume, naming the file.
    let newest = run.join("checkpoints").join(checkpoints(&run).last().unwrap());
    let weights = newest.join("model.bpk");
    let mut bytes = std::fs::read(&weights).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&weights, bytes).unwrap();
    let output = resume();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is corrupted: model.bpk does not match its sha256"),
        "{stderr}"
    );
}

/// A run stopped before its first checkpoint (here, one that writes none) has nothing to go on
/// from: `--resume` starts it again with its saved settings, to the same curve.
#[test]
fn a_run_without_a_checkpoint_resumes_from_the_start() {
    let dir = scratch("no-checkpoint");
    let model = tiny_model(&dir);
    let data = selected(&dir, &model);
    let run = dir.join("run");
    let mut command = train_command(&model, &data, &run, "0");
    command.args(["--max-steps", "3"]);
    assert!(command.status().unwrap().success());
    let expected = losses(&run);
    assert_eq!(expected.len(), 3);
    assert!(checkpoints(&run).is_empty(), "{:?}", checkpoints(&run));

    let resumed = codeblock().arg("train").arg("--resume").arg(&run).output().unwrap();
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{stderr}");
    assert!(
        stderr.contains("has no finished checkpoint yet: starting at step 0"),
        "{stderr}"
    );
    assert_eq!(losses(&run), expected);
}

#[test]
fn mixed_precision_trains_and_says_where_it_cannot() {
    let dir = scratch("mixed");
    let model = tiny_model(&dir);
    let data = selected(&dir, &model);
    for precision in ["bf16", "f16"] {
        let run = dir.join(precision);
        let mut command = train_command_with(&model, &data, &run, "0", &["--precision", precision]);
        assert!(command.args(["--max-steps", "60"]).status().unwrap().success());
        let curve = losses(&run);
        let (first, last) = (curve[0].1, curve.last().unwrap().1);
        assert!(last < 0.8 * first, "{precision}: loss {first} → {last}");
        let settings = std::fs::read_to_string(run.join("run.json")).unwrap();
        assert!(
            settings.contains(&format!("\"precision\": \"{precision}\"")),
            "{settings}"
        );
    }
    // lavapipe's Vulkan has f16 arithmetic but no bf16: the run stops before it starts.
    let output = codeblock()
        .args(["train", "--device", "wgpu", "--precision", "bf16", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(dir.join("wgpu-bf16"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot compute in BF16"), "{stderr}");
}

#[test]
fn data_parallel_training_follows_the_single_device_curve() {
    let dir = scratch("parallel");
    let model = tiny_model(&dir);
    let data = selected(&dir, &model);
    let run = |name: &str, extra: &[&str]| {
        let out = dir.join(name);
        let mut command = train_command_with(&model, &data, &out, "0", extra);
        let output = command
            .args(["--max-steps", "30"])
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        losses(&out)
    };
    let single = run("single", &[]);
    // The step's two micro-batches go one to the CPU, one to wgpu (lavapipe here); their
    // gradients meet on the CPU, where the model and optimizer live.
    let parallel = run("parallel", &["--devices", "cpu,wgpu", "--export"]);
    // The parameters, updated on both devices, export as one checkpoint.
    assert!(dir.join("parallel/final/model.safetensors").exists());
    assert_eq!(parallel.len(), single.len());
    for ((step, a), (_, b)) in single.iter().zip(&parallel) {
        assert!(
            (a - b).abs() <= 1e-3 * a.abs().max(1.0),
            "step {step}: loss {a} alone, {b} data parallel"
        );
    }
    assert!(single.last().unwrap().1 < single[0].1);
    // A device named twice would train on it twice: refused, naming it.
    let output = train_command_with(&model, &data, &dir.join("twice"), "0", &["--devices", "cpu,wgpu,cpu"])
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--devices names CPU (burn flex) twice"), "{stderr}");
}

fn score_command(model: &Path, input: &Path, out: &Path) -> Command {
    let mut command = codeblock();
    command
        .args(["score", "--device", "cpu", "--batch-tokens", "64", "--model"])
        .arg(model)
        .arg("--input")
        .arg(input)
        .arg("--out")
        .arg(out);
    command
}

fn sorted_lines(path: &Path) -> Vec<String> {
    let mut lines: Vec<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    lines.sort();
    lines
}

/// `score` puts each line on disk as it is scored: a file cut short mid-line (as a kill leaves
/// it) resumes with `--resume` to exactly the lines of an uninterrupted run, and a resume with
/// another input, or of a complete file, is refused.
#[test]
fn a_cut_score_file_resumes_to_the_whole_result() {
    let dir = scratch("score-resume");
    let model = tiny_model(&dir);
    selected(&dir, &model);
    let pairs = dir.join("pairs.jsonl");
    let whole = dir.join("whole.jsonl");
    assert!(score_command(&model, &pairs, &whole).status().unwrap().success());
    let expected = sorted_lines(&whole);
    assert_eq!(expected.len(), 6);

    let cut = dir.join("cut.jsonl");
    assert!(score_command(&model, &pairs, &cut).status().unwrap().success());
    let text = std::fs::read_to_string(&cut).unwrap();
    let keep = text.match_indices('\n').nth(1).unwrap().0 + 1;
    std::fs::write(&cut, &text[..keep + 10]).unwrap();
    // As a killed run leaves it: not marked complete.
    let run = cut.with_file_name("cut.jsonl.run.json");
    let saved = std::fs::read_to_string(&run)
        .unwrap()
        .replace("\"complete\":true", "\"complete\":false");
    std::fs::write(&run, saved).unwrap();

    let resumed = score_command(&model, &pairs, &cut).arg("--resume").output().unwrap();
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{stderr}");
    assert!(
        stderr.contains("resuming: 2 records scored already, 4 to go"),
        "{stderr}"
    );
    assert_eq!(sorted_lines(&cut), expected);

    let again = score_command(&model, &pairs, &cut).arg("--resume").output().unwrap();
    assert!(String::from_utf8_lossy(&again.stderr).contains("is complete; nothing to resume"));
    let other = dir.join("other.jsonl");
    std::fs::copy(&pairs, &other).unwrap();
    std::fs::write(&run, std::fs::read_to_string(&run).unwrap().replace("true", "false")).unwrap();
    let refused = score_command(&model, &other, &cut).arg("--resume").output().unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("resume it with the same"));
}

/// Ctrl-C (SIGINT) in `train` stops after the step in flight, saves a checkpoint there, says
/// how to go on, and the resumed run ends on the uninterrupted loss curve.
#[test]
fn ctrl_c_in_train_stops_at_a_checkpoint_that_resumes() {
    let dir = scratch("ctrl-c");
    let model = tiny_model(&dir);
    let data = selected(&dir, &model);
    let whole = dir.join("whole");
    assert!(train_command(&model, &data, &whole, "0").status().unwrap().success());
    let expected = losses(&whole);

    let stopped = dir.join("stopped");
    let child = train_command(&model, &data, &stopped, "0")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let clock = Instant::now();
    while !stopped.join("metrics.jsonl").exists() || losses(&stopped).len() < 5 {
        assert!(clock.elapsed() < Duration::from_secs(120), "no steps appeared");
        std::thread::sleep(Duration::from_millis(5));
    }
    let interrupt = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupt.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("goes on") && stderr.contains("--resume"), "{stderr}");
    let done = losses(&stopped).len();
    assert!(done < expected.len(), "stopped after the last step");
    assert_eq!(checkpoints(&stopped), vec![format!("step-{done:06}")]);

    let resumed = codeblock().arg("train").arg("--resume").arg(&stopped).output().unwrap();
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    assert_eq!(losses(&stopped), expected, "the resumed loss curve differs");
}
