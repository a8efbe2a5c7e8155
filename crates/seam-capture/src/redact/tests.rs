//! Each pack on what it must redact and on near misses it must leave alone.

use super::{Kind, Redactor};
use proptest::prelude::*;
use seam_config::{Redact, RedactPack};

fn all() -> Redactor {
    let mut r: Vec<Redact> = RedactPack::ALL.into_iter().map(Redact::Pack).collect();
    r.push(Redact::Custom("TICKET-[0-9]{6}".into()));
    Redactor::new(&r).unwrap()
}

fn only(p: RedactPack) -> Redactor {
    Redactor::new(&[Redact::Pack(p)]).unwrap()
}

fn red(r: &Redactor, text: &str) -> String {
    r.redact(text).0.into_owned()
}

#[test]
fn provider_keys_are_always_redacted() {
    let r = Redactor::new(&[]).unwrap();
    for (text, want) in [
        (
            "key sk-proj-abcdefghijklmnopqrstuvwx1234 here",
            "key [key] here",
        ),
        ("sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz_-0123", "[key]"),
        (
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc.def",
            "Authorization: Bearer [key]",
        ),
        ("id AKIAIOSFODNN7EXAMPLE,", "id [key],"),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_access_key = [key]",
        ),
    ] {
        let (out, n) = r.redact(text);
        assert_eq!(out, want, "{text}");
        assert_eq!(n.get(Kind::Key), 1, "{text}");
    }
    for near in [
        "sk-short",
        "task-abcdefghijklmnopqrstuvwxyz0123",
        "the bearer of bad news",
        "AKIA1234",
        "AKIAIOSFODNN7EXAMPLEX",
        "email me at bob@example.com",
        "4111 1111 1111 1111",
    ] {
        assert_eq!(red(&r, near), near, "not by default: {near}");
    }
}

#[test]
fn email() {
    let r = only(RedactPack::Email);
    assert_eq!(
        red(&r, "write to Jane.Doe+x@mail.example.co.uk, or a@b.io."),
        "write to [email], or [email]."
    );
    for near in [
        "user@localhost",
        "@handle",
        "a@b.c",
        "not an email: x@",
        "foo@@bar.com",
    ] {
        assert_eq!(red(&r, near), near, "{near}");
    }
}

#[test]
fn card_only_when_luhn_valid() {
    let r = only(RedactPack::Card);
    let (out, n) = r.redact("pay 4111 1111 1111 1111 or 4111-1111-1111-1111 or 378282246310005");
    assert_eq!(out, "pay [card] or [card] or [card]");
    assert_eq!(n.get(Kind::Card), 3);
    assert_eq!(red(&r, "card 4111 1111 1111 1111 2026"), "card [card] 2026");
    for near in [
        "4111111111111112", // 16 digits failing Luhn
        "4111 1111 1111 1112",
        "order 41111111111111110", // 23 digits: part of a longer number
        "x4111111111111111",
        "1234",
    ] {
        assert_eq!(red(&r, near), near, "{near}");
    }
}

#[test]
fn iban_only_when_mod_97_valid() {
    let r = only(RedactPack::Iban);
    assert_eq!(
        red(&r, "to DE89 3704 0044 0532 0130 00 please"),
        "to [iban] please"
    );
    assert_eq!(red(&r, "GB82WEST12345698765432"), "[iban]");
    assert_eq!(red(&r, "GB82 WEST 1234 5698 7654 32 OK"), "[iban] OK");
    for near in [
        "DE89 3704 0044 0532 0130 01",
        "GB82WEST12345698765433",
        "XX12",
    ] {
        assert_eq!(red(&r, near), near, "{near}");
    }
}

#[test]
fn ip_v4_and_v6() {
    let r = only(RedactPack::Ip);
    assert_eq!(
        red(&r, "from 192.168.1.20, 2001:db8::8a2e:370:7334 and ::1."),
        "from [ip], [ip] and [ip]."
    );
    assert_eq!(red(&r, "host 10.0.0.1."), "host [ip].");
    for near in [
        "version 1.2.3.4.5",
        "999.1.1.1",
        "at 12:30:45",
        "Vec::new()",
        "oid 1.3.6.1.4.1",
        "1.10.0.0.1",
    ] {
        assert_eq!(red(&r, near), near, "{near}");
    }
}

