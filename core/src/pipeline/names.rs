//! Names: which items define and use which names, and the def-use edges between items.
//!
//! Python scoping, simplified where the difference rarely matters for selection: functions,
//! lambdas, classes and comprehensions open scopes; `global` and `nonlocal` redirect bindings;
//! a walrus in a comprehension binds in the enclosing scope; names in a class body are not seen
//! from functions nested in it. A use links to the latest earlier definition in the innermost
//! scope that has one; from an enclosing scope, a later definition counts too, because a function
//! body runs after the code that follows it.
//!
//! Every other language says its names in `queries/<lang>/locals.scm` (as tree-sitter's own
//! highlighters do): `@scope` nodes open a scope, `@definition` binds a name in the innermost
//! scope around it (`@definition.outer`: in the scope around that one, for a function's own
//! name), `@update` writes an existing name (and reads it), `@reference` reads one. Uses resolve
//! by the same rule as Python's. Each language has a namespace of its own: names do not flow
//! between languages, and do flow between fences of one language in a response.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use std::num::NonZeroU16;

use tree_sitter::{Node, TreeCursor};

use crate::pipeline::captures::Locals;
use crate::pipeline::lang::{self, Language, kind_of};
use crate::pipeline::partition::{ItemNode, PartItem};
use crate::span::Span;

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
    /// Both, in the scope where the name resolves (an assignment in a `locals.scm` language:
    /// `x = 1` in JavaScript, Go, Java or Rust writes the `x` declared around it).
    Update,
}

/// A node being walked, with what its children inherit.
#[derive(Debug, Clone, Copy)]
struct Frame<'t> {
    node: Node<'t>,
    kind: &'static str,
    role: Role,
    scope: ScopeId,
    /// Named children seen so far.
    named: usize,
}

#[derive(Debug)]
struct Event {
    name: String,
    role: Role,
    scope: ScopeId,
    item: usize,
    /// Where the name stands, in response offsets.
    span: Span,
}

/// Field ids of the grammar, looked up once: by name, every lookup compares strings in C.
#[derive(Debug)]
struct Fields {
    left: NonZeroU16,
    name: NonZeroU16,
    value: NonZeroU16,
    alias: NonZeroU16,
    parameters: NonZeroU16,
    body: NonZeroU16,
    r#type: NonZeroU16,
    object: NonZeroU16,
}

fn fields() -> &'static Fields {
    static FIELDS: OnceLock<Fields> = OnceLock::new();
    FIELDS.get_or_init(|| Fields {
        left: lang::field_id("left"),
        name: lang::field_id("name"),
        value: lang::field_id("value"),
        alias: lang::field_id("alias"),
        parameters: lang::field_id("parameters"),
        body: lang::field_id("body"),
        r#type: lang::field_id("type"),
        object: lang::field_id("object"),
    })
}

/// Collects names from items (in order) across all code segments of one response, which share
/// one module namespace, then resolves uses to definitions.
#[derive(Debug)]
pub struct NameIndex {
    /// Scopes by id; 0 is the module.
    scopes: Vec<Scope>,
    events: Vec<Event>,
    /// Per tree (node ids are only unique within one): the scope each scope node opens, and the
    /// scope each visited node lies in.
    opened: HashMap<usize, ScopeId>,
    scope_at: HashMap<usize, ScopeId>,
    /// Per tree: each child's field and named index by child node id, for the parents listed
    /// so far. Tree-sitter finds them only by walking the siblings, which once per item would
    /// be quadratic in a block of many statements.
    places: HashMap<usize, Place>,
    listed_parents: HashSet<usize>,
    /// Where the segment being added starts in the response.
    offset: usize,
    /// The module scope of each language but Python's (which is [`MODULE`]).
    roots: HashMap<Language, ScopeId>,
}

const MODULE: ScopeId = 0;

impl Scope {
    fn new(kind: ScopeKind, parent: Option<ScopeId>) -> Scope {
        Scope {
            kind,
            parent,
            globals: HashSet::new(),
            nonlocals: HashSet::new(),
        }
    }
}

/// What a `locals.scm` capture says of a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Occurrence {
    Definition,
    Outer,
    Update,
    Member,
    Reference,
}

impl Default for NameIndex {
    fn default() -> Self {
        NameIndex {
            scopes: vec![Scope::new(ScopeKind::Module, None)],
            events: Vec::new(),
            opened: HashMap::new(),
            scope_at: HashMap::new(),
            places: HashMap::new(),
            listed_parents: HashSet::new(),
            offset: 0,
            roots: HashMap::new(),
        }
    }
}

