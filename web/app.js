// The previewer: paste a record or open a JSONL file, see its coding items, def-use edges and
// loss mask, and move the knobs. All selection happens in the wasm module (the same core as
// `codeblock select`); this file only reads inputs and draws results. Positions are UTF-16.
// Picking a GGUF model loads the larger module with the model (pkg-model/) and scores there,
// on WebGPU or the CPU; selection then uses the model's scores until the input changes.
import init, { Session, defaultConfig } from "./pkg-languages/codeblock.js";

const $ = (id) => document.getElementById(id);
const KNOBS = {
  budget: ["select", "budget"],
  prose_share: ["select", "prose_share"],
  q: ["score", "q"],
  lambda_reach: ["dataflow", "lambda_reach"],
  lambda_bridge: ["dataflow", "lambda_bridge"],
  gate_quantile: ["dataflow", "gate_quantile"],
};
const EXAMPLE = `Here is an iterative version:

\`\`\`python
def fib(n):
    """Return the n-th Fibonacci number."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a

print(fib(10))
\`\`\`

It runs in linear time.`;

const state = {
  session: null,
  /** The loaded model (pkg-model's `Model`), when there is one. */
  model: null,
  /** A dropped JSONL file: its bytes and the outputs of its records (global budget). */
  file: null,
  outputs: [],
  index: 0,
};

function config() {
  const config = { select: {}, score: {}, dataflow: {} };
  for (const [id, [group, key]] of Object.entries(KNOBS)) config[group][key] = Number($(id).value);
  return config;
}

function showKnobValues() {
  for (const id of Object.keys(KNOBS)) document.querySelector(`output[for=${id}]`).textContent = $(id).value;
}

function setStatus(text) {
  $("status").textContent = text;
}

function showMessage(text) {
  $("message").hidden = !text;
  $("message").textContent = text || "";
}

/** Re-selects with the current knobs, then draws the current record. */
function reselect() {
  showKnobValues();
  const started = performance.now();
  try {
    if (state.file) {
      const text = state.session.selectJsonl(state.file.bytes, { config: config(), positions: "utf16" });
      state.outputs = text.split("\n").filter(Boolean).map((line) => JSON.parse(line));
    } else {
      const record = { instruction: $("instruction").value, output: $("response").value };
      state.outputs = [state.session.select(record, { config: config(), positions: "utf16" })];
      state.index = 0;
    }
    showMessage("");
  } catch (error) {
    showMessage(String(error.message || error));
    return;
  }
  const ms = performance.now() - started;
  document.body.dataset.selectMs = ms.toFixed(2);
  draw(ms);
}

function draw(ms) {
  const output = state.outputs[state.index];
  const where = state.file ? `record ${state.index + 1} of ${state.outputs.length} (${state.file.name}), ` : "";
  $("record-position").textContent = state.file ? `${state.index + 1} / ${state.outputs.length}` : "";
  if (!output) return;
  if (output.status !== "ok") {
    $("summary").textContent = `${where}record ${output.id}: rejected`;
    showMessage(`${output.reason}: ${output.message}`);
    for (const id of ["blocks", "tokens", "diagnostics"]) $(id).replaceChildren();
    $("items").tBodies[0].replaceChildren();
    $("edges").replaceChildren();
    return;
  }
  const s = output.stats;
  const percent = s.response_tokens ? ((100 * s.supervised_tokens) / s.response_tokens).toFixed(1) : "0";
  $("summary").innerHTML = "";
  $("summary").append(
    `${where}${s.items} items, ${s.selected_items} selected; `,
    Object.assign(document.createElement("strong"), { id: "supervised-count", textContent: String(s.supervised_tokens) }),
    ` of ${s.response_tokens} tokens supervised (${percent}%)${s.guarded ? ", guarded" : ""}; ` +
      `${state.session.hasTokenizer ? "tokenizer.json" : "lexical"} tokens, ` +
      `${state.session.hasScores ? "model" : "n-gram"} scores; ${ms.toFixed(1)} ms`,
  );
  drawBlocks(output);
  drawTokens(output);
  drawItems(output);
  $("diagnostics").replaceChildren(
    ...output.diagnostics.map((d) => Object.assign(document.createElement("li"), { textContent: `lines ${d.lines[0]}–${d.lines[1]}: ${d.message}` })),
  );
}

/** Priority bin 0–4 of an item among the record's items. */
function bins(items) {
  const max = Math.max(...items.map((i) => i.priority), 1e-12);
  return items.map((i) => Math.min(4, Math.floor((5 * i.priority) / max)));
}