#[test]
fn phone() {
    let r = only(RedactPack::Phone);
    for (text, want) in [
        ("call +1 415 555 0100 now", "call [phone] now"),
        ("call (415) 555-0100", "call [phone]"),
        ("+44 20 7946 0958", "[phone]"),
        ("415.555.0100", "[phone]"),
    ] {
        assert_eq!(red(&r, text), want, "{text}");
    }
    for near in [
        "on 2026-12-05",
        "order 4155550100",
        "ip 192.168.100.200",
        "v1.2.3",
        "12 345",
        "4111 1111 1111 1111",
    ] {
        assert_eq!(red(&r, near), near, "{near}");
    }
}

#[test]
fn custom_patterns_and_counts_per_kind() {
    let r = all();
    let (out, n) = r.redact(
        "TICKET-123456 from a@b.io (sk-abcdefghijklmnopqrstuvwxyz) and c@d.io, TICKET-12345",
    );
    assert_eq!(
        out,
        "[custom] from [email] ([key]) and [email], TICKET-12345"
    );
    assert_eq!(
        (n.get(Kind::Custom), n.get(Kind::Email), n.get(Kind::Key)),
        (1, 2, 1)
    );
    assert_eq!(n.total(), 4);
    assert_eq!(
        serde_json::to_string(&n).unwrap(),
        r#"{"key":1,"email":2,"custom":1}"#
    );
    assert!(Redactor::new(&[Redact::Custom("(".into())]).is_err());
    let grouped = Redactor::new(&[Redact::Custom(r"id=([0-9]+)".into())]).unwrap();
    assert_eq!(
        red(&grouped, "see id=42."),
        "see [custom].",
        "a custom match is redacted whole"
    );
    let text = "nothing to see";
    assert!(matches!(r.redact(text).0, std::borrow::Cow::Borrowed(_)));
}

#[test]
fn markers_in_the_text_are_left_as_they_are() {
    let r = Redactor::new(&[
        Redact::Custom(r"\[?custom\]?".into()),
        Redact::Pack(RedactPack::Email),
    ])
    .unwrap();
    let (out, n) = r.redact("[custom] [email] custom");
    assert_eq!(out, "[custom] [email] [custom]");
    assert_eq!(n.total(), 1);
}

/// Text made of pieces that look like secrets, near misses and glue.
fn pieces() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("a@b.io".to_string()),
        Just("4111 1111 1111 1111".to_string()),
        Just("4111111111111112".to_string()),
        Just("DE89 3704 0044 0532 0130 00".to_string()),
        Just("192.168.1.20".to_string()),
        Just("2001:db8::1".to_string()),
        Just("+1 415 555 0100".to_string()),
        Just("sk-abcdefghijklmnopqrstuvwxyz".to_string()),
        Just("Bearer abcdefghijklmnopqrstu".to_string()),
        Just("AKIAIOSFODNN7EXAMPLE".to_string()),
        Just("TICKET-123456".to_string()),
        Just("[email]".to_string()),
        "[ .,:@+\\-\\[\\]0-9A-Za-z]{0,6}",
        "\\PC{0,8}",
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn redacting_twice_is_redacting_once(text in pieces()) {
        let r = all();
        let once = red(&r, &text);
        prop_assert_eq!(red(&r, &once), once);
    }

    #[test]
    fn any_text_is_redacted_without_panic(text in "\\PC{0,300}") {
        let r = all();
        let (once, _) = r.redact(&text);
        prop_assert_eq!(red(&r, &once), once.into_owned());
    }
}

