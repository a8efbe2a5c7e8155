//! Mutations for the stable runner: without coverage to steer it, it gets its reach from
//! knowing what the inputs are. Half the mutations work on bytes (flips, inserts, deletes,
//! repeats, dictionary tokens, splices with another input); the other half parse a JSON or
//! TOML input and change its tree (a node replaced by an edge-case value or by a subtree of
//! another input, keys added or dropped, a node nested deeper), so that most children are
//! still accepted by the parser and reach the code behind it.

mod tree;

use tree::{json_mutation, toml_mutation};

/// What a target's inputs look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Any bytes.
    Bytes,
    /// A JSON document.
    Json,
    /// A flag byte, then a JSON document.
    FlagThenJson,
    /// A TOML document.
    Toml,
    /// A template, a NUL byte, then a JSON object.
    TemplateThenJson,
}

/// A small, fast, seedable generator (SplitMix64): runs are reproducible from their seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }
}

/// The most bytes a mutated input may have. Under 65,535: MiniJinja counts columns in a u16
/// and its syntax error at column 65,535 overflows (a panic in debug builds only; see
/// docs/testing.md, "Known gaps").
pub const MAX_LEN: usize = 60_000;

/// A child of `input`: one to four mutations stacked. `others` are inputs to splice from,
/// `dict` tokens to insert.
pub fn mutate(
    rng: &mut Rng,
    shape: Shape,
    input: &[u8],
    others: &[Vec<u8>],
    dict: &[Vec<u8>],
) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let structured = !rng.one_in(2);
        out = match (structured, shape) {
            (true, Shape::Json) => json_mutation(rng, &out, others).unwrap_or(out),
            (true, Shape::FlagThenJson) if !out.is_empty() => {
                let mut flag = vec![if rng.one_in(4) {
                    rng.next_u64() as u8
                } else {
                    out[0]
                }];
                match json_mutation(rng, &out[1..], &tails(others, 1)) {
                    Some(body) => {
                        flag.extend(body);
                        flag
                    }
                    None => out,
                }
            }
            (true, Shape::Toml) => toml_mutation(rng, &out, others).unwrap_or(out),
            (true, Shape::TemplateThenJson) => template_mutation(rng, &out, others, dict),
            _ => byte_mutation(rng, out, others, dict),
        };
        out.truncate(MAX_LEN);
    }
    out
}

/// Each input without its first `n` bytes.
fn tails(inputs: &[Vec<u8>], n: usize) -> Vec<Vec<u8>> {
    inputs
        .iter()
        .map(|i| i.get(n..).unwrap_or_default().to_vec())
        .collect()
}

fn byte_mutation(rng: &mut Rng, mut b: Vec<u8>, others: &[Vec<u8>], dict: &[Vec<u8>]) -> Vec<u8> {
    let at = rng.below(b.len() + 1);
    match rng.below(10) {
        0 if !b.is_empty() => {
            let i = rng.below(b.len());
            b[i] ^= 1 << rng.below(8);
        }
        1 if !b.is_empty() => {
            let i = rng.below(b.len());
            b[i] = *rng.pick(INTERESTING_BYTES).unwrap_or(&0);
        }
        2 => {
            let n = 1 + rng.below(8);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            b.splice(at..at, bytes);
        }
        3 if !b.is_empty() => {
            let end = (at + 1 + rng.below(32)).min(b.len());
            let start = at.min(end.saturating_sub(1));
            b.drain(start..end);
        }
        4 | 5 => {
            if let Some(tok) = rng.pick(dict) {
                if rng.one_in(2) || at == b.len() {
                    b.splice(at..at, tok.iter().copied());
                } else {
                    let end = (at + tok.len()).min(b.len());
                    b.splice(at..end, tok.iter().copied());
                }
            }
        }
        6 if !b.is_empty() => {
            // A piece repeated: deep nesting, long lines, many keys.
            let start = rng.below(b.len());
            let end = (start + 1 + rng.below(16)).min(b.len());
            let piece = b[start..end].to_vec();
            let most = if rng.one_in(8) { 2000 } else { 16 };
            let times = 1 + rng.below(most);
            let rep: Vec<u8> = piece
                .iter()
                .copied()
                .cycle()
                .take(piece.len() * times)
                .collect();
            b.splice(end..end, rep.into_iter().take(MAX_LEN));
        }
        7 => {
            // Splice: this input's head, another's tail.
            if let Some(o) = rng.pick(others) {
                let cut = rng.below(o.len() + 1);
                b.truncate(at);
                b.extend_from_slice(&o[cut..]);
            }
        }
        8 if !b.is_empty() => b.truncate(at),
        _ => {
            if let Some(tok) = rng.pick(dict) {
                b.extend_from_slice(tok);
            }
        }
    }
    b
}

