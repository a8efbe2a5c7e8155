//! The behaviour packs a support bot picks up from its transcripts: reflexive apologies,
//! promises nothing backs (refunds, credits, deadlines), escalations claimed but never made,
//! and "as an AI" disclaimers. Patterns, not a model: each is a first-person claim in an
//! assistant turn, checked against the example's tool calls and the user's turn before it.

use crate::example::{Example, Role};
use regex::Regex;
use serde_json::Value;

pub const APOLOGY: &str = "reflexive-apology";
pub const COMMITMENT: &str = "unbacked-commitment";
pub const ESCALATION: &str = "claimed-escalation";
pub const AS_AN_AI: &str = "as-an-ai";

/// A first person, then a verb of claiming or promising: "I've", "we will", "I'd be happy to".
const I: &str = r"\b(?:i|we)(?:'ve|'ll|'d be happy to|'m happy to|'m going to|'m| am| have| will| can| am going to| are going to| just| already)?(?: go ahead and| gone ahead and| now| also| just| already| personally)?";

fn re(pattern: &str) -> Regex {
    // The packs' patterns are constants, covered by every test that builds the packs.
    Regex::new(pattern).unwrap_or_else(|e| panic!("built-in pattern {pattern}: {e}"))
}

pub struct Behaviour {
    apology: Regex,
    complaint: Regex,
    money: Regex,
    deadline: Regex,
    money_tool: Regex,
    escalation: Regex,
    escalation_tool: Regex,
    queue: Regex,
    as_an_ai: Regex,
    /// Queues an escalation may name, normalized; `None`: any.
    queues: Option<Vec<String>>,
}

impl Behaviour {
    pub fn new(queues: Option<&[String]>) -> Behaviour {
        Behaviour {
            apology: re(r"(?i)\b(?:sorry|apologi[sz]e[sd]?|apologies|apologi[sz]ing)\b"),
            complaint: re(concat!(
                r"(?i)\b(?:not work\w*|(?:doesn'?t|does not|didn'?t|did not|isn'?t|is not|won'?t|can'?t|cannot|couldn'?t|still) \w+",
                r"|broken|broke|wrong|error\w*|issues?|problems?|frustrat\w*|angry|upset|annoy\w*|terrible|awful",
                r"|horrible|worst|disappoint\w*|unacceptable|ridiculous|complain\w*|waiting|waited|late|delay\w*",
                r"|never (?:arrived|came|got|received)|haven'?t (?:received|got|heard)|missing|damaged|charged twice",
                r"|double[- ]charged|charged (?:me |us )?(?:twice|double)|twice|overcharg\w*|fail\w*|crash\w*|bugs?|stuck|lost|mistake|confus\w*|again",
                r"|nothing|no one|nobody|rude|scam|worse|keeps?|yet|(?:second|third|fourth|fifth|\d+(?:st|nd|rd|th)) time)\b|[!?]{2}",
            )),
            money: re(&format!(
                r"(?i){I} (?:issue[sd]?|process(?:ed)?|refund(?:ed)?|credit(?:ed)?|appl(?:y|ied)|waived?|add(?:ed)?|give|gave|grant(?:ed)?|sen[dt]|offer(?:ed)?|reverse[sd]?|reimburse[sd]?|comp(?:ed)?|put through)\b[^.!?\n]{{0,80}}?\b(?:refund|credit|discount|waiver?|fee|voucher|coupon|reimbursement|compensation|\d+ ?% off|money back|free (?:month|shipping|upgrade))|{I} (?:refund(?:ed)?|credit(?:ed)?|reimbursed?|waived?|comped)\b|{I} (?:can )?guarantee\b|\byou(?:'ll| will) (?:receive|get|see|be (?:refunded|credited|reimbursed))\b[^.!?\n]{{0,40}}?\b(?:refund|credit|discount|voucher|coupon|money back)"
            )),
            deadline: re(&format!(
                r"(?i)(?:{I}|\b(?:it|this|your \w+|the \w+)(?:'ll| will))\b[^.!?\n]{{0,60}}?\b(?:by (?:tomorrow|tonight|(?:next )?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|(?:the )?end of (?:the )?(?:day|week)|eod|\d{{1,2}}(?::\d\d)? ?(?:am|pm))|within (?:the next )?(?:\d+|an?|one|two|three|a few) (?:hours?|days?|business days?|minutes?|weeks?))"
            )),
            money_tool: re(
                r"(?i)refund|credit|discount|waive|voucher|coupon|compensat|reimburs|billing|adjust|promo|payment",
            ),
            escalation: re(&format!(
                r"(?i){I} (?:escalat(?:ed|e|ing)|transferr?(?:ed|ing)?|forward(?:ed|ing)?|creat(?:ed|e|ing)|open(?:ed|ing)?|rais(?:ed|e|ing)|logg?(?:ed)?|fil(?:ed|e)|submit(?:ted)?|pass(?:ed|ing)?|rout(?:ed|e)|assign(?:ed)?|connect(?:ed|ing)?|flagg?(?:ed)?|not(?:ed|e)|add(?:ed)?)\b[^.!?\n]{{0,60}}?\b(?:tickets?|case|escalation|team|queue|department|specialist|supervisor|manager|agent|tier \d)\b|\byour (?:ticket|case) (?:number|id|#|reference) is\b"
            )),
            escalation_tool: re(
                r"(?i)escalat|ticket|transfer|hand_?off|case|route|queue|support|agent|zendesk|jira",
            ),
            queue: re(
                r"(?i)\b(?:to|with|for) (?:our|the) ((?:[a-z]+[ -]){0,2}?[a-z]+) (?:team|queue|department|desk)\b",
            ),
            as_an_ai: re(concat!(
                r"(?i)\bas an? (?:ai|artificial intelligence|(?:large )?language model|llm|ai (?:model|assistant|language model))\b",
                r"|\bi(?:'m| am) (?:just |only |merely )?an? (?:ai|artificial intelligence|(?:large )?language model|llm|ai (?:model|assistant|language model))\b",
                r"|\bi (?:do not|don't) have (?:personal )?(?:feelings|emotions|opinions|a physical body)\b",
            )),
            queues: queues.map(|q| q.iter().map(|s| queue_key(s)).collect()),
        }
    }

