// Browser bench (not a test): partition + select of a 200-line response inside headless
// Chromium, lexical tokens and the real tokenizer, and `partition` alone of its code in the whole
// module and in the editor's light one, median of 30 runs after 5 warm-ups; and the modules'
// sizes. Run by scripts/bench-web.sh; aims: < 10 ms, ≤ 2 MB whole, ≤ 1 MB light.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { launch, openPreviewer, root, serve } from "./browser.mjs";

const server = await serve();
const browser = await launch();
try {
  const { page } = await openPreviewer(browser, server.url);
  const lines = [];
  for (let i = 0; lines.length < 200; i++) {
    lines.push(`def step_${i}(values, scale=${i}):`, `    """Scale and shift values (${i})."""`,
      `    shifted = [v + ${i} for v in values]`, `    total = sum(shifted) * scale`,
      `    if total > ${i * 10}:`, `        total -= step_${Math.max(i - 1, 0)}(values)`, `    return total`, ``);
  }
  const response = "Here is the module:\n\n```python\n" + lines.slice(0, 200).join("\n") + "\n```\n";
  const tokenizer = [...readFileSync(process.env.CODEBLOCK_TOKENIZER)];
  const code = lines.slice(0, 200).join("\n");
  const timings = await page.evaluate(async ({ response, tokenizer, code }) => {
    const whole = await import("./pkg/codeblock.js");
    const light = await import("./pkg-partition/codeblock.js");
    await light.default();
    const median = (call) => {
      const times = [];
      for (let run = 0; run < 35; run++) {
        const start = performance.now();
        call();
        if (run >= 5) times.push(performance.now() - start);
      }
      times.sort((a, b) => a - b);
      return times[times.length >> 1];
    };
    const select = (session) => () => {
      const out = session.select({ instruction: "Write the module.", output: response }, { config: { select: { budget: 0.019 } } });
      if (out.status !== "ok") throw new Error(out.message);
    };
    const real = new whole.Session();
    real.loadTokenizer(new Uint8Array(tokenizer));
    return {
      lexical: median(select(new whole.Session())),
      real: median(select(real)),
      partitionWhole: median(() => whole.partition(code)),
      partitionLight: median(() => light.partition(code)),
    };
  }, { response, tokenizer, code });
  const ms = (t) => `${t.toFixed(2)} ms (aim < 10 ms: ${(t / 10).toFixed(2)}× the aim)`;
  console.log(`200-line response in Chromium (median of 30):`);
  console.log(`  partition + select, lexical tokens:  ${ms(timings.lexical)}`);
  console.log(`  partition + select, Qwen3 tokenizer: ${ms(timings.real)}`);
  console.log(`  partition, whole module:             ${ms(timings.partitionWhole)}`);
  console.log(`  partition, light module:             ${ms(timings.partitionLight)}`);
  for (const [name, dir, aim] of [["whole", "pkg", 2], ["light (partition)", "pkg-partition", 1]]) {
    const mb = statSync(join(root, "web", dir, "codeblock_bg.wasm")).size / 1e6;
    console.log(`wasm module, ${name}, after wasm-opt: ${mb.toFixed(2)} MB (aim ≤ ${aim} MB: ${(mb / aim).toFixed(2)}× the aim)`);
  }
} finally {
  await browser.close();
  server.stop();
}
