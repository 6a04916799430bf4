//! Languages: which fences codeblock parses, with which grammar and queries.
//!
//! A language is a grammar plus query files (`core/queries/<lang>/<stage>.scm`), compiled once
//! per process, and one row of `SPECS` for what a query cannot say. Adding a language means a
//! grammar, its queries, a row, and fixtures. Grammars other than Python's are cargo features of
//! this crate (all on by default); a build without one keeps that language's fences as other
//! code.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use tree_sitter::{Node, Parser, Tree};

use crate::pipeline::query::Query;

/// The language a code segment is parsed as.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    Python,
    #[serde(rename = "javascript")]
    JavaScript,
    #[serde(rename = "typescript")]
    TypeScript,
    /// TypeScript with JSX.
    Tsx,
    Java,
    Go,
    Rust,
    /// Kept and reported, but not partitioned: no grammar (in this build).
    Other,
}

/// What codeblock knows of a language besides its query files.
#[derive(Debug)]
struct Spec {
    language: Language,
    /// Fence tags, lowercase.
    tags: &'static [&'static str],
    /// The grammar, when this build has it.
    grammar: fn() -> Option<tree_sitter::Language>,
    /// The query files, joined into one query: partition, core and non-core logic, and (except
    /// for Python, whose names walk is `names.rs`) the local names for def-use.
    queries: &'static [&'static str],
    /// What opens a line comment (a long run of them is not parsed).
    line_comment: &'static str,
    /// Kind suffixes of statements, for complete statements recovered inside an error node.
    statements: &'static [&'static str],
}

/// A grammar when its feature is on, `None` when this build leaves it out.
macro_rules! grammar {
    ($feature:literal, $language:expr) => {{
        #[cfg(feature = $feature)]
        let grammar = Some(tree_sitter::Language::from($language));
        #[cfg(not(feature = $feature))]
        let grammar = None;
        grammar
    }};
}

/// Query files (`dir: [stage, …]`, in order) when a feature is on, none when this build leaves
/// the language out.
macro_rules! queries {
    ($feature:literal, $($dir:literal: [$($stage:literal),*]),*) => {{
        #[cfg(feature = $feature)]
        let files: &[&str] = &[$($(include_str!(concat!("../../queries/", $dir, "/", $stage, ".scm"))),*),*];
        #[cfg(not(feature = $feature))]
        let files: &[&str] = &[];
        files
    }};
}

/// TypeScript's grammar extends JavaScript's: its queries are JavaScript's (but for the
/// parameters, which differ) and its own.
const TS_QUERIES: &[&str] = queries!(
    "typescript",
    "javascript": ["partition", "core", "noncore", "locals"],
    "typescript": ["partition", "core", "noncore", "locals"]
);
const C_STYLE: &[&str] = &["_statement", "_declaration", "_definition"];

/// The languages with a row in [`SPECS`].
const LANGUAGES: usize = 7;

static SPECS: [Spec; LANGUAGES] = [
    Spec {
        language: Language::Python,
        tags: &["python", "py", "python3", "py3", "ipython", "pycon"],
        grammar: || Some(python_language()),
        queries: &[PYTHON_PARTITION, PYTHON_CORE, PYTHON_NONCORE],
        line_comment: "#",
        statements: &["_statement", "_definition"],
    },
    Spec {
        language: Language::JavaScript,
        tags: &["javascript", "js", "jsx", "mjs", "cjs", "node"],
        grammar: || grammar!("javascript", tree_sitter_javascript::LANGUAGE),
        queries: queries!("javascript", "javascript": ["partition", "core", "noncore", "locals", "parameters"]),
        line_comment: "//",
        statements: C_STYLE,
    },
    Spec {
        language: Language::TypeScript,
        tags: &["typescript", "ts", "mts", "cts"],
        grammar: || grammar!("typescript", tree_sitter_typescript::LANGUAGE_TYPESCRIPT),
        queries: TS_QUERIES,
        line_comment: "//",
        statements: C_STYLE,
    },
    Spec {
        language: Language::Tsx,
        tags: &["tsx"],
        grammar: || grammar!("typescript", tree_sitter_typescript::LANGUAGE_TSX),
        queries: TS_QUERIES,
        line_comment: "//",
        statements: C_STYLE,
    },
    Spec {
        language: Language::Java,
        tags: &["java"],
        grammar: || grammar!("java", tree_sitter_java::LANGUAGE),
        queries: queries!("java", "java": ["partition", "core", "noncore", "locals"]),
        line_comment: "//",
        statements: C_STYLE,
    },
    Spec {
        language: Language::Go,
        tags: &["go", "golang"],
        grammar: || grammar!("go", tree_sitter_go::LANGUAGE),
        queries: queries!("go", "go": ["partition", "core", "noncore", "locals"]),
        line_comment: "//",
        statements: C_STYLE,
    },
    Spec {
        language: Language::Rust,
        tags: &["rust", "rs"],
        grammar: || grammar!("rust", tree_sitter_rust::LANGUAGE),
        queries: queries!("rust", "rust": ["partition", "core", "noncore", "locals"]),
        line_comment: "//",
        statements: &["_statement", "_declaration", "_item", "_expression"],
    },
];

