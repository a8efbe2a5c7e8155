//! Mutations of a parsed tree: a JSON or TOML input is parsed, one node changed (an edge-case
//! value, a subtree of another input, a key added or dropped, the node nested deeper), and
//! the tree written out again, so that most children still parse and reach the code behind.

use super::Rng;
use serde_json::Value as Json;
use toml::Value as Toml;

/// One step down a tree.
#[derive(Debug, Clone)]
enum Step {
    Index(usize),
    Key(String),
}

/// Edge-case JSON values: sizes at and past integer limits, odd floats, odd strings.
fn json_edge(rng: &mut Rng) -> Json {
    match rng.below(16) {
        0 => Json::Null,
        1 => Json::Bool(rng.one_in(2)),
        2 => Json::from(u64::MAX),
        3 => Json::from(i64::MIN),
        4 => Json::from(-1),
        5 => Json::from(0),
        6 => Json::from(1.5e308),
        7 => Json::from(-0.0),
        8 => Json::from(""),
        9 => Json::from("x".repeat(1 + rng.below(5000))),
        10 => Json::from("\u{0}\u{feff}\u{202e}\u{1F600}\\\"\n"),
        11 => Json::Array(Vec::new()),
        12 => Json::Object(Default::default()),
        13 => Json::from(rng.next_u64() >> rng.below(64)),
        14 => Json::from(["user", "assistant", "system", "tool", "text", "tool_use"][rng.below(6)]),
        _ => Json::from(i64::MAX),
    }
}

/// Every node of a tree, as a path of steps from the root.
fn json_paths(v: &Json, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(path.clone());
    match v {
        Json::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(Step::Index(i));
                json_paths(x, path, out);
                path.pop();
            }
        }
        Json::Object(o) => {
            for (k, x) in o {
                path.push(Step::Key(k.clone()));
                json_paths(x, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn json_at<'a>(v: &'a mut Json, path: &[Step]) -> Option<&'a mut Json> {
    path.iter().try_fold(v, |v, s| match s {
        Step::Index(i) => v.get_mut(*i),
        Step::Key(k) => v.get_mut(k.as_str()),
    })
}

fn random_json_node(rng: &mut Rng, v: &Json) -> Json {
    let mut paths = Vec::new();
    json_paths(v, &mut Vec::new(), &mut paths);
    let mut v = v.clone();
    paths
        .get(rng.below(paths.len()))
        .and_then(|p| json_at(&mut v, p).map(|n| n.take()))
        .unwrap_or(Json::Null)
}

const KEYS: &[&str] = &[
    "model",
    "messages",
    "stream",
    "role",
    "content",
    "type",
    "text",
    "tool_calls",
    "function",
    "arguments",
    "name",
    "tool_call_id",
    "tools",
    "tool_choice",
    "usage",
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "max_tokens",
    "stop",
    "id",
    "delta",
    "index",
];

pub(super) fn json_mutation(rng: &mut Rng, input: &[u8], others: &[Vec<u8>]) -> Option<Vec<u8>> {
    let mut v: Json = serde_json::from_slice(input).ok()?;
    let mut paths = Vec::new();
    json_paths(&v, &mut Vec::new(), &mut paths);
    let path = paths.get(rng.below(paths.len()))?.clone();
    let donor = rng
        .pick(others)
        .and_then(|o| serde_json::from_slice::<Json>(o).ok());
    let node = json_at(&mut v, &path)?;
    match rng.below(8) {
        0..=2 => *node = json_edge(rng),
        3 => {
            if let Some(d) = donor {
                *node = random_json_node(rng, &d);
            }
        }
        4 => *node = Json::Array(vec![node.take()]),
        5 => match node {
            Json::Array(a) if !a.is_empty() => {
                let i = rng.below(a.len());
                if rng.one_in(2) {
                    a.remove(i);
                } else {
                    let x = a[i].clone();
                    a.insert(i, x);
                }
            }
            Json::Object(o) if !o.is_empty() => {
                let k = o
                    .keys()
                    .nth(rng.below(o.len()))
                    .cloned()
                    .unwrap_or_default();
                o.remove(&k);
            }
            _ => *node = json_edge(rng),
        },
        6 => {
            if let Json::Object(o) = node {
                let key = rng.pick(KEYS).copied().unwrap_or("x");
                o.insert(key.to_string(), json_edge(rng));
            } else {
                let key = rng.pick(KEYS).copied().unwrap_or("x");
                *node = serde_json::json!({ key: node.take() });
            }
        }
        _ => {
            // A string that holds JSON (tool arguments, stream data) becomes a mutant of it.
            if let Json::String(s) = node {
                let inner = json_mutation(rng, s.as_bytes(), others)
                    .unwrap_or_else(|| s.as_bytes().to_vec());
                *s = String::from_utf8_lossy(&inner).into_owned();
            } else {
                *node = json_edge(rng);
            }
        }
    }
    serde_json::to_vec(&v).ok()
}

fn toml_edge(rng: &mut Rng) -> Toml {
    match rng.below(14) {
        0 => Toml::Integer(i64::MAX),
        1 => Toml::Integer(-1),
        2 => Toml::Integer(0),
        3 => Toml::Float(f64::NAN),
        4 => Toml::Float(f64::INFINITY),
        5 => Toml::Float(-0.0),
        6 => Toml::String(String::new()),
        7 => Toml::String("x".repeat(1 + rng.below(300))),
        8 => Toml::String("../../etc/passwd\u{0}\u{202e}".into()),
        9 => Toml::Boolean(rng.one_in(2)),
        10 => Toml::Array(Vec::new()),
        11 => Toml::Table(Default::default()),
        12 => Toml::Integer(rng.next_u64() as i64 >> rng.below(64)),
        _ => "1979-05-27T07:32:00Z"
            .parse()
            .map(Toml::Datetime)
            .unwrap_or(Toml::Integer(1)),
    }
}

fn toml_paths(v: &Toml, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(path.clone());
    match v {
        Toml::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(Step::Index(i));
                toml_paths(x, path, out);
                path.pop();
            }
        }
        Toml::Table(t) => {
            for (k, x) in t {
                path.push(Step::Key(k.clone()));
                toml_paths(x, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn toml_at<'a>(v: &'a mut Toml, path: &[Step]) -> Option<&'a mut Toml> {
    path.iter().try_fold(v, |v, s| match (s, v) {
        (Step::Index(i), Toml::Array(a)) => a.get_mut(*i),
        (Step::Key(k), Toml::Table(t)) => t.get_mut(k),
        _ => None,
    })
}

/// A random node of a TOML tree.
fn toml_node<'a>(rng: &mut Rng, v: &'a mut Toml) -> Option<&'a mut Toml> {
    let mut paths = Vec::new();
    toml_paths(v, &mut Vec::new(), &mut paths);
    let path = paths.get(rng.below(paths.len()))?.clone();
    toml_at(v, &path)
}

