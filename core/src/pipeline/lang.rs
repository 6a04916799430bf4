//! Languages: which fences codeblock parses, with which grammar and queries.
//!
//! Queries are data (`core/queries/<lang>/<stage>.scm`), compiled once per process. Adding a
//! language means a grammar, its queries, and fixtures.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use tree_sitter::{Node, Parser, Tree};

use crate::pipeline::query::Query;

/// The language a code segment is parsed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    Python,
    /// Kept and reported, but not partitioned: no grammar yet.
    Other,
}

impl Language {
    /// The language of a fence's info-string tag. An untagged fence is taken for Python: code
    /// datasets are mostly Python, and a fence that fails to parse is reported by the partition.
    pub fn from_tag(tag: &str) -> Language {
        match tag.to_ascii_lowercase().as_str() {
            "" | "python" | "py" | "python3" | "py3" | "ipython" | "pycon" => Language::Python,
            _ => Language::Other,
        }
    }
}

pub const PYTHON_PARTITION: &str = include_str!("../../queries/python/partition.scm");
pub const PYTHON_CORE: &str = include_str!("../../queries/python/core.scm");
pub const PYTHON_NONCORE: &str = include_str!("../../queries/python/noncore.scm");

fn python_language() -> tree_sitter::Language {
    tree_sitter_python::LANGUAGE.into()
}

/// Python's stage queries compiled into one, so a tree is walked once for all of them (each
/// query pass costs about as much as the others together); captures keep their stage's names.
/// The queries are part of the binary, so a failure to compile is a bug caught by the query
/// test, not a user error.
pub fn python_query() -> &'static Query {
    static QUERY: OnceLock<Query> = OnceLock::new();
    QUERY.get_or_init(|| {
        let source = [PYTHON_PARTITION, PYTHON_CORE, PYTHON_NONCORE].join("\n");
        Query::new(python_language(), &source).unwrap_or_else(|e| panic!("the Python queries do not compile: {e}"))
    })
}

/// A node's kind, by table lookup: `Node::kind` crosses into C and measures the string on every
/// call, which shows in profiles of the name walk.
pub fn kind_of(node: Node) -> &'static str {
    // Owned names: a `Language` cannot sit in a static on every target (not `Sync` on wasm32).
    static KINDS: OnceLock<Vec<String>> = OnceLock::new();
    let kinds = KINDS.get_or_init(|| {
        let language = python_language();
        (0..language.node_kind_count() as u16)
            .map(|id| language.node_kind_for_id(id).unwrap_or("").to_string())
            .collect()
    });
    kinds.get(usize::from(node.kind_id())).map_or("", String::as_str)
}

/// A field's id; the names come from this crate's code, so an unknown one is a bug.
pub fn field_id(name: &str) -> std::num::NonZeroU16 {
    python_language()
        .field_id_for_name(name)
        .unwrap_or_else(|| panic!("the grammar has no field `{name}`"))
}

/// Parses Python source. tree-sitter recovers from any error, so this returns a tree for every
/// input; errors show up as ERROR and MISSING nodes.
pub fn parse_python(source: &str) -> Tree {
    let mut parser = Parser::new();
    parser
        .set_language(&python_language())
        .expect("the bundled grammar matches the tree-sitter version");
    parser
        .parse(source, None)
        .expect("parsing without a timeout or cancellation always returns a tree")
}

/// Whether a fence-less response, parsed as `tree`, is Python code rather than prose: it parses
/// without errors and holds more than one bare name or string (a one-word answer parses too, but
/// is prose).
pub fn looks_like_python(tree: &Tree, text: &str) -> bool {
    let root = tree.root_node();
    if text.trim().is_empty() || root.has_error() {
        return false;
    }
    let mut cursor = root.walk();
    let statements: Vec<Node> = root
        .named_children(&mut cursor)
        .filter(|n| n.kind() != "comment")
        .collect();
    match statements.as_slice() {
        [] => false,
        [only] => !is_bare_word(*only),
        _ => true,
    }
}

/// Whether most of a parsed text (at least half of its non-blank bytes) lies outside error
/// nodes: an untagged fence that fails this is not Python.
pub fn mostly_parses(tree: &Tree) -> bool {
    let root = tree.root_node();
    let mut errors = 0;
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.is_error() {
            errors += node.end_byte() - node.start_byte();
        } else if node.has_error() {
            let mut cursor = node.walk();
            stack.extend(node.children(&mut cursor));
        }
    }
    2 * errors <= root.end_byte() - root.start_byte()
}

fn is_bare_word(statement: Node) -> bool {
    statement.kind() == "expression_statement"
        && statement.named_child_count() == 1
        && statement
            .named_child(0)
            .is_some_and(|e| matches!(e.kind(), "identifier" | "string" | "integer" | "float"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_compiles() {
        for (name, source) in [
            ("partition", PYTHON_PARTITION),
            ("core", PYTHON_CORE),
            ("noncore", PYTHON_NONCORE),
        ] {
            Query::new(python_language(), source).unwrap_or_else(|e| panic!("{name}.scm: {e}"));
        }
        let names = python_query().capture_names();
        assert_eq!(
            names,
            [
                "body",
                "compound",
                "decorated",
                "import",
                "core",
                "string_content",
                "noncore"
            ]
        );
    }

    #[test]
    fn kinds_match_tree_sitter() {
        let tree = parse_python("def f(x):\n    return [y for y in x]\n");
        let mut stack = vec![tree.root_node()];
        while let Some(node) = stack.pop() {
            assert_eq!(kind_of(node), node.kind());
            let mut cursor = node.walk();
            stack.extend(node.children(&mut cursor));
        }
    }

    #[test]
    fn tags() {
        assert_eq!(Language::from_tag("Python3"), Language::Python);
        assert_eq!(Language::from_tag(""), Language::Python);
        assert_eq!(Language::from_tag("rust"), Language::Other);
    }

    #[test]
    fn prose_is_not_python() {
        let python = |text: &str| looks_like_python(&parse_python(text), text);
        assert!(!python("Yes"));
        assert!(!python("The answer is below."));
        assert!(!python("  \n"));
        assert!(python("x = 1"));
        assert!(python("def f():\n    return 1\n"));
    }
}
