//! The request path's shape, checked on the source: the gateway's modules import each other
//! without cycles, and no phase takes the gateway (`App`); only the sequencer
//! (`pipeline.rs`), the endpoints, the control API and the server see it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Modules that may hold the whole gateway: wiring and the edges of the process.
const SEES_APP: [&str; 5] = ["lib", "pipeline", "api", "control_api", "server"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// A file's code without its comments and its unit tests.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The top-level modules a file's code names through `crate::`.
fn imports(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a, b::c, d::{e, f}}`: the names at the group's top level.
            let mut depth = 0;
            let mut start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && (c.is_ascii_alphanumeric() || c == '_') => {
                        out.insert(ident(&group[j..]).to_string());
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest).to_string());
        }
    }
    out
}

/// Each top-level module (a file or a directory under src/) and the modules it imports.
fn graph() -> BTreeMap<String, (BTreeSet<String>, String)> {
    let root = src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut modules: BTreeMap<String, (BTreeSet<String>, String)> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&root).unwrap_or(&f);
        let parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
            .collect();
        if parts.iter().any(|p| p == "tests") {
            continue;
        }
        let top = parts[0].clone();
        let c = code(&f);
        let entry = modules.entry(top.clone()).or_default();
        entry
            .0
            .extend(imports(&c).into_iter().filter(|m| *m != top));
        entry.1.push_str(&c);
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    for (deps, _) in modules.values_mut() {
        deps.retain(|d| names.contains(d));
    }
    modules
}

/// A cycle through `from`, if there is one: the path back to it.
fn cycle(
    g: &BTreeMap<String, (BTreeSet<String>, String)>,
    at: &str,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(i) = path.iter().position(|p| p == at) {
        let mut c = path[i..].to_vec();
        c.push(at.to_string());
        return Some(c);
    }
    if done.contains(at) {
        return None;
    }
    path.push(at.to_string());
    for next in g.get(at).map(|(d, _)| d.iter()).into_iter().flatten() {
        if let Some(c) = cycle(g, next, path, done) {
            return Some(c);
        }
    }
    path.pop();
    done.insert(at.to_string());
    None
}

#[test]
fn the_gateway_modules_import_each_other_without_cycles() {
    let g = graph();
    assert!(g.len() > 20, "the source was found: {:?}", g.keys());
    assert!(g["pipeline"].0.contains("dispatch"), "imports are read");
    let mut done = BTreeSet::new();
    for m in g.keys() {
        if let Some(c) = cycle(&g, m, &mut Vec::new(), &mut done) {
            panic!("import cycle: {}", c.join(" -> "));
        }
    }
}

#[test]
fn no_phase_takes_the_gateway() {
    let g = graph();
    let takes_app: Vec<&String> = g
        .iter()
        .filter(|(m, (_, code))| {
            !SEES_APP.contains(&m.as_str())
                && code.match_indices("App").any(|(i, _)| {
                    let before = code[..i].chars().next_back();
                    let after = code[i + 3..].chars().next();
                    !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                        && !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                })
        })
        .map(|(m, _)| m)
        .collect();
    assert!(
        takes_app.is_empty(),
        "modules that take `App`: {takes_app:?}"
    );
}

#[test]
fn the_checks_see_a_cycle_and_a_gateway() {
    assert_eq!(
        imports("use crate::{a, b::c, d::{e, f}};\nlet x = crate::g::h();"),
        ["a", "b", "d", "g"].map(String::from).into()
    );
    let mut g = BTreeMap::new();
    g.insert("a".to_string(), (["b".to_string()].into(), String::new()));
    g.insert("b".to_string(), (["a".to_string()].into(), String::new()));
    let c = cycle(&g, "a", &mut Vec::new(), &mut BTreeSet::new());
    assert_eq!(c, Some(vec!["a".into(), "b".into(), "a".into()]));
}
