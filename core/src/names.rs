//! Names: which items define and use which names, and the def-use edges between items.
//!
//! Python scoping, simplified where the difference rarely matters for selection: functions,
//! lambdas, classes and comprehensions open scopes; `global` and `nonlocal` redirect bindings;
//! a walrus in a comprehension binds in the enclosing scope; names in a class body are not seen
//! from functions nested in it. A use links to the latest earlier definition in the innermost
//! scope that has one; from an enclosing scope, a later definition counts too, because a function
//! body runs after the code that follows it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use tree_sitter::Node;

/// A def-use edge: item `from` defines names that item `to` uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub names: Vec<String>,
}

type ScopeId = usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScopeKind {
    Module,
    Function,
    Class,
    Comprehension,
}

#[derive(Debug)]
struct Scope {
    kind: ScopeKind,
    parent: Option<ScopeId>,
    globals: HashSet<String>,
    nonlocals: HashSet<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Use,
    Def,
    /// Both: the target of an augmented assignment reads and writes.
    UseDef,
}

#[derive(Debug)]
struct Event {
    name: String,
    role: Role,
    scope: ScopeId,
    item: usize,
}

/// Collects names from items (in order) across all code segments of one response, which share
/// one module namespace, then resolves uses to definitions.
#[derive(Debug, Default)]
pub struct NameIndex {
    scopes: HashMap<ScopeId, Scope>,
    events: Vec<Event>,
    /// Each segment has its own module node; they all stand for one module scope.
    module: Option<ScopeId>,
}

impl NameIndex {
    /// Records the names that item number `item`, made of `nodes`, defines and uses.
    pub fn add_item(&mut self, item: usize, nodes: &[Node], source: &str) {
        let mut stack: Vec<(Node, Role, ScopeId)> = Vec::new();
        for &node in nodes.iter().rev() {
            let (role, scope) = self.initial(node);
            stack.push((node, role, scope));
        }
        while let Some((node, role, scope)) = stack.pop() {
            self.visit(node, role, scope, item, source, &mut stack);
        }
    }

    /// Def-use edges, sorted by (from, to), each with its names sorted.
    pub fn edges(&self) -> Vec<Edge> {
        let mut defs: HashMap<(ScopeId, &str), Vec<usize>> = HashMap::new();
        for event in &self.events {
            if matches!(event.role, Role::Def | Role::UseDef) {
                let scope = self.binding_scope(&event.name, event.scope);
                defs.entry((scope, &event.name)).or_default().push(event.item);
            }
        }
        let mut edges: BTreeMap<(usize, usize), BTreeSet<&str>> = BTreeMap::new();
        for event in &self.events {
            if !matches!(event.role, Role::Use | Role::UseDef) {
                continue;
            }
            if let Some(from) = self.resolve(&defs, &event.name, event.scope, event.item)
                && from != event.item
            {
                edges.entry((from, event.item)).or_default().insert(&event.name);
            }
        }
        edges
            .into_iter()
            .map(|((from, to), names)| Edge {
                from,
                to,
                names: names.into_iter().map(String::from).collect(),
            })
            .collect()
    }

    fn resolve(
        &self,
        defs: &HashMap<(ScopeId, &str), Vec<usize>>,
        name: &str,
        scope: ScopeId,
        item: usize,
    ) -> Option<usize> {
        let start = self.binding_scope(name, scope);
        let mut current = Some(start);
        while let Some(s) = current {
            if let Some(items) = defs.get(&(s, name)) {
                if let Some(&earlier) = items.iter().rev().find(|&&j| j < item) {
                    return Some(earlier);
                }
                if s != start {
                    return items.first().copied();
                }
            }
            current = self.scopes[&s].parent;
            // Class bodies are not enclosing scopes for the functions inside them.
            while let Some(p) = current
                && self.scopes[&p].kind == ScopeKind::Class
            {
                current = self.scopes[&p].parent;
            }
        }
        None
    }

    /// The scope a name binds in when assigned in `scope`.
    fn binding_scope(&self, name: &str, scope: ScopeId) -> ScopeId {
        let info = &self.scopes[&scope];
        if info.globals.contains(name) {
            return self.module.unwrap_or(scope);
        }
        if info.nonlocals.contains(name) {
            let mut current = info.parent;
            while let Some(p) = current {
                if self.scopes[&p].kind == ScopeKind::Function {
                    return p;
                }
                current = self.scopes[&p].parent;
            }
        }
        scope
    }

