use super::*;
use proptest::prelude::*;

const MIB: usize = 1024 * 1024;

/// Decodes `chunks` one after another; the events, the error if any, and what `finish`
/// dropped.
fn decode(chunks: &[&[u8]], max: usize) -> (Vec<SseEvent>, Option<SseError>, usize) {
    let mut d = SseDecoder::new(max);
    let mut out = Vec::new();
    for c in chunks {
        if let Err(e) = d.push(c, &mut out) {
            return (out, Some(e), 0);
        }
    }
    (out, None, d.finish())
}

fn events(input: &str) -> Vec<SseEvent> {
    let (events, err, _) = decode(&[input.as_bytes()], MIB);
    assert_eq!(err, None);
    events
}

fn ev(event: &str, data: &str, id: &str) -> SseEvent {
    SseEvent {
        event: event.to_string().into(),
        data: data.into(),
        id: id.into(),
    }
}

/// The event stream examples of the standard ("Interpreting an event stream").
#[test]
fn the_standards_examples() {
    assert_eq!(
        events("data: YHOO\ndata: +2\ndata: 10\n\n"),
        [ev("message", "YHOO\n+2\n10", "")]
    );
    let (got, err, dropped) = decode(
        &[
            b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n",
        ],
        MIB,
    );
    assert_eq!(
        got,
        [
            ev("message", "first event", "1"),
            // `id` without a value resets the last event id.
            ev("message", "second event", ""),
        ]
    );
    assert_eq!(err, None);
    // The third event has no blank line after it: it is not dispatched.
    assert_eq!(dropped, "data:  third event\n".len());
    // A field without a colon has an empty value; an event with empty data is dispatched.
    let (got, _, dropped) = decode(&[b"data\n\ndata\ndata\n\ndata:"], MIB);
    assert_eq!(got, [ev("message", "", ""), ev("message", "\n", "")]);
    assert_eq!(dropped, 5);
    // One space after the colon is removed, not more.
    assert_eq!(
        events("data:test\n\ndata: test\n\ndata:  test\n\n"),
        [
            ev("message", "test", ""),
            ev("message", "test", ""),
            ev("message", " test", "")
        ]
    );
}

#[test]
fn event_types_ids_comments_and_unknown_fields() {
    assert_eq!(
        events(
            "event: add\ndata: 1\n\n: a comment\nid: 7\ndata: 2\n\nretry: 10\nfoo: bar\ndata: 3\n\n"
        ),
        [
            ev("add", "1", ""),
            // The event type does not carry over; the id does.
            ev("message", "2", "7"),
            ev("message", "3", "7"),
        ]
    );
    // An id with NUL in it is ignored; an event without data is not dispatched but its type
    // is forgotten at the blank line.
    assert_eq!(
        events("id: 1\ndata: a\n\nid: 2\0\nevent: x\n\ndata: b\n\n"),
        [ev("message", "a", "1"), ev("message", "b", "1")]
    );
}

#[test]
fn every_line_ending_and_one_leading_bom() {
    let want = [ev("message", "a\nb", ""), ev("message", "c", "")];
    for text in [
        "data: a\ndata: b\n\ndata: c\n\n",
        "data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n",
        "data: a\rdata: b\r\rdata: c\r\r",
        "data: a\r\ndata: b\r\rdata: c\n\r\n",
        "\u{feff}data: a\ndata: b\n\ndata: c\n\n",
    ] {
        assert_eq!(events(text), want, "{text:?}");
    }
    // Only one BOM is ignored: a second one is part of the first line's field name.
    assert_eq!(
        events("\u{feff}\u{feff}data: a\n\ndata: c\n\n"),
        [ev("message", "c", "")]
    );
    // A BOM later in the stream is content.
    assert_eq!(
        events("data: \u{feff}a\n\n"),
        [ev("message", "\u{feff}a", "")]
    );
}

#[test]
fn a_crlf_split_between_chunks_ends_one_line() {
    let (got, err, _) = decode(&[b"data: a\r", b"\ndata: b\r", b"", b"\n\r", b"\n"], MIB);
    assert_eq!((got, err), (vec![ev("message", "a\nb", "")], None));
}

#[test]
fn bytes_that_are_not_utf8_are_replaced() {
    let (got, _, _) = decode(&[b"data: a\xff\xe2\x82\ndata: \xe2", b"\x82\xac\n\n"], MIB);
    assert_eq!(got, [ev("message", "a\u{fffd}\u{fffd}\n€", "")]);
}

#[test]
fn an_event_over_the_limit_is_an_error_after_the_events_before_it() {
    let event = "data: 0123456789\n\n"; // 18 bytes
    let (got, err, _) = decode(&[event.as_bytes(), event.as_bytes()], 18);
    assert_eq!((got.len(), err), (2, None), "exactly the limit is allowed");
    let big = "data: 01234567890\n\n";
    let input = format!("{event}{big}{event}");
    let (got, err, _) = decode(&[input.as_bytes()], 18);
    assert_eq!(got, [ev("message", "0123456789", "")]);
    assert_eq!(err, Some(SseError::EventTooLarge { limit: 18 }));
    // The limit counts comments and any field, not only data.
    let (_, err, _) = decode(&[b": ", &[b'x'; 40], b"\n"], 32);
    assert!(err.is_some());
    // And a line that has not ended yet.
    let mut d = SseDecoder::new(1000);
    let mut out = Vec::new();
    assert_eq!(d.push(&[b'x'; 1000], &mut out), Ok(()));
    let err = d.push(b"x", &mut out).unwrap_err();
    assert_eq!(err.to_string(), "a stream event is larger than 1000 bytes");
    // After an error the decoder stays stopped.
    assert_eq!(d.push(b"\n\ndata: a\n\n", &mut out), Err(err));
    assert!(out.is_empty());
}

