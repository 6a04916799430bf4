// Parity: for every fixture, the module with every grammar (`@codeblock/wasm/languages`, as
// native builds) returns byte-identical JSONL to native `codeblock select` (same tokenizer, same
// n-gram scorer, same knobs), bad lines included, and so does the Python module
// (`@codeblock/wasm`) on the Python fixtures; `curate` gives what native `codeblock curate
// --no-tests` writes; the light editor module (`@codeblock/wasm/partition`) partitions Python as
// native `select` and the whole module do, and the languages module every other language.
// Needs CODEBLOCK_BIN (the native binary) and CODEBLOCK_TOKENIZER (a tokenizer.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("../..", import.meta.url).pathname;
const require = createRequire(import.meta.url);
const python = require(join(root, "wasm/pkg/node/codeblock.js"));
const languages = require(join(root, "wasm/pkg/languages/node/codeblock.js"));
const { partition } = python;
const { curate } = languages;
const light = require(join(root, "wasm/pkg/partition/node/codeblock.js"));
const bin = process.env.CODEBLOCK_BIN;
const tokenizer = process.env.CODEBLOCK_TOKENIZER;

/** Fixtures in other languages than Python are named after their language; a fixture that mixes
 * languages tags its fences. */
const otherLanguage = /^(javascript|typescript|tsx|java|go|rust)_/;
const otherFence = /^\s*```\s*(javascript|js|jsx|typescript|ts|tsx|java|go|golang|rust|rs)\s*$/m;

/** Every fixture (or only the Python ones) as a prompt/completion record, then lines native
 * must reject. */
function fixturesJsonl(pythonOnly = false) {
  const dir = join(root, "tests/fixtures");
  const records = readdirSync(dir)
    .filter((name) => name.endsWith(".md"))
    .filter((name) => !(pythonOnly && (otherLanguage.test(name) || otherFence.test(readFileSync(join(dir, name), "utf8")))))
    .sort()
    .map((name) => JSON.stringify({ id: name, prompt: "Fixture.", completion: readFileSync(join(dir, name), "utf8") }));
  const text = [...records, "{oops", '{"instruction":"x"}', "", '{"prompt":"p","completion":""}'].join("\n") + "\n";
  return Buffer.concat([Buffer.from(text), Buffer.from([0xff, 0xfe, 0x0a])]);
}

const configs = {
  defaults: {},
  "per-record 30%": { select: { budget: 0.3, scope: "per_record" }, score: { q: 0.5 } },
  "data flow off": { dataflow: { lambda_reach: 0, lambda_bridge: 0 }, partition: { max_depth: 1 } },
};

const modules = { "every language": [languages, false], Python: [python, true] };

for (const withTokenizer of [false, true]) {
  for (const [name, config] of Object.entries(configs)) {
    for (const [label, [{ Session }, pythonOnly]] of Object.entries(modules)) {
      test(`wasm = native: ${name}, ${withTokenizer ? "Qwen3 tokenizer" : "lexical tokens"}, ${label}`, () => {
        assert.ok(bin && tokenizer, "CODEBLOCK_BIN and CODEBLOCK_TOKENIZER must be set");
        const dir = mkdtempSync(join(tmpdir(), "codeblock-parity-"));
        const input = join(dir, "in.jsonl");
        writeFileSync(input, fixturesJsonl(pythonOnly));
        writeFileSync(join(dir, "config.json"), JSON.stringify(config));
        const args = ["select", "--input", input, "--out", join(dir, "out.jsonl"), "--config", join(dir, "config.json")];
        const session = new Session();
        if (withTokenizer) {
          args.push("--tokenizer", tokenizer);
          session.loadTokenizer(readFileSync(tokenizer));
        }
        execFileSync(bin, args, { stdio: "pipe" });
        const native = readFileSync(join(dir, "out.jsonl"), "utf8");
        const wasm = session.selectJsonl(readFileSync(input), { config });
        const lines = native.split("\n").filter(Boolean);
        assert.ok(lines.length >= 35 + 4, `${lines.length} output lines`);
        const reasons = lines.map((l) => JSON.parse(l)).filter((o) => o.status === "rejected").map((o) => o.reason);
        for (const reason of ["malformed_json", "missing_field", "empty_response", "invalid_utf8"]) {
          assert.ok(reasons.includes(reason), `no ${reason} reject in ${reasons}`);
        }
        assert.equal(wasm, native);
      });
    }
  }
}

test("wasm curate = native curate --no-tests: kept lines and report", () => {
  assert.ok(bin, "CODEBLOCK_BIN must be set");
  const dir = mkdtempSync(join(tmpdir(), "codeblock-parity-curate-"));
  const input = join(dir, "in.jsonl");
  writeFileSync(input, fixturesJsonl());
  const args = ["curate", "--no-tests", "--keep", "0.4", "--k", "3", "--input", input, "--out", join(dir, "kept.jsonl"), "--report", join(dir, "report.json")];
  execFileSync(bin, args, { stdio: "pipe" });
  const wasm = curate(readFileSync(input), { curate: { keep: 0.4, k: 3 } });
  const kept = readFileSync(join(dir, "kept.jsonl"), "utf8");
  assert.ok(kept.split("\n").filter(Boolean).length >= 10, kept);
  assert.equal(wasm.kept, kept);
  assert.deepEqual(wasm.report, JSON.parse(readFileSync(join(dir, "report.json"), "utf8")));
  assert.equal(wasm.report.records_in, wasm.report.kept + Object.values(wasm.report.dropped_by_reason).reduce((a, b) => a + b, 0));
});

test("light module = native select's items and the whole module's partition, segment by segment", () => {
  assert.ok(bin, "CODEBLOCK_BIN must be set");
  const dir = mkdtempSync(join(tmpdir(), "codeblock-parity-light-"));
  writeFileSync(join(dir, "in.jsonl"), fixturesJsonl());
  execFileSync(bin, ["select", "--input", join(dir, "in.jsonl"), "--out", join(dir, "out.jsonl")], { stdio: "pipe" });
  const records = readFileSync(join(dir, "out.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
  let segments = 0;
  let languagesCompared = 0;
  for (const record of records.filter((r) => r.status === "ok")) {
    const response = Buffer.from(record.response);
    for (const { kind, language, span: [start, end] } of record.segments) {
      if (kind !== "code" || language === "other") continue;
      const code = response.subarray(start, end).toString();
      const items = language === "python" ? light.partition(code) : languages.partition(code, { language });
      if (language === "python") {
        for (const positions of ["bytes", "utf16"]) {
          assert.deepEqual(light.partition(code, { positions }), partition(code, { positions }), `${record.id} at ${start}`);
        }
      } else {
        languagesCompared += 1;
      }
      const shifted = items.items.map((i) => [[i.span[0] + start, i.span[1] + start], i.kind, i.node, i.depth]);
      const native = record.items
        .filter((i) => start <= i.span[0] && i.span[1] <= end)
        .map((i) => [i.span, i.kind, i.node, i.depth]);
      assert.deepEqual(shifted, native, `${record.id}: items of the segment at byte ${start}`);
      segments += 1;
    }
  }
  assert.ok(segments >= 80, `${segments} segments compared`);
  assert.ok(languagesCompared >= 50, `${languagesCompared} segments of other languages compared`);
  assert.deepEqual(light.defaultConfig(), require(join(root, "wasm/pkg/node/codeblock.js")).defaultConfig());
});
