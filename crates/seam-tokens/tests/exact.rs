//! Every count equals tiktoken-rs's `encode_ordinary(text).len()`, for both encodings: on a
//! fixed corpus chosen for the pattern's edges and the merge order's, and on generated text.

use proptest::prelude::*;
use seam_tokens::{Counter, Encoding, counter};
use tiktoken_rs::CoreBPE;

fn ours(e: Encoding) -> &'static Counter {
    counter(e).expect("the embedded vocabulary loads")
}

fn reference(e: Encoding) -> &'static CoreBPE {
    match e {
        Encoding::O200kBase => tiktoken_rs::o200k_base_singleton(),
        Encoding::Cl100kBase => tiktoken_rs::cl100k_base_singleton(),
    }
}

const BOTH: [Encoding; 2] = [Encoding::O200kBase, Encoding::Cl100kBase];

fn check(text: &str) -> Result<(), String> {
    for e in BOTH {
        let want = reference(e).encode_ordinary(text).len();
        let got = ours(e).count(text);
        if got != want {
            return Err(format!(
                "{e:?}: {got} tokens, tiktoken {want}, for {text:?}"
            ));
        }
    }
    Ok(())
}

fn corpus() -> Vec<String> {
    let mut texts: Vec<String> = [
        "",
        "hello world",
        "Hello, World! HELLO world. hELLO wOrLd",
        "I'm sure they'll've done it; WE'RE SURE THEY'LL. It's John's. o'clock 'tis",
        "CamelCaseIdentifiers andMixedCASEWords XMLHttpRequest iPhone McDonald's",
        "Numbers: 1 12 123 1234 12345 3.14159 -42 1,000,000 ١٢٣٤ ٣٫١٤ Ⅻ ½ ²³",
        "东京是日本的首都。我喜欢学习中文，尤其是汉字！",
        "日本語のテキスト、カタカナとひらがなと漢字。ｶﾀｶﾅ",
        "한국어 텍스트입니다. 안녕하세요!",
        "مرحبا بالعالم، هذا نص عربي مع تشكيل: مَرْحَبًا",
        "नमस्ते दुनिया, यह हिंदी पाठ है। क्षत्रिय",
        "Привет, мир! Съешь же ещё этих мягких французских булок.",
        "Γειά σου Κόσμε· ΑΒΓ αβγ",
        "สวัสดีชาวโลก ภาษาไทยไม่มีช่องว่าง",
        "e\u{301}te\u{301} cafe\u{301} n\u{303}o Z\u{308}a\u{308}",
        "emoji 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇩🇪🇯🇵 ❤️ ✨🙏 🏳️‍🌈",
        "fn main() {\n    let x: Vec<u8> = vec![1, 2, 3];\n    println!(\"{x:?}\");\n}\n",
        "def f(a, b=2, *args, **kw):\n\treturn {'a': a, \"b\": b}  # comment\n\n\n",
        "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\\n\"}]}",
        "<div class=\"x\">&amp;&lt;/div&gt;</div> https://example.com/a/b?c=d&e=f#g",
        "path/to/file.rs:12:34 C:\\Users\\me\\file.txt ../../etc/passwd //comment /* */",
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n- item\n  - nested\n> quote",
        "<|endoftext|> <|fim_prefix|> <|endofprompt|>",
        "tabs\t\tand\t \tspaces   mixed \t\n\t\n  \r\n\r\n \u{a0}nbsp\u{3000}ideographic\u{2003}em",
        "trailing spaces   ",
        "trailing newline and spaces\n   ",
        "trailing newlines\n\n\n",
        "   leading spaces",
        "\n",
        " ",
        "\r\n",
        "  \n  \n  x",
        "a\u{200b}b\u{feff}c\u{200d}d",
        "!!!??? ...--- ''' \"\"\" ((( ))) /// \\\\ ~~~ ^^^",
        "'s 's' 'S 'Ll 'LL 've'VE 'd'D 'm 're's",
        "\u{1}\u{2}\u{7f}\u{80}\u{ff}\u{fffd}\u{10ffff}",
        "ǅungla ǈ ǋ ᾈ Ꭰ ꭰ ß ẞ ﬁ ﬀ İstanbul ıi",
        "x\u{300}\u{301}\u{302}\u{303}\u{304}\u{305}\u{306}\u{307}\u{308}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Long runs: pieces far past the merge scan's length (the heap path), and runs that
    // the pattern cuts in many places.
    for (unit, n) in [
        ("a", 5_000),
        ("ab", 1_000),
        ("A", 3_000),
        ("=", 700),
        ("-", 120),
        ("9", 1_001),
        (" ", 2_000),
        ("\n", 500),
        ("\t ", 300),
        ("é", 400),
        ("中", 600),
        ("😀", 200),
        ("abc ", 500),
        (".,", 400),
    ] {
        texts.push(unit.repeat(n));
        texts.push(format!("x{}y", unit.repeat(n)));
    }
    texts.push(
        "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODk="
            .repeat(20),
    );
    texts.push("supercalifragilisticexpialidocious".repeat(30));
    texts.push("ThisIsAVeryLongIdentifierWithCamelCase".repeat(25));
    texts
}

#[test]
fn the_corpus_counts_as_tiktoken_counts_it() {
    let failures: Vec<String> = corpus().iter().filter_map(|t| check(t).err()).collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn a_kilobyte_chat_message_counts_as_tiktoken_counts_it() {
    let message = include_str!("../examples/message.txt");
    assert_eq!(message.len(), 1024);
    assert_eq!(check(message), Ok(()));
}

/// Fragments at the patterns' edges: each kind of space and line end, case changes,
/// apostrophes, marks, digits, symbols, scripts.
const FRAGMENTS: &[&str] = &[
    " ", "  ", "\t", "\n", "\r", "\r\n", "\u{a0}", "\u{3000}", "\u{2028}", "\u{b}", "\u{c}", "a",
    "Z", "the", "The", "THE", "ǅ", "ß", "'", "'s", "'S", "'ll", "'VE", "'d", "'t", "’", "\u{301}",
    "\u{64e}", "\u{93f}", "0", "12", "345", "٣", "½", ".", ",", "!", "?", "/", "//", "\\", "-",
    "_", "(", ")", "{", "}", "\"", "<|", "|>", "中", "文", "日本", "カ", "한", "ب", "अ", "ж", "Ω",
    "ไ", "😀", "👍🏽", "‍", "🇩🇪", "\u{fe0f}", "\u{200b}", "\u{0}",
];

fn fragments() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..40).prop_map(|v| v.concat())
}

