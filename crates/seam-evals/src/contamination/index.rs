//! The index of every case of a set of datasets, inputs and expected outputs apart.

use super::Thresholds;
use super::minhash;
use super::ngrams::{Map, ngram, ngram_set};
use super::normalize::tokens;
use crate::{Case, Dataset};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Text of one part of a case beyond this is not indexed (said in the index's notes): it
/// bounds the work of a pasted log or document, and 256 KiB of a case is plenty to find it.
pub const MAX_PART_BYTES: usize = 256 * 1024;

/// Which part of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    /// The user and assistant turns of `input.messages`, and `variables`' text.
    Input,
    /// `expected` (its text).
    Expected,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Input => "input",
            Part::Expected => "expected output",
        }
    }
}

pub(crate) struct Entry {
    pub dataset: usize,
    pub case: String,
    pub line: usize,
    pub part: Part,
    pub tokens: Vec<u64>,
    /// Its distinct share-n-grams.
    pub grams: usize,
    pub shingles: Vec<u64>,
    /// Shorter than the any-n-gram: found by containment only.
    pub short: bool,
}

pub(crate) struct Source {
    pub name: String,
    pub file: String,
}

/// Every case of some datasets, ready to check texts against.
pub struct Index {
    pub(crate) thresholds: Thresholds,
    pub(crate) datasets: Vec<Source>,
    pub(crate) entries: Vec<Entry>,
    pub(crate) any: Map<Vec<u32>>,
    pub(crate) share: Map<Vec<u32>>,
    pub(crate) bands: Map<Vec<u32>>,
    /// By length: the hash of the whole of each short entry.
    pub(crate) short: BTreeMap<usize, Map<Vec<u32>>>,
    notes: Vec<String>,
}

impl Index {
    /// Indexes every case of `datasets`.
    pub fn build(datasets: &[Dataset], thresholds: &Thresholds) -> Index {
        let mut ix = Index {
            thresholds: thresholds.clone(),
            datasets: Vec::new(),
            entries: Vec::new(),
            any: Map::default(),
            share: Map::default(),
            bands: Map::default(),
            short: BTreeMap::new(),
            notes: Vec::new(),
        };
        for (d, ds) in datasets.iter().enumerate() {
            let file = ds.path.display().to_string();
            if ds.cases.is_empty() {
                ix.notes
                    .push(format!("{file}: no cases, nothing of it to check against"));
            }
            for case in &ds.cases {
                for (part, text) in [
                    (Part::Input, input_text(case)),
                    (Part::Expected, case.expected_text().map(str::to_string)),
                ] {
                    if let Some(text) = text {
                        ix.add(d, &file, case, part, &text);
                    }
                }
            }
            ix.datasets.push(Source {
                name: ds.name.clone(),
                file,
            });
        }
        ix
    }

    fn add(&mut self, dataset: usize, file: &str, case: &Case, part: Part, text: &str) {
        let t = &self.thresholds;
        let at = format!(
            "{file}:{}: case `{}`, its {}",
            case.line,
            case.id,
            part.as_str()
        );
        let text = if text.len() > MAX_PART_BYTES {
            let cut = (0..=MAX_PART_BYTES)
                .rev()
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(0);
            self.notes.push(format!(
                "{at} is {} bytes: only its first {MAX_PART_BYTES} bytes are checked",
                text.len()
            ));
            &text[..cut]
        } else {
            text
        };
        let toks = tokens(text);
        if toks.is_empty() {
            return;
        }
        if toks.len() < t.min_words {
            self.notes.push(format!(
                "{at} has {} word(s), under min_words ({}): not checked",
                toks.len(),
                t.min_words
            ));
            return;
        }
        let id = self.entries.len() as u32;
        let short = toks.len() < t.ngram;
        if short {
            self.notes.push(format!(
                "{at} has {} words, under the {}-gram: checked by exact containment only",
                toks.len(),
                t.ngram
            ));
            self.short
                .entry(toks.len())
                .or_default()
                .entry(ngram(&toks))
                .or_default()
                .push(id);
        } else {
            for g in ngram_set(&toks, t.ngram) {
                self.any.entry(g).or_default().push(id);
            }
        }
        let grams = ngram_set(&toks, t.share_ngram);
        for g in &grams {
            self.share.entry(*g).or_default().push(id);
        }
        let shingles = minhash::shingles(&toks);
        if !short {
            for k in minhash::band_keys(&shingles) {
                let ids = self.bands.entry(k).or_default();
                if ids.last() != Some(&id) {
                    ids.push(id);
                }
            }
        }
        self.entries.push(Entry {
            dataset,
            case: case.id.clone(),
            line: case.line,
            part,
            tokens: toks,
            grams: grams.len(),
            shingles,
            short,
        });
    }

    /// What was skipped or checked only in part, one sentence each, naming file, line and case.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// How many case parts are indexed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }
}

/// The text of a case's input: its user and assistant turns (the system and developer
/// messages are the prompt under test, which a release rightly repeats) and its variables'
/// string values, in order.
fn input_text(case: &Case) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    if let Some(input) = &case.input {
        for m in &input.messages {
            if matches!(m["role"].as_str(), Some("system" | "developer")) {
                continue;
            }
            strings(&m["content"], &mut out);
        }
    }
    if let Some(v) = &case.variables {
        strings(v, &mut out);
    }
    (!out.is_empty()).then(|| out.join("\n"))
}

fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(o) => o.values().for_each(|i| strings(i, out)),
        _ => {}
    }
}

/// An index, and the dataset files it could not read (a sentence each).
pub type Loaded = (Arc<Index>, Vec<String>);

/// The datasets of `dir` indexed, and what could not be read (each a sentence): from this
/// process's cache while the datasets' versions and the thresholds are the same, so a
/// dataset version is indexed once per process. None when `dir` does not exist.
pub fn load_dir(dir: &Path, thresholds: &Thresholds) -> Result<Option<Loaded>, String> {
    if !dir.is_dir() {
        return Ok(None);
    }
    let mut problems = Vec::new();
    let mut datasets = Vec::new();
    for path in crate::dataset::list(dir)? {
        match Dataset::load(&path) {
            Ok(d) => datasets.push(d),
            Err(e) => problems.push(format!(
                "{} is not checked against: it does not load: {e}",
                path.display()
            )),
        }
    }
    let key = format!(
        "{thresholds:?}|{}",
        datasets
            .iter()
            .map(|d| format!("{}={}", d.path.display(), d.version))
            .collect::<Vec<_>>()
            .join("|")
    );
    static CACHE: Mutex<Vec<(String, Arc<Index>)>> = Mutex::new(Vec::new());
    if let Ok(cache) = CACHE.lock()
        && let Some((_, ix)) = cache.iter().find(|(k, _)| *k == key)
    {
        return Ok(Some((ix.clone(), problems)));
    }
    let ix = Arc::new(Index::build(&datasets, thresholds));
    if let Ok(mut cache) = CACHE.lock() {
        // A few sets at most (a process checks one config's datasets); the oldest goes first.
        if cache.len() >= 4 {
            cache.remove(0);
        }
        cache.push((key, ix.clone()));
    }
    Ok(Some((ix, problems)))
}
