//! File formats that come from elsewhere, read from bytes and text: GGUF model files, chat
//! templates (Jinja), and JSONL lines.

pub mod chat;
pub mod gguf;
pub mod jsonl;
