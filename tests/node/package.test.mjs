// The npm package as a user gets it: install the packed tarball into an empty project, require
// it from Node, and use every export, positions in bytes and UTF-16, and errors.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("../..", import.meta.url).pathname;
let api;
let project;

before(() => {
  const tarball = readdirSync(join(root, "wasm/pkg")).find((f) => f.endsWith(".tgz"));
  assert.ok(tarball, "wasm/pkg holds no packed tarball: run scripts/build-wasm.sh");
  project = mkdtempSync(join(tmpdir(), "codeblock-npm-"));
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "extension", private: true }));
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", join(root, "wasm/pkg", tarball)], {
    cwd: project,
    stdio: "pipe",
  });
  api = createRequire(join(project, "index.js"))("@codeblock/wasm");
});

const code = "import os\n\ndef area(r):\n    # π r²\n    return 3.14159 * r * r\n\nprint(area(2))\n";

test("the package ships types for Node and bundlers", () => {
  for (const dir of ["node", "bundler"]) {
    const types = readFileSync(join(project, "node_modules/@codeblock/wasm", dir, "codeblock.d.ts"), "utf8");
    assert.match(types, /export function partition\(code: string, options\?: Options \| null\): CodeItems;/);
    assert.match(types, /select\(record: object, options\?: Options \| null\): RecordOutput;/);
    assert.match(types, /export function curate\(bytes: Uint8Array, options\?: Options \| null\): CurateResult;/);
    assert.match(types, /selectJsonl\(bytes: Uint8Array, options\?: Options \| null\): string;/);
  }
  assert.ok(existsSync(join(project, "node_modules/@codeblock/wasm/LICENSE")));
  for (const dir of ["partition/node", "partition/bundler"]) {
    const types = readFileSync(join(project, "node_modules/@codeblock/wasm", dir, "codeblock.d.ts"), "utf8");
    assert.match(types, /export function partition\(code: string, options\?: Options \| null\): CodeItems;/);
    assert.doesNotMatch(types, /Session|curate/);
  }
});

test("the light editor entry: partition without a tokenizer, under 1 MB, same answers", () => {
  const lightApi = createRequire(join(project, "index.js"))("@codeblock/wasm/partition");
  assert.deepEqual(Object.keys(lightApi).sort(), ["defaultConfig", "partition"]);
  const module = join(project, "node_modules/@codeblock/wasm/partition/node/codeblock_bg.wasm");
  assert.ok(statSync(module).size <= 1_000_000, `${statSync(module).size} bytes`);
  for (const positions of ["bytes", "utf16"]) {
    assert.deepEqual(lightApi.partition(code, { positions }), api.partition(code, { positions }));
  }
  assert.throws(() => lightApi.partition(7), (e) => e instanceof TypeError && e.message === "code must be a string, not number");
  // It knows only `config` and `positions`: the record options belong to the whole module.
  assert.throws(() => lightApi.partition(code, { fields: { output: "answer" } }), /options: unknown field `fields`/);
  assert.equal(lightApi.partition(code).items.length, 4);
});

test("the languages entry partitions every language; the Python modules keep other code whole", () => {
  const all = createRequire(join(project, "index.js"))("@codeblock/wasm/languages");
  const rust = "use std::fs;\n\nfn size(path: &str) -> u64 {\n    let meta = fs::metadata(path).unwrap();\n    meta.len()\n}\n";
  const items = all.partition(rust, { language: "rust" });
  assert.deepEqual(
    items.items.map((i) => [i.kind, i.node, i.depth]),
    [
      ["imports", "use_declaration", 0],
      ["header", "function_item", 0],
      ["statement", "let_declaration", 1],
      ["statement", "call_expression", 1],
    ],
  );
  assert.deepEqual(items.edges.map((e) => [e.from, e.to, e.names]), [[0, 2, ["fs"]], [1, 2, ["path"]], [2, 3, ["meta"]]]);
  assert.deepEqual(items.diagnostics, []);
  const record = { instruction: "Size of a file.", output: "```rust\n" + rust + "```\n" };
  const session = new all.Session();
  assert.equal(session.select(record).segments[1].language, "rust");
  // The Python module has no Rust grammar: the code is kept, reported, and not partitioned.
  assert.equal(api.partition(rust, { language: "rust" }).items.length, 0);
  assert.match(api.partition(rust, { language: "rust" }).diagnostics[0].message, /Rust code is not parsed by this build/);
  const python = new api.Session().select(record);
  assert.equal(python.items.length, 0);
  assert.match(python.diagnostics[0].message, /code in another language/);
  assert.throws(() => all.partition(rust, { language: "cobol" }), /options: unknown variant `cobol`/);
});

