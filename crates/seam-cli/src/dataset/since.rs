//! `seam dataset diff DATASET [--run RUN]`: the dataset's current cases against those its
//! newest eval run graded. A run stores the dataset's version and, per result, the case's id
//! and (since migration 19) the SHA-256 of the case's canonical JSON: ids tell what was added
//! and removed, hashes which cases changed. A case in both whose results keep no hash (a run
//! stored before) is counted apart, as unknown, never as unchanged.

use super::read::{evals_dir, load, short};
use crate::cli::StoreArgs;
use crate::format::{clean, timestamp};
use seam_evals::dataset::{Dataset, case_hash};
use seam_store::{EvalResultRecord, EvalRunRecord, Evals};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The dataset now against the cases a run graded.
#[derive(Debug, Serialize, PartialEq)]
pub(super) struct SinceRun {
    /// The run's dataset version.
    pub from_version: String,
    /// The file's version now.
    pub to_version: String,
    /// Ids in the file that the run has no result for, sorted.
    pub added: Vec<String>,
    /// Ids the run has results for that the file no longer has, sorted.
    pub removed: Vec<String>,
    /// Ids in both whose content differs from the case the run graded, sorted.
    pub changed: Vec<String>,
    /// Cases in both with the content the run graded.
    pub unchanged: usize,
    /// Ids in both whose results keep no hash of the case (stored before Seam kept one): not
    /// known to be changed or unchanged, sorted.
    pub unknown: Vec<String>,
    /// How many cases the run has results for, of the `cases` the dataset had then.
    pub run_cases_with_results: usize,
    /// What limits the comparison, in words.
    pub notes: Vec<String>,
}

/// `ds` against `run` and its results.
pub(super) fn compare(ds: &Dataset, run: &EvalRunRecord, results: &[EvalResultRecord]) -> SinceRun {
    let mut graded: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for r in results {
        let hash = graded.entry(r.case_id.as_str()).or_insert(None);
        if hash.is_none() {
            *hash = r.case_hash.as_deref();
        }
    }
    let now: BTreeMap<&str, String> = ds
        .cases
        .iter()
        .map(|c| (c.id.as_str(), case_hash(&c.content)))
        .collect();
    let mut out = SinceRun {
        from_version: run.dataset_version.clone(),
        to_version: ds.version.clone(),
        added: Vec::new(),
        removed: Vec::new(),
        changed: Vec::new(),
        unchanged: 0,
        unknown: Vec::new(),
        run_cases_with_results: graded.len(),
        notes: Vec::new(),
    };
    if run.dataset_version == ds.version {
        // The version is the hash of every case: nothing changed, whatever the results keep.
        out.unchanged = ds.cases.len();
        return out;
    }
    for (id, hash) in &now {
        match graded.get(id) {
            None => out.added.push(id.to_string()),
            Some(None) => out.unknown.push(id.to_string()),
            Some(Some(h)) if h == hash => out.unchanged += 1,
            Some(Some(_)) => out.changed.push(id.to_string()),
        }
    }
    out.removed = graded
        .keys()
        .filter(|id| !now.contains_key(*id))
        .map(|id| id.to_string())
        .collect();
    if (graded.len() as i64) < run.cases {
        out.notes.push(format!(
            "run {} has results for {} of its {} cases ({}): a case it did not reach counts as added",
            run.id,
            graded.len(),
            run.cases,
            run.status
        ));
    }
    if !out.unknown.is_empty() {
        out.notes.push(format!(
            "run {}'s results keep no hash of the cases they graded (stored before Seam kept one): {} cases in both cannot be told changed or unchanged; to see how, compare the two files with `seam dataset diff FROM TO`",
            run.id,
            out.unknown.len()
        ));
    }
    out
}

/// The run to compare with: `--run`, else the dataset's newest.
async fn the_run(
    store: &impl Evals,
    ds: &Dataset,
    asked: Option<&str>,
) -> anyhow::Result<(EvalRunRecord, Vec<EvalResultRecord>)> {
    let id = match asked {
        Some(id) => id.to_string(),
        None => store
            .list_eval_runs()
            .await?
            .into_iter()
            .find(|r| r.dataset == ds.name)
            .map(|r| r.id)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no eval run on dataset `{}` yet, so nothing to compare with (`seam eval run {} --route NAME`); `seam dataset diff FROM TO` compares two files",
                    clean(&ds.name),
                    clean(&ds.name)
                )
            })?,
    };
    let (run, results) = store
        .get_eval_run(&id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no eval run `{}` (see `seam eval runs`)", clean(&id)))?;
    if run.dataset != ds.name {
        anyhow::bail!(
            "run {} was made on dataset `{}`, not `{}`",
            run.id,
            clean(&run.dataset),
            clean(&ds.name)
        );
    }
    Ok((run, results))
}