fn spec(language: Language) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.language == language)
}

impl Language {
    /// The language of a fence's info-string tag, whether or not this build has its grammar.
    /// An untagged fence is taken for Python: code datasets are mostly Python, and a fence that
    /// fails to parse as Python is tried as another language ([`guess`]).
    pub fn from_tag(tag: &str) -> Language {
        let tag = tag.to_ascii_lowercase();
        if tag.is_empty() {
            return Language::Python;
        }
        SPECS
            .iter()
            .find(|s| s.tags.contains(&tag.as_str()))
            .map_or(Language::Other, |s| s.language)
    }

    /// The language's usual fence tag (`""` for other code).
    pub fn tag(self) -> &'static str {
        spec(self).map_or("", |s| s.tags[0])
    }

    /// Whether this build parses the language.
    pub fn is_parsed(self) -> bool {
        spec(self).is_some_and(|s| (s.grammar)().is_some())
    }

    /// What opens a line comment in the language.
    pub fn line_comment(self) -> &'static str {
        spec(self).map_or("#", |s| s.line_comment)
    }

    /// Whether a node kind is a statement of the language (for statements recovered inside an
    /// error node).
    pub fn is_statement(self, kind: &str) -> bool {
        spec(self).is_some_and(|s| s.statements.iter().any(|suffix| kind.ends_with(suffix)))
    }
}

/// The languages this build parses.
pub fn parsed_languages() -> impl Iterator<Item = Language> {
    SPECS.iter().map(|s| s.language).filter(|l| l.is_parsed())
}

/// The language an untagged fence that is not Python is most likely in, by a cheap look at its
/// words (the caller then checks that it mostly parses as that language):
/// - Go: a line opening with `package ` or `func `;
/// - Rust: `fn ` with `let `, `::` or `->`;
/// - Java: `class ` with `public ` or `System.`;
/// - TypeScript: a type annotation (`: string`, `: number`, `: boolean`) or `interface `;
/// - JavaScript: `function`, `const `, `let `, `=>` or `console.`.
pub fn guess(code: &str) -> Option<Language> {
    let has = |words: &[&str]| words.iter().any(|w| code.contains(w));
    let opens_line = |word: &str| code.lines().any(|l| l.trim_start().starts_with(word));
    let guess = if opens_line("package ") || opens_line("func ") {
        Language::Go
    } else if has(&["fn "]) && has(&["let ", "::", "->"]) {
        Language::Rust
    } else if has(&["class "]) && has(&["public ", "System."]) {
        Language::Java
    } else if has(&[": string", ": number", ": boolean", "interface "]) {
        Language::TypeScript
    } else if has(&["function", "const ", "let ", "=>", "console."]) {
        Language::JavaScript
    } else {
        return None;
    };
    guess.is_parsed().then_some(guess)
}

pub const PYTHON_PARTITION: &str = include_str!("../../queries/python/partition.scm");
pub const PYTHON_CORE: &str = include_str!("../../queries/python/core.scm");
pub const PYTHON_NONCORE: &str = include_str!("../../queries/python/noncore.scm");