    /// Every hit in `ex`'s assistant turns: the rule, the message index and the span matched.
    pub fn check(&self, ex: &Example, emit: &mut dyn FnMut(&'static str, usize, &str)) {
        let tools: Vec<String> = ex.tool_names().collect();
        let money_backed = tools.iter().any(|t| self.money_tool.is_match(t));
        let escalation_backed = tools.iter().any(|t| self.escalation_tool.is_match(t));
        for (i, m) in ex.messages.iter().enumerate() {
            if m.role != Role::Assistant || m.text.is_empty() {
                continue;
            }
            let text = m.text.as_str();
            if let Some(a) = self
                .apology
                .find_iter(text)
                .find(|a| !declined(&text[..a.start()]))
            {
                let complained = ex
                    .user_before(i)
                    .is_some_and(|u| self.complaint.is_match(&u.text));
                if !complained {
                    emit(APOLOGY, i, a.as_str());
                }
            }
            if !money_backed && let Some(c) = self.money.find(text) {
                emit(COMMITMENT, i, c.as_str());
            } else if tools.is_empty()
                && let Some(c) = self.deadline.find(text)
            {
                emit(COMMITMENT, i, c.as_str());
            }
            if let Some(e) = self.escalation.find(text) {
                if !escalation_backed {
                    emit(ESCALATION, i, e.as_str());
                } else if let Some(q) = self.unknown_queue(text, ex) {
                    emit(
                        ESCALATION,
                        i,
                        &format!("queue `{q}` is not an allowed queue"),
                    );
                }
            }
            if let Some(a) = self.as_an_ai.find(text) {
                emit(AS_AN_AI, i, a.as_str());
            }
        }
    }

    /// A queue the turn or the example's tool calls name that is not allowed.
    fn unknown_queue(&self, text: &str, ex: &Example) -> Option<String> {
        let allowed = self.queues.as_ref()?;
        let mut named: Vec<String> = self
            .queue
            .captures_iter(text)
            .filter_map(|c| c.get(1).map(|g| g.as_str().to_string()))
            .collect();
        for c in ex.messages.iter().flat_map(|m| &m.calls) {
            if let Ok(Value::Object(args)) = serde_json::from_str::<Value>(&c.arguments) {
                for key in ["queue", "team", "department", "group"] {
                    if let Some(Value::String(q)) = args.get(key) {
                        named.push(q.clone());
                    }
                }
            }
        }
        named.into_iter().find(|q| !allowed.contains(&queue_key(q)))
    }
}

/// Whether the text before an apology word declines one: "no need to apologise", "don't be
/// sorry" are not apologies.
fn declined(before: &str) -> bool {
    let tail = before.trim_end().to_ascii_lowercase();
    [
        "no need to",
        "nothing to",
        "don't need to",
        "do not need to",
        "don't be",
        "never",
    ]
    .iter()
    .any(|p| tail.ends_with(p))
}

/// "Billing Team", "billing_team", "billing-team" are one queue.
fn queue_key(q: &str) -> String {
    q.trim()
        .to_lowercase()
        .replace([' ', '_'], "-")
        .trim_end_matches("-team")
        .trim_end_matches("-queue")
        .to_string()
}
