//! Partition: cut parsed code into coding items, syntactically complete blocks.
//!
//! An item is a simple statement, a run of imports, or the header of a compound statement
//! (`def f(x):`, `for x in xs:`, `else:`, decorators with their definition's header); each body
//! is partitioned again one level deeper. Below `max_depth` a compound statement stays whole.
//! Every item is a run of complete syntax nodes, so no item cuts through a node (a header covers
//! its compound statement's leading children, never part of one). Which statements are compound
//! is data: `queries/python/partition.scm`. Statements that do not parse become diagnostics.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tree_sitter::{Node, Tree};

use crate::Diagnostic;
use crate::pipeline::captures::{Captures, Role};
use crate::pipeline::lang::Language;
use crate::span::Span;

/// Knobs of the partition stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PartitionConfig {
    /// Bodies nested deeper than this stay inside their compound statement's item (0 = every
    /// top-level statement is one item).
    pub max_depth: usize,
    /// Consecutive simple statements shorter than this many bytes merge with their next sibling.
    pub min_item_bytes: usize,
    /// Code with a longer run of comment lines is not parsed (see
    /// [`structure::unparsable`](crate::pipeline::structure::unparsable)).
    pub max_comment_run: usize,
    /// Code with brackets nested deeper is not parsed (the same).
    pub max_nesting: usize,
    /// Longer code is not parsed (the same).
    pub max_code_bytes: usize,
}

impl Default for PartitionConfig {
    fn default() -> Self {
        PartitionConfig {
            max_depth: 8,
            min_item_bytes: 0,
            max_comment_run: 256,
            max_nesting: 200,
            max_code_bytes: 1 << 20,
        }
    }
}

/// What an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// One simple statement (or several merged by `min_item_bytes`).
    Statement,
    /// The header of a compound statement or clause, decorators included.
    Header,
    /// A run of consecutive import statements.
    Imports,
    /// A compound statement kept whole below `max_depth`.
    Compound,
}

/// A syntax node of an item with its parent, which tree-sitter can only find again by walking
/// down from the root.
#[derive(Debug, Clone, Copy)]
pub struct ItemNode<'tree> {
    pub node: Node<'tree>,
    pub parent: Node<'tree>,
}

/// An item with the syntax nodes it is made of, in the segment's local byte offsets.
#[derive(Debug, Clone)]
pub struct PartItem<'tree> {
    pub kind: ItemKind,
    /// The statement kind, e.g. `function_definition` or `expression_statement`.
    pub node_kind: &'tree str,
    pub depth: usize,
    pub span: Span,
    pub nodes: Vec<ItemNode<'tree>>,
}

/// Cuts a parsed segment into items, sorted by position. `offset` is where the segment starts
/// in the response; diagnostics are reported in response offsets.
pub fn partition<'tree>(
    tree: &'tree Tree,
    captures: &Captures<'tree>,
    language: Language,
    offset: usize,
    config: &PartitionConfig,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<PartItem<'tree>> {
    let mut cutter = Cutter {
        roles: &captures.roles,
        language,
        config,
        offset,
        diagnostics,
        items: Vec::new(),
    };
    let mut containers = vec![Container {
        node: tree.root_node(),
        depth: 0,
        from: 0,
    }];
    while let Some(container) = containers.pop() {
        cutter.container(container, &mut containers);
    }
    let mut items = cutter.items;
    items.sort_by_key(|item| item.span.start);
    items
}

struct Cutter<'a, 'tree> {
    roles: &'a HashMap<usize, Role<'tree>>,
    language: Language,
    config: &'a PartitionConfig,
    offset: usize,
    diagnostics: &'a mut Vec<Diagnostic>,
    items: Vec<PartItem<'tree>>,
}

/// A node whose named children from byte `from` on are statements at `depth`.
#[derive(Debug, Clone, Copy)]
struct Container<'tree> {
    node: Node<'tree>,
    depth: usize,
    from: usize,
}

/// A compound statement being cut: its header (until it is out) and its current run of nodes.
struct Walk<'a, 'tree> {
    statement: Node<'tree>,
    definition: Node<'tree>,
    depth: usize,
    bodies: &'a [Node<'tree>],
    clause: bool,
    header: Option<Vec<ItemNode<'tree>>>,
    run: Vec<ItemNode<'tree>>,
}

/// A compound statement or clause at a statement's place: `definition` is the statement itself
/// or what it wraps, and `before` the wrapper's nodes in front of that.
struct Found<'tree> {
    definition: Node<'tree>,
    before: Vec<ItemNode<'tree>>,
}

/// Consecutive statements being merged into one item (imports, or short statements).
struct Run<'tree> {
    item: PartItem<'tree>,
}

