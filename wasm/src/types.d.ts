/** A half-open range `[start, end)` in bytes of UTF-8 or UTF-16 code units (see `positions`). */
export type Span = [number, number];

/** The pipeline's knobs; every field optional, defaults as in METHOD.md. */
export interface Config {
  partition?: { max_depth?: number; min_item_bytes?: number; max_comment_run?: number; max_nesting?: number; max_code_bytes?: number };
  score?: { q?: number; aggregate?: "mean" | "max" | "sum"; utility?: "gce" | "excess"; core_tokens?: "all" | "without_wording" };
  dataflow?: { lambda_reach?: number; lambda_bridge?: number; gate_quantile?: number; max_items?: number };
  select?: { budget?: number; prose_share?: number; scope?: "global" | "per_record"; guard?: "item" | "prose" | "none"; granularity?: "items" | "tokens" };
  max_response_bytes?: number;
}

/** The pair stage's knobs (METHOD.md §0). */
export interface CurateConfig { keep?: number; keep_count?: number | null; k?: number }

/** Options of every call; all optional. */
export interface Options {
  config?: Config;
  /** For `curate` and `Model.curate`. */
  curate?: CurateConfig;
  /** How spans count: `"bytes"` (UTF-8, as written by `codeblock select`) or `"utf16"` (JS strings, VS Code). */
  positions?: "bytes" | "utf16";
  /** Field names of the input schemas, as `--instruction-field` etc. natively. */
  fields?: { id?: string; instruction?: string; input?: string; output?: string; messages?: string; prompt?: string; completion?: string };
  /** Force a schema instead of detecting one per record. */
  schema?: "alpaca" | "messages" | "prompt_completion";
}

export type ItemKind = "statement" | "header" | "imports" | "compound";

/** A def-use edge: item `from` defines names that item `to` uses. */
export interface Edge { from: number; to: number; names: string[] }

export interface Diagnostic { span: Span; lines: [number, number]; message: string }

export interface CodeItem { span: Span; lines: [number, number]; kind: ItemKind; node: string; depth: number }

/** `partition(code)`: the coding items of Python source. */
export interface CodeItems { items: CodeItem[]; edges: Edge[]; core: Span[]; diagnostics: Diagnostic[] }

export type Segment =
  | { kind: "prose" | "inline_code" | "fence"; span: Span }
  | { kind: "code"; tag: string; language: "python" | "other"; span: Span };

export interface Item extends CodeItem {
  tokens: number;
  core_tokens: number;
  utility: number;
  reach: number;
  bridge: number;
  priority: number;
  selected: boolean;
}

export interface Mask {
  /** Supervised spans, merged. */
  spans: Span[];
  token_spans: Span[];
  /** Present with a real tokenizer. */
  token_ids?: number[];
  /** Per token: 1 when it gets loss. */
  supervised: (0 | 1)[];
}

export interface Stats {
  response_tokens: number;
  supervised_tokens: number;
  items: number;
  selected_items: number;
  selected_prose_tokens: number;
  /** Supervised tokens that lie in selected items. */
  item_tokens: number;
  guarded: boolean;
  /** What the guard unit cost (0: none). */
  guard_tokens: number;
}

export interface Message { role: string; content: string }

/** One output record: `ok` with its selection, or `rejected` with a reason and a message. */
export type RecordOutput =
  | {
      id: string;
      status: "ok";
      prompt: Message[];
      response: string;
      segments: Segment[];
      items: Item[];
      edges: Edge[];
      prose: Span[];
      mask: Mask;
      diagnostics: Diagnostic[];
      stats: Stats;
    }
  | { id: string; status: "rejected"; reason: string; message: string };

/** `curate(bytes)` and `Model.curate(bytes)`: the kept lines and the report. */
export interface CurateResult {
  /** The kept pairs, JSONL, each line as it came with a `curate` object of its scores. */
  kept: string;
  report: {
    records_in: number;
    kept: number;
    dropped_by_reason: Record<string, number>;
    config: CurateConfig;
    embedding: string;
    histograms: { quality: number[]; long_tail: number[]; score: number[] };
  };
}