    /// The role and scope of an item's top node, from its place in the parent.
    fn initial(&mut self, node: Node) -> (Role, ScopeId) {
        let scope = self.scope_of(node);
        let Some(parent) = node.parent() else {
            return (Role::Use, scope);
        };
        let field = field_in_parent(node, parent);
        let role = match (parent.kind(), field) {
            ("for_statement", Some("left")) => Role::Def,
            ("function_definition" | "class_definition", Some("name")) => Role::Def,
            ("function_definition", Some("parameters")) => Role::Def,
            ("except_clause", Some("alias")) => Role::Def,
            _ => Role::Use,
        };
        (role, scope)
    }

    /// The innermost scope whose inside holds `node`, registering the chain of scopes on the way.
    fn scope_of(&mut self, node: Node) -> ScopeId {
        let mut chain = Vec::new();
        let mut child = node;
        while let Some(parent) = child.parent() {
            if opens_scope_for(parent, child) {
                chain.push(parent);
            }
            child = parent;
        }
        let root = child;
        let mut scope = self.module_scope(root);
        for &scope_node in chain.iter().rev() {
            scope = self.register(scope_node, scope);
        }
        scope
    }

    fn module_scope(&mut self, root: Node) -> ScopeId {
        let id = *self.module.get_or_insert(root.id());
        self.scopes.entry(id).or_insert_with(|| Scope {
            kind: ScopeKind::Module,
            parent: None,
            globals: HashSet::new(),
            nonlocals: HashSet::new(),
        });
        id
    }

    fn register(&mut self, scope_node: Node, parent: ScopeId) -> ScopeId {
        let kind = match scope_node.kind() {
            "function_definition" | "lambda" => ScopeKind::Function,
            "class_definition" => ScopeKind::Class,
            _ => ScopeKind::Comprehension,
        };
        self.scopes.entry(scope_node.id()).or_insert_with(|| Scope {
            kind,
            parent: Some(parent),
            globals: HashSet::new(),
            nonlocals: HashSet::new(),
        });
        scope_node.id()
    }

    fn emit(&mut self, node: Node, role: Role, scope: ScopeId, item: usize, source: &str) {
        let name = source[node.start_byte()..node.end_byte()].to_string();
        self.events.push(Event {
            name,
            role,
            scope,
            item,
        });
    }