impl<'tree> Cutter<'_, 'tree> {
    /// Partitions the statements of a module, block or clause; bodies found are pushed on
    /// `containers`.
    fn container(&mut self, container: Container<'tree>, containers: &mut Vec<Container<'tree>>) {
        let Container { node, depth, from } = container;
        let mut run: Option<Run<'tree>> = None;
        // Leading statements (attributes) waiting for the statement they join.
        let mut leading: Vec<ItemNode<'tree>> = Vec::new();
        let mut cursor = node.walk();
        let children: Vec<Node<'tree>> = node
            .named_children(&mut cursor)
            .filter(|n| n.start_byte() >= from && !is_comment(*n))
            .collect();
        for statement in children {
            if statement.is_error() || statement.is_missing() {
                self.flush(&mut run);
                self.flush_leading(&mut leading, node, depth);
                self.syntax_error(statement);
                // Complete statements inside an error node still parse: recover them.
                let mut inner = statement.walk();
                let recovered: Vec<Node<'tree>> = statement
                    .named_children(&mut inner)
                    .filter(|n| self.language.is_statement(n.kind()) && !n.has_error())
                    .collect();
                if !recovered.is_empty() {
                    self.statements(recovered, statement, depth, containers);
                }
                continue;
            }
            match self.roles.get(&statement.id()) {
                Some(Role::Leading) if !statement.has_error() => {
                    self.flush(&mut run);
                    leading.push(ItemNode {
                        node: statement,
                        parent: node,
                    });
                    continue;
                }
                Some(Role::Import) if !statement.has_error() => {
                    let item = self.item(ItemKind::Imports, statement, node, depth, &mut leading);
                    self.extend_run(&mut run, item, true);
                    continue;
                }
                _ => {}
            }
            if let Some(found) = self.compound_of(statement) {
                self.flush(&mut run);
                let leading = std::mem::take(&mut leading);
                self.compound(statement, found, node, depth, leading, containers);
                continue;
            }
            if statement.has_error() {
                self.flush(&mut run);
                self.flush_leading(&mut leading, node, depth);
                self.syntax_error(statement);
            } else {
                let item = self.item(ItemKind::Statement, statement, node, depth, &mut leading);
                self.extend_run(&mut run, item, false);
            }
        }
        self.flush(&mut run);
        self.flush_leading(&mut leading, node, depth);
    }

    /// Statements recovered from an error node, partitioned like a container's.
    fn statements(
        &mut self,
        statements: Vec<Node<'tree>>,
        error: Node<'tree>,
        depth: usize,
        containers: &mut Vec<Container<'tree>>,
    ) {
        for statement in statements {
            if let Some(found) = self.compound_of(statement) {
                self.compound(statement, found, error, depth, Vec::new(), containers);
                continue;
            }
            match self.roles.get(&statement.id()) {
                Some(Role::Import) => {
                    let item = self.item(ItemKind::Imports, statement, error, depth, &mut Vec::new());
                    self.items.push(item);
                }
                _ => {
                    let item = self.item(ItemKind::Statement, statement, error, depth, &mut Vec::new());
                    self.items.push(item);
                }
            }
        }
    }

    /// The compound statement or clause a statement is, or holds as a wrapper.
    fn compound_of(&self, statement: Node<'tree>) -> Option<Found<'tree>> {
        match self.roles.get(&statement.id())? {
            Role::Compound(_) | Role::Clause => Some(Found {
                definition: statement,
                before: Vec::new(),
            }),
            Role::Wrapper => self.wrapped(statement),
            Role::Import | Role::Leading => None,
        }
    }

    /// The compound statement a wrapper holds, found down its last named children, with the
    /// nodes before it on the way (a decorated definition's decorators, `export`).
    fn wrapped(&self, wrapper: Node<'tree>) -> Option<Found<'tree>> {
        let mut before = Vec::new();
        let mut node = wrapper;
        loop {
            let mut cursor = node.walk();
            let last = node.named_children(&mut cursor).filter(|n| !is_comment(*n)).last()?;
            let mut cursor = node.walk();
            before.extend(
                node.children(&mut cursor)
                    .take_while(|c| c.id() != last.id())
                    .filter(|c| !is_comment(*c))
                    .map(|child| ItemNode {
                        node: child,
                        parent: node,
                    }),
            );
            match self.roles.get(&last.id()) {
                Some(Role::Compound(_) | Role::Clause) => {
                    return Some(Found {
                        definition: last,
                        before,
                    });
                }
                Some(Role::Wrapper) | None => node = last,
                Some(Role::Import | Role::Leading) => return None,
            }
        }
    }

    /// A compound statement, clause or wrapper (`found`: what it is or holds). Its children
    /// outside its bodies and nested clauses form header items: the run before the first body
    /// is the header (with `leading` statements, or the keywords that came before a nested
    /// clause, and a wrapper's own nodes in front); later runs that hold a word (`while (x);`
    /// after a `do` body) are items too, and a run just before a nested clause joins that
    /// clause's header (`else` of `else if`). Bodies and a clause's statements are partitioned
    /// again, one level deeper.
    fn compound(
        &mut self,
        statement: Node<'tree>,
        found: Found<'tree>,
        parent: Node<'tree>,
        depth: usize,
        mut leading: Vec<ItemNode<'tree>>,
        containers: &mut Vec<Container<'tree>>,
    ) {
        if depth >= self.config.max_depth {
            if statement.has_error() {
                self.syntax_error(statement);
            } else {
                let item = self.item(ItemKind::Compound, statement, parent, depth, &mut leading);
                self.items.push(item);
            }
            return;
        }
        let Found { definition, before } = found;
        let (bodies, clause): (&[Node], bool) = match self.roles.get(&definition.id()) {
            Some(Role::Compound(bodies)) => (bodies, false),
            // `compound_of` found it, so it is a clause.
            _ => (&[], true),
        };
        leading.extend(before);
        let mut walk = Walk {
            statement,
            definition,
            depth,
            bodies,
            clause,
            header: Some(leading),
            run: Vec::new(),
        };
        self.walk(definition, &mut walk, containers);
        self.end_run(&mut walk);
    }

    /// Walks the children of `node`, a compound statement or a node on the way to its bodies.
    /// Returns false once a clause's statements are reached (the rest are its container's).
    fn walk(&mut self, node: Node<'tree>, walk: &mut Walk<'_, 'tree>, containers: &mut Vec<Container<'tree>>) -> bool {
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            let holds_body = |b: &&Node| b.start_byte() >= child.start_byte() && b.end_byte() <= child.end_byte();
            if walk.bodies.iter().any(|b| b.id() == child.id()) {
                self.end_run(walk);
                containers.push(Container {
                    node: child,
                    depth: walk.depth + 1,
                    from: 0,
                });
            } else if walk.bodies.iter().any(|b| holds_body(&b)) {
                // A body further down (Go's `{ statements }`): the nodes before it join the
                // header; a run never leaves the node it started in (a `}` would cut it).
                if !self.walk(child, walk, containers) {
                    return false;
                }
                self.end_run(walk);
            } else if let Some(found) = self.compound_of(child) {
                let keywords = match walk.header.take() {
                    // The header ends where its first nested clause starts.
                    Some(mut header) => {
                        header.append(&mut walk.run);
                        self.header_item(header, walk);
                        Vec::new()
                    }
                    None => std::mem::take(&mut walk.run),
                };
                self.compound(child, found, node, walk.depth, keywords, containers);
            } else if walk.header.is_some() {
                walk.run.push(ItemNode {
                    node: child,
                    parent: node,
                });
                if walk.clause && child.kind() == ":" {
                    self.end_run(walk);
                    containers.push(Container {
                        node: walk.definition,
                        depth: walk.depth + 1,
                        from: child.end_byte(),
                    });
                    return false;
                }
            } else if !is_comment(child) {
                walk.run.push(ItemNode {
                    node: child,
                    parent: node,
                });
            }
        }
        true
    }

    /// Ends a run of a compound's own nodes: the header if it is not out yet, else a later run,
    /// an item when it holds a word (not only closing punctuation).
    fn end_run(&mut self, walk: &mut Walk<'_, 'tree>) {
        if let Some(mut nodes) = walk.header.take() {
            nodes.append(&mut walk.run);
            return self.header_item(nodes, walk);
        }
        let nodes = std::mem::take(&mut walk.run);
        let worded = nodes
            .iter()
            .any(|n| n.node.is_named() || n.node.kind().bytes().any(|b| b.is_ascii_alphanumeric()));
        if worded {
            self.header_item(nodes, walk);
        }
    }

    fn header_item(&mut self, header: Vec<ItemNode<'tree>>, walk: &Walk<'_, 'tree>) {
        if header.iter().any(|n| n.node.has_error() || n.node.is_missing()) || header.is_empty() {
            self.diagnostics.push(Diagnostic::new(
                self.node_span(walk.statement),
                format!(
                    "syntax error in the header of this `{}`; its body is still partitioned",
                    walk.definition.kind()
                ),
            ));
            return;
        }
        let span = Span::new(header[0].node.start_byte(), header[header.len() - 1].node.end_byte());
        self.items.push(PartItem {
            kind: ItemKind::Header,
            node_kind: walk.definition.kind(),
            depth: walk.depth,
            span,
            nodes: header,
        });
    }

    /// An item of one whole statement, with the leading statements waiting for it in front.
    fn item(
        &self,
        kind: ItemKind,
        node: Node<'tree>,
        parent: Node<'tree>,
        depth: usize,
        leading: &mut Vec<ItemNode<'tree>>,
    ) -> PartItem<'tree> {
        let mut nodes = std::mem::take(leading);
        nodes.push(ItemNode { node, parent });
        PartItem {
            kind,
            node_kind: node.kind(),
            depth,
            span: Span::new(nodes[0].node.start_byte(), node.end_byte()),
            nodes,
        }
    }

    /// Leading statements with nothing after them to join: an item of their own.
    fn flush_leading(&mut self, leading: &mut Vec<ItemNode<'tree>>, parent: Node<'tree>, depth: usize) {
        if let Some(last) = leading.pop() {
            let item = self.item(ItemKind::Statement, last.node, parent, depth, leading);
            self.items.push(item);
        }
    }

    /// Adds an item to the current run: imports join imports; short statements join their next sibling.
    fn extend_run(&mut self, run: &mut Option<Run<'tree>>, item: PartItem<'tree>, import: bool) {
        match run {
            Some(r) if (r.item.kind == ItemKind::Imports) == import => {
                r.item.span.end = item.span.end;
                r.item.nodes.extend(item.nodes);
            }
            _ => {
                self.flush(run);
                *run = Some(Run { item });
            }
        }
        let done = run
            .as_ref()
            .is_some_and(|r| !import && r.item.span.len() >= self.config.min_item_bytes);
        if done {
            self.flush(run);
        }
    }

    fn flush(&mut self, run: &mut Option<Run<'tree>>) {
        if let Some(r) = run.take() {
            self.items.push(r.item);
        }
    }

    fn syntax_error(&mut self, node: Node) {
        let what = if node.is_missing() {
            format!("missing `{}`", node.kind())
        } else {
            "syntax error".to_string()
        };
        self.diagnostics.push(Diagnostic::new(
            self.node_span(node),
            format!("{what}: this code does not parse and is left out of the items"),
        ));
    }

    fn node_span(&self, node: Node) -> Span {
        Span::new(node.start_byte(), node.end_byte()).shift(self.offset)
    }
}

