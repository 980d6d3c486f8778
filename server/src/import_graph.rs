//! Keeps the module structure honest: across the folders of `server/src`
//! (a folder being a top-level module such as `alerts/` or `store/`, or a
//! top-level file such as `state.rs`), imports form no circle. A feature may
//! use `http/extract.rs` while `http/mod.rs` routes to the feature, but
//! nothing may lead back around. The graph is read from the source: every
//! `crate::…` and `super::…` path (resolved to the deepest file it names)
//! and every `mod x;` declaration is an edge from one file to another.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

fn sources(root: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable source folder") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let name = path
                    .strip_prefix(root)
                    .expect("under the root")
                    .to_string_lossy()
                    .replace('\\', "/");
                let text = std::fs::read_to_string(&path).expect("readable source");
                // Test modules may reach anywhere.
                let code = text.split("#[cfg(test)]").next().unwrap_or_default();
                files.insert(name, code.to_owned());
            }
        }
    }
    files
}

/// The module path of a file: `alerts/steps.rs` → `[alerts, steps]`.
fn module_of(file: &str) -> Vec<String> {
    let mut parts: Vec<String> = file
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_owned)
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The deepest file that `path` (a module path) names, if any.
fn resolve(files: &BTreeMap<String, String>, path: &[String]) -> Option<String> {
    let mut found = None;
    for n in 1..=path.len() {
        let base = path[..n].join("/");
        for candidate in [format!("{base}.rs"), format!("{base}/mod.rs")] {
            if files.contains_key(&candidate) {
                found = Some(candidate);
            }
        }
    }
    found
}

/// The module segments after each occurrence of `prefix` (`crate::`, `super::`).
fn paths_after<'a>(code: &'a str, prefix: &'a str) -> impl Iterator<Item = Vec<String>> + 'a {
    code.match_indices(prefix).filter_map(move |(at, _)| {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            return None;
        }
        let rest = &code[at + prefix.len()..];
        let mut segments = Vec::new();
        for segment in rest.split("::") {
            let ident: String = segment
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if ident.is_empty() {
                break;
            }
            let whole = ident.len() == segment.len();
            segments.push(ident);
            if !whole {
                break;
            }
        }
        (!segments.is_empty()).then_some(segments)
    })
}

fn graph(files: &BTreeMap<String, String>) -> Graph {
    let mut graph = Graph::new();
    for (file, code) in files {
        let here = module_of(file);
        let mut targets = BTreeSet::new();
        for path in paths_after(code, "crate::") {
            targets.extend(resolve(files, &path));
        }
        let parent = &here[..here.len().saturating_sub(1)];
        for path in paths_after(code, "super::") {
            let full: Vec<String> = parent.iter().cloned().chain(path).collect();
            targets.extend(resolve(files, &full));
        }
        for line in code.lines() {
            let line = line.trim_start();
            let declared = line
                .strip_prefix("pub mod ")
                .or_else(|| line.strip_prefix("pub(crate) mod "))
                .or_else(|| line.strip_prefix("mod "))
                .and_then(|rest| rest.strip_suffix(';'));
            if let Some(name) = declared {
                let child: Vec<String> = here.iter().cloned().chain([name.to_owned()]).collect();
                targets.extend(resolve(files, &child));
            }
        }
        targets.remove(file);
        graph.insert(file.clone(), targets);
    }
    graph
}

fn folder(file: &str) -> &str {
    file.split('/')
        .next()
        .unwrap_or(file)
        .trim_end_matches(".rs")
}

/// Strongly connected components with files of more than one folder
/// (Tarjan's algorithm; `lib.rs`, which declares every folder, is left out).
fn circles_across_folders(graph: &Graph) -> Vec<Vec<String>> {
    struct Walk<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, v: &'g str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if w == "lib.rs" {
                    continue;
                }
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                let folders: BTreeSet<&str> = component.iter().map(|f| folder(f)).collect();
                if folders.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys().filter(|v| v.as_str() != "lib.rs") {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn no_import_circle_crosses_folders() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let circles = circles_across_folders(&graph(&sources(&root)));
    assert!(
        circles.is_empty(),
        "imports go around in a circle across folders: {circles:#?}"
    );
}

#[test]
fn a_circle_through_a_feature_and_a_transport_is_found() {
    let files: BTreeMap<String, String> = [
        ("ws/mod.rs", "mod requests;\n"),
        ("ws/requests.rs", "use crate::alerts::socket;\n"),
        ("alerts/mod.rs", "pub mod socket;\n"),
        ("alerts/socket.rs", "use crate::ws::check_rate;\n"),
        (
            "http/mod.rs",
            "pub mod extract;\nuse crate::alerts::socket;\n",
        ),
        ("http/extract.rs", "use crate::state::AppState;\n"),
        ("state.rs", ""),
    ]
    .into_iter()
    .map(|(f, c)| (f.to_owned(), c.to_owned()))
    .collect();
    let circles = circles_across_folders(&graph(&files));
    assert_eq!(circles.len(), 1, "{circles:?}");
    assert!(circles[0].contains(&"alerts/socket.rs".to_owned()));
    assert!(!circles[0].contains(&"http/extract.rs".to_owned()));
}
