//! Each signal on small hand-made sessions, and the inputs that must not break a scan.

use crate::{Options, Signal, Turn, scan, signals, tool_error};

fn chat(id: &str, session: &str, at_s: i64, text: &str) -> Turn {
    Turn {
        call_id: id.into(),
        session: Some(session.into()),
        at_ms: at_s * 1000,
        user_text: Some(text.into()),
        request_hash: Some(format!("h-{id}")),
        outcome: "ok".into(),
        answer_empty: Some(false),
        ..Turn::default()
    }
}

fn flagged(turns: &[Turn]) -> Vec<(String, Signal)> {
    signals(turns, &Options::default())
        .into_iter()
        .map(|f| (f.call_id, f.signal))
        .collect()
}

fn pairs(list: &[(&str, Signal)]) -> Vec<(String, Signal)> {
    list.iter().map(|(c, s)| (c.to_string(), *s)).collect()
}

#[test]
fn rephrase_needs_the_same_session_the_window_and_different_text() {
    let a = chat("a", "s", 0, "How do I export my invoices to CSV?");
    let b = chat("b", "s", 60, "how can i export invoices as a csv file");
    assert_eq!(
        flagged(&[b.clone(), a.clone()]),
        pairs(&[("a", Signal::Rephrase)]),
        "any input order"
    );
    let late = Turn {
        at_ms: 200_000,
        ..b.clone()
    };
    assert!(
        flagged(&[a.clone(), late]).is_empty(),
        "after rephrase_secs"
    );
    let other = Turn {
        session: Some("s2".into()),
        ..b.clone()
    };
    assert!(flagged(&[a.clone(), other]).is_empty(), "another session");
    let same = Turn {
        user_text: Some("how do i EXPORT my invoices to csv".into()),
        ..b.clone()
    };
    assert_eq!(
        flagged(&[a.clone(), same]),
        pairs(&[("a", Signal::Regenerate)]),
        "the same question, normalized"
    );
    let different = chat("b", "s", 60, "what is the capital of peru");
    assert!(flagged(&[a, different]).is_empty());
}

#[test]
fn regenerate_is_the_same_request_hash_in_the_window() {
    let a = chat("a", "s", 0, "hello");
    let b = Turn {
        request_hash: a.request_hash.clone(),
        ..chat("b", "s", 30, "hello")
    };
    assert_eq!(
        flagged(&[a.clone(), b.clone()]),
        pairs(&[("a", Signal::Regenerate)])
    );
    let no_text = |t: &Turn| Turn {
        user_text: None,
        ..t.clone()
    };
    assert_eq!(
        flagged(&[no_text(&a), no_text(&b)]),
        pairs(&[("a", Signal::Regenerate)]),
        "metadata only"
    );
    let late = Turn {
        at_ms: 500_000,
        ..no_text(&b)
    };
    assert!(flagged(&[no_text(&a), late]).is_empty());
}

#[test]
fn abandon_after_a_failed_last_call_once_idle_and_on_client_close() {
    let a = chat("a", "s", 0, "first question here");
    let b = Turn {
        outcome: "error".into(),
        ..chat("b", "s", 30, "a different second one")
    };
    assert!(
        flagged(&[a.clone(), b.clone()]).is_empty(),
        "the session may still go on"
    );
    let opts = Options {
        now_ms: Some(30_000 + 600_000),
        ..Options::default()
    };
    let out = scan(&[a.clone(), b.clone()], &opts);
    assert_eq!(out.flags.len(), 1);
    assert_eq!(
        (out.flags[0].call_id.as_str(), out.flags[0].signal),
        ("b", Signal::Abandon)
    );
    assert_eq!(out.flags[0].evidence, "session ended after outcome error");
    // An error the user got past is no abandon.
    let c = chat("c", "s", 60, "a third one after the error");
    assert!(scan(&[a.clone(), b, c], &opts).flags.is_empty());
    let empty = Turn {
        answer_empty: Some(true),
        ..chat("e", "s", 30, "x y")
    };
    let out = scan(&[a.clone(), empty], &opts);
    assert_eq!(out.flags[0].evidence, "session ended after an empty answer");
    let closed = Turn {
        client_closed: true,
        ..chat("k", "s", 10, "z")
    };
    assert!(flagged(&[a, closed]).contains(&("k".to_string(), Signal::Abandon)));
}

