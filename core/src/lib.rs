//! codeblock-core: the CodeBlock selection pipeline as pure functions over plain data.
//!
//! segment → partition → names/dataflow → score → select → mask, one module per stage, chained
//! by [`pipeline`]. No filesystem, clock or threads; broken code is data (diagnostics), never a
//! panic. Spans are byte offsets into the response. See ARCHITECTURE.md and METHOD.md.

pub mod curate;
pub mod eval;
pub mod export;
pub mod formats;
pub mod hash;
pub mod mine;
#[cfg(feature = "model")]
pub mod model;
pub mod pipeline;
pub mod span;
pub mod train;

use serde::{Deserialize, Serialize};

pub use pipeline::output::Input;
pub use pipeline::{Config, run};
use span::{LineIndex, Span};

/// Something worth telling about the input that did not stop it: code that does not parse,
/// an unterminated fence, a language without a grammar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub span: Span,
    pub message: String,
}

impl Diagnostic {
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            span,
            message: message.into(),
        }
    }

    pub fn located(&self, index: &LineIndex) -> pipeline::output::LocatedDiagnostic {
        pipeline::output::LocatedDiagnostic {
            span: self.span,
            lines: index.line_range(self.span),
            message: self.message.clone(),
        }
    }
}
