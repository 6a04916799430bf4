// An experiment's report.html in real headless Chromium: `codeblock report` on a small
// experiment's files (tests/data/experiment: 8 runs of 7 arms, one with two seeds, read on
// two tasks of HumanEval and MBPP+), then every chart is drawn with its data and the page asks
// for nothing from the network; and e2's own report as committed. Saves screenshots
// (CODEBLOCK_ARTIFACTS).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch, root } from "./browser.mjs";

test("report.html draws every chart of an experiment", async () => {
  const dir = mkdtempSync(join(tmpdir(), "codeblock-report-"));
  cpSync(join(root, "tests/data/experiment"), dir, { recursive: true });
  try {
    execFileSync(process.env.CODEBLOCK_BIN, ["report", dir], { stdio: "pipe" });
    await checkReport(dir, "report.png");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// e2's committed report, as `codeblock experiment` wrote it at the end of the experiment.
test("e2's report.html draws every chart", async () => {
  await checkReport(join(root, "experiments/e2"), "report-e2.png");
});

/** Opens `dir`'s report.html and checks every chart against `dir`'s experiment.json. */
async function checkReport(dir, screenshot) {
  const summary = JSON.parse(readFileSync(join(dir, "experiment.json"), "utf8"));
  const arms = summary.arms.map((a) => a.arm);
  const seeds = summary.arms.reduce((n, a) => n + a.seeds, 0);

  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = [];
    const requests = [];
    page.on("pageerror", (error) => errors.push(error));
    page.on("request", (request) => requests.push(request.url()));
    await page.goto(`file://${join(dir, "report.html")}`);
    const charts = await page.evaluate(() =>
      [...document.querySelectorAll("figure[data-chart]")].map((figure) => {
        const svg = figure.querySelector("svg");
        const box = svg?.getBoundingClientRect();
        const count = (selector) => figure.querySelectorAll(selector).length;
        return {
          kind: figure.dataset.chart,
          drawn: Boolean(box && box.width > 900 && box.height > 300),
          polylines: count("polyline"),
          circles: count("circle"),
          rects: count("rect"),
          texts: [...figure.querySelectorAll("text")].map((t) => t.textContent.trim()),
        };
      }),
    );
    assert.deepEqual(errors, []);
    assert.deepEqual(requests.filter((url) => !url.startsWith("file:")), [], "nothing from the network");
    assert.deepEqual(
      charts.map((c) => c.kind),
      ["loss", "grad-norm", "pass", "pass", "pass", "reply-length", "nll-difference"],
    );
    for (const chart of charts) assert.ok(chart.drawn, `${chart.kind} is drawn`);
    const [loss, gradNorm, ...rest] = charts;
    // One line a run, each named in the legend.
    for (const chart of [loss, gradNorm]) {
      assert.ok(chart.polylines >= summary.runs.length, `${chart.kind}: ${chart.polylines} lines`);
      for (const run of summary.runs) assert.ok(chart.texts.includes(run.name), `${chart.kind} names ${run.name}`);
    }
    // Every model's pass@1 a dot, every arm on the axis.
    for (const chart of rest.slice(0, 3)) {
      assert.equal(chart.circles, seeds + arms.length, "a dot per model, and each arm's mean");
      for (const arm of arms) assert.ok(chart.texts.includes(arm), `the pass chart names ${arm}`);
    }
    const [, , , lengths, nll] = rest;
    assert.ok(lengths.rects >= arms.length, `a box per arm: ${lengths.rects} rects`);
    assert.ok(nll.polylines >= arms.length - 1, "a line per arm but base");
    const rows = await page.$$eval("table tr", (trs) => trs.map((tr) => tr.cells[0].textContent));
    for (const arm of arms) assert.ok(rows.includes(arm), `the table has ${arm}`);

    if (process.env.CODEBLOCK_ARTIFACTS) {
      mkdirSync(process.env.CODEBLOCK_ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(process.env.CODEBLOCK_ARTIFACTS, screenshot), fullPage: true });
    }
  } finally {
    await browser.close();
  }
}
