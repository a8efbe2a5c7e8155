//! A bound on the length of each template tag, checked before MiniJinja sees the template.
//!
//! MiniJinja parses a chain of operators in one expression (`x|f|f|…`, `1+1+…`, `a.b.c…`,
//! `not not …`) into a tree one level deeper per operator, and compiling, walking and
//! dropping that tree recurse once per level: some 5,000 levels overflow a 2 MiB thread stack
//! and abort the whole process (found by the `render` fuzz target). Its parser bounds
//! nesting by brackets and blocks, not these chains; a chain lives within one tag, so Seam
//! bounds the tag.

/// The most bytes one `{{ … }}` or `{% … %}` tag may have: at most ~500 chained operators,
/// a tenth of what overflows a 2 MiB stack in a release build.
pub const MAX_TAG_LEN: usize = 1000;

/// Refuses a template with a tag longer than [`MAX_TAG_LEN`], naming its line. A tag ends
/// where MiniJinja's lexer ends it: at `}}` or `%}` outside string literals and outside
/// brackets (so a stray `)` runs it to the end of the template, as it does for MiniJinja).
/// `{% raw %}` blocks are scanned like the rest, which can only refuse more.
pub fn check_tags(template: &str) -> Result<(), String> {
    let b = template.as_bytes();
    let mut i = 0;
    while i + 1 < b.len() {
        let opens = b[i] == b'{' && matches!(b[i + 1], b'{' | b'%' | b'#');
        if !opens {
            i += 1;
            continue;
        }
        let start = i;
        let end = if b[i + 1] == b'#' {
            find(b, i + 2, b"#}")
        } else {
            tag_end(b, i + 2)
        };
        let len = end.min(b.len()) - start;
        if b[start + 1] != b'#' && len > MAX_TAG_LEN {
            let line = 1 + b[..start].iter().filter(|c| **c == b'\n').count();
            return Err(format!(
                "line {line}: a tag of {len} characters, more than the {MAX_TAG_LEN} a tag may have \
                 (each operator in a tag nests the template one level deeper)"
            ));
        }
        i = end.saturating_add(2);
    }
    Ok(())
}

/// Where `needle` starts at or after `from` (the end of `b` when it does not).
fn find(b: &[u8], from: usize, needle: &[u8]) -> usize {
    b.get(from..)
        .and_then(|rest| rest.windows(needle.len()).position(|w| w == needle))
        .map_or(b.len(), |p| from + p)
}

/// Where the tag whose body starts at `from` closes (its `}}` or `%}`), or the end of `b`.
fn tag_end(b: &[u8], from: usize) -> usize {
    let mut depth: isize = 0;
    let mut quote: Option<u8> = None;
    let mut i = from;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            if c == b'\\' {
                i += 1;
            } else if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match c {
            b'\'' | b'"' => quote = Some(c),
            b'}' | b'%' if depth == 0 && b.get(i + 1) == Some(&b'}') => return i,
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_measured_where_minijinja_ends_them() {
        assert!(check_tags("Hi {{ name | upper }}, {% if x %}yes{% endif %} {# c #}").is_ok());
        let long = format!("a\nb {{{{ x{} }}}}", "|upper".repeat(200));
        let e = check_tags(&long).unwrap_err();
        assert!(e.starts_with("line 2: a tag of 1205 characters"), "{e}");
        // Neither a `}}` in a string nor one closing a dict ends the tag early.
        let hidden = format!("{{{{ {{'a': {{'b': '}}}}'}}}}{} }}}}", "|upper".repeat(200));
        assert!(check_tags(&hidden).is_err());
        // A comment is not a tag, however long.
        assert!(check_tags(&format!("{{# {} #}}", "x".repeat(5000))).is_ok());
        // A stray `)` runs the tag to the end, as in MiniJinja's lexer.
        let stray = format!("{{{{ x) }}}}{}", " text".repeat(300));
        assert!(check_tags(&stray).is_err());
    }
}
