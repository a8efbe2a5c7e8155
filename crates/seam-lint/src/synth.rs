//! A seeded generator of support transcripts that plays issue 30's story, for `seam demo` and
//! tests: in `n` conversations, 9% answer a plain question with an apology, 3% promise a
//! refund no tool grants, 2% escalate through a tool to a queue (`loyalty`) the rules file
//! does not allow; the rest are clean. Each conversation strings three exchanges from a pool,
//! with an order number, a product and a city of its own.

use serde_json::{Value, json};

/// The allowed queues of the story's rules file.
pub const RULES_TOML: &str = "[escalation]\nqueues = [\"billing\", \"warranty\"]\n";

const PRODUCTS: &[&str] = &[
    "Ridge 2 tent",
    "Pocket Rocket stove",
    "Trailhead 45 rucksack",
    "Summit down jacket",
    "Fellwalker boots",
    "Glow 300 head torch",
    "Basecamp 4 tent",
    "Drift sleeping bag",
];
const CITIES: &[&str] = &[
    "Leeds", "Bristol", "York", "Glasgow", "Cardiff", "Norwich", "Bath",
];

/// (question, answer) with `{p}` a product, `{c}` a city, `{o}` an order number.
const EXCHANGES: &[(&str, &str)] = &[
    (
        "What time does the {c} store open on Saturday?",
        "The {c} store opens at 9 on Saturdays and closes at 6.",
    ),
    (
        "Is the {p} in stock in {c}?",
        "Yes, the {c} store has the {p} in stock today.",
    ),
    (
        "How heavy is the {p}?",
        "The {p} weighs a little under a kilo with its bag.",
    ),
    (
        "Can I collect order {o} in {c}?",
        "Yes, order {o} can be collected in {c} once you get the ready email.",
    ),
    (
        "Do you price match on the {p}?",
        "We match UK retailers' prices on the {p} when it is in stock there.",
    ),
    (
        "What is the warranty on the {p}?",
        "The {p} has a two year warranty against faults in materials and making.",
    ),
    (
        "Where is order {o}?",
        "Order {o} left our warehouse this morning and should reach you in two days.",
    ),
    (
        "Can I change the size on order {o}?",
        "If order {o} has not shipped, reply with the size and we will swap it.",
    ),
    (
        "Do you deliver to {c} on Sundays?",
        "We do not deliver on Sundays; orders to {c} arrive Monday to Saturday.",
    ),
    (
        "How do I reproof the {p}?",
        "Wash the {p} with a technical cleaner, then spray on reproofer while damp.",
    ),
    (
        "Is there a student discount?",
        "Students get 10% off with a verified student account, applied at checkout.",
    ),
    (
        "Can I return the {p} if I have used it once?",
        "Yes, within 60 days, as long as the {p} is clean and undamaged.",
    ),
];

/// SplitMix64, seeded: the same seed gives the same transcripts on every run and machine.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        // SplitMix64: seeded, so a demo run is the same every time.
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next_u64() % from.len() as u64) as usize]
    }
}

/// The story's `n` conversations as JSONL lines (each with its line end).
pub fn transcripts(n: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng(seed);
    (0..n).map(|i| conversation(&mut rng, i)).collect()
}

fn conversation(rng: &mut Rng, i: usize) -> String {
    let product = rng.pick(PRODUCTS);
    let city = rng.pick(CITIES);
    let order = format!("A-{}", 10_000 + rng.next_u64() % 90_000);
    let fill = |t: &str| {
        t.replace("{p}", product)
            .replace("{c}", city)
            .replace("{o}", &order)
    };
    let mut messages: Vec<Value> = vec![
        json!({"role": "system", "content": "You are the support assistant of Acme Outdoor Gear."}),
    ];
    for turn in 0..3 {
        let (q, a) = EXCHANGES[(rng.next_u64() % EXCHANGES.len() as u64) as usize];
        let mut answer = fill(a);
        // The habit sits in the last answer of the story's share of conversations.
        if turn == 2 {
            match i % 100 {
                0..=8 => answer = format!("I'm so sorry for the trouble! {answer}"),
                9..=11 => {
                    answer.push_str(" I've also issued a full refund of your delivery charge.")
                }
                12..=13 => {
                    messages.push(json!({"role": "user", "content": fill(q)}));
                    messages.push(json!({"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "escalate", "arguments": "{\"queue\":\"loyalty\"}"}}]}));
                    messages.push(
                        json!({"role": "tool", "tool_call_id": "c1", "content": "{\"ok\":true}"}),
                    );
                    messages.push(json!({"role": "assistant", "content": "I've passed this to our loyalty team, who will email you."}));
                    continue;
                }
                _ => {}
            }
        }
        messages.push(json!({"role": "user", "content": fill(q)}));
        messages.push(json!({"role": "assistant", "content": answer}));
    }
    let mut line = json!({ "messages": messages }).to_string();
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Format, Linter, Options, RuleFile, lint_reader};

    #[test]
    fn the_story_is_found_in_its_shares() {
        let text: String = transcripts(1_000, 30).concat();
        let builtin: Vec<&str> = crate::rules::BUILTIN.iter().map(|r| r.0).collect();
        let rules = RuleFile::parse(RULES_TOML, &builtin).unwrap();
        let linter = Linter::new(Options {
            rules,
            ..Options::default()
        })
        .unwrap();
        let r = lint_reader(text.as_bytes(), Format::OpenAi, linter, None, &mut |_| {})
            .unwrap()
            .report;
        let hits = |id: &str| {
            r.rules
                .iter()
                .find(|x| x.rule.id == id)
                .map_or(0, |x| x.hits)
        };
        assert_eq!(r.examples, 1_000);
        assert_eq!(hits("reflexive-apology"), 90);
        assert_eq!(hits("unbacked-commitment"), 30);
        assert_eq!(hits("claimed-escalation"), 20);
        assert_eq!(hits("format.tool-call-without-result"), 0);
    }
}
