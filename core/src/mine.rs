//! Instruction/response pairs mined from permissively licensed Python, the way OSS-Instruct-style
//! datasets are made. A documented function becomes an instruction (its signature and docstring)
//! and a response (a sentence, then the function without its docstring, after the imports and
//! module-level helpers it uses, in a Python fence). A task with a reference solution (a brief and
//! the files it edits) becomes the brief and the files, each in its own fence.

use std::collections::BTreeSet;

use tree_sitter::Node;

use crate::pipeline::lang::{self, kind_of};

/// A mined pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mined {
    pub id: String,
    pub instruction: String,
    pub response: String,
}

/// Code a response may hold at most: a function with more helpers than this is skipped, so
/// that pairs stay about the size of the benchmarks' solutions.
pub const MAX_CODE_BYTES: usize = 4000;

/// The pairs of one module (`module` names it in the ids): each public top-level function whose
/// body starts with a docstring and holds more than it, in source order. Source that does not
/// parse gives no pairs.
pub fn documented_functions(module: &str, source: &str) -> Vec<Mined> {
    let tree = lang::parse_python(source);
    let root = tree.root_node();
    if root.has_error() {
        return Vec::new();
    }
    let top: Vec<Definition> = named_children(root).filter_map(|n| Definition::of(n, source)).collect();
    let imports: Vec<Node> = named_children(root)
        .filter(|n| matches!(kind_of(*n), "import_statement" | "import_from_statement"))
        .collect();
    let mut pairs = Vec::new();
    for (index, function) in top.iter().enumerate() {
        let Some(doc) = function.docstring(source) else {
            continue;
        };
        if function.name.starts_with('_') || kind_of(function.definition) != "function_definition" {
            continue;
        }
        let helpers = helpers(&top, index, source);
        let used: BTreeSet<&str> = std::iter::once(index)
            .chain(helpers.iter().copied())
            .flat_map(|i| identifiers(top[i].node, source))
            .collect();
        let needed_imports: Vec<&str> = imports
            .iter()
            .filter(|i| bound_names(**i, source).iter().any(|n| used.contains(n)))
            .map(|i| &source[i.byte_range()])
            .collect();
        let mut parts: Vec<String> = Vec::new();
        if !needed_imports.is_empty() {
            parts.push(needed_imports.join("\n"));
        }
        parts.extend(helpers.iter().map(|&h| source[top[h].node.byte_range()].to_string()));
        parts.push(without_docstring(function, &doc, source).trim_end().to_string());
        let code = parts.join("\n\n");
        if code.len() > MAX_CODE_BYTES {
            continue;
        }
        let signature = source[function.definition.start_byte()..doc.body_start].trim_end();
        let signature = signature.strip_suffix(':').unwrap_or(signature).trim_end();
        let with = if helpers.is_empty() {
            ""
        } else {
            ", with the helpers it uses"
        };
        pairs.push(Mined {
            id: format!("{module}::{}", function.name),
            instruction: format!("Write a Python function `{signature}`.\n\n{}", doc.text),
            response: format!(
                "Here is `{}`{with}:\n\n```python\n{}\n```\n",
                function.name,
                code.trim_end()
            ),
        });
    }
    pairs
}

/// The pair of a task with a reference solution: its title and brief, then the files to write;
/// the response gives each file in a fence (tagged by its extension). `files`: (path, text).
pub fn task_with_files(id: &str, title: &str, brief: &str, files: &[(String, String)]) -> Mined {
    let names: Vec<String> = files.iter().map(|(path, _)| format!("`{path}`")).collect();
    let instruction = format!("{title}\n\n{}\n\nWrite {}.", brief.trim(), names.join(", "));
    let mut response = String::from("Here are the files.\n");
    for (path, text) in files {
        let tag = match path.rsplit_once('.').map(|(_, ext)| ext) {
            Some("py") => "python",
            Some(ext) => ext,
            None => "",
        };
        response.push_str(&format!("\n`{path}`:\n\n```{tag}\n{}\n```\n", text.trim_end()));
    }
    Mined {
        id: id.to_string(),
        instruction,
        response,
    }
}

/// A top-level statement that defines something: a function or class (decorated or not), or an
/// assignment to one name.
#[derive(Debug)]
struct Definition<'t> {
    /// The whole statement, decorators included.
    node: Node<'t>,
    /// The function or class definition inside it (the assignment itself for one).
    definition: Node<'t>,
    name: String,
}

/// A docstring: its text (dedented), and where the body after the signature begins.
struct Docstring {
    text: String,
    body_start: usize,
    /// The docstring statement's span.
    start: usize,
    end: usize,
}

impl<'t> Definition<'t> {
    fn of(node: Node<'t>, source: &str) -> Option<Self> {
        let definition = match kind_of(node) {
            "decorated_definition" => node.child_by_field_name("definition")?,
            "function_definition" | "class_definition" => node,
            "expression_statement" => {
                let assignment = node.named_child(0).filter(|n| kind_of(*n) == "assignment")?;
                let target = assignment
                    .child_by_field_name("left")
                    .filter(|n| kind_of(*n) == "identifier")?;
                return Some(Definition {
                    node,
                    definition: assignment,
                    name: source[target.byte_range()].to_string(),
                });
            }
            _ => return None,
        };
        let name = definition.child_by_field_name("name")?;
        Some(Definition {
            node,
            definition,
            name: source[name.byte_range()].to_string(),
        })
    }

