//! Planted failure modes for the clustering and coverage tests: kinds of question the model
//! answers badly, so that users rephrase them and give up, each asked in many wordings, on top
//! of the ordinary corpus (whose own flagged turns are the background). And an eval case set
//! that covers some modes and not others, with cases near the uncovered ones ("how do i cancel
//! my subscription" beside the uncovered "cancel mid-cycle, prorated refund").

use std::collections::{BTreeMap, BTreeSet};

use super::bank::PREFIXES;
use super::{Corpus, Rng, Spec, generate};
use crate::text::mix;
use crate::{Options, Turn, scan};

pub struct Mode {
    pub name: &'static str,
    /// Whether the case set has cases for it.
    pub covered: bool,
    pub wordings: &'static [&'static str],
    /// Eval case inputs for it (empty when not covered): written by someone else, so not the
    /// traffic's wordings.
    pub cases: &'static [&'static str],
}

pub const MODES: &[Mode] = &[
    Mode {
        name: "invoice-currency",
        covered: false,
        wordings: &[
            "my invoice shows the wrong currency",
            "why is my invoice currency us dollars when i am in germany",
            "can i get invoices issued in my local currency",
            "the invoice currency does not match my local currency",
            "how do i switch the currency on my invoices to gbp",
            "my invoice amount was converted to a foreign currency",
            "the exchange rate on my invoice currency looks wrong",
            "i need my invoice in my own currency for tax",
        ],
        cases: &[],
    },
    Mode {
        name: "authenticator-lost-phone",
        covered: true,
        wordings: &[
            "i lost my phone and cannot get my authenticator code",
            "how do i log in without my authenticator phone",
            "my authenticator app was deleted and the code is gone",
            "authenticator codes not working after i got a new phone",
            "recover my account when i lost the phone with the authenticator",
            "the authenticator code on my new phone is rejected",
            "reset the authenticator, i changed my phone",
            "locked out, no access to the phone with my authenticator code",
        ],
        cases: &[
            "user lost the phone with their authenticator app and is locked out",
            "authenticator code rejected after moving to a new phone",
        ],
    },
    Mode {
        name: "cancel-mid-cycle",
        covered: false,
        wordings: &[
            "if i cancel mid cycle do i get a prorated refund",
            "cancel in the middle of the billing cycle, is the refund prorated",
            "will i be charged for the rest of the billing cycle if i cancel now",
            "do you refund the unused days of the billing cycle when i cancel",
            "cancel today and get a prorated refund for the remaining days",
            "cancelling halfway through the billing cycle, what happens to my refund",
            "prorated refund for cancelling the annual plan early",
            "i cancel mid cycle but was charged the full cycle with no prorated refund",
        ],
        cases: &[],
    },
    Mode {
        name: "csv-export-encoding",
        covered: true,
        wordings: &[
            "exported csv shows broken characters in excel",
            "the csv export garbles accented characters",
            "special characters are wrong in the exported csv",
            "csv export encoding breaks special characters",
            "names with accents turn into broken characters in my csv",
            "excel opens the csv export with weird characters",
            "how do i export csv with the right encoding for special characters",
            "the csv export has broken characters in customer names",
        ],
        cases: &[
            "exported csv file shows garbled accented characters when opened in excel",
            "csv export encoding: special characters broken",
        ],
    },
    Mode {
        name: "webhook-failures",
        covered: false,
        wordings: &[
            "my webhooks keep failing with a timeout",
            "failed webhook deliveries are not retried",
            "why are webhook events failing twice",
            "the webhook endpoint returns 200 but the dashboard shows failed",
            "how do i replay failed webhook events",
            "webhook signature verification fails",
            "we stopped receiving webhook events, all deliveries failed",
            "webhook calls time out and fail after 10 seconds",
        ],
        cases: &[],
    },
    Mode {
        name: "customs-fees",
        covered: true,
        wordings: &[
            "why did i have to pay customs fees on delivery",
            "who pays the import customs fees for international orders",
            "the courier charged me customs fees, can i get them back",
            "are customs fees included in the price",
            "surprise customs fee on my international order",
            "do i pay customs fees when ordering from outside the eu",
            "customs fees were not mentioned at checkout",
            "how much are customs fees for shipping to canada",
        ],
        cases: &[
            "customer had to pay customs fees on delivery of an international order",
            "are import customs fees included in the checkout price",
        ],
    },
];