/** The response cut at every item and token boundary, so each run has one item and one token. */
function runs(output) {
  const cuts = new Set([0, output.response.length]);
  for (const { span } of output.items) span.forEach((c) => cuts.add(c));
  for (const span of output.mask.token_spans) span.forEach((c) => cuts.add(c));
  const sorted = [...cuts].sort((a, b) => a - b);
  const runs = [];
  let item = 0;
  let token = 0;
  for (let k = 0; k + 1 < sorted.length; k++) {
    const [start, end] = [sorted[k], sorted[k + 1]];
    while (item < output.items.length && output.items[item].span[1] <= start) item++;
    while (token < output.mask.token_spans.length && output.mask.token_spans[token][1] <= start) token++;
    const inItem = item < output.items.length && output.items[item].span[0] <= start ? item : -1;
    const inToken = token < output.mask.token_spans.length && output.mask.token_spans[token][0] <= start ? token : -1;
    runs.push({ start, end, item: inItem, token: inToken });
  }
  return runs;
}

function drawBlocks(output) {
  const priorityBins = bins(output.items);
  const pre = $("blocks");
  pre.replaceChildren();
  for (const run of runs(output)) {
    const span = document.createElement("span");
    span.textContent = output.response.slice(run.start, run.end);
    if (run.item >= 0) {
      const item = output.items[run.item];
      span.classList.add("item", `p${priorityBins[run.item]}`);
      if (item.selected) span.classList.add("selected");
      span.dataset.item = run.item;
      span.title = `item ${run.item}: ${item.node}, priority ${item.priority.toFixed(3)}${item.selected ? ", selected" : ""}`;
    }
    if (run.token >= 0 && output.mask.supervised[run.token] && run.item < 0) span.classList.add("prose");
    pre.append(span);
  }
  requestAnimationFrame(() => drawEdges(output));
}

/** Def-use edges as arcs in the gutter, from the defining item's first line to the user's. */
function drawEdges(output) {
  const svg = $("edges");
  const wrap = $("blocks-wrap").getBoundingClientRect();
  const top = (i) => {
    const first = $("blocks").querySelector(`[data-item="${i}"]`);
    return first ? first.getBoundingClientRect().top - wrap.top + 8 : null;
  };
  svg.setAttribute("height", $("blocks").offsetHeight);
  svg.replaceChildren();
  output.edges.forEach((edge, k) => {
    const [y1, y2] = [top(edge.from), top(edge.to)];
    if (y1 === null || y2 === null) return;
    const bend = 6 + (k % 4) * 6;
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", `M 34 ${y1} C ${34 - bend} ${y1}, ${34 - bend} ${y2}, 34 ${y2}`);
    path.setAttribute("class", "edge");
    const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
    title.textContent = `item ${edge.from} → item ${edge.to}: ${edge.names.join(", ")}`;
    path.append(title);
    svg.append(path);
  });
}

function drawTokens(output) {
  $("tokens").replaceChildren(
    ...output.mask.token_spans.map(([start, end], t) => {
      const chip = document.createElement("span");
      chip.className = output.mask.supervised[t] ? "token supervised" : "token";
      chip.textContent = output.response.slice(start, end).replace(/\n/g, "⏎").replace(/ /g, "·");
      if (output.mask.token_ids) chip.title = `id ${output.mask.token_ids[t]}`;
      return chip;
    }),
  );
}

function drawItems(output) {
  const fixed = (x) => x.toFixed(3);
  $("items").tBodies[0].replaceChildren(
    ...output.items.map((item, i) => {
      const row = document.createElement("tr");
      if (item.selected) row.className = "selected-row";
      const cells = [i, `${item.lines[0]}–${item.lines[1]}`, item.kind, item.node, item.tokens,
        fixed(item.utility), fixed(item.reach), fixed(item.bridge), fixed(item.priority), item.selected ? "✓ yes" : "no"];
      row.append(...cells.map((c) => Object.assign(document.createElement("td"), { textContent: String(c) })));
      return row;
    }),
  );
}

async function openFile(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (bytes.length >= 4 && String.fromCharCode(...bytes.slice(0, 4)) === "GGUF") {
    await loadModel(file.name, bytes);
    return;
  }
  if (file.name.endsWith("tokenizer.json") || looksLikeTokenizer(bytes)) {
    try {
      state.session.loadTokenizer(bytes);
      setStatus(`Tokenizer loaded: ${file.name}`);
    } catch (error) {
      showMessage(`${file.name}: ${error.message || error}`);
      return;
    }
  } else {
    state.file = { name: file.name, bytes };
    state.index = 0;
    $("records").hidden = false;
  }
  await rescore();
  reselect();
}

