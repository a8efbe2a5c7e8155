//! Fills a store with generated traffic for `bench/run failures`: `seam_signals::synth`'s
//! corpus (chats and agent traces with planted rephrases, regenerates, abandons, loops, tool
//! errors, and sessions on the planted failure modes), every call recorded with its content,
//! shifted so that the last call is an hour before now.
//!
//! `cargo run --release -p seam-control --example failures_corpus -- sqlite:///tmp/f.db 100000`

use seam_signals::synth::{Spec, generate_modes};
use seam_store::Records;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "sqlite:///tmp/failures.db".into());
    let calls: usize = args.next().map_or(Ok(100_000), |s| s.parse())?;
    // About 3.3 calls a session in the ordinary corpus, 3 in a mode's.
    let spec = Spec {
        sessions: calls * 10 / 36,
        ..Spec::default()
    };
    let corpus = generate_modes(29, &spec, calls / 200);
    let mut turns = corpus.corpus.turns;
    turns.truncate(calls);
    let last = turns.iter().map(|t| t.at_ms).max().unwrap_or(0);
    let shift = seam_store::now_ms() - 3_600_000 - last;
    for t in &mut turns {
        t.at_ms += shift;
    }
    let first = turns.iter().map(|t| t.at_ms).min().unwrap_or(0);
    let store = seam_store::open(&url).await?;
    for chunk in turns.chunks(5_000) {
        let batch = seam_control::failures::synth::batch_of(chunk, "bench", "chat");
        store.insert_batch(&batch).await?;
    }
    let days = (seam_store::now_ms() - first) / 86_400_000 + 1;
    println!(
        "{{\"calls\": {}, \"since_days\": {days}, \"flagged_texts_planted\": {}}}",
        turns.len(),
        corpus.mode_of.len()
    );
    Ok(())
}