impl NameIndex {
    /// Records the names of the items of one parsed segment, which starts at `offset` in the
    /// response; `first` is the index of its first item among the response's items.
    pub fn add_segment(&mut self, first: usize, items: &[PartItem], source: &str, offset: usize) {
        self.opened.clear();
        self.scope_at.clear();
        self.places.clear();
        self.listed_parents.clear();
        self.offset = offset;
        for (offset, item) in items.iter().enumerate() {
            self.add_item(first + offset, &item.nodes, source);
        }
    }

    /// Records the names of the items of one parsed segment in a language with `locals.scm`, as
    /// [`add_segment`](Self::add_segment) does for Python.
    pub fn add_segment_by_locals(
        &mut self,
        language: Language,
        first: usize,
        items: &[PartItem],
        locals: &Locals,
        source: &str,
        offset: usize,
    ) {
        self.offset = offset;
        let root = *self.roots.entry(language).or_insert_with(|| {
            self.scopes.push(Scope::new(ScopeKind::Module, None));
            self.scopes.len() - 1
        });
        // Scopes outermost first; each name finds the innermost one around it on a stack.
        let mut scopes: Vec<Node> = locals.scopes.clone();
        scopes.sort_by_key(|n| (n.start_byte(), std::cmp::Reverse(n.end_byte())));
        scopes.dedup_by_key(|n| n.id());
        let mut names: Vec<(Node, Occurrence)> = [
            (&locals.definitions, Occurrence::Definition),
            (&locals.outer_definitions, Occurrence::Outer),
            (&locals.updates, Occurrence::Update),
            (&locals.members, Occurrence::Member),
            (&locals.references, Occurrence::Reference),
        ]
        .into_iter()
        .flat_map(|(nodes, occurrence)| nodes.iter().map(move |&n| (n, occurrence)))
        .collect();
        // Of the patterns that capture one node, the first kind listed in `Occurrence` wins.
        names.sort_by_key(|(n, occurrence)| (n.start_byte(), n.id(), *occurrence));
        names.dedup_by_key(|(n, _)| n.id());
        let mut open: Vec<(usize, ScopeId)> = Vec::new();
        let mut next_scope = scopes.iter().peekable();
        for (node, occurrence) in names {
            while let Some(scope) = next_scope.next_if(|s| s.start_byte() <= node.start_byte()) {
                open.retain(|&(end, _)| end > scope.start_byte());
                let parent = open.last().map_or(root, |&(_, id)| id);
                self.scopes.push(Scope::new(ScopeKind::Function, Some(parent)));
                open.push((scope.end_byte(), self.scopes.len() - 1));
            }
            open.retain(|&(end, _)| end > node.start_byte());
            let inner = open.last().map_or(root, |&(_, id)| id);
            let (role, scope) = match occurrence {
                Occurrence::Definition => (Role::Def, inner),
                Occurrence::Outer => (Role::Def, self.scopes[inner].parent.unwrap_or(root)),
                Occurrence::Update => (Role::Update, inner),
                Occurrence::Reference => (Role::Use, inner),
                Occurrence::Member => continue,
            };
            let at = items.partition_point(|item| item.span.end <= node.start_byte());
            if items.get(at).is_some_and(|item| item.span.start <= node.start_byte()) {
                self.emit(node, role, scope, first + at, source);
            }
        }
    }

    /// Records the names that item number `item`, made of `nodes`, defines and uses.
    fn add_item(&mut self, item: usize, nodes: &[ItemNode], source: &str) {
        let Some(first) = nodes.first() else { return };
        // One cursor for the whole item: creating one allocates.
        let mut cursor = first.node.walk();
        for placed in nodes {
            let (role, scope) = self.initial(placed.node, placed.parent);
            self.walk(placed.node, role, scope, item, source, &mut cursor);
        }
    }

