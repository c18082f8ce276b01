//! The engine's dependencies point one way: down the ordered list in the README's "How it
//! is built". A module of `src/` may use only the modules listed below it, and the parts of
//! one directory module (its `mod.rs` included) never reach back to each other. Read from
//! the source itself — `crate::` and `super::` paths, the root's re-exports resolved to the
//! module that defines them — so a new import that climbs the list, or closes a cycle,
//! fails here; and so does a module the README does not place.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Module (or part) name → the names it uses.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// The first path segment of every `<prefix>name` and `<prefix>{name, …}` in `code` (the
/// prefix must not continue a longer path: `super::super::x` is not `super::super`).
fn named_after(code: &str, prefix: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices(prefix) {
        if code[..at].ends_with("::") {
            continue;
        }
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

/// The `.rs` files of `dir`, by module name (`mod.rs` is `mod`).
fn parts(dir: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "rs") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            out.insert(name, path);
        }
    }
    out
}

/// The top-level modules of `src`: name → its files, and for each whether `super::` in it
/// means the crate root (a file directly in `src/`, or a directory's `mod.rs`).
fn modules(src: &Path) -> BTreeMap<String, Vec<(PathBuf, bool)>> {
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let files = if path.is_dir() {
            let mut files = Vec::new();
            let mut stack = vec![path];
            while let Some(dir) = stack.pop() {
                for e in fs::read_dir(&dir).unwrap() {
                    let p = e.unwrap().path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|x| x == "rs") {
                        let root = p.file_name().unwrap() == "mod.rs" && dir.parent() == Some(src);
                        files.push((p, root));
                    }
                }
            }
            files
        } else if path.extension().is_some_and(|x| x == "rs") && name != "lib" {
            vec![(path, true)]
        } else {
            continue;
        };
        out.insert(name, files);
    }
    out
}

/// The items lib.rs re-exports at the root, each to the module that defines it
/// (`pub use verify::{Alg, …}` → `Alg` → `verify`).
fn root_exports(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (at, _) in lib.match_indices("pub use ") {
        let rest = &lib[at + "pub use ".len()..];
        let statement = &rest[..rest.find(';').unwrap()];
        let Some((module, items)) = statement.split_once("::") else {
            continue;
        };
        let items = items.trim().trim_start_matches('{').trim_end_matches('}');
        for item in items.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            out.insert(item.to_owned(), module.trim().to_owned());
        }
    }
    out
}

/// Who uses whom among the top-level modules: `crate::x` and, where `super::` is the root,
/// `super::x`; a root re-export counts as its defining module.
fn top_graph(src: &Path) -> Graph {
    let exports = root_exports(&fs::read_to_string(src.join("lib.rs")).unwrap());
    let modules = modules(src);
    let mut graph = Graph::new();
    for (name, files) in &modules {
        let deps = graph.entry(name.clone()).or_default();
        for (file, super_is_root) in files {
            let code = code(file);
            let mut used = named_after(&code, "crate::");
            if *super_is_root {
                used.extend(named_after(&code, "super::"));
            }
            used.extend(named_after(&code, "super::super::"));
            for item in used {
                let module = exports.get(&item).cloned().unwrap_or(item);
                if module != *name && modules.contains_key(&module) {
                    deps.insert(module);
                }
            }
        }
    }
    graph
}

