//! The engine's dependencies point one way: no module of `src/` reaches, through `crate::`
//! or `super::` paths, a module that reaches back to it — neither among the top-level
//! modules (`error`, `http` … `decide`, `wasm`) nor among the parts of one directory module
//! (`verify/keys` and `verify/remote` once did). Read from the source itself, so a new
//! import that closes a cycle fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Module name → the sibling modules it names.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// The first path segment of every `<prefix>name` and `<prefix>{name, …}` in `code`.
fn named_after(code: &str, prefix: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices(prefix) {
        let rest = &code[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let end = group
                .find(|c| {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => return true,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    false
                })
                .unwrap_or(group.len());
            // Top-level items of the group only.
            let (mut depth, mut start) = (0, 0);
            for (i, c) in group[..end].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(ident(&group[start..i]));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            out.insert(ident(&group[start..end]));
        } else {
            out.insert(ident(rest));
        }
    }
    out.retain(|name| !name.is_empty() && name != "self");
    out
}

/// The code of a file: no comments (doc links are no dependency), no unit tests (they may
/// reach anything).
fn code(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => &text,
    };
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules declared in `dir` (files and directories), by name.
fn modules(dir: &Path) -> Vec<(String, Vec<std::path::PathBuf>)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if matches!(name.as_str(), "lib" | "mod") {
            continue;
        }
        let files = if path.is_dir() {
            let mut files = Vec::new();
            let mut stack = vec![path];
            while let Some(dir) = stack.pop() {
                for e in fs::read_dir(dir).unwrap() {
                    let p = e.unwrap().path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|x| x == "rs") {
                        files.push(p);
                    }
                }
            }
            files
        } else if path.extension().is_some_and(|x| x == "rs") {
            vec![path]
        } else {
            continue;
        };
        out.push((name, files));
    }
    out
}

/// A cycle in `graph`, if there is one.
fn cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        graph: &Graph,
        node: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(graph, next, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(graph, node, &mut Vec::new(), &mut done))
}

/// The graph of the modules in `dir`, each pointing at the others it names after `prefix`.
fn graph(dir: &Path, prefix: &str) -> Graph {
    let parts = modules(dir);
    let names: BTreeSet<String> = parts.iter().map(|(n, _)| n.clone()).collect();
    let mut graph = Graph::new();
    for (name, files) in &parts {
        let deps = graph.entry(name.clone()).or_default();
        for file in files {
            deps.extend(named_after(&code(file), prefix));
        }
        deps.retain(|d| d != name && names.contains(d));
    }
    graph
}

#[test]
fn no_module_reaches_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let top = graph(&src, "crate::");
    for (name, deps) in &top {
        let deps: Vec<_> = deps.iter().cloned().collect();
        println!("{name} -> {}", deps.join(", "));
    }
    assert_eq!(cycle(&top), None, "a cycle among the modules of src/");
    assert!(top["decide"].contains("verify") && top["verify"].contains("error"));
    // Within each directory module: its files name their siblings through `super::`.
    for dir in ["verify", "rules", "session", "wasm"] {
        let parts = graph(&src.join(dir), "super::");
        assert_eq!(cycle(&parts), None, "a cycle among the parts of src/{dir}");
    }
}

#[test]
fn the_reader_sees_a_cycle() {
    let graph: Graph = [("a", "b"), ("b", "c"), ("c", "a")]
        .into_iter()
        .map(|(n, d)| (n.to_owned(), BTreeSet::from([d.to_owned()])))
        .collect();
    assert_eq!(cycle(&graph).map(|c| c.len()), Some(4));
    assert_eq!(
        named_after(
            "use crate::{a::B, c, d::{e, f}};\nlet x = crate::g::h;",
            "crate::"
        ),
        ["a", "c", "d", "g"].map(String::from).into()
    );
}