/// A line that does not end, in chunks of 1 byte to 64 KiB: every byte is looked at a
/// bounded number of times, so a long line costs time in proportion to its length.
#[test]
fn a_long_line_is_scanned_in_linear_time() {
    let len = 50 * MIB;
    let line = vec![b'x'; len];
    let mut d = SseDecoder::new(64 * MIB);
    let mut out = Vec::new();
    d.push(b"data: ", &mut out).unwrap();
    let (mut at, mut size) = (0, 1usize);
    while at < len {
        let end = (at + size).min(len);
        d.push(&line[at..end], &mut out).unwrap();
        at = end;
        size = size * 7 % (64 * 1024) + 1;
    }
    d.push(b"\n\n", &mut out).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].data.len(), len);
    let total = (len + 8) as u64;
    assert!(
        d.bytes_scanned() <= 2 * total,
        "scanned {} bytes of a {total}-byte stream",
        d.bytes_scanned()
    );

    // One byte at a time, and then over the limit: stopped at the limit, having held no
    // more than it.
    let mut d = SseDecoder::new(MIB);
    let mut out = Vec::new();
    let mut fed = 0u64;
    let err = loop {
        fed += 1;
        if let Err(e) = d.push(b"y", &mut out) {
            break e;
        }
    };
    assert_eq!(err, SseError::EventTooLarge { limit: MIB });
    assert_eq!(fed, MIB as u64 + 1);
    assert!(d.bytes_scanned() <= 2 * fed);
}

/// The standard's algorithm, written plainly over the whole stream decoded at once.
fn reference(input: &[u8]) -> Vec<SseEvent> {
    let input = input.strip_prefix(BOM).unwrap_or(input);
    let text = String::from_utf8_lossy(input);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(std::mem::take(&mut line));
            }
            '\n' => lines.push(std::mem::take(&mut line)),
            c => line.push(c),
        }
    }
    let (mut out, mut data, mut kind, mut id) =
        (Vec::new(), String::new(), String::new(), String::new());
    for line in lines {
        if line.is_empty() {
            if !data.is_empty() {
                data.pop();
                out.push(ev(
                    if kind.is_empty() { "message" } else { &kind },
                    &data,
                    &id,
                ));
            }
            data.clear();
            kind.clear();
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (name, value) = match line.split_once(':') {
            Some((n, v)) => (n, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_str(), ""),
        };
        match name {
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "event" => kind = value.to_string(),
            "id" if !value.contains('\0') => id = value.to_string(),
            _ => {}
        }
    }
    out
}

/// Pieces that make up awkward streams: fields, separators, every line end, a BOM, NUL,
/// multi-byte characters and bytes that are not UTF-8.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(&b"data"[..]),
        Just(&b"data:"[..]),
        Just(&b"data: "[..]),
        Just(&b"event:"[..]),
        Just(&b"id: "[..]),
        Just(&b"retry: 3"[..]),
        Just(&b":"[..]),
        Just(&b" "[..]),
        Just(&b"\n"[..]),
        Just(&b"\r"[..]),
        Just(&b"\r\n"[..]),
        Just(&b"\n\n"[..]),
        Just(&b"ab"[..]),
        Just("é€".as_bytes()),
        Just(&b"\xef\xbb\xbf"[..]),
        Just(&b"\xef\xbb"[..]),
        Just(&b"\xff\xe2\x82"[..]),
        Just(&b"\0"[..]),
    ];
    prop::collection::vec(piece, 0..80).prop_map(|p| p.concat())
}

/// Cuts `input` into chunks of the given sizes (repeated, then 1), empty chunks included.
fn split<'a>(input: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::new();
    let mut at = 0;
    for s in sizes.iter().chain([&1]).cycle() {
        if at >= input.len() {
            break;
        }
        let end = (at + s).min(input.len());
        chunks.push(&input[at..end]);
        at = end;
    }
    chunks
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_split_gives_the_standards_events(input in stream(), sizes in prop::collection::vec(0usize..9, 1..12)) {
        let whole = decode(&[&input], MIB);
        prop_assert_eq!(&whole.0, &reference(&input));
        prop_assert_eq!(decode(&split(&input, &sizes), MIB), whole);
    }

    #[test]
    fn any_split_meets_the_limit_at_the_same_event(input in stream(), sizes in prop::collection::vec(0usize..9, 1..12), max in 1usize..40) {
        let whole = decode(&[&input], max);
        let (events, err, _) = decode(&split(&input, &sizes), max);
        prop_assert_eq!(&events, &whole.0);
        prop_assert_eq!(err, whole.1);
    }
}
