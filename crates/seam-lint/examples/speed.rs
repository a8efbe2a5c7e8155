//! Lints a generated dataset and says how long it took: `cargo run --release -p seam-lint
//! --example speed -- [EXAMPLES] [FILE]` (default 100,000 examples, ~200 MB, in a temporary
//! file). Run under `/usr/bin/time -v` for the peak memory. The generated set plays issue 30's
//! story: 9% reflexive apologies, 3% unbacked refunds, escalations to a queue that does not
//! exist; everything else is support chatter from a seeded generator (no two alike).

use seam_lint::synth::Rng;
use seam_lint::{Format, Linter, Options, lint_reader};
use std::io::{BufWriter, Write};
use std::time::Instant;

const WORDS: &[&str] = &[
    "tent",
    "stove",
    "jacket",
    "boots",
    "order",
    "parcel",
    "size",
    "colour",
    "return",
    "store",
    "delivery",
    "pole",
    "zip",
    "lining",
    "warranty",
    "fabric",
    "seam",
    "hood",
    "pocket",
    "strap",
    "buckle",
    "frame",
    "canister",
    "burner",
    "lantern",
    "battery",
    "charger",
    "rucksack",
    "hip",
    "belt",
    "shoulder",
    "waterproof",
    "breathable",
    "insulated",
    "lightweight",
    "winter",
    "summer",
    "trail",
    "mountain",
    "coast",
    "weekend",
    "expedition",
    "family",
    "solo",
    "route",
    "map",
    "compass",
    "torch",
    "mat",
    "pillow",
    "bag",
    "liner",
    "groundsheet",
    "peg",
    "guy",
    "line",
    "porch",
    "vestibule",
    "awning",
    "shelter",
    "cook",
    "pot",
    "pan",
    "mug",
    "fuel",
    "gas",
    "wick",
    "the",
    "a",
    "my",
    "your",
    "is",
    "was",
    "will",
    "with",
    "for",
    "on",
    "in",
    "and",
    "but",
    "how",
];

/// `n` words from the pool.
fn words(rng: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| rng.pick(WORDS))
        .collect::<Vec<_>>()
        .join(" ")
}

fn example(rng: &mut Rng, i: usize) -> String {
    let system = "You are the support assistant of Acme Outdoor Gear. Answer in a friendly, brief way; look orders up with the lookup tool before you promise anything, and escalate only to the billing or warranty queues.";
    let mut messages = vec![serde_json::json!({"role": "system", "content": system})];
    for turn in 0..4 {
        let (q, a) = (20 + rng.next_u64() % 15, 35 + rng.next_u64() % 25);
        let question = format!("{}?", words(rng, q as usize));
        let mut answer = format!("{}.", words(rng, a as usize));
        if turn == 3 {
            match i % 100 {
                0..=8 => answer = format!("I'm so sorry! {answer}"),
                9..=11 => answer.push_str(" I've issued a full refund to your card."),
                12 => answer.push_str(" I've escalated this to our loyalty team."),
                _ => {}
            }
        }
        messages.push(serde_json::json!({"role": "user", "content": question}));
        messages.push(serde_json::json!({"role": "assistant", "content": answer}));
    }
    serde_json::json!({ "messages": messages }).to_string()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(Ok(100_000), |a| a.parse())?;
    let tmp = tempfile::NamedTempFile::new()?;
    let path = args
        .next()
        .map_or_else(|| tmp.path().to_path_buf(), Into::into);
    let started = Instant::now();
    let mut w = BufWriter::new(std::fs::File::create(&path)?);
    let mut rng = Rng(30);
    for i in 0..n {
        writeln!(w, "{}", example(&mut rng, i))?;
    }
    w.flush()?;
    drop(w);
    let size = std::fs::metadata(&path)?.len();
    eprintln!(
        "wrote {n} examples, {} MB, in {:.1} s",
        size >> 20,
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&path)?);
    let linter = Linter::new(Options {
        model: Some("gpt-4o-mini-2024-07-18".into()),
        ..Options::default()
    })?;
    let report = lint_reader(file, Format::OpenAi, linter, None, &mut |_| {})?.report;
    let secs = started.elapsed().as_secs_f64();
    for r in report.rules.iter().filter(|r| r.hits > 0) {
        eprintln!("{}: {} hits ({:.2}%)", r.rule.id, r.hits, r.share * 100.0);
    }
    eprintln!(
        "linted {} examples ({} MB, {} tokens) in {secs:.1} s: {:.1} MB/s",
        report.examples,
        size >> 20,
        report.tokens.total,
        (size >> 20) as f64 / secs
    );
    Ok(())
}