/// Text made of real tokens, glued without spaces: merges across token boundaries.
fn tokens(e: Encoding) -> impl Strategy<Value = String> {
    let top = match e {
        Encoding::O200kBase => 199_998u32,
        Encoding::Cl100kBase => 100_256,
    };
    prop::collection::vec(0..top, 1..30).prop_map(move |ranks| {
        let bytes = reference(e).decode_bytes(&ranks).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn any_text_counts_as_tiktoken_counts_it(text in any::<String>()) {
        prop_assert_eq!(check(&text), Ok(()));
    }

    #[test]
    fn edge_fragments_count_as_tiktoken_counts_them(text in fragments()) {
        prop_assert_eq!(check(&text), Ok(()));
    }

    #[test]
    fn glued_o200k_tokens_count_as_tiktoken_counts_them(text in tokens(Encoding::O200kBase)) {
        prop_assert_eq!(check(&text), Ok(()));
    }

    #[test]
    fn glued_cl100k_tokens_count_as_tiktoken_counts_them(text in tokens(Encoding::Cl100kBase)) {
        prop_assert_eq!(check(&text), Ok(()));
    }

    #[test]
    fn long_words_count_as_tiktoken_counts_them(text in "[a-zA-Z]{90,400}|[a-z]{90,400}|[ \t\n]{50,300}") {
        prop_assert_eq!(check(&text), Ok(()));
    }
}

#[test]
fn the_vocabularies_are_whole() {
    assert_eq!(ours(Encoding::O200kBase).vocabulary_len(), 199_998);
    assert_eq!(ours(Encoding::Cl100kBase).vocabulary_len(), 100_256);
}