fn python_language() -> tree_sitter::Language {
    tree_sitter_python::LANGUAGE.into()
}

/// A language's stage queries compiled into one, so a tree is walked once for all of them (each
/// query pass costs about as much as the others together); captures keep their stage's names.
/// `None` when this build has no grammar for it. The queries are part of the binary, so a
/// failure to compile is a bug caught by the query test, not a user error.
pub fn query(language: Language) -> Option<&'static Query> {
    static QUERIES: [OnceLock<Option<Query>>; LANGUAGES] = [const { OnceLock::new() }; LANGUAGES];
    let index = SPECS.iter().position(|s| s.language == language)?;
    let spec = &SPECS[index];
    let query = QUERIES[index].get_or_init(|| {
        let query = Query::new((spec.grammar)()?, &spec.queries.join("\n"));
        Some(query.unwrap_or_else(|e| panic!("the {:?} queries do not compile: {e}", spec.language)))
    });
    query.as_ref()
}

/// Parses source in a language this build has; `None` otherwise. tree-sitter recovers from any
/// error, so every input gets a tree; errors show up as ERROR and MISSING nodes.
pub fn parse(language: Language, source: &str) -> Option<Tree> {
    let grammar = spec(language).and_then(|s| (s.grammar)())?;
    let mut parser = Parser::new();
    parser
        .set_language(&grammar)
        .expect("the bundled grammars match the tree-sitter version");
    Some(
        parser
            .parse(source, None)
            .expect("parsing without a timeout or cancellation always returns a tree"),
    )
}

/// A Python node's kind, by table lookup: `Node::kind` crosses into C and measures the string on
/// every call, which shows in profiles of the name walk.
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

/// A Python field's id; the names come from this crate's code, so an unknown one is a bug.
pub fn field_id(name: &str) -> std::num::NonZeroU16 {
    python_language()
        .field_id_for_name(name)
        .unwrap_or_else(|| panic!("the grammar has no field `{name}`"))
}

/// Parses Python source (see [`parse`]).
pub fn parse_python(source: &str) -> Tree {
    parse(Language::Python, source).expect("Python's grammar is in every build")
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

/// Whether most of a parsed text (at least half of its bytes) lies outside error nodes: an
/// untagged fence that fails this is not in the language it was parsed as.
pub fn mostly_parses(tree: &Tree) -> bool {
    let root = tree.root_node();
    2 * error_bytes(tree) <= root.end_byte() - root.start_byte()
}

/// How many bytes of a parsed text lie inside error nodes.
pub fn error_bytes(tree: &Tree) -> usize {
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
    errors
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
        let names = query(Language::Python).unwrap().capture_names();
        assert_eq!(
            names,
            [
                "body",
                "compound",
                "wrapper",
                "import",
                "core",
                "string_content",
                "noncore"
            ]
        );
        // Each language's stages compile one by one (naming the file at fault), then together.
        for spec in &SPECS {
            let grammar = (spec.grammar)().expect("the default build has every grammar");
            for source in spec.queries {
                Query::new(grammar.clone(), source).unwrap_or_else(|e| panic!("{:?}: {e} in\n{source}", spec.language));
            }
            let names = query(spec.language).unwrap().capture_names();
            let known = [
                "body",
                "compound",
                "clause",
                "wrapper",
                "import",
                "leading",
                "core",
                "string_content",
                "noncore",
                "scope",
                "definition",
                "definition.outer",
                "update",
                "member",
                "reference",
            ];
            for name in names {
                assert!(
                    known.contains(&name.as_str()),
                    "{:?}: unknown capture @{name}",
                    spec.language
                );
            }
        }
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
        assert_eq!(Language::from_tag("rs"), Language::Rust);
        assert_eq!(Language::from_tag("golang"), Language::Go);
        assert_eq!(Language::from_tag("JSX"), Language::JavaScript);
        assert_eq!(Language::from_tag("tsx"), Language::Tsx);
        assert_eq!(Language::from_tag("bash"), Language::Other);
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
