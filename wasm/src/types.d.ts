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

/** A language codeblock parses (`"other"`: kept, not partitioned). */
export type Language = "python" | "javascript" | "typescript" | "tsx" | "java" | "go" | "rust" | "other";

/** Options of every call; all optional. */
export interface Options {
  config?: Config;
  /** `partition`'s language (default `"python"`). */
  language?: Language;
  /** How spans count: `"bytes"` (UTF-8, as written by `codeblock select`) or `"utf16"` (JS strings, VS Code). */
  positions?: "bytes" | "utf16";
}

export type ItemKind = "statement" | "header" | "imports" | "compound";

/** A def-use edge: item `from` defines names that item `to` uses. */
export interface Edge { from: number; to: number; names: string[] }

export interface Diagnostic { span: Span; lines: [number, number]; message: string }

export interface CodeItem { span: Span; lines: [number, number]; kind: ItemKind; node: string; depth: number }

/** `partition(code, { language })`: the coding items of source code. */
export interface CodeItems { items: CodeItem[]; edges: Edge[]; core: Span[]; diagnostics: Diagnostic[] }