/// Cases from the ordinary topics, some near an uncovered mode (cancel, refund, invoice).
const BACKGROUND_CASES: &[&str] = &[
    "how do i cancel my subscription",
    "how long does a refund take to arrive",
    "where can i download my invoice for last month",
    "how do i add my vat number to invoices",
    "how do i reset my password",
    "how do i turn on two factor authentication",
    "how do i export my data to a csv file",
    "how do i track my order",
    "why was my card declined",
    "where do i find my api key",
    "the mobile app crashes when i open settings",
    "how do i invite a colleague to my team",
];

#[derive(Debug, Clone, Default)]
pub struct ModeCorpus {
    /// The ordinary corpus with the mode sessions added (its `planted` is the ordinary
    /// corpus' alone; a mode session's last call failed and it was idle long after).
    pub corpus: Corpus,
    /// Call id → index into [`MODES`], for every turn of a mode session.
    pub mode_of: BTreeMap<String, usize>,
    /// Eval case inputs: the covered modes' cases and the background cases.
    pub cases: Vec<String>,
}

impl ModeCorpus {
    /// The flagged calls' user turns (a scan at `now_ms` with default options), in call
    /// order, each with its mode (`None`: the ordinary corpus): what clustering is given.
    pub fn flagged(&self) -> (Vec<String>, Vec<Option<usize>>) {
        let opts = Options {
            now_ms: Some(self.corpus.now_ms),
            ..Options::default()
        };
        let flags = scan(&self.corpus.turns, &opts).flags;
        let ids: BTreeSet<&str> = flags.iter().map(|f| f.call_id.as_str()).collect();
        self.corpus
            .turns
            .iter()
            .filter(|t| ids.contains(t.call_id.as_str()))
            .filter_map(|t| {
                let text = t.user_text.clone()?;
                Some((text, self.mode_of.get(&t.call_id).copied()))
            })
            .unzip()
    }
}

/// The ordinary corpus (`spec`) plus `sessions_per_mode` sessions of each mode: a question,
/// one to three rewordings 10-90 s apart (another wording, sometimes with a prefix such as
/// "that did not help,"), and a last call that failed.
pub fn generate_modes(seed: u64, spec: &Spec, sessions_per_mode: usize) -> ModeCorpus {
    let mut out = ModeCorpus {
        corpus: generate(seed, spec),
        ..ModeCorpus::default()
    };
    let mut rng = Rng(mix(seed ^ 0x6d6f_6465));
    let span_ms = 7 * 86_400_000u64;
    let mut calls = 0u64;
    for (m, mode) in MODES.iter().enumerate() {
        for s in 0..sessions_per_mode {
            let session = format!("m{m}-{s}");
            let mut at = spec.start_ms + rng.below(span_ms) as i64;
            let n = 2 + rng.below(3) as usize;
            let mut wording = rng.below(mode.wordings.len() as u64) as usize;
            for t in 0..n {
                calls += 1;
                let mut text = mode.wordings[wording].to_string();
                if t > 0 && rng.chance(0.5) {
                    let p = PREFIXES[rng.below(PREFIXES.len() as u64) as usize];
                    text = format!("{p} {text}");
                }
                let call_id = format!("mc{calls}");
                out.mode_of.insert(call_id.clone(), m);
                out.corpus.turns.push(Turn {
                    call_id,
                    session: Some(session.clone()),
                    trace: Some(session.clone()),
                    at_ms: at,
                    user_text: Some(text),
                    request_hash: Some(format!("{:016x}", mix(calls ^ 0x6d6f))),
                    finish_reason: Some("stop".into()),
                    outcome: if t + 1 == n { "error" } else { "ok" }.into(),
                    answer_empty: Some(false),
                    ..Turn::default()
                });
                at += 10_000 + rng.below(80_000) as i64;
                // Another wording next time: the user rephrases.
                wording = (wording + 1 + rng.below(mode.wordings.len() as u64 - 1) as usize)
                    % mode.wordings.len();
            }
        }
    }
    out.corpus
        .turns
        .sort_by(|a, b| (a.at_ms, &a.call_id).cmp(&(b.at_ms, &b.call_id)));
    out.cases = MODES
        .iter()
        .flat_map(|m| m.cases.iter())
        .chain(BACKGROUND_CASES)
        .map(|c| c.to_string())
        .collect();
    out
}
