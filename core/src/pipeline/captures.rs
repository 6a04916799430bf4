//! One query pass over a parsed segment, for every stage that reads the tree through queries:
//! which statements are compound (partition), where core and non-core logic lie (logic), and,
//! for every language but Python, where local names are defined and used (names).

use std::collections::HashMap;

use tree_sitter::{Node, Tree};

use crate::pipeline::lang::{self, Language};
use crate::span::{Span, merge_spans};

/// What `partition.scm` says a statement is.
#[derive(Debug, Clone)]
pub enum Role<'tree> {
    /// A compound statement or clause, with the body blocks to partition again.
    Compound(Vec<Node<'tree>>),
    /// A clause whose statements are its own children after its first `:` (`case 1: f();`).
    Clause,
    /// A statement whose last named child (or that child's, and so on) may be a compound
    /// statement; its leading part joins that statement's header (decorators, `export`).
    Wrapper,
    Import,
    /// Joins the statement that follows it (an attribute above an item).
    Leading,
}

/// Local names (`locals.scm`): scopes, and the name occurrences that define, write or read a
/// name (see `names.rs`).
#[derive(Debug, Default)]
pub struct Locals<'tree> {
    pub scopes: Vec<Node<'tree>>,
    pub definitions: Vec<Node<'tree>>,
    /// Definitions in the scope around the innermost one (a function's own name).
    pub outer_definitions: Vec<Node<'tree>>,
    pub updates: Vec<Node<'tree>>,
    /// Not names at all (`b` in `a.b`), whatever else captures them.
    pub members: Vec<Node<'tree>>,
    pub references: Vec<Node<'tree>>,
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
    pub locals: Locals<'tree>,
}

/// A string literal's content longer than this is wording (a message, a sentence), not logic
/// like a key, a separator or a format.
pub const LONG_STRING_BYTES: usize = 24;

/// Runs the language's combined query over a tree once. `language` is one this build parses
/// (the tree came from its grammar).
pub fn capture(tree: &Tree, language: Language) -> Captures<'_> {
    let query = lang::query(language).expect("a tree comes from a grammar this build has");
    let names = query.capture_names();
    let mut captures = Captures::default();
    query.for_each_match(tree.root_node(), |matched| {
        let mut statement = None;
        let mut bodies = Vec::new();
        for &(index, node) in matched {
            let span = Span::new(node.start_byte(), node.end_byte());
            match names[index as usize].as_str() {
                "core" => captures.core.push(span),
                "noncore" => captures.noncore.push(span),
                "string_content" if span.len() > LONG_STRING_BYTES => captures.long_strings.push(span),
                "body" => bodies.push(node),
                "compound" => statement = Some((node, Role::Compound(Vec::new()))),
                "clause" => statement = Some((node, Role::Clause)),
                "wrapper" => statement = Some((node, Role::Wrapper)),
                "import" => statement = Some((node, Role::Import)),
                "leading" => statement = Some((node, Role::Leading)),
                "scope" => captures.locals.scopes.push(node),
                "definition" => captures.locals.definitions.push(node),
                "definition.outer" => captures.locals.outer_definitions.push(node),
                "update" => captures.locals.updates.push(node),
                "member" => captures.locals.members.push(node),
                "reference" => captures.locals.references.push(node),
                _ => {}
            }
        }
        let Some((node, role)) = statement else { return };
        // Several patterns may name one statement's bodies (an `if`'s and its `else`'s).
        if let (Role::Compound(_), Some(Role::Compound(known))) = (&role, captures.roles.get_mut(&node.id())) {
            known.extend(bodies);
        } else if let Role::Compound(_) = role {
            captures.roles.insert(node.id(), Role::Compound(bodies));
        } else {
            captures.roles.insert(node.id(), role);
        }
    });
    captures.core = merge_spans(std::mem::take(&mut captures.core));
    captures.noncore = merge_spans(std::mem::take(&mut captures.noncore));
    captures.long_strings = merge_spans(std::mem::take(&mut captures.long_strings));
    captures
}