    /// Where each name is first bound in its scope (an assignment target, a parameter, a
    /// function or class name, a loop variable): the occurrences that introduce a new name,
    /// sorted. Augmented assignments read first, so they introduce nothing.
    pub fn new_names(&self) -> Vec<Span> {
        let mut seen: HashSet<(ScopeId, &str)> = HashSet::new();
        let mut spans: Vec<Span> = self
            .events
            .iter()
            .filter(|e| e.role == Role::Def && seen.insert((self.binding_scope(&e.name, e.scope), &e.name)))
            .map(|e| e.span)
            .collect();
        spans.sort();
        spans
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
        let updates: Vec<((ScopeId, &str), usize)> = self
            .events
            .iter()
            .filter(|e| e.role == Role::Update)
            .map(|e| ((self.declared_in(&defs, &e.name, e.scope), e.name.as_str()), e.item))
            .collect();
        if !updates.is_empty() {
            for (key, item) in updates {
                defs.entry(key).or_default().push(item);
            }
            // `resolve` reads each name's definitions in item order.
            defs.values_mut().for_each(|items| items.sort_unstable());
        }
        let mut edges: BTreeMap<(usize, usize), BTreeSet<&str>> = BTreeMap::new();
        for event in &self.events {
            if !matches!(event.role, Role::Use | Role::UseDef | Role::Update) {
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
            current = self.scopes[s].parent;
            // Class bodies are not enclosing scopes for the functions inside them.
            while let Some(p) = current
                && self.scopes[p].kind == ScopeKind::Class
            {
                current = self.scopes[p].parent;
            }
        }
        None
    }

    /// The innermost scope from `scope` outwards that declares `name` (`scope` if none does).
    fn declared_in(&self, defs: &HashMap<(ScopeId, &str), Vec<usize>>, name: &str, scope: ScopeId) -> ScopeId {
        let mut current = Some(scope);
        while let Some(s) = current {
            if defs.contains_key(&(s, name)) {
                return s;
            }
            current = self.scopes[s].parent;
        }
        scope
    }

    /// The scope a name binds in when assigned in `scope`.
    fn binding_scope(&self, name: &str, scope: ScopeId) -> ScopeId {
        let info = &self.scopes[scope];
        if info.globals.contains(name) {
            return MODULE;
        }
        if info.nonlocals.contains(name) {
            let mut current = info.parent;
            while let Some(p) = current {
                if self.scopes[p].kind == ScopeKind::Function {
                    return p;
                }
                current = self.scopes[p].parent;
            }
        }
        scope
    }

    /// The role and scope of an item's top node, from its place in the parent (whose role is
    /// not known: the item's walk starts here, so it counts as a use).
    fn initial(&mut self, node: Node, parent: Node) -> (Role, ScopeId) {
        let outer = self.scope_of(parent);
        let (field, index) = self.place_in(parent, node);
        match child_rule(parent, kind_of(parent), field, index, Role::Use) {
            Some((role, rule)) => (role, self.apply(rule, parent, outer)),
            None => (Role::Use, outer),
        }
    }

    /// The innermost scope whose inside holds `node`, registering scopes on the way; memoized,
    /// since `parent()` walks down from the root and items share their ancestors.
    fn scope_of(&mut self, node: Node) -> ScopeId {
        let mut path = Vec::new();
        let mut child = node;
        let mut scope = loop {
            if let Some(&scope) = self.scope_at.get(&child.id()) {
                break scope;
            }
            match child.parent() {
                Some(parent) => {
                    path.push((child, parent));
                    child = parent;
                }
                None => break MODULE,
            }
        };
        for &(child, parent) in path.iter().rev() {
            let (field, index) = self.place_in(parent, child);
            if let Some((_, ScopeRule::Opened)) = child_rule(parent, kind_of(parent), field, index, Role::Use) {
                scope = self.register(parent, scope);
            }
            self.scope_at.insert(child.id(), scope);
        }
        scope
    }

    /// The field of `child` in `parent` and its index among the named children, as the walk's
    /// cursor would see them (for nodes reached from above, not by the walk).
    fn place_in(&mut self, parent: Node, child: Node) -> Place {
        if self.listed_parents.insert(parent.id()) {
            let mut cursor = parent.walk();
            let mut named = 0;
            if cursor.goto_first_child() {
                loop {
                    let node = cursor.node();
                    self.places.insert(node.id(), (cursor.field_id(), named));
                    named += usize::from(node.is_named());
                    if !cursor.goto_next_sibling() {
                        break;
                    }
                }
            }
        }
        let unplaced = (None, parent.named_child_count());
        self.places.get(&child.id()).copied().unwrap_or(unplaced)
    }

    /// The scope that `scope_node` opens inside `parent`.
    fn register(&mut self, scope_node: Node, parent: ScopeId) -> ScopeId {
        if let Some(&id) = self.opened.get(&scope_node.id()) {
            return id;
        }
        let kind = match kind_of(scope_node) {
            "function_definition" | "lambda" => ScopeKind::Function,
            "class_definition" => ScopeKind::Class,
            _ => ScopeKind::Comprehension,
        };
        self.scopes.push(Scope::new(kind, Some(parent)));
        let id = self.scopes.len() - 1;
        self.opened.insert(scope_node.id(), id);
        id
    }

    fn emit(&mut self, node: Node, role: Role, scope: ScopeId, item: usize, source: &str) {
        let name = source[node.start_byte()..node.end_byte()].to_string();
        let span = Span::new(node.start_byte(), node.end_byte()).shift(self.offset);
        self.events.push(Event {
            name,
            role,
            scope,
            item,
            span,
        });
    }

    /// Walks the subtree of `root` depth-first with one cursor, giving each node its role and
    /// scope from its parent's (the cursor knows each child's field for free).
    fn walk<'t>(
        &mut self,
        root: Node<'t>,
        role: Role,
        scope: ScopeId,
        item: usize,
        source: &str,
        cursor: &mut TreeCursor<'t>,
    ) {
        if !self.enter(root, kind_of(root), role, scope, item, source) {
            return;
        }
        cursor.reset(root);
        if !cursor.goto_first_child() {
            return;
        }
        let mut frames = vec![Frame {
            node: root,
            kind: kind_of(root),
            role,
            scope,
            named: 0,
        }];
        loop {
            let node = cursor.node();
            if node.is_named() {
                let parent = frames.last_mut().expect("a frame for every ancestor below the root");
                let index = parent.named;
                parent.named += 1;
                let parent = *parent;
                let kind = kind_of(node);
                if let Some((role, scope)) = self.child_context(&parent, cursor.field_id(), index)
                    && self.enter(node, kind, role, scope, item, source)
                    && cursor.goto_first_child()
                {
                    frames.push(Frame {
                        node,
                        kind,
                        role,
                        scope,
                        named: 0,
                    });
                    continue;
                }
            }
            while !cursor.goto_next_sibling() {
                if frames.len() == 1 {
                    return;
                }
                cursor.goto_parent();
                frames.pop();
            }
        }
    }