test("partition gives items, edges and core logic, in bytes or UTF-16", () => {
  const bytes = api.partition(code);
  assert.deepEqual(
    bytes.items.map((i) => [i.kind, i.node]),
    [
      ["imports", "import_statement"],
      ["header", "function_definition"],
      ["statement", "return_statement"],
      ["statement", "expression_statement"],
    ],
  );
  assert.deepEqual(bytes.edges.map((e) => [e.from, e.to, e.names]), [[1, 2, ["r"]], [1, 3, ["area"]]]);
  const utf16 = api.partition(code, { positions: "utf16" });
  const ret = utf16.items[2].span;
  assert.equal(code.slice(ret[0], ret[1]), "return 3.14159 * r * r");
  // "π" and "²" are two bytes each in UTF-8, one unit in UTF-16.
  assert.equal(bytes.items[2].span[0] - ret[0], 2);
  assert.equal(api.partition("def f(:\n").diagnostics.length > 0, true);
});

test("select returns a loss mask over the response's tokens", () => {
  const session = new api.Session();
  assert.equal(session.hasTokenizer, false);
  const out = session.select(
    { instruction: "Area of a circle.", output: "Here:\n```python\n" + code + "```\n" },
    { config: { select: { budget: 0.3 } }, positions: "utf16" },
  );
  assert.equal(out.status, "ok");
  assert.equal(out.mask.supervised.length, out.mask.token_spans.length);
  const supervised = out.mask.supervised.filter((s) => s === 1).length;
  assert.equal(supervised, out.stats.supervised_tokens);
  assert.ok(supervised > 0 && out.items.some((i) => i.selected));
  for (const [start, end] of out.mask.spans) assert.ok(0 <= start && start < end && end <= out.response.length);
});

test("a real tokenizer gives token ids", { skip: !process.env.CODEBLOCK_TOKENIZER }, () => {
  const session = new api.Session();
  session.loadTokenizer(readFileSync(process.env.CODEBLOCK_TOKENIZER));
  assert.equal(session.hasTokenizer, true);
  const out = session.select({ prompt: "Add.", completion: "```python\nx = 1 + 2\n```" });
  assert.equal(out.mask.token_ids.length, out.mask.token_spans.length);
});

test("bad input is an error or a reject naming the problem", () => {
  const session = new api.Session();
  assert.throws(() => session.loadTokenizer(new Uint8Array([1, 2, 3])), /tokenizer: /);
  assert.throws(() => api.partition("x = 1", { config: { select: { budget: 2 } } }), /select.budget must be between 0 and 1, got 2/);
  assert.throws(() => api.partition("x = 1", { positions: "lines" }), /options: unknown variant `lines`/);
  const rejected = session.select({ instruction: "no output" });
  assert.deepEqual([rejected.status, rejected.reason], ["rejected", "missing_field"]);
  const lines = session.selectJsonl(Buffer.from('{"prompt":"p","completion":"x = 1"}\n{oops\n')).trim().split("\n");
  assert.equal(lines.length, 2);
  assert.match(JSON.parse(lines[1]).message, /^line 2: not valid JSON/);
  assert.equal(api.defaultConfig().select.budget, 0.019);
});

test("every export checks its arguments: a TypeError naming the argument, and the module goes on", () => {
  const session = new api.Session();
  const calls = [
    [() => api.partition(123), "code must be a string, not number"],
    [() => api.partition({}), "code must be a string, not object"],
    [() => api.partition(null), "code must be a string, not null"],
    [() => api.partition(), "code must be a string, not undefined"],
    [() => api.partition("x = 1", 5), "options must be an object, not number"],
    [() => api.partition("x = 1", []), "options must be an object, not an array"],
    [() => api.curate("{}"), "bytes must be a Uint8Array, not string"],
    [() => api.curate([123, 125]), "bytes must be a Uint8Array, not an array"],
    [() => api.curate(new Uint8Array(), "keep"), "options must be an object, not string"],
    [() => session.loadTokenizer("tokenizer.json"), "bytes must be a Uint8Array, not string"],
    [() => session.setScores(42), "jsonl must be a string, not number"],
    [() => session.selectJsonl({}), "bytes must be a Uint8Array, not object"],
    [() => session.selectJsonl(null), "bytes must be a Uint8Array, not null"],
    [() => session.select("{}"), "record must be an object, not string"],
    [() => session.select(null), "record must be an object, not null"],
    [() => session.select([]), "record must be an object, not an array"],
  ];
  for (const [call, message] of calls) {
    assert.throws(call, (e) => e instanceof TypeError && e.message === message, message);
  }
  // Nothing above reached wasm memory: the module still answers, and right.
  assert.deepEqual(api.partition(code).items.length, 4);
  const line = '{"prompt":"p","completion":"x = 1"}\n';
  assert.equal(JSON.parse(session.selectJsonl(new TextEncoder().encode(line).buffer)).status, "ok");
  assert.equal(session.select({ prompt: "p", completion: "x = 1" }).status, "ok");
  assert.equal(api.curate(Buffer.from(line)).report.records_in, 1);
});
