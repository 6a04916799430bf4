// Shared by the browser test and the browser bench: the previewer served by `codeblock serve`,
// and Debian's chromium driven headless by playwright-core (no browser download).
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(join(process.env.CODEBLOCK_NODE, "node_modules", "x.js"));
const { chromium } = require("playwright-core");
export const root = new URL("../..", import.meta.url).pathname;

/** Starts `codeblock serve` on a free port; resolves to { url, stop }. */
export function serve() {
  const server = spawn(process.env.CODEBLOCK_BIN, ["serve", "--dir", join(root, "web"), "--port", "0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    server.on("error", reject);
    server.on("exit", (code) => reject(new Error(`codeblock serve exited with ${code}`)));
    server.stdout.on("data", (data) => {
      const match = /previewer at (http:\/\/\S+)/.exec(String(data));
      if (match) resolve({ url: match[1], stop: () => server.kill() });
    });
  });
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CODEBLOCK_CHROMIUM || "/usr/bin/chromium",
    // WebGPU on SwiftShader, so in-browser scoring runs on WebGPU without a GPU.
    args: ["--no-sandbox", "--no-first-run", "--disable-background-networking", "--disable-component-update",
      "--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader"],
  });
}

/** A new page at 1280×800 with the previewer loaded and ready. */
export async function openPreviewer(browser, url) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on("pageerror", (error) => errors.push(error));
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]");
  return { page, errors };
}