    /// Handles a node itself; returns whether its children are to be walked.
    fn enter(&mut self, node: Node, kind: &str, role: Role, scope: ScopeId, item: usize, source: &str) -> bool {
        match kind {
            "identifier" => self.emit(node, role, scope, item, source),
            "import_statement" | "import_from_statement" | "future_import_statement" => {
                let mut cursor = node.walk();
                for name in node.children_by_field_id(fields().name, &mut cursor) {
                    self.import_name(name, scope, item, source);
                }
            }
            kind @ ("global_statement" | "nonlocal_statement") => {
                let mut cursor = node.walk();
                let names = node
                    .named_children(&mut cursor)
                    .map(|n| source[n.start_byte()..n.end_byte()].to_string());
                let info = &mut self.scopes[scope];
                let set = if kind == "global_statement" {
                    &mut info.globals
                } else {
                    &mut info.nonlocals
                };
                set.extend(names);
            }
            _ => return true,
        }
        false
    }

    /// The role and scope of the `index`-th named child of `parent`, in `field`; `None` skips it.
    fn child_context(&mut self, parent: &Frame, field: Option<NonZeroU16>, index: usize) -> Option<(Role, ScopeId)> {
        let (role, rule) = child_rule(parent.node, parent.kind, field, index, parent.role)?;
        Some((role, self.apply(rule, parent.node, parent.scope)))
    }

    /// The scope a child lies in, by `rule`, when its parent `node` lies in `scope`.
    fn apply(&mut self, rule: ScopeRule, node: Node, scope: ScopeId) -> ScopeId {
        match rule {
            ScopeRule::Inherited => scope,
            ScopeRule::Opened => self.register(node, scope),
            ScopeRule::OutsideComprehensions => self.outside_comprehensions(scope),
        }
    }

    /// The nearest scope that is not a comprehension.
    fn outside_comprehensions(&self, mut scope: ScopeId) -> ScopeId {
        while self.scopes[scope].kind == ScopeKind::Comprehension {
            scope = self.scopes[scope].parent.unwrap_or(scope);
        }
        scope
    }

    fn import_name(&mut self, name: Node, scope: ScopeId, item: usize, source: &str) {
        let bound = match name.kind() {
            "aliased_import" => name.child_by_field_id(fields().alias.get()),
            // `import a.b` binds `a`; `from m import b` binds `b`.
            "dotted_name" => name.named_child(0),
            _ => None,
        };
        if let Some(bound) = bound {
            self.emit(bound, Role::Def, scope, item, source);
        }
    }
}

/// Where a child's scope comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScopeRule {
    /// Its parent's.
    Inherited,
    /// The scope its parent opens (a function's parameters and body, a class body, all of a
    /// comprehension); a function's name and decorators stay outside.
    Opened,
    /// The nearest enclosing scope that is not a comprehension (a walrus target).
    OutsideComprehensions,
}

