//! Languages: which fences codeblock parses, with which grammar and queries.
//!
//! Queries are data (`core/queries/<lang>/<stage>.scm`), compiled once per process. Adding a
//! language means a grammar, its queries, and fixtures.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use tree_sitter::{Node, Parser, Query, Tree};

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

/// The compiled queries of one language.
#[derive(Debug)]
pub struct Queries {
    pub partition: Query,
    pub core: Query,
    pub noncore: Query,
}

pub const PYTHON_PARTITION: &str = include_str!("../queries/python/partition.scm");
pub const PYTHON_CORE: &str = include_str!("../queries/python/core.scm");
pub const PYTHON_NONCORE: &str = include_str!("../queries/python/noncore.scm");

fn python_language() -> tree_sitter::Language {
    tree_sitter_python::LANGUAGE.into()
}

/// Python's queries, compiled on first use. They are part of the binary, so a failure to
/// compile is a bug caught by the query test, not a user error.
pub fn python_queries() -> &'static Queries {
    static QUERIES: OnceLock<Queries> = OnceLock::new();
    QUERIES.get_or_init(|| {
        let language = python_language();
        let compile = |name, source| {
            Query::new(&language, source).unwrap_or_else(|e| panic!("query {name} does not compile: {e}"))
        };
        Queries {
            partition: compile("partition.scm", PYTHON_PARTITION),
            core: compile("core.scm", PYTHON_CORE),
            noncore: compile("noncore.scm", PYTHON_NONCORE),
        }
    })
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
        let queries = python_queries();
        assert!(queries.partition.pattern_count() > 10);
        assert_eq!(queries.core.capture_names(), ["core"]);
        assert_eq!(queries.noncore.capture_names(), ["noncore"]);
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
