//! The guard's cost at the scale: 10,000 cases indexed, a 20 KB release checked.
//! Ignored by default (timings depend on the machine and the build); run it with
//! `cargo test -p seam-evals --test contamination_scale -- --ignored --nocapture`.

use seam_evals::Dataset;
use seam_evals::contamination::{Index, Place, Thresholds};
use std::time::Instant;

/// A word from a 5,000-word vocabulary, spread by a fixed hash of (case, position).
fn word(case: u64, i: u64) -> String {
    let mut x = case.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ i.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 31;
    format!("w{}", x % 5000)
}

fn text(case: u64, words: u64) -> String {
    (0..words)
        .map(|i| word(case, i))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
#[ignore]
fn ten_thousand_cases_against_a_20_kb_release() {
    let mut jsonl = String::new();
    for c in 0..10_000u64 {
        let line = serde_json::json!({"id": format!("c{c}"),
            "input": {"messages": [{"role": "user", "content": text(c, 60)}]},
            "expected": text(c + 1_000_000, 30)});
        jsonl.push_str(&line.to_string());
        jsonl.push('\n');
    }
    let d = Dataset::parse_bytes(jsonl.as_bytes(), std::path::Path::new("scale.jsonl")).unwrap();
    let start = Instant::now();
    let ix = Index::build(&[d], &Thresholds::default());
    let built = start.elapsed();
    // 20 KB: fresh text with two cases pasted in, over eight messages.
    let mut places = Vec::new();
    for m in 0..8u64 {
        let mut t = text(2_000_000 + m, 420);
        if m == 3 {
            t.push(' ');
            t.push_str(&text(77, 60));
        }
        if m == 5 {
            t.push(' ');
            t.push_str(&text(1_000_000 + 4242, 30));
        }
        places.push(Place {
            label: format!("messages[{m}]"),
            text: t,
        });
    }
    let bytes: usize = places.iter().map(|p| p.text.len()).sum();
    let start = Instant::now();
    let found = ix.check(&places);
    let checked = start.elapsed();
    println!(
        "index of 10,000 cases ({} parts): {built:?}; a {bytes}-byte release checked: {checked:?}; {} finding(s)",
        ix.len(),
        found.len()
    );
    assert!(found.iter().any(|f| f.case == "c77"));
    assert!(found.iter().any(|f| f.case == "c4242"));
}