/** Loads a GGUF model into the model module, then scores the current input with it. */
async function loadModel(name, bytes) {
  const progress = $("progress");
  progress.hidden = false;
  progress.removeAttribute("value");
  setStatus(`Loading ${name} (${(bytes.length / 1e6).toFixed(0)} MB)…`);
  try {
    const module = await import("./pkg-model/codeblock.js");
    await module.default();
    const model = await module.Model.load(bytes, $("device").value);
    const session = new module.Session();
    session.loadTokenizer(new TextEncoder().encode(model.tokenizerJson));
    state.model = model;
    state.session = session;
    document.body.dataset.device = model.device;
    setStatus(`Model ${name} on ${model.device}; its tokenizer cuts the tokens.`);
  } catch (error) {
    progress.hidden = true;
    showMessage(`${name}: ${error.message || error}`);
    setStatus("The previous scorer is still in use.");
    return;
  }
  await rescore();
  reselect();
}

/** The model's scores for the current input (the pasted record, or the whole file); one
 * scoring at a time, in order. */
function rescore() {
  state.scoring = (state.scoring || Promise.resolve()).then(scoreNow);
  return state.scoring;
}

async function scoreNow() {
  if (!state.model) return;
  const progress = $("progress");
  progress.hidden = false;
  progress.value = 0;
  const input = state.file ? state.file.bytes : { instruction: $("instruction").value, output: $("response").value };
  const started = performance.now();
  try {
    const scores = await state.model.score(input, { config: config() }, (done, total) => {
      progress.max = total;
      progress.value = done;
      setStatus(`Scoring on ${state.model.device}: ${done} of ${total} tokens…`);
    });
    state.session.setScores(scores);
    const seconds = (performance.now() - started) / 1000;
    setStatus(`Scores from the model on ${state.model.device} (${seconds.toFixed(1)} s).`);
    document.body.dataset.scored = String(Number(document.body.dataset.scored || 0) + 1);
  } catch (error) {
    showMessage(`scoring: ${error.message || error}`);
  } finally {
    progress.hidden = true;
  }
}

function looksLikeTokenizer(bytes) {
  const head = new TextDecoder().decode(bytes.slice(0, 2000));
  return head.trimStart().startsWith("{") && head.includes('"model"') && head.includes('"added_tokens"');
}

function step(delta) {
  if (!state.file || state.outputs.length === 0) return;
  state.index = (state.index + delta + state.outputs.length) % state.outputs.length;
  draw(Number(document.body.dataset.selectMs || 0));
}

function debounce(fn, ms) {
  let timer;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

async function main() {
  await init();
  window.previewer = state; // for the console (and the browser test): outputs, model, session
  state.session = new Session();
  const defaults = defaultConfig();
  for (const [id, [group, key]] of Object.entries(KNOBS)) $(id).value = defaults[group][key];
  $("response").value = EXAMPLE;

  for (const id of Object.keys(KNOBS)) $(id).addEventListener("input", reselect);
  // Typing re-selects at once; a model re-scores when typing pauses (its scores are per token).
  const reselectSoon = debounce(reselect, 150);
  const rescoreSoon = debounce(async () => {
    await rescore();
    reselect();
  }, 800);
  const typed = () => (state.model ? rescoreSoon() : reselectSoon());
  $("instruction").addEventListener("input", typed);
  $("response").addEventListener("input", () => {
    state.file = null;
    $("records").hidden = true;
    typed();
  });
  for (const id of ["jsonl-file", "tokenizer-file", "model-file"]) {
    $(id).addEventListener("change", (event) => event.target.files[0] && openFile(event.target.files[0]));
  }
  document.addEventListener("dragover", (event) => event.preventDefault());
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer.files[0]) openFile(event.dataTransfer.files[0]);
  });
  $("prev").addEventListener("click", () => step(-1));
  $("next").addEventListener("click", () => step(1));
  $("back-to-paste").addEventListener("click", async () => {
    state.file = null;
    $("records").hidden = true;
    await rescore();
    reselect();
  });
  document.addEventListener("keydown", (event) => {
    if (event.target.matches("textarea, input")) return;
    if (event.key === "j" || event.key === "ArrowDown") step(1);
    if (event.key === "k" || event.key === "ArrowUp") step(-1);
  });
  window.addEventListener("resize", debounce(() => draw(Number(document.body.dataset.selectMs || 0)), 100));
  setStatus("Ready: n-gram scores, lexical tokens (load a tokenizer.json for real token boundaries).");
  document.body.dataset.ready = "true";
  reselect();
}

main().catch((error) => setStatus(`The wasm module failed to load: ${error.message || error}`));
