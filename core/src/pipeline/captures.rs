//! One query pass over a parsed segment, for every stage that reads the tree through queries:
//! which statements are compound (partition), and where core and non-core logic lie (logic).

use std::collections::HashMap;

use tree_sitter::{Node, Tree};

use crate::pipeline::lang::python_query;
use crate::span::{Span, merge_spans};

/// What `partition.scm` says a statement is.
#[derive(Debug, Clone)]
pub enum Role<'tree> {
    /// A compound statement or clause, with the body blocks to partition again.
    Compound(Vec<Node<'tree>>),
    /// Decorators and the definition they decorate.
    Decorated,
    Import,
}

/// The captures of one tree, by stage.
#[derive(Debug, Default)]
pub struct Captures<'tree> {
    /// Statement roles by node id.
    pub roles: HashMap<usize, Role<'tree>>,
    /// Sorted, disjoint spans of `@core` and `@noncore` captures, in segment offsets.
    pub core: Vec<Span>,
    pub noncore: Vec<Span>,
    /// Sorted, disjoint contents of string literals longer than [`LONG_STRING_BYTES`].
    pub long_strings: Vec<Span>,
}

/// A string literal's content longer than this is wording (a message, a sentence), not logic
/// like a key, a separator or a format.
pub const LONG_STRING_BYTES: usize = 24;

/// Runs the combined query over a tree once.
pub fn capture(tree: &Tree) -> Captures<'_> {
    let query = python_query();
    let names = query.capture_names();
    let mut captures = Captures::default();
    query.for_each_match(tree.root_node(), |matched| {
        let mut statement = None;
        let mut bodies = Vec::new();
        for &(index, node) in matched {
            match names[index as usize].as_str() {
                "core" => captures.core.push(Span::new(node.start_byte(), node.end_byte())),
                "noncore" => captures.noncore.push(Span::new(node.start_byte(), node.end_byte())),
                "string_content" if node.byte_range().len() > LONG_STRING_BYTES => {
                    captures
                        .long_strings
                        .push(Span::new(node.start_byte(), node.end_byte()));
                }
                "string_content" => {}
                "body" => bodies.push(node),
                "decorated" => statement = Some((node, Role::Decorated)),
                "import" => statement = Some((node, Role::Import)),
                _ => statement = Some((node, Role::Compound(Vec::new()))),
            }
        }
        if let Some((node, mut role)) = statement {
            if let Role::Compound(b) = &mut role {
                *b = bodies;
            }
            captures.roles.insert(node.id(), role);
        }
    });
    captures.core = merge_spans(std::mem::take(&mut captures.core));
    captures.noncore = merge_spans(std::mem::take(&mut captures.noncore));
    captures.long_strings = merge_spans(std::mem::take(&mut captures.long_strings));
    captures
}