    /// The docstring of a function or class whose body holds more than it.
    fn docstring(&self, source: &str) -> Option<Docstring> {
        let body = self.definition.child_by_field_name("body")?;
        let first = body.named_child(0).filter(|n| kind_of(*n) == "expression_statement")?;
        let string = first.named_child(0).filter(|n| kind_of(*n) == "string")?;
        if body.named_child_count() < 2 {
            return None;
        }
        let content: String = named_children(string)
            .filter(|n| kind_of(*n) == "string_content")
            .map(|n| &source[n.byte_range()])
            .collect();
        let text = dedent(&content);
        (!text.is_empty()).then_some(Docstring {
            text,
            body_start: body.start_byte(),
            start: first.start_byte(),
            end: first.end_byte(),
        })
    }
}

/// The statement's text without its docstring's lines.
fn without_docstring(function: &Definition, doc: &Docstring, source: &str) -> String {
    let line_start = source[..doc.start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[doc.end..].find('\n').map_or(source.len(), |i| doc.end + i + 1);
    let node = function.node;
    format!(
        "{}{}",
        &source[node.start_byte()..line_start],
        &source[line_end..node.end_byte()]
    )
}

/// Indices of the top-level definitions that definition `index` needs, directly or through
/// each other, in source order (itself excluded).
fn helpers(top: &[Definition], index: usize, source: &str) -> Vec<usize> {
    let mut needed = BTreeSet::new();
    let mut todo = vec![index];
    while let Some(i) = todo.pop() {
        let names = identifiers(top[i].node, source);
        for (j, other) in top.iter().enumerate() {
            if j != index && !needed.contains(&j) && names.contains(other.name.as_str()) {
                needed.insert(j);
                todo.push(j);
            }
        }
    }
    needed.into_iter().collect()
}

/// The identifiers in a subtree.
fn identifiers<'s>(node: Node, source: &'s str) -> BTreeSet<&'s str> {
    let mut names = BTreeSet::new();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if kind_of(n) == "identifier" {
            names.insert(&source[n.byte_range()]);
        }
        stack.extend(named_children(n));
    }
    names
}

/// The names an import statement binds (`import a.b` binds `a`; `as` binds the alias).
fn bound_names<'s>(import: Node, source: &'s str) -> Vec<&'s str> {
    let mut cursor = import.walk();
    import
        .children_by_field_name("name", &mut cursor)
        .filter_map(|name| {
            let bound = match kind_of(name) {
                "aliased_import" => name.child_by_field_name("alias")?,
                _ => name,
            };
            let text = &source[bound.byte_range()];
            text.split('.').next()
        })
        .collect()
}

fn named_children(node: Node) -> impl Iterator<Item = Node> {
    (0..node.named_child_count()).filter_map(move |i| node.named_child(i as u32))
}

/// A docstring's text as `inspect.cleandoc` gives it: the first line stripped, the rest
/// dedented by their common indentation, blank lines at either end removed.
fn dedent(text: &str) -> String {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("").trim();
    let rest: Vec<&str> = lines.collect();
    let indent = rest
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = vec![first.to_string()];
    out.extend(
        rest.iter()
            .map(|l| l.get(indent..).unwrap_or("").trim_end().to_string()),
    );
    out.join("\n").trim_matches('\n').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODULE: &str = r#""""Sorting."""

from __future__ import annotations

import math
from typing import List as L

LIMIT = 10


def _swap(a, i, j):
    a[i], a[j] = a[j], a[i]


def bubble_sort(array: L[int]) -> L[int]:
    """Sort an array in ascending order.

    Args:
        array: The list.
    """
    for n in range(len(array), 1, -1):
        for i in range(1, n):
            if array[i - 1] > array[i]:
                _swap(array, i - 1, i)
    return array


def root(x):
    """The square root."""
    return math.sqrt(x)


def stub():
    """Only a docstring."""


def undocumented():
    return LIMIT
"#;

    #[test]
    fn documented_functions_become_pairs_with_what_they_use() {
        let pairs = documented_functions("sorting.py", MODULE);
        let ids: Vec<&str> = pairs.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["sorting.py::bubble_sort", "sorting.py::root"]);
        let sort = &pairs[0];
        assert_eq!(
            sort.instruction,
            "Write a Python function `def bubble_sort(array: L[int]) -> L[int]`.\n\n\
             Sort an array in ascending order.\n\nArgs:\n    array: The list."
        );
        let expected = "Here is `bubble_sort`, with the helpers it uses:\n\n```python\n\
            from typing import List as L\n\ndef _swap(a, i, j):\n    a[i], a[j] = a[j], a[i]\n\n\
            def bubble_sort(array: L[int]) -> L[int]:\n    for n in range(len(array), 1, -1):\n        \
            for i in range(1, n):\n            if array[i - 1] > array[i]:\n                \
            _swap(array, i - 1, i)\n    return array\n```\n";
        assert_eq!(sort.response, expected);
        assert!(
            pairs[1]
                .response
                .contains("import math\n\ndef root(x):\n    return math.sqrt(x)\n```")
        );
        assert!(documented_functions("broken.py", "def f(:\n    \"\"\"Doc.\"\"\"\n").is_empty());
    }

    #[test]
    fn a_task_gives_its_brief_and_files() {
        let files = [("ucp/fix.py".to_string(), "x = 1\n".to_string())];
        let pair = task_with_files("m-fix", "Fix it", "The brief.\n", &files);
        assert_eq!(pair.instruction, "Fix it\n\nThe brief.\n\nWrite `ucp/fix.py`.");
        assert_eq!(
            pair.response,
            "Here are the files.\n\n`ucp/fix.py`:\n\n```python\nx = 1\n```\n"
        );
    }
}