/// The one rule of the names walk: the role of the `index`-th named child of `parent` (of kind
/// `kind`), found in `field`, and where its scope comes from; `inherited` is the parent's role.
/// `None`: the child names nothing (an attribute after the dot, a keyword argument's name).
fn child_rule(
    parent: Node,
    kind: &str,
    field: Option<NonZeroU16>,
    index: usize,
    inherited: Role,
) -> Option<(Role, ScopeRule)> {
    use ScopeRule::{Inherited, Opened, OutsideComprehensions};
    let f = fields();
    let is = |id: NonZeroU16| field == Some(id);
    let rule = match kind {
        // `a.b`: only `a` is a name; `a.b = 1` reads `a`.
        "attribute" => return is(f.object).then_some((Role::Use, Inherited)),
        "keyword_argument" => return is(f.value).then_some((Role::Use, Inherited)),
        "assignment" if is(f.left) => (Role::Def, Inherited),
        "augmented_assignment" if is(f.left) => (Role::UseDef, Inherited),
        // A walrus in a comprehension binds in the enclosing scope.
        "named_expression" if is(f.name) => (Role::Def, OutsideComprehensions),
        "for_statement" | "for_in_clause" | "as_pattern" | "except_clause" if is(f.left) || is(f.alias) => {
            (Role::Def, Inherited)
        }
        "function_definition" | "class_definition" | "lambda" => {
            if is(f.name) {
                (Role::Def, Inherited)
            } else if is(f.parameters) {
                (Role::Def, Opened)
            } else if is(f.body) {
                (Role::Use, Opened)
            } else {
                (Role::Use, Inherited)
            }
        }
        "list_comprehension" | "set_comprehension" | "dictionary_comprehension" | "generator_expression" => {
            (Role::Use, Opened)
        }
        "default_parameter" | "typed_default_parameter" if is(f.name) => (Role::Def, Inherited),
        "typed_parameter" if !is(f.r#type) => (inherited, Inherited),
        // In a `case` pattern names capture (bind); a class name and `Color.RED` are values,
        // and in `key=pattern` the key is an attribute name.
        "case_pattern" => (Role::Def, Inherited),
        "class_pattern" if index > 0 => (inherited, Inherited),
        "keyword_pattern" => return (index > 0).then_some((inherited, Inherited)),
        "dotted_name" if parent.named_child_count() == 1 => (inherited, Inherited),
        // Anything else passes its role down: `(a, b) = ...` makes both names definitions.
        "pattern_list"
        | "tuple_pattern"
        | "list_pattern"
        | "list_splat_pattern"
        | "dictionary_splat_pattern"
        | "parenthesized_expression"
        | "tuple"
        | "list"
        | "expression_list"
        | "list_splat"
        | "parameters"
        | "lambda_parameters"
        | "as_pattern_target"
        | "case_pattern_list"
        | "splat_pattern"
        | "union_pattern" => (inherited, Inherited),
        _ => (Role::Use, Inherited),
    };
    Some(rule)
}

/// A child's field in its parent and its index among the parent's named children.
type Place = (Option<NonZeroU16>, usize);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::lang::parse_python;
    use crate::pipeline::partition::{PartitionConfig, partition};

    /// Edges as (from, to, names) for a program.
    fn edges_of(source: &str) -> Vec<(usize, usize, String)> {
        let tree = parse_python(source);
        let mut diagnostics = Vec::new();
        let captures = crate::pipeline::captures::capture(&tree, Language::Python);
        let items = partition(
            &tree,
            &captures,
            Language::Python,
            0,
            &PartitionConfig::default(),
            &mut diagnostics,
        );
        let mut index = NameIndex::default();
        index.add_segment(0, &items, source, 0);
        index
            .edges()
            .into_iter()
            .map(|e| (e.from, e.to, e.names.join(",")))
            .collect()
    }

    fn e(from: usize, to: usize, names: &str) -> (usize, usize, String) {
        (from, to, names.to_string())
    }

    /// Thousands of siblings (a fuzzed 1 MB response of tiny statements took minutes while
    /// each item's place among its siblings was found by walking them).
    #[test]
    fn a_long_program_links_every_use() {
        let n = 3000;
        let source: String = (0..n)
            .map(|i| match i {
                0 => "def f0():\n    return 0\n".to_string(),
                _ => format!("def f{i}():\n    return f{}()\n", i - 1),
            })
            .collect();
        // Items alternate header, body: the body of f_i uses f_(i-1), defined by header 2(i-1).
        let expected: Vec<_> = (1..n)
            .map(|i| e(2 * (i - 1), 2 * i + 1, &format!("f{}", i - 1)))
            .collect();
        assert_eq!(edges_of(&source), expected);
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
