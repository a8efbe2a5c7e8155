//! The stable runner: replays a target's committed inputs, then feeds it mutants of them
//! until its time is up, stopping at the first input that panics or runs too long and
//! saving that input where `scripts/fuzz` and docs/testing.md say to look for it.

use crate::mutate::{Rng, mutate, parse_dict};
use crate::{Target, fuzz_dir};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// An input that broke a target.
#[derive(Debug)]
pub struct Finding {
    pub target: &'static str,
    /// The panic's message, or how long the input ran.
    pub what: String,
    pub input: Vec<u8>,
    /// Where the input was saved, when it was.
    pub saved: Option<PathBuf>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ({} bytes",
            self.target,
            self.what,
            self.input.len()
        )?;
        match &self.saved {
            Some(p) => write!(f, ", saved as {})", p.display()),
            None => write!(f, ")"),
        }
    }
}

/// The files of a folder, in name order (none when it does not exist).
pub fn load_dir(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b)))
        .collect()
}

/// A target's committed seed corpus.
pub fn corpus(t: &Target) -> Vec<(PathBuf, Vec<u8>)> {
    load_dir(&fuzz_dir().join("corpus").join(t.name))
}

/// The inputs that once broke a target, kept so that they never do again.
pub fn regressions(t: &Target) -> Vec<(PathBuf, Vec<u8>)> {
    load_dir(&fuzz_dir().join("regressions").join(t.name))
}

/// A target's dictionary tokens (`fuzz/dict/`).
pub fn dict(t: &Target) -> Vec<Vec<u8>> {
    std::fs::read_to_string(fuzz_dir().join("dict").join(t.dict))
        .map(|s| parse_dict(&s))
        .unwrap_or_default()
}

/// Where findings are saved, a folder per target: `target/fuzz/artifacts/`, or
/// `SEAM_FUZZ_ARTIFACTS`.
pub fn artifacts_dir() -> PathBuf {
    std::env::var_os("SEAM_FUZZ_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| fuzz_dir().join("../target/fuzz/artifacts"))
}

/// Runs one input: how long it took, or the panic's message.
pub fn run_one(t: &Target, input: &[u8]) -> Result<Duration, String> {
    let start = Instant::now();
    catch_unwind(AssertUnwindSafe(|| (t.run)(input)))
        .map(|()| start.elapsed())
        .map_err(|payload| {
            payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic without a message".into())
        })
}

/// What a bounded run did.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub inputs: u64,
    pub slowest: Duration,
}

/// How a bounded run goes.
#[derive(Debug, Clone)]
pub struct Budget {
    pub time: Duration,
    /// An input that runs longer than this is a finding (a hang, or work out of proportion).
    pub slow: Duration,
    /// Where to save findings (a folder per target), if anywhere: normally the folder above
    /// [`artifacts_dir`].
    pub save_to: Option<PathBuf>,
    /// Write each input to `TARGET/last-input` there before running it: a stack overflow or
    /// an abort ends the process before a finding can be saved (slower; to reproduce one).
    pub keep_last: bool,
}

/// Replays `inputs` on `t`, then mutants of them until `budget.time` is spent.
pub fn fuzz(
    t: &'static Target,
    inputs: &[Vec<u8>],
    dict: &[Vec<u8>],
    budget: &Budget,
    rng: &mut Rng,
) -> Result<Run, Box<Finding>> {
    let start = Instant::now();
    let mut run = Run {
        inputs: 0,
        slowest: Duration::ZERO,
    };
    let seeds: Vec<Vec<u8>> = if inputs.is_empty() {
        vec![Vec::new()]
    } else {
        inputs.to_vec()
    };
    // Recent children: mutating them too lets mutations stack past the four of one child.
    let mut recent: Vec<Vec<u8>> = Vec::with_capacity(64);
    let last = budget
        .save_to
        .as_ref()
        .filter(|_| budget.keep_last)
        .map(|dir| dir.join(t.name));
    if let Some(dir) = &last {
        let _ = std::fs::create_dir_all(dir);
    }
    let check = |input: Vec<u8>, run: &mut Run| -> Result<(), Box<Finding>> {
        run.inputs += 1;
        if let Some(dir) = &last {
            let _ = std::fs::write(dir.join("last-input"), &input);
        }
        let what = match run_one(t, &input) {
            Ok(took) if took <= budget.slow => {
                run.slowest = run.slowest.max(took);
                return Ok(());
            }
            Ok(took) => format!(
                "took {} ms (more than {} ms)",
                took.as_millis(),
                budget.slow.as_millis()
            ),
            Err(panic) => format!("panicked: {panic}"),
        };
        let saved = budget
            .save_to
            .as_ref()
            .and_then(|dir| save(&dir.join(t.name), &input));
        Err(Box::new(Finding {
            target: t.name,
            what,
            input,
            saved,
        }))
    };
    for s in inputs {
        check(s.clone(), &mut run)?;
    }
    while start.elapsed() < budget.time {
        let parent = if recent.is_empty() || rng.one_in(2) {
            &seeds[rng.below(seeds.len())]
        } else {
            &recent[rng.below(recent.len())]
        };
        let child = mutate(rng, t.shape, parent, &seeds, dict);
        check(child.clone(), &mut run)?;
        if recent.len() < 64 {
            recent.push(child);
        } else {
            let i = rng.below(recent.len());
            recent[i] = child;
        }
    }
    Ok(run)
}

/// Saves an input as `crash-HASH` (FNV-1a of its bytes, so one input is one file).
fn save(dir: &Path, input: &[u8]) -> Option<PathBuf> {
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    std::fs::create_dir_all(dir).ok()?;
    let path = dir.join(format!("crash-{hash:016x}"));
    std::fs::write(&path, input).ok()?;
    Some(path)
}
