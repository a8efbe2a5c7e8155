//! The pre-tokenizer: text cut into the pieces BPE encodes one by one, as tiktoken's pattern
//! cuts it, without a backtracking engine.
//!
//! tiktoken's patterns need look-ahead for one alternative, `\s+(?!\S)`: a run of whitespace
//! not followed by a non-space, i.e. the whole run at the end of the text, else the run less
//! its last character when at least two. Here that alternative is `\s+$` (at its place in the
//! first pattern), then a second pattern `\s+\s` whose last character is a look-ahead: the
//! piece ends before it. The patterns are searched as one automaton, earlier ones preferred
//! (leftmost-first, as alternation), which tells which one matched. The rest of tiktoken's
//! patterns are plain regular expressions; their possessive quantifiers (cl100k) never give
//! back anything a later part could use, so greedy ones match the same.

use regex_automata::meta::{BuildError, Regex};
use regex_automata::{Anchored, Input};

pub struct Splitter {
    re: Regex,
    /// Per pattern: its last character is a look-ahead, not part of the piece.
    lookahead: Vec<bool>,
}

impl Splitter {
    pub fn new(patterns: &[(&str, bool)]) -> Result<Splitter, Box<BuildError>> {
        let re = Regex::new_many(&patterns.iter().map(|p| p.0).collect::<Vec<_>>())?;
        Ok(Splitter {
            re,
            lookahead: patterns.iter().map(|p| p.1).collect(),
        })
    }

    pub fn pieces<'t>(&'t self, text: &'t str) -> Pieces<'t> {
        Pieces {
            splitter: self,
            text,
            at: 0,
        }
    }
}

pub struct Pieces<'t> {
    splitter: &'t Splitter,
    text: &'t str,
    at: usize,
}

impl<'t> Iterator for Pieces<'t> {
    type Item = &'t str;

    fn next(&mut self) -> Option<&'t str> {
        if self.at >= self.text.len() {
            return None;
        }
        let re = &self.splitter.re;
        let input = Input::new(self.text).range(self.at..);
        // A piece starts where the last ended (anchored: no reverse scan for the start).
        // tiktoken's own search is unanchored, so text no pattern matches is skipped, as
        // there; its patterns match every character, but stay exact if one does not.
        let found = re
            .search(&input.clone().anchored(Anchored::Yes))
            .or_else(|| re.search(&input))?;
        let mut end = found.end();
        if self.splitter.lookahead[found.pattern().as_usize()] {
            let last = self.text[found.start()..end].chars().next_back();
            end -= last.map_or(0, char::len_utf8);
        }
        // No pattern matches empty; were one to, stop rather than loop.
        if end <= found.start() {
            self.at = self.text.len();
            return None;
        }
        self.at = end;
        Some(&self.text[found.start()..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lookahead_pattern_leaves_its_last_character_to_the_next_piece() {
        let s = Splitter::new(&[(r"\w+|\s+$", false), (r"\s+\s", true), (r"\s+", false)])
            .expect("valid patterns");
        let pieces: Vec<_> = s.pieces("ab   cd \u{3000}e  ").collect();
        // A run before a word keeps its last space for the next piece; a multi-byte space
        // as the look-ahead is dropped whole; a run at the end is one piece.
        let want = ["ab", "  ", " ", "cd", " ", "\u{3000}", "e", "  "];
        assert_eq!(pieces, want);
    }

    #[test]
    fn text_no_pattern_matches_is_skipped() {
        let s = Splitter::new(&[("a+", false)]).expect("valid pattern");
        assert_eq!(s.pieces("xxaayay").collect::<Vec<_>>(), ["aa", "a"]);
    }
}