    /// Classifies one node; pushes the children still to visit.
    fn visit<'t>(
        &mut self,
        node: Node<'t>,
        role: Role,
        scope: ScopeId,
        item: usize,
        source: &str,
        stack: &mut Vec<(Node<'t>, Role, ScopeId)>,
    ) {
        let field = |name: &str| node.child_by_field_name(name);
        let mut push = |child: Option<Node<'t>>, role: Role, scope: ScopeId| {
            if let Some(child) = child {
                stack.push((child, role, scope));
            }
        };
        match node.kind() {
            "identifier" => self.emit(node, role, scope, item, source),
            // `a.b`: only `a` is a name; `a.b = 1` reads `a`.
            "attribute" => push(field("object"), Role::Use, scope),
            "keyword_argument" => push(field("value"), Role::Use, scope),
            "assignment" => {
                push(field("left"), Role::Def, scope);
                push(field("type"), Role::Use, scope);
                push(field("right"), Role::Use, scope);
            }
            "augmented_assignment" => {
                push(field("left"), Role::UseDef, scope);
                push(field("right"), Role::Use, scope);
            }
            "named_expression" => {
                let mut target = scope;
                while self.scopes[&target].kind == ScopeKind::Comprehension {
                    target = self.scopes[&target].parent.unwrap_or(target);
                }
                push(field("name"), Role::Def, target);
                push(field("value"), Role::Use, scope);
            }
            "for_statement" | "for_in_clause" => {
                push(field("left"), Role::Def, scope);
                push(field("right"), Role::Use, scope);
                push_named_except(node, &["left", "right"], Role::Use, scope, stack);
            }
            "as_pattern" => {
                push(field("alias"), Role::Def, scope);
                push_named_except(node, &["alias"], Role::Use, scope, stack);
            }
            "except_clause" => {
                push(field("alias"), Role::Def, scope);
                push_named_except(node, &["alias"], Role::Use, scope, stack);
            }
            "function_definition" | "class_definition" | "lambda" => {
                push(field("name"), Role::Def, scope);
                let inner = self.register(node, scope);
                push(field("parameters"), Role::Def, inner);
                push(field("superclasses"), Role::Use, scope);
                push(field("return_type"), Role::Use, scope);
                push(field("body"), Role::Use, inner);
            }
            "list_comprehension" | "set_comprehension" | "dictionary_comprehension" | "generator_expression" => {
                let inner = self.register(node, scope);
                push_named_except(node, &[], Role::Use, inner, stack);
            }
            "default_parameter" | "typed_default_parameter" => {
                push(field("name"), Role::Def, scope);
                push(field("type"), Role::Use, scope);
                push(field("value"), Role::Use, scope);
            }
            "typed_parameter" => {
                push(field("type"), Role::Use, scope);
                push_named_except(node, &["type"], role, scope, stack);
            }
            "import_statement" | "import_from_statement" | "future_import_statement" => {
                let mut cursor = node.walk();
                for name in node.children_by_field_name("name", &mut cursor) {
                    self.import_name(name, scope, item, source);
                }
            }
            "global_statement" | "nonlocal_statement" => {
                let mut cursor = node.walk();
                let names: Vec<String> = node
                    .named_children(&mut cursor)
                    .map(|n| source[n.start_byte()..n.end_byte()].to_string())
                    .collect();
                let info = self.scopes.get_mut(&scope).expect("scopes are registered before use");
                let set = if node.kind() == "global_statement" {
                    &mut info.globals
                } else {
                    &mut info.nonlocals
                };
                set.extend(names);
            }
            "case_pattern" => self.case_pattern(node, scope, item, source, stack),
            // In a pattern, `Color.RED` is a value to compare with, not a capture.
            "dotted_name" if node.named_child_count() > 1 => push_named_except(node, &[], Role::Use, scope, stack),
            "keyword_pattern" => {
                // `name=pattern`: the first identifier is an attribute name, not a binding.
                let mut cursor = node.walk();
                for child in node.named_children(&mut cursor).skip(1) {
                    stack.push((child, role, scope));
                }
            }
            "subscript" | "call" => push_named_except(node, &[], Role::Use, scope, stack),
            // Anything else passes its role down: `(a, b) = ...` makes both names definitions.
            _ => push_named_except(node, &[], role, scope, stack),
        }
    }

    fn import_name(&mut self, name: Node, scope: ScopeId, item: usize, source: &str) {
        let bound = match name.kind() {
            "aliased_import" => name.child_by_field_name("alias"),
            // `import a.b` binds `a`; `from m import b` binds `b`.
            "dotted_name" => name.named_child(0),
            _ => None,
        };
        if let Some(bound) = bound {
            self.emit(bound, Role::Def, scope, item, source);
        }
    }

    /// In a `case` pattern a bare name captures (binds); dotted names and class names are values,
    /// and whatever nests inside (tuples, lists, keyword patterns) captures too.
    fn case_pattern<'t>(
        &mut self,
        node: Node<'t>,
        scope: ScopeId,
        item: usize,
        source: &str,
        stack: &mut Vec<(Node<'t>, Role, ScopeId)>,
    ) {
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            if child.kind() == "dotted_name" && child.named_child_count() == 1 {
                if let Some(name) = child.named_child(0) {
                    self.emit(name, Role::Def, scope, item, source);
                }
            } else if child.kind() == "class_pattern" {
                let mut inner = child.walk();
                for (i, part) in child.named_children(&mut inner).enumerate() {
                    let role = if i == 0 { Role::Use } else { Role::Def };
                    stack.push((part, role, scope));
                }
            } else {
                stack.push((child, Role::Def, scope));
            }
        }
    }
}

/// Pushes the named children of `node`, except those in the given fields, with one role.
fn push_named_except<'t>(
    node: Node<'t>,
    fields: &[&str],
    role: Role,
    scope: ScopeId,
    stack: &mut Vec<(Node<'t>, Role, ScopeId)>,
) {
    let mut cursor = node.walk();
    let skipped: Vec<usize> = fields
        .iter()
        .filter_map(|f| node.child_by_field_name(f))
        .map(|n| n.id())
        .collect();
    for child in node.named_children(&mut cursor) {
        if !skipped.contains(&child.id()) {
            stack.push((child, role, scope));
        }
    }
}