/// Whether a node is a comment (or another extra a grammar allows anywhere, like Python's line
/// continuation): never an item of its own. Error nodes can be extras too; they are not comments.
fn is_comment(node: Node) -> bool {
    node.is_extra() && !node.is_error() && !node.is_missing()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::captures::capture;
    use crate::pipeline::lang::parse_python;

    fn cut(source: &str, config: &PartitionConfig) -> (Vec<(ItemKind, usize, String)>, usize) {
        let tree = parse_python(source);
        let mut diagnostics = Vec::new();
        let items = partition(
            &tree,
            &capture(&tree, Language::Python),
            Language::Python,
            0,
            config,
            &mut diagnostics,
        )
        .into_iter()
        .map(|i| (i.kind, i.depth, source[i.span.start..i.span.end].to_string()))
        .collect();
        (items, diagnostics.len())
    }

    #[test]
    fn headers_bodies_and_clauses() {
        let source =
            "import os\nimport sys\n@cache\ndef f(x):\n    if x:\n        return 1\n    else:\n        return 2\n";
        let (items, errors) = cut(source, &PartitionConfig::default());
        let texts: Vec<&str> = items.iter().map(|(_, _, t)| t.as_str()).collect();
        assert_eq!(
            texts,
            [
                "import os\nimport sys",
                "@cache\ndef f(x):",
                "if x:",
                "return 1",
                "else:",
                "return 2"
            ]
        );
        assert_eq!(items[1].0, ItemKind::Header);
        assert_eq!(items[3].1, 2);
        assert_eq!(errors, 0);
    }

    #[test]
    fn max_depth_keeps_compounds_whole() {
        let source = "def f():\n    for i in x:\n        y(i)\n";
        let (items, _) = cut(
            source,
            &PartitionConfig {
                max_depth: 1,
                ..Default::default()
            },
        );
        assert_eq!(
            items[1],
            (ItemKind::Compound, 1, "for i in x:\n        y(i)".to_string())
        );
    }

    #[test]
    fn short_statements_merge() {
        let (items, _) = cut(
            "a = 1\nb = 2\nresult = compute(a, b)\n",
            &PartitionConfig {
                min_item_bytes: 8,
                ..Default::default()
            },
        );
        let texts: Vec<&str> = items.iter().map(|(_, _, t)| t.as_str()).collect();
        // `a = 1` is short, so it joins `b = 2`; together they reach 8 bytes and stop there.
        assert_eq!(texts, ["a = 1\nb = 2", "result = compute(a, b)"]);
    }

    #[test]
    fn broken_statement_is_a_diagnostic() {
        let (items, errors) = cut("x = 1\ny = (2 +\nz = 3\n", &PartitionConfig::default());
        assert!(errors >= 1);
        assert!(items.iter().any(|(_, _, t)| t == "x = 1"));
        assert!(items.iter().all(|(_, _, t)| !t.contains("y =")));
    }
}
