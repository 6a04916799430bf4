//! Tree-sitter queries without predicates, run by tree-sitter's C query engine directly.
//!
//! tree-sitter's own `Query` compiles `#match?` predicates with the `regex` crate, so it always
//! links a regex engine and its Unicode tables: about 0.9 MB of the editor's wasm module (1.6 of
//! its 2.5 MB before this module), for predicates our queries never use. This wrapper makes the
//! same C calls and refuses predicates instead. It is the workspace's one module with `unsafe`;
//! each block says why it holds. A test checks it finds what tree-sitter's `Query` finds.
#![allow(unsafe_code)]

use std::ptr::NonNull;

use tree_sitter::{Language, Node, ffi};

/// A compiled query; immutable once built.
#[derive(Debug)]
pub struct Query {
    raw: NonNull<ffi::TSQuery>,
    capture_names: Vec<String>,
}

// SAFETY: ts_query_new's result is never changed afterwards; cursors only read it (tree-sitter's
// own `Query` is Send and Sync for the same reason).
unsafe impl Send for Query {}
unsafe impl Sync for Query {}

impl Query {
    /// Compiles `source` for `language`; an error names what is wrong and where.
    pub fn new(language: Language, source: &str) -> Result<Query, String> {
        let len = u32::try_from(source.len()).map_err(|_| "the query is over 4 GiB".to_string())?;
        let (mut offset, mut error) = (0, ffi::TSQueryErrorNone);
        // SAFETY: the pointer and length describe `source`, valid for the call, which copies what
        // it keeps; a grammar's language is static data.
        let raw = unsafe {
            ffi::ts_query_new(
                language.into_raw(),
                source.as_ptr().cast(),
                len,
                &mut offset,
                &mut error,
            )
        };
        let raw = NonNull::new(raw).ok_or_else(|| format!("{} at byte {offset}", error_name(error)))?;
        // From here `query` owns `raw` and deletes it, on the errors below too.
        let mut query = Query {
            raw,
            capture_names: Vec::new(),
        };
        // SAFETY (all calls below): `raw` is a live query, and each index is below its count.
        for pattern in 0..unsafe { ffi::ts_query_pattern_count(raw.as_ptr()) } {
            let mut steps = 0;
            unsafe { ffi::ts_query_predicates_for_pattern(raw.as_ptr(), pattern, &mut steps) };
            if steps > 0 {
                return Err(format!(
                    "pattern {pattern} has a predicate (`#…`), which this engine does not run"
                ));
            }
        }
        for id in 0..unsafe { ffi::ts_query_capture_count(raw.as_ptr()) } {
            let mut len = 0;
            let name = unsafe { ffi::ts_query_capture_name_for_id(raw.as_ptr(), id, &mut len) };
            // The name is `len` bytes inside the query, which lives as long as `raw`; it was cut
            // from `source`, so it is UTF-8 (and lossy conversion could not change it).
            let bytes = unsafe { std::slice::from_raw_parts(name.cast::<u8>(), len as usize) };
            query.capture_names.push(String::from_utf8_lossy(bytes).into_owned());
        }
        Ok(query)
    }

    /// Capture names, by capture index.
    pub fn capture_names(&self) -> &[String] {
        &self.capture_names
    }

