//! The fuzz targets under `cargo test`: every committed seed and every input that once broke
//! a target runs clean (always), and mutants of them for a bounded time (ignored by default:
//! scripts/test's fuzz step runs it, `SEAM_FUZZ_SECONDS` long in all).

use seam_fuzz::drive::{self, Budget};
use seam_fuzz::{Rng, Shape, TARGETS, Target};
use std::time::{Duration, Instant};

#[test]
fn seeds_and_past_crashes_run_clean() {
    let mut failures = Vec::new();
    for t in TARGETS {
        let corpus = drive::corpus(t);
        assert!(
            corpus.len() >= 3,
            "fuzz/corpus/{} has {} seeds: a target needs a few to start from",
            t.name,
            corpus.len()
        );
        assert!(!drive::dict(t).is_empty(), "fuzz/dict/{} is empty", t.dict);
        for (path, input) in corpus.iter().chain(&drive::regressions(t)) {
            if let Err(panic) = drive::run_one(t, input) {
                failures.push(format!("{}: {panic}", path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn bang(data: &[u8]) {
    if data.contains(&b'!') {
        panic!("found the bang");
    }
}

fn slow_bang(data: &[u8]) {
    if data.contains(&b'!') {
        std::thread::sleep(Duration::from_millis(300));
    }
}

static BANG: Target = Target {
    name: "bang",
    shape: Shape::Bytes,
    dict: "none",
    run: bang,
};

static SLOW_BANG: Target = Target {
    name: "slow_bang",
    shape: Shape::Bytes,
    dict: "none",
    run: slow_bang,
};

#[test]
fn the_runner_reports_and_saves_a_panicking_input() {
    let dir = tempfile::tempdir().unwrap();
    let budget = Budget {
        time: Duration::from_secs(20),
        slow: Duration::from_secs(20),
        save_to: Some(dir.path().to_path_buf()),
        keep_last: false,
    };
    let started = Instant::now();
    let found = drive::fuzz(
        &BANG,
        &[b"abc".to_vec()],
        &[b"!".to_vec()],
        &budget,
        &mut Rng::new(1),
    )
    .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "it stops at the finding"
    );
    assert!(found.what.contains("found the bang"), "{found}");
    assert!(found.input.contains(&b'!'));
    let saved = found.saved.as_ref().expect("the input is saved");
    assert!(saved.starts_with(dir.path().join("bang")));
    assert_eq!(std::fs::read(saved).unwrap(), found.input);
}

#[test]
fn the_runner_reports_an_input_that_runs_too_long() {
    let budget = Budget {
        time: Duration::from_secs(20),
        slow: Duration::from_millis(100),
        save_to: None,
        keep_last: false,
    };
    let found = drive::fuzz(
        &SLOW_BANG,
        &[b"abc".to_vec()],
        &[b"!".to_vec()],
        &budget,
        &mut Rng::new(2),
    )
    .unwrap_err();
    assert!(found.what.starts_with("took "), "{found}");
    assert!(found.input.contains(&b'!'));
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
#[ignore = "a bounded mutation run: scripts/test's fuzz step, or scripts/fuzz --builtin"]
fn mutants_of_the_corpus_break_no_target() {
    let seconds = env_u64("SEAM_FUZZ_SECONDS").unwrap_or(60);
    let only = std::env::var("SEAM_FUZZ_TARGET").ok();
    // A number repeats a run; unset or anything else (`random`) draws one.
    let seed = env_u64("SEAM_FUZZ_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let targets: Vec<&'static Target> = TARGETS
        .iter()
        .filter(|t| only.as_deref().is_none_or(|o| o == "all" || o == t.name))
        .collect();
    assert!(!targets.is_empty(), "no target named {only:?}");
    let slow = Duration::from_millis(env_u64("SEAM_FUZZ_SLOW_MS").unwrap_or(5000));
    let per_target = Duration::from_secs(seconds) / targets.len() as u32;
    eprintln!(
        "fuzz: seed {seed} (SEAM_FUZZ_SEED={seed} repeats this run), {} ms per target",
        per_target.as_millis()
    );
    let mut findings = Vec::new();
    for t in targets {
        let inputs: Vec<Vec<u8>> = drive::corpus(t)
            .into_iter()
            .chain(drive::regressions(t))
            .map(|(_, b)| b)
            .collect();
        let budget = Budget {
            time: per_target,
            slow,
            save_to: Some(drive::artifacts_dir()),
            keep_last: std::env::var_os("SEAM_FUZZ_KEEP_LAST").is_some(),
        };
        let name_hash = t
            .name
            .bytes()
            .fold(seed, |h, b| h.rotate_left(5) ^ u64::from(b));
        match drive::fuzz(
            t,
            &inputs,
            &drive::dict(t),
            &budget,
            &mut Rng::new(name_hash),
        ) {
            Ok(run) => eprintln!(
                "fuzz: {:<20} {:>8} inputs, slowest {} ms",
                t.name,
                run.inputs,
                run.slowest.as_millis()
            ),
            Err(f) => findings.push(f.to_string()),
        }
    }
    assert!(
        findings.is_empty(),
        "seed {seed}:\n{}\n(docs/testing.md: a finding becomes a regression input and a fix)",
        findings.join("\n")
    );
}

/// The splitter skips values without building them, as serde_json does for a `RawValue`, and
/// so takes a few bodies a full parse refuses; `to_map` gives an empty map for them. The
/// `request_body` target allows exactly these (docs/testing.md, "Known gaps"): when this
/// test fails, the gap has closed and the docs and `targets::known_gap` should say so.
#[test]
fn the_splitter_takes_the_known_gaps_and_to_map_drops_them() {
    let t = seam_fuzz::target("request_body").unwrap();
    let gaps = drive::regressions(t);
    assert_eq!(gaps.len(), 3, "{gaps:?}");
    for (path, input) in gaps {
        let body = seam_wire::RequestBody::parse(input.clone().into())
            .unwrap_or_else(|e| panic!("{}: refused: {e:?}", path.display()));
        assert!(body.to_map().is_empty(), "{}", path.display());
        let e = serde_json::from_slice::<serde_json::Value>(&input).unwrap_err();
        assert!(seam_fuzz::known_gap(&e), "{}: {e}", path.display());
    }
}