/// Who uses whom among the parts of one directory module, `mod.rs` as `mod`: a child names
/// a sibling, or an item `mod.rs` defines (`mod`) or re-exports from a child (that child),
/// through `super::`; `mod.rs` names its children by their path.
fn part_graph(dir: &Path) -> Graph {
    let parts = parts(dir);
    let mod_code = parts.get("mod").map(|p| code(p)).unwrap_or_default();
    // `pub use child::{A, B}` in mod.rs: A and B are the child's.
    let mut exports = BTreeMap::new();
    for line in mod_code.lines() {
        let line = line.trim();
        let Some(rest) = line
            .strip_prefix("pub use ")
            .or_else(|| line.strip_prefix("pub(crate) use "))
        else {
            continue;
        };
        if let Some((child, items)) = rest.trim_end_matches(';').split_once("::") {
            let items = items.trim().trim_start_matches('{').trim_end_matches('}');
            for item in items.split(',').map(str::trim) {
                exports.insert(item.to_owned(), child.to_owned());
            }
        }
    }
    let mut graph = Graph::new();
    for (name, path) in &parts {
        let deps = graph.entry(name.clone()).or_default();
        if name == "mod" {
            // Declarations and re-exports are the directory's shape, not a use.
            for line in mod_code.lines() {
                let line = line.trim();
                if line.contains("mod ")
                    || line.starts_with("pub use")
                    || line.starts_with("pub(crate) use")
                {
                    continue;
                }
                for child in parts.keys().filter(|c| *c != "mod") {
                    // `child::x`, not `crate::child::x` (another module of that name).
                    let named = line.match_indices(&format!("{child}::")).any(|(at, _)| {
                        !line[..at]
                            .ends_with(|c: char| c == ':' || c == '_' || c.is_ascii_alphanumeric())
                    });
                    if named {
                        deps.insert(child.clone());
                    }
                }
            }
            continue;
        }
        for item in named_after(&code(path), "super::") {
            if item == "super" {
                continue; // `super::super::`: outside the directory
            }
            let part = match exports.get(&item) {
                Some(child) => child.clone(),
                None if parts.contains_key(&item) => item,
                None => "mod".to_owned(),
            };
            if part != *name {
                deps.insert(part);
            }
        }
    }
    graph
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

/// The layer list: the first code block under "## How it is built" in the README, top
/// first, one module per unindented line (`gate/`, `answer.rs`).
fn layers(readme: &str) -> Vec<String> {
    let section = &readme[readme.find("## How it is built").expect("the section")..];
    let block = section.split("```").nth(1).expect("its code block");
    block
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .map(|m| m.trim_end_matches('/').trim_end_matches(".rs").to_owned())
        .filter(|m| !m.is_empty())
        .collect()
}

/// Every edge of `graph` that climbs `order` (top first): (user, used).
fn upward(graph: &Graph, order: &[String]) -> Vec<(String, String)> {
    let rank = |m: &str| order.iter().position(|o| o == m);
    let mut out = Vec::new();
    for (user, deps) in graph {
        for used in deps {
            if let (Some(u), Some(d)) = (rank(user), rank(used)) {
                if d <= u {
                    out.push((user.clone(), used.clone()));
                }
            }
        }
    }
    out
}

#[test]
fn every_module_uses_only_those_below_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let order = layers(&fs::read_to_string(root.join("README.md")).unwrap());
    let top = top_graph(&src);
    for (name, deps) in &top {
        let deps: Vec<_> = deps.iter().cloned().collect();
        println!("{name} -> {}", deps.join(", "));
    }
    let listed: BTreeSet<_> = order.iter().cloned().collect();
    let present: BTreeSet<_> = top.keys().cloned().collect();
    assert_eq!(
        listed, present,
        "the README's list and src/ name other modules"
    );
    assert_eq!(order.len(), listed.len(), "a module listed twice");
    assert_eq!(
        upward(&top, &order),
        [],
        "(user, used) climbing the README's list"
    );
    assert_eq!(cycle(&top), None);
    // The list is read, not assumed: the pipeline is above what it calls.
    assert!(top["gate"].contains("verify") && top["wasm"].contains("gate"));
}

#[test]
fn no_part_of_a_directory_reaches_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut dirs = 0;
    for entry in fs::read_dir(&src).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let parts = part_graph(&dir);
        println!("{}: {parts:?}", dir.display());
        assert_eq!(
            cycle(&parts),
            None,
            "a cycle among the parts of {}",
            dir.display()
        );
        dirs += 1;
    }
    assert!(dirs >= 7, "{dirs} directory modules");
}

#[test]
fn the_reader_sees_what_it_must() {
    let graph: Graph = [("a", "b"), ("b", "c"), ("c", "a")]
        .into_iter()
        .map(|(n, d)| (n.to_owned(), BTreeSet::from([d.to_owned()])))
        .collect();
    assert_eq!(cycle(&graph).map(|c| c.len()), Some(4));
    let order = ["a", "b", "c"].map(String::from);
    assert_eq!(upward(&graph, &order), [("c".to_owned(), "a".to_owned())]);
    assert_eq!(
        named_after(
            "use crate::{a::B, c, d::{e, f}};\nlet x = crate::g::h; super::super::i",
            "crate::"
        ),
        ["a", "c", "d", "g"].map(String::from).into()
    );
    assert_eq!(
        named_after("super::x; super::super::y", "super::"),
        ["super", "x"].map(String::from).into()
    );
    let exports = root_exports("pub use a::B;\npub use c::{D, E};\npub use f::{\n    G,\n};");
    assert_eq!(exports["B"], "a");
    assert_eq!((&*exports["E"], &*exports["G"]), ("c", "f"));
    let readme = "## How it is built\n\n```\ngate/   x\n        more\nanswer.rs  y\n```\n";
    assert_eq!(layers(readme), ["gate", "answer"]);
}
