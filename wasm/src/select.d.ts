// The whole module's types, after types.d.ts (the light module's): records, masks, curate.

/** The pair stage's knobs (METHOD.md §0). */
export interface CurateConfig { keep?: number; keep_count?: number | null; k?: number }

/** What `Session` and `curate` are told besides `config` and `positions` (merged into `Options`). */
export interface Options {
  /** For `curate` and `Model.curate`. */
  curate?: CurateConfig;
  /** Field names of the input schemas, as `--instruction-field` etc. natively. */
  fields?: { id?: string; instruction?: string; input?: string; output?: string; messages?: string; prompt?: string; completion?: string };
  /** Force a schema instead of detecting one per record. */
  schema?: "alpaca" | "messages" | "prompt_completion";
}

export type Segment =
  | { kind: "prose" | "inline_code" | "fence"; span: Span }
  | { kind: "code"; tag: string; language: Language; span: Span };

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