#[test]
fn refusal_truncated_and_tool_error_are_per_call() {
    let r = Turn {
        refusal: Some(true),
        ..chat("r", "s1", 0, "q")
    };
    let t = Turn {
        finish_reason: Some("length".into()),
        ..chat("t", "s2", 0, "q")
    };
    let ok = Turn {
        finish_reason: Some("stop".into()),
        refusal: Some(false),
        ..chat("o", "s3", 0, "q")
    };
    let e = Turn {
        tool_results: vec!["fine".into(), r#"{"error":"nope"}"#.into()],
        ..chat("e", "s4", 0, "q")
    };
    let opts = Options {
        now_ms: Some(0),
        ..Options::default()
    };
    let out = scan(&[r, t, ok, e], &opts);
    let got: Vec<_> = out
        .flags
        .iter()
        .map(|f| (f.call_id.as_str(), f.signal, f.evidence.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("e", Signal::ToolError, "tool result 2 of 2: JSON error key"),
            ("r", Signal::Refusal, "the model refused"),
            ("t", Signal::Truncated, "finish reason length"),
        ]
    );
}

#[test]
fn tool_error_rule() {
    for bad in [
        r#"{"error": "not found"}"#,
        r#" {"error": {"code": 1}} "#,
        r#"{"isError": true}"#,
        r#"{"status_code": 502}"#,
        "Error: connection refused",
        "ERROR - disk full",
        "Exception in thread main",
        "Traceback (most recent call last):",
        "KeyError: 'id'",
        "java.io.IOException: closed",
        "HTTP/1.1 404 Not Found",
        "HTTP/2 500",
        "503 Service Unavailable",
    ] {
        assert!(tool_error(bad).is_some(), "{bad:?} is an error");
    }
    for good in [
        r#"{"error": null, "items": []}"#,
        r#"{"error": ""}"#,
        r#"{"status": 200}"#,
        "404 results found",
        "No errors found",
        "errors: 0",
        "error",
        "",
        "{not json: error}",
        "the error rate is 2%",
    ] {
        assert!(tool_error(good).is_none(), "{good:?} is no error");
    }
}

#[test]
fn loop_is_the_same_tool_and_arguments_in_one_trace() {
    let call = |id: &str, trace: &str, at: i64, args: &str| Turn {
        call_id: id.into(),
        trace: Some(trace.into()),
        at_ms: at,
        outcome: "ok".into(),
        tool_calls: vec![("search".into(), args.into())],
        ..Turn::default()
    };
    let same = [
        call("1", "t", 1, r#"{"a":1,"b":2}"#),
        call("2", "t", 2, r#"{ "b": 2, "a": 1 }"#),
        call("3", "t", 3, r#"{"a":1,"b":2}"#),
    ];
    let out = scan(&same, &Options::default());
    assert_eq!(out.flags.len(), 1);
    assert_eq!(
        (out.flags[0].call_id.as_str(), out.flags[0].signal),
        ("3", Signal::Loop)
    );
    assert_eq!(
        out.flags[0].evidence,
        "tool search called 3 times with the same arguments in one trace"
    );
    let other_args = [
        call("1", "t", 1, r#"{"a":1}"#),
        call("2", "t", 2, r#"{"a":2}"#),
        call("3", "t", 3, r#"{"a":1}"#),
    ];
    assert!(flagged(&other_args).is_empty());
    let other_traces = [
        call("1", "t1", 1, "{}"),
        call("2", "t2", 2, "{}"),
        call("3", "t3", 3, "{}"),
    ];
    assert!(flagged(&other_traces).is_empty());
}

#[test]
fn coverage_says_what_could_not_be_computed() {
    let a = Turn {
        user_text: None,
        ..chat("a", "s", 0, "")
    };
    let b = Turn {
        user_text: None,
        request_hash: None,
        session: None,
        ..chat("b", "s", 0, "")
    };
    let c = chat("c", "s", 10, "with text");
    let cov = scan(&[a, b, c], &Options::default()).coverage;
    assert_eq!(
        (cov.turns, cov.text_turns, cov.metadata_only_turns),
        (3, 1, 2)
    );
    let reasons: Vec<_> = cov
        .unchecked
        .iter()
        .map(|u| (u.signal, u.turns, u.reason))
        .collect();
    assert!(
        reasons.contains(&(Signal::Rephrase, 2, "no captured text")),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&(Signal::Rephrase, 1, "no session or trace")),
        "{reasons:?}"
    );
}

#[test]
fn empty_unicode_long_and_single_turns() {
    assert!(scan(&[], &Options::default()).flags.is_empty());
    let empty = [
        chat("a", "s", 0, ""),
        chat("b", "s", 10, "  ?! "),
        chat("c", "s", 20, ""),
    ];
    assert!(
        flagged(&empty).is_empty(),
        "empty texts are neither rephrase nor regenerate"
    );
    assert!(flagged(&[chat("a", "s", 0, "only one turn")]).is_empty());
    let uni = [
        chat("a", "s", 0, "Wie ändere ich meine Rechnungsadresse?"),
        chat("b", "s", 30, "wie ÄNDERE ich bitte meine Rechnungsadresse"),
    ];
    assert_eq!(flagged(&uni), pairs(&[("a", Signal::Rephrase)]));
    let cjk = [
        chat("a", "s", 0, "请问如何更改账单地址"),
        chat("b", "s", 30, "🙂🙂"),
    ];
    assert!(flagged(&cjk).is_empty());
    let long: String = (0..20_000).map(|i| format!("word{} ", i % 5000)).collect();
    let longer = format!("{long} and one more thing");
    let out = flagged(&[chat("a", "s", 0, &long), chat("b", "s", 30, &longer)]);
    assert_eq!(out, pairs(&[("a", Signal::Rephrase)]));
}

#[test]
fn stopwords_are_sorted() {
    let words = crate::text::stopwords();
    assert!(
        words.windows(2).all(|w| w[0] < w[1]),
        "STOPWORDS must stay sorted for binary search"
    );
}

#[test]
fn extreme_times_and_options_do_not_panic() {
    let a = chat("a", "s", 0, "same words here");
    let b = Turn {
        at_ms: i64::MAX,
        ..chat("b", "s", 0, "same words here too")
    };
    let c = Turn {
        at_ms: i64::MIN,
        ..chat("c", "s", 0, "same words here")
    };
    let opts = Options {
        now_ms: Some(i64::MIN),
        loop_repeats: 0,
        rephrase_threshold: f64::NAN,
        ..Options::default()
    };
    scan(&[a, b, c], &opts);
}

#[test]
fn options_reject_unknown_keys() {
    let ok: Options = serde_json::from_str(r#"{"rephrase_secs": 60}"#).expect("a known key");
    assert_eq!((ok.rephrase_secs, ok.loop_repeats), (60, 3));
    let err =
        serde_json::from_str::<Options>(r#"{"rephrase_sec": 60}"#).expect_err("a misspelt key");
    assert!(
        err.to_string().contains("unknown field `rephrase_sec`"),
        "{err}"
    );
}