/// Inputs shaped to make a backtracking matcher blow up stay linear: 1 MiB of each takes
/// well under a second here (debug build); quadratic would take minutes. The bound is loose
/// for a shared machine.
#[test]
fn adversarial_text_is_redacted_in_linear_time() {
    let r = all();
    let started = std::time::Instant::now();
    for unit in [
        "1", "a@", "1.", "a:", "12 ", "a@b.io ", "sk-", "AKIA", "DE89 ", "+1 ",
    ] {
        let text = unit.repeat((1 << 20) / unit.len());
        let (out, _) = r.redact(&text);
        assert!(out.len() <= text.len() * 2);
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

/// The redactor searching every pattern over every whole text, as before windows.
fn whole_text(r: Redactor) -> Redactor {
    Redactor {
        whole_text: true,
        ..r
    }
}

/// Pieces near every pack's edges, glued with the bytes their windows are made of.
fn edges() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("ana.souza@example.com".to_string()),
        Just("+1 415 555 0199".to_string()),
        Just("(415) 555-0100".to_string()),
        Just("4111-1111-1111-1111".to_string()),
        Just("378282246310005".to_string()),
        Just("GB82 WEST 1234 5698 7654 32".to_string()),
        Just("GB82WEST12345698765432".to_string()),
        Just("10.0.0.1".to_string()),
        Just("1.2.3.4.5".to_string()),
        Just("::1".to_string()),
        Just("fe80::1%eth0".to_string()),
        Just("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_string()),
        Just(
            "\u{17f}ecret_acce\u{17f}\u{17f}_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'"
                .to_string()
        ),
        Just("BEARER abcdefghijklmnop".to_string()),
        Just("ASIAIOSFODNN7EXAMPLE".to_string()),
        Just("[ip][card][phone]".to_string()),
        "[0-9 .+\\-()]{0,24}",
        "[0-9A-Z ]{0,24}",
        "[0-9a-fA-F:.]{0,16}",
        "[a-z0-9._%+\\-@]{0,16}",
        "[ \t:='\"A-Za-z0-9/+]{0,48}",
        "\\PC{0,8}",
    ];
    proptest::collection::vec(piece, 0..10).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn windows_find_what_searching_the_whole_text_finds(text in edges()) {
        let fast = all();
        let reference = whole_text(all());
        prop_assert_eq!(fast.redact(&text), reference.redact(&text));
    }

    #[test]
    fn windows_find_the_same_in_pieces_and_any_text(a in pieces(), b in "\\PC{0,200}") {
        let fast = all();
        let reference = whole_text(all());
        prop_assert_eq!(fast.redact(&a), reference.redact(&a));
        prop_assert_eq!(fast.redact(&b), reference.redact(&b));
    }

    #[test]
    fn markers_are_found_as_a_pattern_of_them_finds_them(
        text in proptest::collection::vec(
            prop_oneof![Just("[ip]".to_string()), Just("[iban]".to_string()), "[\\[\\]a-z ]{0,6}"],
            0..12,
        ).prop_map(|v| v.concat())
    ) {
        let pattern = Kind::ALL.map(|k| regex::escape(k.marker())).join("|");
        let re = regex::Regex::new(&pattern).unwrap();
        let want: Vec<(usize, usize)> = re.find_iter(&text).map(|m| (m.start(), m.end())).collect();
        let got: Vec<(usize, usize)> = super::markers(&text).collect();
        prop_assert_eq!(got, want);
    }
}

/// Each pack alone, on the benchmark's text and near misses: windows change nothing.
#[test]
fn each_pack_alone_finds_what_the_whole_text_search_finds() {
    let texts = [
        "Customer ana.souza@example.com (phone +1 415 555 0199, card 4111 1111 1111 1111) asks",
        "to DE89 3704 0044 0532 0130 00 please, or GB82WEST12345698765432.",
        "from 192.168.1.20, 2001:db8::8a2e:370:7334 and ::1; version 1.2.3.4.5",
        "call (415) 555-0100 or +44 20 7946 0958, order 41111111111111110",
    ];
    for p in RedactPack::ALL {
        for t in texts {
            assert_eq!(
                only(p).redact(t),
                whole_text(only(p)).redact(t),
                "{p:?}: {t}"
            );
        }
    }
}

type Spans = Vec<(usize, usize)>;

fn matches_of(re: &str, text: &str) -> Spans {
    regex::Regex::new(re)
        .unwrap()
        .find_iter(text)
        .map(|m| (m.start(), m.end()))
        .collect()
}

/// What `find_iter` over a matcher written by hand finds in `text`, and every match of `re`.
fn both(re: &str, at: crate::scan::MatchAt, text: &str) -> (Spans, Spans) {
    let want = matches_of(re, text);
    let mut got = Vec::new();
    let mut p = 0;
    while p < text.len() {
        match at(text.as_bytes(), p) {
            Some(e) => {
                got.push((p, e));
                p = e;
            }
            None => p += 1,
        }
    }
    (got, want)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_card_matcher_matches_as_its_pattern(text in "[0-9 \\-]{0,40}") {
        let (got, want) = both(crate::packs::card().re.as_str(), crate::scan::card_at, &text);
        prop_assert_eq!(got, want);
    }

    #[test]
    fn the_phone_matcher_matches_as_its_pattern(text in "[0-9 +.\\-()]{0,40}") {
        let (got, want) = both(crate::packs::phone().re.as_str(), crate::scan::phone_at, &text);
        prop_assert_eq!(got, want);
    }

    #[test]
    fn the_phone_matcher_matches_as_its_pattern_on_digits(
        text in proptest::collection::vec(prop_oneof!["[0-9]{1,5}", "[ +.\\-()]"], 0..14).prop_map(|v| v.concat())
    ) {
        let (got, want) = both(crate::packs::phone().re.as_str(), crate::scan::phone_at, &text);
        prop_assert_eq!(got, want);
    }
}

/// A secret glued to one another pack redacts is found by the next pass, which searches only
/// next to the markers the last one put in: before, after, and between two of them.
#[test]
fn a_later_pass_finds_what_a_marker_freed_on_either_side() {
    let r = all();
    for (text, want) in [
        ("TICKET-123456a@b.io", "[custom][email]"),
        ("x a@b.ioTICKET-123456 y", "x [email][custom] y"),
        (
            "TICKET-1234564111 1111 1111 1111 and TICKET-123456",
            "[custom][card] and [custom]",
        ),
        (
            "TICKET-123456192.168.1.20TICKET-654321",
            "[custom][ip][custom]",
        ),
    ] {
        assert_eq!(red(&r, text), want, "{text}");
        assert_eq!(r.redact(text), whole_text(all()).redact(text), "{text}");
    }
}

/// A text holding only a pack's smallest secret is still searched: the text-wide checks that
/// skip a pack (13 digits for a card, 10 for a phone, two capitals and two digits for an
/// IBAN, a digit, a dot and a digit for an IPv4 address) never skip one it has.
#[test]
fn a_text_holding_only_the_smallest_secret_is_still_searched() {
    for (pack, text, want) in [
        (RedactPack::Card, "4222222222222", "[card]"),
        (RedactPack::Phone, "415.555.0100", "[phone]"),
        (RedactPack::Phone, "(415)5550100", "[phone]"),
        (RedactPack::Iban, "GB82WEST12345698765432", "[iban]"),
        (RedactPack::Ip, "1.2.3.4", "[ip]"),
    ] {
        assert_eq!(red(&only(pack), text), want, "{pack:?}: {text}");
    }
}

/// Every match of `re` in `text`, and what a search written by hand finds, from where each
/// match ends.
fn both_found(re: &str, find: crate::scan::Find, text: &str) -> (Spans, Spans) {
    let want = matches_of(re, text);
    let mut got = Vec::new();
    let mut p = 0;
    while let Some((s, e)) = find(text.as_bytes(), p) {
        assert!(s >= p && e > s, "{text:?}: {s}..{e} from {p}");
        got.push((s, e));
        p = e;
    }
    (got, want)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn the_email_matcher_matches_as_its_pattern(
        text in proptest::collection::vec(
            prop_oneof!["[a-zA-Z]{1,30}", "[0-9]{1,3}", "[@.\\-_%+ ]", "\\PC", Just("@".to_string()), Just(".".to_string())],
            0..24,
        ).prop_map(|v| v.concat())
    ) {
        let (got, want) = both_found(crate::packs::email().re.as_str(), crate::scan::email_find, &text);
        prop_assert_eq!(got, want);
    }
}

#[test]
fn the_email_matcher_matches_as_its_pattern_at_its_edges() {
    let long = format!("a@b.{}x", "c".repeat(30));
    for text in [
        "a@b.io",
        "x@1.2@ab.cd",
        "x@foo.bar@baz.com",
        "a@b.c",
        "a@b.com2x.de9",
        "a@b.co.2x",
        "@b.io",
        "a@@b.io",
        "a.b@c-d.e-f.gh-ij",
        "ä@b.io, é.x@y.zz",
        long.as_str(),
    ] {
        let (got, want) = both_found(
            crate::packs::email().re.as_str(),
            crate::scan::email_find,
            text,
        );
        assert_eq!(got, want, "{text}");
    }
}
