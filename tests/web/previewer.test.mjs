// The previewer page in real headless Chromium: a pasted fixture gives the same items and
// supervised tokens as native `codeblock select`, the budget slider re-selects, bad files
// show a message and the page keeps working. Saves a screenshot (CODEBLOCK_ARTIFACTS).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch, openPreviewer, root, serve } from "./browser.mjs";

const fixture = readFileSync(join(root, "tests/fixtures/closures.md"), "utf8");
const instruction = "Build a counter with a closure.";
let server;
let browser;

before(async () => {
  server = await serve();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.stop();
});

/** Native `codeblock select` on one alpaca record with the page's default knobs. */
function native(extraArgs, output = fixture) {
  const dir = mkdtempSync(join(tmpdir(), "codeblock-web-"));
  writeFileSync(join(dir, "in.jsonl"), JSON.stringify({ instruction, output }) + "\n");
  execFileSync(process.env.CODEBLOCK_BIN, ["select", "--input", join(dir, "in.jsonl"), "--out", join(dir, "out.jsonl"), ...extraArgs], {
    stdio: "pipe",
  });
  return JSON.parse(readFileSync(join(dir, "out.jsonl"), "utf8"));
}

async function pageSelection(page) {
  return page.evaluate(() => ({
    supervised: Number(document.getElementById("supervised-count").textContent),
    selected: [...new Set([...document.querySelectorAll("#blocks .item.selected")].map((e) => Number(e.dataset.item)))],
    items: new Set([...document.querySelectorAll("#blocks .item")].map((e) => e.dataset.item)).size,
    tokens: document.querySelectorAll("#tokens .token").length,
    supervisedChips: document.querySelectorAll("#tokens .token.supervised").length,
  }));
}

async function paste(page, response = fixture) {
  await page.fill("#instruction", instruction);
  await page.fill("#response", response);
  await page.waitForFunction((n) => document.querySelectorAll("#tokens .token").length > 0 && document.getElementById("response").value.length === n, response.length);
  await page.waitForTimeout(300); // the typing debounce
}

test("a pasted fixture matches native, with the real tokenizer, and the slider re-selects", async () => {
  const { page, errors } = await openPreviewer(browser, server.url);
  await page.setInputFiles("#tokenizer-file", process.env.CODEBLOCK_TOKENIZER);
  await page.waitForFunction(() => /Tokenizer loaded/.test(document.getElementById("status").textContent));
  await paste(page);
  const expected = native(["--tokenizer", process.env.CODEBLOCK_TOKENIZER]);
  const shown = await pageSelection(page);
  assert.equal(shown.supervised, expected.stats.supervised_tokens);
  assert.equal(shown.supervisedChips, expected.stats.supervised_tokens);
  assert.equal(shown.tokens, expected.stats.response_tokens);
  assert.equal(shown.items, expected.items.length);
  assert.deepEqual(shown.selected, expected.items.flatMap((item, i) => (item.selected ? [i] : [])));

  await page.locator("#budget").fill("0.3");
  await page.waitForFunction((n) => Number(document.getElementById("supervised-count").textContent) !== n, shown.supervised);
  const wider = await pageSelection(page);
  const native30 = native(["--tokenizer", process.env.CODEBLOCK_TOKENIZER, "--budget", "0.3"]);
  assert.ok(wider.supervised > shown.supervised, `${wider.supervised} after the slider, ${shown.supervised} before`);
  assert.equal(wider.supervised, native30.stats.supervised_tokens);
  assert.ok(await page.locator("#edges path").count() > 0, "def-use edges are drawn");

  const artifacts = process.env.CODEBLOCK_ARTIFACTS || join(root, "out");
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, "previewer.png"), fullPage: true });
  assert.deepEqual(errors, []);
});

test("responses in other languages are partitioned and coloured as native does", async () => {
  const { page, errors } = await openPreviewer(browser, server.url);
  for (const name of ["rust_structs_impls", "javascript_functions", "go_functions"]) {
    const response = readFileSync(join(root, `tests/fixtures/${name}.md`), "utf8");
    await paste(page, response);
    const expected = native([], response);
    const shown = await pageSelection(page);
    assert.ok(expected.items.length >= 8, `${name}: ${expected.items.length} items natively`);
    assert.equal(shown.items, expected.items.length, name);
    assert.deepEqual(shown.selected, expected.items.flatMap((item, i) => (item.selected ? [i] : [])), name);
    assert.equal(shown.supervised, expected.stats.supervised_tokens, name);
  }
  assert.deepEqual(errors, []);
});

test("bad files show a message and the page keeps working", async () => {
  const { page, errors } = await openPreviewer(browser, server.url);
  const message = () => page.locator("#message").textContent();

  await page.setInputFiles("#tokenizer-file", { name: "tokenizer.json", mimeType: "application/json", buffer: Buffer.from("{not json") });
  await page.waitForSelector("#message:not([hidden])");
  assert.match(await message(), /tokenizer\.json: tokenizer: /);

  await page.setInputFiles("#jsonl-file", { name: "model.gguf", mimeType: "application/octet-stream", buffer: Buffer.from("GGUF\x03\x00\x00\x00junk") });
  await page.waitForFunction(() => /^model\.gguf: model: /.test(document.getElementById("message").textContent));

  const jsonl = '{"instruction":"Add.","output":"```python\\nx = 1 + 2\\n```"}\n{broken\n';
  await page.setInputFiles("#jsonl-file", { name: "pairs.jsonl", mimeType: "application/jsonl", buffer: Buffer.from(jsonl) });
  await page.waitForFunction(() => document.getElementById("record-position").textContent === "1 / 2");
  await page.keyboard.press("j");
  await page.waitForFunction(() => /line 2: not valid JSON/.test(document.getElementById("message").textContent));

  await page.setInputFiles("#jsonl-file", { name: "photo.jsonl", mimeType: "image/png", buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe, 0x0a]) });
  await page.waitForFunction(() => /invalid_utf8: line 1: not valid UTF-8/.test(document.getElementById("message").textContent));

  await page.click("#back-to-paste");
  await paste(page);
  assert.ok((await pageSelection(page)).supervised > 0, "the page still selects after bad files");
  assert.equal(await page.locator("#message").isHidden(), true);
  assert.deepEqual(errors, []);
});