pub async fn diff_since(
    name: &str,
    run: Option<&str>,
    dir: Option<PathBuf>,
    store_args: &StoreArgs,
    as_json: bool,
) -> anyhow::Result<()> {
    let dir = evals_dir(dir, &store_args.config)?;
    let ds = load(name, dir.as_deref())?;
    let (store, _who) = crate::actor::open_as(store_args).await?;
    let (run, results) = the_run(&store, &ds, run).await?;
    let d = compare(&ds, &run, &results);
    if as_json {
        let mut out = serde_json::to_value(&d)?;
        if let Some(o) = out.as_object_mut() {
            o.insert("dataset".into(), json!(ds.name));
            o.insert("path".into(), json!(ds.path));
            o.insert(
                "run".into(),
                json!({"id": run.id, "created_ms": run.created_ms, "status": run.status,
                       "target_kind": run.target_kind, "target": run.target, "cases": run.cases}),
            );
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "{} ({}) since eval run {} ({}, {} `{}`, {}) on version {}",
        clean(&ds.path.display().to_string()),
        short(&ds.version),
        run.id,
        timestamp(run.created_ms),
        run.target_kind,
        clean(&run.target),
        run.status,
        short(&run.dataset_version)
    );
    if d.from_version == d.to_version {
        println!("same version: no case changed ({} cases)", d.unchanged);
        return Ok(());
    }
    let ids = |v: &[String]| {
        if v.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = v.iter().map(|i| clean(i).into_owned()).collect();
            format!(": {}", list.join(", "))
        }
    };
    println!("added      {}{}", d.added.len(), ids(&d.added));
    println!("removed    {}{}", d.removed.len(), ids(&d.removed));
    println!("changed    {}{}", d.changed.len(), ids(&d.changed));
    println!("unchanged  {}", d.unchanged);
    if !d.unknown.is_empty() {
        println!("unknown    {}{}", d.unknown.len(), ids(&d.unknown));
    }
    for n in &d.notes {
        println!("note: {n}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use seam_vocab::{EvalStatus, EvalVerdict};

    fn dataset(lines: &[serde_json::Value]) -> Dataset {
        let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        Dataset::parse_bytes(text.join("\n").as_bytes(), std::path::Path::new("d.jsonl")).unwrap()
    }

    fn case(id: &str, word: &str) -> serde_json::Value {
        json!({"id": id, "input": {"messages": [{"role": "user", "content": word}]}})
    }

    fn results(ds: &Dataset, hashed: bool) -> Vec<EvalResultRecord> {
        ds.cases
            .iter()
            .map(|c| EvalResultRecord {
                run_id: "evr_1".into(),
                case_id: c.id.clone(),
                repeat_index: 0,
                created_ms: 1,
                verdict: EvalVerdict::Pass,
                score: None,
                reasons: "{}".into(),
                call_id: None,
                latency_ms: None,
                cost_usd: None,
                case_hash: hashed.then(|| case_hash(&c.content)),
            })
            .collect()
    }

    fn run(ds: &Dataset, cases: i64) -> EvalRunRecord {
        EvalRunRecord {
            id: "evr_1".into(),
            created_ms: 1,
            finished_ms: None,
            dataset: "d".into(),
            dataset_version: ds.version.clone(),
            target_kind: "route".into(),
            target: "chat".into(),
            served_models: vec![],
            repeats: 1,
            cases,
            status: EvalStatus::Complete,
            actor: "ana".into(),
        }
    }

    #[test]
    fn hashes_tell_changed_cases_and_ids_added_and_removed() {
        let then = dataset(&[case("a", "x"), case("b", "y"), case("c", "z")]);
        let now = dataset(&[case("a", "x"), case("b", "CHANGED"), case("d", "new")]);
        let d = compare(&now, &run(&then, 3), &results(&then, true));
        assert_eq!(
            (d.added, d.removed, d.changed, d.unchanged, d.unknown),
            (
                vec!["d".into()],
                vec!["c".into()],
                vec!["b".into()],
                1,
                vec![]
            )
        );
        assert!(d.notes.is_empty(), "{:?}", d.notes);
    }

    #[test]
    fn without_hashes_cases_in_both_are_unknown_and_said_so() {
        let then = dataset(&[case("a", "x"), case("b", "y")]);
        let now = dataset(&[case("a", "x"), case("b", "CHANGED")]);
        let d = compare(&now, &run(&then, 2), &results(&then, false));
        assert_eq!((d.unchanged, d.changed.len()), (0, 0));
        assert_eq!(d.unknown, ["a", "b"]);
        assert!(d.notes[0].contains("keep no hash"), "{:?}", d.notes);
        // The same version needs no hash: nothing changed.
        let d = compare(&then, &run(&then, 2), &results(&then, false));
        assert_eq!((d.unchanged, d.unknown.len()), (2, 0));
    }

    #[test]
    fn a_partial_run_says_unreached_cases_count_as_added() {
        let then = dataset(&[case("a", "x"), case("b", "y")]);
        let now = dataset(&[case("a", "x"), case("b", "y"), case("c", "z")]);
        let mut graded = results(&then, true);
        graded.pop();
        let d = compare(&now, &run(&then, 2), &graded);
        assert_eq!(d.added, ["b", "c"]);
        assert!(d.notes[0].contains("1 of its 2 cases"), "{:?}", d.notes);
    }
}
