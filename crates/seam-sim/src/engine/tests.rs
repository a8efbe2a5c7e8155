use super::*;

#[test]
fn tool_call_mode_answers_a_tool_result_in_text() {
    let sim = Sim::new(
        Scenario::from_toml("[content]\nmode = \"tool_call\"\nanswer_tool_results = true").unwrap(),
    );
    let plan = |tool_result: Option<&str>| {
        sim.plan(&ChatInput {
            model: "m".into(),
            last_user: "find invoice 42".into(),
            tools: vec!["lookup_invoice".into()],
            tool_result: tool_result.map(str::to_string),
            ..Default::default()
        })
        .plan
    };
    match plan(None) {
        Plan::Reply(Reply {
            body: Body::Tool { name, .. },
            ..
        }) => assert_eq!(name, "lookup_invoice"),
        other => panic!("{other:?}"),
    }
    match plan(Some("{\"total\": 10}")) {
        Plan::Reply(Reply {
            body: Body::Text(t),
            finish,
            ..
        }) => {
            assert_eq!(t.concat(), "{\"total\": 10}");
            assert_eq!(finish, Finish::Stop);
        }
        other => panic!("{other:?}"),
    }
    // Without `answer_tool_results`, every step is answered with the call again.
    let again = Sim::new(Scenario::from_toml("[content]\nmode = \"tool_call\"").unwrap());
    let plan = again
        .plan(&ChatInput {
            model: "m".into(),
            tools: vec!["lookup_invoice".into()],
            tool_result: Some("{}".into()),
            ..Default::default()
        })
        .plan;
    assert!(
        matches!(
            &plan,
            Plan::Reply(Reply {
                body: Body::Tool { .. },
                ..
            })
        ),
        "{plan:?}"
    );
}

#[test]
fn recall_answers_a_repeated_question_from_its_example() {
    let t = |u: bool, s: &str| (u, s.to_string());
    let shots = vec![
        t(true, "Can I return a gift card?"),
        t(false, "Gift cards are final sale."),
        t(true, "Where is my order?"),
        t(false, "Tracking is in your email."),
        t(true, "  Can I return a gift card? "),
    ];
    assert_eq!(
        recall(&shots).as_deref(),
        Some("Gift cards are final sale.")
    );
    // A question no example asked, and a question asked last with no example before it.
    assert_eq!(recall(&[t(true, "a"), t(false, "b"), t(true, "c")]), None);
    assert_eq!(recall(&[t(true, "a")]), None);
    // An example without an answer recalls nothing.
    assert_eq!(recall(&[t(true, "a"), t(true, "a")]), None);
    let sim = Sim::new(Scenario::from_toml("[content]\nmode = \"recall\"").unwrap());
    let plan = |recalled: Option<&str>| match sim
        .plan(&ChatInput {
            model: "m".into(),
            last_user: "new question".into(),
            recalled: recalled.map(str::to_string),
            ..Default::default()
        })
        .plan
    {
        Plan::Reply(Reply {
            body: Body::Text(t),
            ..
        }) => t.concat(),
        other => panic!("{other:?}"),
    };
    assert_eq!(plan(Some("copied answer")), "copied answer");
    assert_eq!(plan(None), "new question");
}

#[test]
fn tokens_join_back_to_the_text() {
    let t = tokenize("Hello  there, world\n!");
    assert_eq!(t.concat(), "Hello  there, world\n!");
    assert_eq!(t.len(), 4);
}

#[test]
fn max_tokens_truncates_with_length() {
    let sim = Sim::new(Scenario::default());
    let d = sim.plan(&ChatInput {
        model: "m".into(),
        last_user: "one two three four".into(),
        max_tokens: Some(2),
        ..Default::default()
    });
    let Plan::Reply(r) = d.plan else {
        panic!("expected a reply")
    };
    assert_eq!(r.finish, Finish::Length);
    assert_eq!(r.output_tokens, 2);
    assert_eq!(r.served_model, "m");
}

#[test]
fn a_stop_sequence_ends_the_reply_before_it() {
    let sim = Sim::new(Scenario::default());
    let reply = |stop: &[&str], max_tokens| match sim
        .plan(&ChatInput {
            last_user: "one two END three".into(),
            stop: stop.iter().map(|s| s.to_string()).collect(),
            max_tokens,
            ..Default::default()
        })
        .plan
    {
        Plan::Reply(r) => r,
        other => panic!("{other:?}"),
    };
    let r = reply(&["three", "END", ""], None);
    assert_eq!(
        (r.finish, r.stop_sequence.as_deref()),
        (Finish::Stop, Some("END"))
    );
    let Body::Text(t) = &r.body else { panic!() };
    assert_eq!(t.concat(), "one two ");
    let r = reply(&["END"], Some(1));
    assert_eq!((r.finish, r.stop_sequence), (Finish::Length, None));
    assert_eq!(reply(&["nowhere"], None).stop_sequence, None);
}

#[test]
fn model_changes_after_n_requests() {
    let s = Scenario::from_toml(
        "[model]\nserved = \"a\"\nchanges = [{ after_requests = 2, served = \"b\" }]\n",
    )
    .unwrap();
    let sim = Sim::new(s);
    let served: Vec<String> = (0..3)
        .map(|_| match sim.plan(&ChatInput::default()).plan {
            Plan::Reply(r) => r.served_model,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(served, ["a", "a", "b"]);
}

#[test]
fn a_huge_line_comes_with_the_reply_it_interrupts() {
    let s = Scenario::from_toml(
        "[[errors]]\nkind = \"huge_line\"\nfirst = 1\nline_bytes = 1000\nhold_ms = 5\n",
    )
    .unwrap();
    let sim = Sim::new(s);
    let huge = |sim: &Sim| match sim.plan(&ChatInput::default()).plan {
        Plan::Reply(r) => r.huge_line,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        huge(&sim),
        Some(crate::output::HugeLine {
            after: 1,
            bytes: 1000,
            hold: Duration::from_millis(5)
        })
    );
    assert_eq!(huge(&sim), None, "only the first request");
}