const TOML_KEYS: &[&str] = &[
    "name",
    "kind",
    "base_url",
    "model",
    "provider",
    "targets",
    "max_attempts",
    "window",
    "limit",
    "ratio",
    "url",
    "listen",
    "role",
    "content",
    "variables",
    "params",
    "owners",
    "route",
    "requests",
    "tokens",
    "cost",
    "on_backend_down",
    "durability",
    "batch_size",
];

pub(super) fn toml_mutation(rng: &mut Rng, input: &[u8], others: &[Vec<u8>]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(input).ok()?;
    let mut root = Toml::Table(toml::from_str::<toml::Table>(text).ok()?);
    let donor = rng
        .pick(others)
        .and_then(|o| std::str::from_utf8(o).ok())
        .and_then(|t| toml::from_str::<toml::Table>(t).ok())
        .map(Toml::Table);
    let node = toml_node(rng, &mut root)?;
    match rng.below(6) {
        0 | 1 => *node = toml_edge(rng),
        2 => {
            if let Some(x) = donor.and_then(|mut d| toml_node(rng, &mut d).map(|n| n.clone())) {
                *node = x;
            }
        }
        3 => match node {
            Toml::Table(t) => {
                let key = rng.pick(TOML_KEYS).copied().unwrap_or("x");
                t.insert(key.into(), toml_edge(rng));
            }
            Toml::Array(a) if !a.is_empty() => {
                let x = a[rng.below(a.len())].clone();
                a.push(x);
            }
            _ => *node = toml_edge(rng),
        },
        4 => match node {
            Toml::Table(t) if !t.is_empty() => {
                let k = t
                    .keys()
                    .nth(rng.below(t.len()))
                    .cloned()
                    .unwrap_or_default();
                t.remove(&k);
            }
            Toml::Array(a) if !a.is_empty() => {
                a.remove(rng.below(a.len()));
            }
            _ => *node = toml_edge(rng),
        },
        _ => *node = Toml::Array(vec![node.clone()]),
    }
    let Toml::Table(t) = root else {
        return None;
    };
    toml::to_string(&t).ok().map(String::into_bytes)
}
