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
    offset: usize,
    config: &PartitionConfig,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<PartItem<'tree>> {
    let mut cutter = Cutter {
        roles: &captures.roles,
        config,
        offset,
        diagnostics,
        items: Vec::new(),
    };
    let mut containers = vec![(tree.root_node(), 0)];
    while let Some((container, depth)) = containers.pop() {
        cutter.container(container, depth, &mut containers);
    }
    let mut items = cutter.items;
    items.sort_by_key(|item| item.span.start);
    items
}

struct Cutter<'a, 'tree> {
    roles: &'a HashMap<usize, Role<'tree>>,
    config: &'a PartitionConfig,
    offset: usize,
    diagnostics: &'a mut Vec<Diagnostic>,
    items: Vec<PartItem<'tree>>,
}

/// Consecutive statements being merged into one item (imports, or short statements).
struct Run<'tree> {
    item: PartItem<'tree>,
}

impl<'tree> Cutter<'_, 'tree> {
    /// Partitions the statements of a module or block; bodies found are pushed on `containers`.
    fn container(&mut self, container: Node<'tree>, depth: usize, containers: &mut Vec<(Node<'tree>, usize)>) {
        let mut run: Option<Run<'tree>> = None;
        let mut cursor = container.walk();
        let children: Vec<Node<'tree>> = container.named_children(&mut cursor).collect();
        for statement in children {
            if statement.kind() == "comment" {
                continue;
            }
            if statement.is_error() || statement.is_missing() {
                self.flush(&mut run);
                self.syntax_error(statement);
                // Complete statements inside an error node still parse: recover them.
                let mut inner = statement.walk();
                let recovered: Vec<Node<'tree>> = statement
                    .named_children(&mut inner)
                    .filter(|n| is_statement(*n) && !n.has_error())
                    .collect();
                if !recovered.is_empty() {
                    self.statements(recovered, statement, depth, containers);
                }
                continue;
            }
            match self.roles.get(&statement.id()) {
                Some(Role::Import) if !statement.has_error() => {
                    let item = self.item(ItemKind::Imports, statement, container, depth);
                    self.extend_run(&mut run, item, true);
                }
                Some(Role::Compound(_) | Role::Decorated) => {
                    self.flush(&mut run);
                    self.compound(statement, container, depth, containers);
                }
                _ if statement.has_error() => {
                    self.flush(&mut run);
                    self.syntax_error(statement);
                }
                _ => {
                    let item = self.item(ItemKind::Statement, statement, container, depth);
                    self.extend_run(&mut run, item, false);
                }
            }
        }
        self.flush(&mut run);
    }

    /// Statements recovered from an error node, partitioned like a container's.
    fn statements(
        &mut self,
        statements: Vec<Node<'tree>>,
        error: Node<'tree>,
        depth: usize,
        containers: &mut Vec<(Node<'tree>, usize)>,
    ) {
        for statement in statements {
            match self.roles.get(&statement.id()) {
                Some(Role::Compound(_) | Role::Decorated) => self.compound(statement, error, depth, containers),
                Some(Role::Import) => self.items.push(self.item(ItemKind::Imports, statement, error, depth)),
                _ => self.items.push(self.item(ItemKind::Statement, statement, error, depth)),
            }
        }
    }

    /// A compound statement or clause: its header is an item; bodies and clauses go on.
    fn compound(
        &mut self,
        statement: Node<'tree>,
        parent: Node<'tree>,
        depth: usize,
        containers: &mut Vec<(Node<'tree>, usize)>,
    ) {
        if depth >= self.config.max_depth {
            if statement.has_error() {
                self.syntax_error(statement);
            } else {
                self.items.push(self.item(ItemKind::Compound, statement, parent, depth));
            }
            return;
        }
        let (definition, mut header) = match self.roles.get(&statement.id()) {
            Some(Role::Decorated) => {
                let mut cursor = statement.walk();
                let decorators = statement
                    .named_children(&mut cursor)
                    .filter(|n| n.kind() == "decorator")
                    .map(|node| ItemNode {
                        node,
                        parent: statement,
                    })
                    .collect();
                match statement.child_by_field_name("definition") {
                    Some(definition) => (definition, decorators),
                    None => return self.syntax_error(statement),
                }
            }
            _ => (statement, Vec::new()),
        };
        let bodies = match self.roles.get(&definition.id()) {
            Some(Role::Compound(bodies)) => bodies,
            _ => return self.syntax_error(statement),
        };
        let mut cursor = definition.walk();
        let mut in_header = true;
        for child in definition.children(&mut cursor) {
            if bodies.iter().any(|b| b.id() == child.id()) {
                in_header = false;
                containers.push((child, depth + 1));
            } else if matches!(self.roles.get(&child.id()), Some(Role::Compound(_))) {
                in_header = false;
                self.compound(child, definition, depth, containers);
            } else if in_header {
                header.push(ItemNode {
                    node: child,
                    parent: definition,
                });
            }
        }
        if header.iter().any(|n| n.node.has_error() || n.node.is_missing()) || header.is_empty() {
            self.diagnostics.push(Diagnostic::new(
                self.node_span(statement),
                format!(
                    "syntax error in the header of this `{}`; its body is still partitioned",
                    definition.kind()
                ),
            ));
            return;
        }
        let span = Span::new(header[0].node.start_byte(), header[header.len() - 1].node.end_byte());
        self.items.push(PartItem {
            kind: ItemKind::Header,
            node_kind: definition.kind(),
            depth,
            span,
            nodes: header,
        });
    }

    /// An item of one whole statement.
    fn item(&self, kind: ItemKind, node: Node<'tree>, parent: Node<'tree>, depth: usize) -> PartItem<'tree> {
        PartItem {
            kind,
            node_kind: node.kind(),
            depth,
            span: Span::new(node.start_byte(), node.end_byte()),
            nodes: vec![ItemNode { node, parent }],
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

fn is_statement(node: Node) -> bool {
    let kind = node.kind();
    kind.ends_with("_statement")
        || matches!(
            kind,
            "function_definition" | "class_definition" | "decorated_definition"
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::captures::capture;
    use crate::pipeline::lang::parse_python;

    fn cut(source: &str, config: &PartitionConfig) -> (Vec<(ItemKind, usize, String)>, usize) {
        let tree = parse_python(source);
        let mut diagnostics = Vec::new();
        let items = partition(&tree, &capture(&tree), 0, config, &mut diagnostics)
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