const INTERESTING_BYTES: &[u8] = &[
    0, 1, b'\n', b'\r', b'"', b'\\', b'{', b'}', b'[', b']', b':', b',', b'=', b'.', b'-', b'0',
    b'9', b'e', b'%', b'#', b'\'', 0x7f, 0x80, 0xc0, 0xe2, 0xf0, 0xff,
];

/// The template part mutated as bytes (with template tokens), the variables as JSON.
fn template_mutation(rng: &mut Rng, input: &[u8], others: &[Vec<u8>], dict: &[Vec<u8>]) -> Vec<u8> {
    let (template, vars) = match input.iter().position(|b| *b == 0) {
        Some(i) => (input[..i].to_vec(), input[i + 1..].to_vec()),
        None => (input.to_vec(), b"{}".to_vec()),
    };
    let (template, vars) = if rng.one_in(2) {
        let t = byte_mutation(rng, template, others, dict);
        (t.into_iter().filter(|b| *b != 0).collect(), vars)
    } else {
        let var_others: Vec<Vec<u8>> = others
            .iter()
            .filter_map(|o| o.iter().position(|b| *b == 0).map(|i| o[i + 1..].to_vec()))
            .collect();
        let v = json_mutation(rng, &vars, &var_others).unwrap_or(vars);
        (template, v)
    };
    let mut out = template;
    out.push(0);
    out.extend(vars);
    out
}

/// The tokens of a libFuzzer dictionary file: one `"token"` (optionally `name="token"`) per
/// line, with `\\`, `\"` and `\xNN` escapes; `#` starts a comment.
pub fn parse_dict(text: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let (Some(open), Some(close)) = (line.find('"'), line.rfind('"')) else {
            continue;
        };
        if close <= open {
            continue;
        }
        let body = &line.as_bytes()[open + 1..close];
        let mut tok = Vec::with_capacity(body.len());
        let mut i = 0;
        while i < body.len() {
            match (body[i], body.get(i + 1)) {
                (b'\\', Some(b'x')) => {
                    let hex = body
                        .get(i + 2..i + 4)
                        .and_then(|h| std::str::from_utf8(h).ok());
                    match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(b) => {
                            tok.push(b);
                            i += 4;
                        }
                        None => {
                            tok.push(b'\\');
                            i += 1;
                        }
                    }
                }
                (b'\\', Some(&c)) => {
                    tok.push(c);
                    i += 2;
                }
                (c, _) => {
                    tok.push(c);
                    i += 1;
                }
            }
        }
        out.push(tok);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value as Json;

    #[test]
    fn dictionary_escapes() {
        let d = parse_dict("# c\n\"a\\\"b\"\nkw=\"\\x00\\\\\"\n\n");
        assert_eq!(d, vec![b"a\"b".to_vec(), b"\x00\\".to_vec()]);
    }

    #[test]
    fn structured_mutants_mostly_still_parse() {
        let mut rng = Rng::new(7);
        let seed = br#"{"messages":[{"role":"user","content":"hi"}],"n":1}"#.to_vec();
        let ok = (0..200)
            .filter(|_| {
                let m = mutate(
                    &mut rng,
                    Shape::Json,
                    &seed,
                    std::slice::from_ref(&seed),
                    &[],
                );
                serde_json::from_slice::<Json>(&m).is_ok()
            })
            .count();
        assert!(ok > 50, "{ok} of 200 JSON mutants parse");
        let toml_seed = b"name = \"x\"\n[t]\na = [1, 2]\n".to_vec();
        let ok = (0..200)
            .filter(|_| {
                let m = mutate(
                    &mut rng,
                    Shape::Toml,
                    &toml_seed,
                    std::slice::from_ref(&toml_seed),
                    &[],
                );
                std::str::from_utf8(&m).is_ok_and(|t| toml::from_str::<toml::Table>(t).is_ok())
            })
            .count();
        assert!(ok > 50, "{ok} of 200 TOML mutants parse");
    }
}
