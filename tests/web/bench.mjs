// Browser bench (not a test): partition + select of a 200-line response inside headless
// Chromium, lexical tokens and the real tokenizer, median of 30 runs after 5 warm-ups; and the
// size of the wasm module. Run by scripts/bench-web.sh; aim: < 10 ms, ≤ 2 MB.
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
  const timings = await page.evaluate(async ({ response, tokenizer }) => {
    const { Session } = await import("./pkg/codeblock.js");
    const median = (session) => {
      const record = { instruction: "Write the module.", output: response };
      const times = [];
      for (let run = 0; run < 35; run++) {
        const start = performance.now();
        const out = session.select(record, { config: { select: { budget: 0.019 } } });
        if (out.status !== "ok") throw new Error(out.message);
        if (run >= 5) times.push(performance.now() - start);
      }
      times.sort((a, b) => a - b);
      return times[times.length >> 1];
    };
    const lexical = median(new Session());
    const real = new Session();
    real.loadTokenizer(new Uint8Array(tokenizer));
    return { lexical, real: median(real) };
  }, { response, tokenizer });
  const bytes = statSync(join(root, "web/pkg/codeblock_bg.wasm")).size;
  console.log(`200-line response, partition + select in Chromium (median of 30):`);
  console.log(`  lexical tokens:  ${timings.lexical.toFixed(2)} ms (aim < 10 ms: ${(timings.lexical / 10).toFixed(2)}× the aim)`);
  console.log(`  Qwen3 tokenizer: ${timings.real.toFixed(2)} ms (aim < 10 ms: ${(timings.real / 10).toFixed(2)}× the aim)`);
  console.log(`wasm module after wasm-opt: ${(bytes / 1e6).toFixed(2)} MB (aim ≤ 2 MB: ${(bytes / 2e6).toFixed(2)}× the aim)`);
} finally {
  await browser.close();
  server.stop();
}