    /// Calls `visit` with each match's captures (capture index, node) under `node`, in the order
    /// tree-sitter finds them.
    pub fn for_each_match<'tree>(&self, node: Node<'tree>, mut visit: impl FnMut(&[(u32, Node<'tree>)])) {
        let cursor = Cursor::new();
        let mut found = ffi::TSQueryMatch {
            id: 0,
            pattern_index: 0,
            capture_count: 0,
            captures: std::ptr::null(),
        };
        let mut captures = Vec::new();
        // SAFETY: the cursor and query are live; the node's tree outlives this call ('tree).
        unsafe { ffi::ts_query_cursor_exec(cursor.0.as_ptr(), self.raw.as_ptr(), node.into_raw()) };
        while unsafe { ffi::ts_query_cursor_next_match(cursor.0.as_ptr(), &mut found) } {
            let raw: &[ffi::TSQueryCapture] = match found.capture_count {
                0 => &[],
                // SAFETY: `captures` points at `capture_count` captures, valid until the next call
                // on the cursor; they are copied out before it.
                count => unsafe { std::slice::from_raw_parts(found.captures, count.into()) },
            };
            captures.clear();
            // SAFETY: each node is of the tree the cursor runs on, which lives for 'tree.
            captures.extend(raw.iter().map(|c| (c.index, unsafe { Node::from_raw(c.node) })));
            visit(&captures);
        }
    }
}

impl Drop for Query {
    fn drop(&mut self) {
        // SAFETY: `raw` came from ts_query_new and is deleted once, here.
        unsafe { ffi::ts_query_delete(self.raw.as_ptr()) }
    }
}

/// A query cursor, deleted when dropped.
struct Cursor(NonNull<ffi::TSQueryCursor>);

impl Cursor {
    fn new() -> Cursor {
        // SAFETY: no preconditions; the C library aborts if it cannot allocate, as Rust does.
        let raw = unsafe { ffi::ts_query_cursor_new() };
        Cursor(NonNull::new(raw).expect("ts_query_cursor_new returns a cursor"))
    }
}

impl Drop for Cursor {
    fn drop(&mut self) {
        // SAFETY: the cursor came from ts_query_cursor_new and is deleted once, here.
        unsafe { ffi::ts_query_cursor_delete(self.0.as_ptr()) }
    }
}

fn error_name(error: ffi::TSQueryError) -> &'static str {
    match error {
        ffi::TSQueryErrorSyntax => "invalid syntax",
        ffi::TSQueryErrorNodeType => "an unknown node type",
        ffi::TSQueryErrorField => "an unknown field",
        ffi::TSQueryErrorCapture => "an unknown capture",
        ffi::TSQueryErrorStructure => "an impossible pattern",
        ffi::TSQueryErrorLanguage => "a language of an incompatible version",
        _ => "an error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::lang::{PYTHON_CORE, PYTHON_NONCORE, PYTHON_PARTITION, parse_python};
    use tree_sitter::StreamingIterator;

    fn python() -> Language {
        tree_sitter_python::LANGUAGE.into()
    }

    /// Every match as (pattern-free) capture names and byte ranges.
    type Matches = Vec<Vec<(String, std::ops::Range<usize>)>>;

    fn ours(query: &Query, source: &str) -> Matches {
        let tree = parse_python(source);
        let mut matches = Vec::new();
        query.for_each_match(tree.root_node(), |captures| {
            let names = query.capture_names();
            matches.push(
                captures
                    .iter()
                    .map(|(i, n)| (names[*i as usize].clone(), n.byte_range()))
                    .collect(),
            );
        });
        matches
    }

    fn tree_sitters(query: &tree_sitter::Query, source: &str) -> Matches {
        let tree = parse_python(source);
        let names = query.capture_names();
        let mut cursor = tree_sitter::QueryCursor::new();
        let mut found = cursor.matches(query, tree.root_node(), source.as_bytes());
        let mut matches = Vec::new();
        while let Some(m) = found.next() {
            matches.push(
                m.captures()
                    .iter()
                    .map(|c| (names[c.index as usize].to_string(), c.node.byte_range()))
                    .collect(),
            );
        }
        matches
    }

    #[test]
    fn finds_what_tree_sitters_query_finds_on_every_fixture() {
        let source = [PYTHON_PARTITION, PYTHON_CORE, PYTHON_NONCORE].join("\n");
        let query = Query::new(python(), &source).unwrap();
        let reference = tree_sitter::Query::new(&python(), &source).unwrap();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures");
        let mut fixtures = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
            let matches = ours(&query, &text);
            assert_eq!(matches, tree_sitters(&reference, &text));
            fixtures += usize::from(!matches.is_empty());
        }
        assert!(fixtures > 10, "only {fixtures} fixtures had matches");
    }

    #[test]
    fn errors_and_predicates_are_refused_by_name() {
        let error = Query::new(python(), "(function_definition name: (identifier) @name").unwrap_err();
        assert!(error.starts_with("invalid syntax at byte"), "{error}");
        assert_eq!(
            Query::new(python(), "(no_such_node) @x").unwrap_err(),
            "an unknown node type at byte 1"
        );
        let error = Query::new(python(), r#"((identifier) @x (#match? @x "^a"))"#).unwrap_err();
        assert!(error.contains("predicate"), "{error}");
    }
}
