//! The contamination guard on its committed fixture corpus (tests/fixtures/contamination):
//! copies (verbatim; whitespace, punctuation and casing changed; inside a longer few-shot;
//! a few words changed) are caught, clean prompts sharing boilerplate with the cases are not.
//! Then bad input: an empty dataset, non-UTF-8, a three-word case, a 1 MB case.

use seam_evals::Dataset;
use seam_evals::contamination::{Index, Metric, Part, Place, Thresholds, load_dir};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/contamination")
        .join(name)
}

fn lines(name: &str) -> Vec<Value> {
    std::fs::read_to_string(fixture(name))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn index() -> Index {
    let d = Dataset::load(&fixture("cases.jsonl")).expect("the fixture loads");
    Index::build(&[d], &Thresholds::default())
}

fn place(text: &str) -> Vec<Place> {
    vec![Place {
        label: "message 1 (assistant)".into(),
        text: text.into(),
    }]
}

#[test]
fn the_corpus_copies_are_caught_and_the_clean_prompts_are_not() {
    let ix = index();
    let contaminated = lines("contaminated.jsonl");
    let clean = lines("clean.jsonl");
    let mut missed = Vec::new();
    for c in &contaminated {
        let part = match c["part"].as_str() {
            Some("input") => Part::Input,
            _ => Part::Expected,
        };
        let found = ix.check(&place(c["text"].as_str().unwrap()));
        if !found
            .iter()
            .any(|f| f.case == c["case"].as_str().unwrap() && f.part == part)
        {
            missed.push(format!("{} {} {}", c["kind"], c["case"], c["part"]));
        }
    }
    let mut flagged = Vec::new();
    for c in &clean {
        let found = ix.check(&place(c["text"].as_str().unwrap()));
        flagged.extend(found.iter().map(|f| f.describe()));
    }
    let detection = 1.0 - missed.len() as f64 / contaminated.len() as f64;
    let false_positives = clean
        .iter()
        .filter(|c| !ix.check(&place(c["text"].as_str().unwrap())).is_empty())
        .count() as f64
        / clean.len() as f64;
    println!(
        "contamination corpus: detection rate {:.0}% ({} of {} copies), false-positive rate {:.0}% ({} clean prompts)",
        detection * 100.0,
        contaminated.len() - missed.len(),
        contaminated.len(),
        false_positives * 100.0,
        clean.len()
    );
    assert!(missed.is_empty(), "missed: {missed:?}");
    assert!(flagged.is_empty(), "flagged clean prompts: {flagged:?}");
    assert_eq!(detection, 1.0);
    assert_eq!(false_positives, 0.0);
}

#[test]
fn a_finding_names_the_case_its_file_and_line_the_metric_and_the_span() {
    let ix = index();
    let c = &lines("contaminated.jsonl")[1];
    let found = ix.check(&place(c["text"].as_str().unwrap()));
    let f = found.iter().find(|f| f.case == "vat-number").unwrap();
    assert_eq!(f.line, 3);
    assert!(f.file.ends_with("cases.jsonl"));
    assert_eq!(f.part, Part::Expected);
    assert_eq!(f.metric, Metric::Contained);
    assert!(f.shared_ngram);
    assert_eq!(f.ngram_share, 1.0);
    assert!(f.longest_span >= 30, "{}", f.longest_span);
    assert!(f.jaccard.is_some_and(|j| j > 0.99));
    let text = f.describe();
    assert!(text.contains("case `vat-number`"), "{text}");
    assert!(text.contains("cases.jsonl:3"), "{text}");
    assert!(text.contains("message 1 (assistant)"), "{text}");
    assert!(
        text.contains("\"go to settings then billing details"),
        "{text}"
    );
}

#[test]
fn the_near_duplicate_measure_alone_flags_a_reordered_copy() {
    // The answer's two sentences swapped: with 30-grams as the any-n-gram none is shared, and
    // not every 8-gram is, yet most shingles are (Jaccard 0.8).
    let ix = Index::build(
        &[Dataset::load(&fixture("cases.jsonl")).unwrap()],
        &Thresholds {
            ngram: 30,
            share: 1.0,
            ..Thresholds::default()
        },
    );
    let a = "Add a default purchase order number under Billing details, and it appears in the header of every invoice. To use a different one for a single invoice, edit the draft before it is issued and set its own PO number.";
    let found = ix.check(&place(a));
    let f = found.iter().find(|f| f.case == "po-number").unwrap();
    assert!(matches!(f.metric, Metric::Contained), "{:?}", f.metric);
    let reordered = "To use a different one for a single invoice, edit the draft before it is issued and set its own PO number. Add a default purchase order number under Billing details, and it appears in the header of every invoice.";
    let found = ix.check(&place(reordered));
    let f = found.iter().find(|f| f.case == "po-number").unwrap();
    assert_eq!(f.metric, Metric::NearDuplicate);
    assert!(f.jaccard.unwrap() >= 0.75);
}

fn dir_with(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    dir
}

#[test]
fn bad_input_is_said_and_nothing_panics() {
    let t = Thresholds::default();
    let mut big = String::from(
        "{\"id\": \"big\", \"input\": {\"messages\": [{\"role\": \"user\", \"content\": \"",
    );
    while big.len() < 1_100_000 {
        big.push_str("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod ");
    }
    big.push_str("\"}]}, \"expected\": \"the answer is forty two\"}\n");
    let three = b"{\"id\": \"tiny\", \"input\": {\"messages\": [{\"role\": \"user\", \"content\": \"Reset my password\"}]}, \"expected\": \"OK\"}\n";
    let dir = dir_with(&[
        ("empty.jsonl", b""),
        ("latin1.jsonl", b"{\"id\": \"x\", \"input\": {\"messages\": [{\"role\": \"user\", \"content\": \"caf\xe9\"}]}}\n"),
        ("tiny.jsonl", three),
        ("big.jsonl", big.as_bytes()),
    ]);
    let (ix, problems) = load_dir(dir.path(), &t).unwrap().unwrap();
    let all = format!("{problems:?} {:?}", ix.notes());
    assert!(
        all.contains("latin1.jsonl is not checked against") && all.contains("not UTF-8"),
        "{all}"
    );
    assert!(all.contains("empty.jsonl: no cases"), "{all}");
    assert!(all.contains("case `tiny`, its input has 3 words, under the 13-gram: checked by exact containment only"), "{all}");
    assert!(
        all.contains(
            "case `tiny`, its expected output has 1 word(s), under min_words (3): not checked"
        ),
        "{all}"
    );
    assert!(
        all.contains("case `big`, its input is")
            && all.contains("only its first 262144 bytes are checked"),
        "{all}"
    );
    // The three words are found whole, and not as two of them.
    let found = ix.check(&place(
        "Users often write: reset my password! Tell them how.",
    ));
    assert!(
        found
            .iter()
            .any(|f| f.case == "tiny" && f.metric == Metric::Contained)
    );
    assert!(
        ix.check(&place("reset your password"))
            .iter()
            .all(|f| f.case != "tiny")
    );
    // The 1 MB case is found by its start, and an empty or non-UTF-8-free text is fine.
    let found = ix.check(&place("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod lorem ipsum dolor sit"));
    assert!(
        found
            .iter()
            .any(|f| f.case == "big" && f.metric == Metric::SharedNgram)
    );
    assert!(ix.check(&place("")).is_empty());
    assert!(load_dir(&dir.path().join("missing"), &t).unwrap().is_none());
}

#[test]
fn an_index_is_built_once_per_dataset_version_and_thresholds() {
    let dir = dir_with(&[(
        "a.jsonl",
        std::fs::read(fixture("cases.jsonl")).unwrap().as_slice(),
    )]);
    let t = Thresholds::default();
    let (one, _) = load_dir(dir.path(), &t).unwrap().unwrap();
    let (two, _) = load_dir(dir.path(), &t).unwrap().unwrap();
    assert!(Arc::ptr_eq(&one, &two));
    let other = Thresholds {
        share: 0.5,
        ..Thresholds::default()
    };
    let (three, _) = load_dir(dir.path(), &other).unwrap().unwrap();
    assert!(!Arc::ptr_eq(&one, &three));
    // A new version of the dataset is indexed afresh.
    let mut text = std::fs::read_to_string(dir.path().join("a.jsonl")).unwrap();
    text.push_str("{\"id\": \"new\", \"variables\": {\"q\": \"a brand new case\"}}\n");
    std::fs::write(dir.path().join("a.jsonl"), text).unwrap();
    let (four, _) = load_dir(dir.path(), &t).unwrap().unwrap();
    assert!(!Arc::ptr_eq(&one, &four));
    assert_eq!(four.len(), one.len() + 1);
}

#[test]
fn thresholds_out_of_range_are_named() {
    let bad = |t: Thresholds| t.check().unwrap_err();
    assert!(
        bad(Thresholds {
            share: 0.0,
            ..Thresholds::default()
        })
        .starts_with("share:")
    );
    assert!(
        bad(Thresholds {
            jaccard: 1.5,
            ..Thresholds::default()
        })
        .starts_with("jaccard:")
    );
    assert!(
        bad(Thresholds {
            share_ngram: 20,
            ..Thresholds::default()
        })
        .starts_with("share_ngram:")
    );
    assert!(
        bad(Thresholds {
            min_words: 0,
            ..Thresholds::default()
        })
        .starts_with("min_words:")
    );
    assert!(Thresholds::default().check().is_ok());
}
