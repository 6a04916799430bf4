// In-browser scoring: the real SmolLM2 GGUF picked in the page, on WebGPU (SwiftShader) and on
// the CPU fallback, gives the utilities and selection of native `codeblock select --model`, and
// `Model.curate` the pair stage of native `codeblock curate --model`.
// Needs CODEBLOCK_MODEL (the GGUF set-up fetches).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch, openPreviewer, root, serve } from "./browser.mjs";

const fixture = readFileSync(join(root, "tests/fixtures/closures.md"), "utf8");
const instruction = "Build a counter with a closure.";
let server;
let browser;
let native;
let nativeCurated;
const pool = [
  { id: "sum", instruction: "Sum a list.", output: "```python\ndef total(xs):\n    return sum(xs)\n```" },
  { id: "max", instruction: "Largest item.", output: "```python\ndef largest(xs):\n    best = xs[0]\n    for x in xs:\n        if x > best:\n            best = x\n    return best\n```" },
  { id: "words", instruction: "Count words.", output: "```python\ndef count(text):\n    return len(text.split())\n```" },
].map((p) => JSON.stringify(p) + "\n").join("");

before(async () => {
  server = await serve();
  browser = await launch();
  const dir = mkdtempSync(join(tmpdir(), "codeblock-web-model-"));
  writeFileSync(join(dir, "in.jsonl"), JSON.stringify({ instruction, output: fixture }) + "\n");
  const args = ["select", "--input", join(dir, "in.jsonl"), "--out", join(dir, "out.jsonl"), "--model", process.env.CODEBLOCK_MODEL, "--device", "cpu"];
  execFileSync(process.env.CODEBLOCK_BIN, args, { stdio: "pipe" });
  native = JSON.parse(readFileSync(join(dir, "out.jsonl"), "utf8"));
  writeFileSync(join(dir, "pool.jsonl"), pool);
  const curate = ["curate", "--no-tests", "--keep", "1", "--input", join(dir, "pool.jsonl"), "--out", join(dir, "kept.jsonl"), "--model", process.env.CODEBLOCK_MODEL, "--device", "cpu"];
  execFileSync(process.env.CODEBLOCK_BIN, curate, { stdio: "pipe" });
  nativeCurated = readFileSync(join(dir, "kept.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
});
after(async () => {
  await browser?.close();
  server?.stop();
});

for (const device of ["webgpu", "cpu"]) {
  test(`SmolLM2 scores in the browser (${device}) as natively`, async (t) => {
    const { page, errors } = await openPreviewer(browser, server.url);
    const started = performance.now();
    // Where the test's time goes, in its output: SwiftShader makes this CI's longest test.
    const took = (what) => t.diagnostic(`${device}: ${what} after ${((performance.now() - started) / 1000).toFixed(1)} s`);
    await page.fill("#instruction", instruction);
    await page.fill("#response", fixture);
    await page.selectOption("#device", device);
    await page.setInputFiles("#model-file", process.env.CODEBLOCK_MODEL);
    // SwiftShader runs WebGPU on the CPU: with other work on the cores, scoring has taken over
    // four minutes. The wait only guards against a hang.
    await page.waitForFunction(() => document.body.dataset.scored === "1", null, { timeout: 900_000 });
    took("loaded and scored");
    const shown = await page.evaluate(() => {
      const output = window.previewer.outputs[0];
      return { device: document.body.dataset.device, output, message: document.getElementById("message").textContent };
    });
    assert.equal(shown.output.status, "ok", shown.message);
    assert.match(shown.device, device === "webgpu" ? /^WebGPU$/ : /^CPU/);
    assert.deepEqual(shown.output.mask.token_ids, native.mask.token_ids, "the model's own tokenizer cuts the response");
    const gap = Math.max(...native.items.map((item, i) => Math.abs(item.utility - shown.output.items[i].utility)));
    assert.ok(gap < 1e-3, `utilities differ from native by up to ${gap}`);
    assert.deepEqual(
      shown.output.items.map((i) => i.selected),
      native.items.map((i) => i.selected),
    );
    assert.equal(shown.output.stats.supervised_tokens, native.stats.supervised_tokens);
    // The pair stage with the same model: IFD and the hidden-state embedding as natively. On the
    // CPU only: on WebGPU it is the same model code on the device the scoring above checks, and
    // SwiftShader took 722 s of this test's 976 for it (scoring: 254 s).
    if (device === "cpu") {
      const curated = await page.evaluate(async (text) => {
        const result = await window.previewer.model.curate(new TextEncoder().encode(text), { curate: { keep: 1 } });
        return { report: result.report, kept: result.kept.split("\n").filter(Boolean).map((l) => JSON.parse(l)) };
      }, pool);
      took("curated");
      assert.match(curated.report.embedding, /hidden states/);
      assert.deepEqual(curated.kept.map((p) => p.id), nativeCurated.map((p) => p.id));
      for (const [i, pair] of curated.kept.entries()) {
        for (const key of ["ifd", "knn_distance"]) {
          const gap = Math.abs(pair.curate[key] - nativeCurated[i].curate[key]);
          assert.ok(gap < 1e-3, `${pair.id}: ${key} differs from native by ${gap}`);
        }
      }
    }
    // Arguments of the wrong type are TypeErrors naming them; the model is intact after them.
    const thrown = await page.evaluate(async () => {
      const model = window.previewer.model;
      const attempts = [
        () => model.score(42),
        () => model.score("a record"),
        () => model.score(new Uint8Array(), undefined, 5),
        () => model.curate("text"),
        () => model.constructor.load("model.gguf"),
      ];
      const seen = [];
      for (const attempt of attempts) {
        try {
          await attempt();
          seen.push("no error");
        } catch (e) {
          seen.push(`${e.constructor.name}: ${e.message}`);
        }
      }
      return seen;
    });
    assert.deepEqual(thrown, [
      "TypeError: input must be a Uint8Array or a record object, not number",
      "TypeError: input must be a Uint8Array or a record object, not string",
      "TypeError: onProgress must be a function, not number",
      "TypeError: bytes must be a Uint8Array, not string",
      "TypeError: bytes must be a Uint8Array, not string",
    ]);
    // (Scoring again would double this test's time on SwiftShader; the model's own state answers.)
    const again = await page.evaluate(() => [window.previewer.model.device, JSON.parse(window.previewer.model.tokenizerJson).model.type]);
    assert.deepEqual(again, [shown.device, "BPE"]);
    assert.deepEqual(errors, []);
  });
}

test("a GGUF that is not a supported model shows a clear message", async () => {
  const { page } = await openPreviewer(browser, server.url);
  await page.setInputFiles("#model-file", { name: "broken.gguf", mimeType: "application/octet-stream", buffer: Buffer.from("GGUF\x03\x00\x00\x00truncated") });
  await page.waitForSelector("#message:not([hidden])", { timeout: 120_000 });
  assert.match(await page.locator("#message").textContent(), /^broken\.gguf: model: /);
  assert.ok(Number(await page.locator("#supervised-count").textContent()) > 0, "the page still selects");
});