fn field_in_parent<'t>(node: Node<'t>, parent: Node<'t>) -> Option<&'t str> {
    let mut cursor = parent.walk();
    if !cursor.goto_first_child() {
        return None;
    }
    loop {
        if cursor.node().id() == node.id() {
            return cursor.field_name();
        }
        if !cursor.goto_next_sibling() {
            return None;
        }
    }
}

/// Whether `parent` opens a scope that contains `child` (a function's name and decorators
/// live outside its scope; its parameters and body inside).
fn opens_scope_for(parent: Node, child: Node) -> bool {
    let field = || field_in_parent(child, parent);
    match parent.kind() {
        "function_definition" | "lambda" => matches!(field(), Some("parameters" | "body")),
        "class_definition" => field() == Some("body"),
        "list_comprehension" | "set_comprehension" | "dictionary_comprehension" | "generator_expression" => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::parse_python;
    use crate::partition::{PartitionConfig, partition};

    /// Edges as (from, to, names) for a program.
    fn edges_of(source: &str) -> Vec<(usize, usize, String)> {
        let tree = parse_python(source);
        let mut diagnostics = Vec::new();
        let items = partition(&tree, source, 0, &PartitionConfig::default(), &mut diagnostics);
        let mut index = NameIndex::default();
        for (i, item) in items.iter().enumerate() {
            index.add_item(i, &item.nodes, source);
        }
        index
            .edges()
            .into_iter()
            .map(|e| (e.from, e.to, e.names.join(",")))
            .collect()
    }

    fn e(from: usize, to: usize, names: &str) -> (usize, usize, String) {
        (from, to, names.to_string())
    }

    #[test]
    fn parameters_returns_and_imports() {
        let source = "import os\ndef f(a):\n    b = a + 1\n    return b\nx = f(2)\nprint(x, os)\n";
        assert_eq!(
            edges_of(source),
            [e(0, 5, "os"), e(1, 2, "a"), e(1, 4, "f"), e(2, 3, "b"), e(4, 5, "x")]
        );
    }

    #[test]
    fn global_and_augmented_assignment() {
        let source = "count = 0\ndef inc():\n    global count\n    count += 1\ninc()\n";
        assert_eq!(edges_of(source), [e(0, 3, "count"), e(1, 4, "inc")]);
    }

    #[test]
    fn comprehension_and_lambda_scopes() {
        let source = "k = 2\nxs = [1]\nys = [y * k for y in xs]\ng = lambda y: y + k\n";
        assert_eq!(edges_of(source), [e(0, 2, "k"), e(0, 3, "k"), e(1, 2, "xs")]);
    }

    #[test]
    fn later_definitions_are_seen_from_function_bodies_but_not_class_bodies() {
        let source = "def f():\n    return helper()\nclass C:\n    v = 1\n    def m(self):\n        return v\ndef helper():\n    return 1\n";
        // `helper` is defined after f but f's body runs later; `v` in m is not C's `v`.
        assert_eq!(edges_of(source), [e(6, 1, "helper")]);
    }

    #[test]
    fn for_with_except_and_walrus_targets() {
        let source = "for i in range(3):\n    pass\nwith open(p) as fh:\n    data = fh.read()\ntry:\n    pass\nexcept E as err:\n    log(err)\nif (n := len(data)) > 1:\n    print(n, i)\n";
        let edges = edges_of(source);
        assert!(edges.contains(&e(2, 3, "fh")), "{edges:?}");
        assert!(edges.contains(&e(6, 7, "err")), "{edges:?}");
        assert!(edges.contains(&e(3, 8, "data")), "{edges:?}");
        assert!(edges.contains(&e(8, 9, "n")), "{edges:?}");
        assert!(edges.contains(&e(0, 9, "i")), "{edges:?}");
    }

    #[test]
    fn nonlocal_binds_in_the_enclosing_function() {
        let source = "def outer():\n    total = 0\n    def add():\n        nonlocal total\n        total += 1\n    add()\n    return total\n";
        let edges = edges_of(source);
        assert!(edges.contains(&e(1, 4, "total")), "{edges:?}");
        assert!(edges.contains(&e(4, 6, "total")), "{edges:?}");
    }
}
