use super::*;

/// Checks that `s` is one well-formed XML element: tags balance, attributes are quoted, and
/// no text or attribute holds a raw `<` or a `&` that starts no entity. Returns the element
/// names in document order.
fn well_formed(s: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut names = Vec::new();
    let mut rest = s;
    let check_text = |t: &str| {
        assert!(!t.contains('>') || !t.contains('<'), "raw markup in {t:?}");
        for (i, _) in t.match_indices('&') {
            let tail = &t[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                    .iter()
                    .any(|e| tail.starts_with(e)),
                "a bare & in {t:?}"
            );
        }
    };
    while let Some(at) = rest.find('<') {
        check_text(&rest[..at]);
        if !stack.is_empty() || at == 0 {
        } else {
            panic!("text before the root element");
        }
        let end = rest[at..].find('>').expect("a tag ends") + at;
        let tag = &rest[at + 1..end];
        assert!(!tag.contains('<'), "< inside a tag: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "closing {name}");
        } else {
            let selfclosing = tag.ends_with('/');
            let body = tag.trim_end_matches('/');
            let name = body.split(' ').next().expect("a name").to_string();
            assert!(!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()));
            // Attributes: name="value" pairs, values free of quotes and raw <.
            let mut attrs = body[name.len()..].trim();
            while !attrs.is_empty() {
                let eq = attrs.find("=\"").expect("an attribute is name=\"value\"");
                let key = &attrs[..eq];
                assert!(
                    key.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':'),
                    "{key}"
                );
                let after = &attrs[eq + 2..];
                let close = after.find('"').expect("a closing quote");
                check_text(&after[..close]);
                attrs = after[close + 1..].trim_start();
            }
            names.push(name.clone());
            if !selfclosing {
                stack.push(name);
            }
        }
        rest = &rest[end + 1..];
        if stack.is_empty() {
            assert!(rest.trim().is_empty(), "after the root: {rest}");
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    names
}

/// The numbers of the first polyline's points.
fn polyline(s: &str) -> Vec<(f64, f64)> {
    let at = s.find("points=\"").expect("a polyline") + 8;
    let end = s[at..].find('"').expect("end") + at;
    s[at..end]
        .split(' ')
        .map(|p| {
            let (x, y) = p.split_once(',').expect("x,y");
            (x.parse().expect("x"), y.parse().expect("y"))
        })
        .collect()
}

#[test]
fn a_sparkline_scales_its_points_from_zero_to_the_highest_value() {
    let s = sparkline(&[0.0, 0.5, 1.0], "final error rate");
    assert_eq!(well_formed(&s)[0], "svg");
    // 120 x 24 with 2 px padding: x 2, 60, 118; y from 22 (0) to 2 (the highest).
    assert_eq!(polyline(&s), vec![(2.0, 22.0), (60.0, 12.0), (118.0, 2.0)]);
    assert!(s.contains("aria-label=\"final error rate\""));
    assert!(!s.contains("style="));
}

#[test]
fn not_finite_values_are_gaps_and_one_point_is_a_dot() {
    let s = sparkline(&[0.2, f64::NAN, 0.4, f64::INFINITY, 0.1, 0.3], "x");
    well_formed(&s);
    assert!(!s.contains("NaN") && !s.contains("inf"), "{s}");
    // 0.2 alone, then 0.4 alone, then 0.1 and 0.3: two dots and one line.
    assert_eq!(s.matches("<circle").count(), 2, "{s}");
    assert_eq!(s.matches("<polyline").count(), 1, "{s}");
    let one = sparkline(&[0.7], "one");
    well_formed(&one);
    assert!(one.contains("<circle cx=\"60.0\" cy=\"2.0\""), "{one}");
    let empty = sparkline(&[], "none");
    well_formed(&empty);
    assert!(!empty.contains("<polyline") && !empty.contains("<circle"));
    let nan = sparkline(&[f64::NAN, f64::NAN], "nan");
    well_formed(&nan);
    assert!(!nan.contains("NaN"));
}

#[test]
fn a_line_chart_has_axes_utc_ticks_a_legend_and_escaped_labels() {
    let from = 1_767_225_600_000; // 2026-01-01 00:00 UTC
    let to = from + 6 * 3_600_000;
    let series = [
        Series {
            label: "first <attempt>",
            points: vec![(from, 0.5), (to, 0.25)],
        },
        Series {
            label: "final",
            points: vec![(from, 0.0), (from + 3_600_000, f64::NAN), (to, 0.1)],
        },
    ];
    let s = line_chart(&series, from, to, Unit::Rate);
    let names = well_formed(&s);
    assert_eq!(
        names.iter().filter(|n| *n == "rect").count(),
        2,
        "a legend per series"
    );
    assert!(s.contains("first &lt;attempt&gt;"), "{s}");
    assert!(!s.contains("<attempt>"));
    for tick in ["00:00", "01:00", "03:00", "06:00"] {
        assert!(s.contains(&format!(">{tick}</text>")), "{tick} in {s}");
    }
    assert!(s.contains(">50%</text>") && s.contains(">0%</text>"), "{s}");
    // The first series: 0.5 at the top of the plot (y 28) on the left (x 52), 0.25 half way
    // down the 166 px plot on the right (x 548).
    assert_eq!(polyline(&s), vec![(52.0, 28.0), (548.0, 111.0)]);
    // The second has a NaN: two dots, no line.
    assert_eq!(s.matches("<polyline").count(), 1);
    assert_eq!(s.matches("<circle").count(), 2);
    // No data at all still draws the axes.
    let empty = line_chart(&[], from, to, Unit::Number);
    well_formed(&empty);
    assert!(empty.contains(">1</text>"));
}

#[test]
fn time_ticks_fall_on_round_utc_times() {
    let day = 86_400_000;
    let from = 1_767_225_600_000 + 5 * 60_000; // 00:05
    let t = time_ticks(from, from + 24 * 3_600_000);
    assert_eq!(t[0].1, "06:00");
    assert_eq!(t.len(), 4);
    let t = time_ticks(1_767_225_600_000, 1_767_225_600_000 + 7 * day);
    assert_eq!(t[0].1, "01-01");
    assert_eq!(t[1].1, "01-03");
    assert!(time_ticks(5, 5).is_empty());
}

#[test]
fn histograms_count_values_into_equal_bins() {
    let h = histogram(&[0.0, 1.0, 2.0, 9.0, 10.0, f64::NAN, f64::NEG_INFINITY], 5);
    assert_eq!(
        h,
        vec![
            (0.0, 2.0, 2),
            (2.0, 4.0, 1),
            (4.0, 6.0, 0),
            (6.0, 8.0, 0),
            (8.0, 10.0, 2)
        ]
    );
    assert_eq!(histogram(&[3.0, 3.0], 4), vec![(3.0, 3.0, 2)]);
    assert!(histogram(&[], 4).is_empty());
    assert!(histogram(&[f64::NAN], 4).is_empty());
    let s = histogram_chart(&[1.0, 2.0, 2.0, 3.0], 2, "gaps <ms>");
    well_formed(&s);
    assert!(s.contains("aria-label=\"gaps &lt;ms&gt;\""));
    assert!(
        s.contains(">1–2</text>") && s.contains(">2–3</text>"),
        "{s}"
    );
    assert_eq!(s.matches("<rect").count(), 2);
    let bars = bar_chart(
        &[
            ("a&b".into(), 2.0),
            ("zero".into(), 0.0),
            ("nan".into(), f64::NAN),
        ],
        Unit::Number,
        "codes",
    );
    well_formed(&bars);
    assert!(bars.contains(">a&amp;b</text>"));
    assert_eq!(bars.matches("<rect").count(), 1, "{bars}");
    assert!(!bars.contains("NaN"));
    well_formed(&bar_chart(&[], Unit::Rate, "nothing"));
}

#[test]
fn a_forecast_chart_is_well_formed() {
    let day = 86_400_000;
    let chart = band::BandChart {
        title: "tokens of \"a&b\" <x>".into(),
        unit: "tokens".into(),
        history: (0..20).map(|d| (d * day, 1e6 + d as f64)).collect(),
        forecast: (20..30).map(|d| (d * day, 1.1e6)).collect(),
        band80: (20..30).map(|d| (d * day, 1e6, 1.2e6)).collect(),
        band95: (20..30).map(|d| (d * day, 0.9e6, 1.3e6)).collect(),
        shaded: vec![(2 * day, 4 * day, "<holiday>".into())],
        lines: vec![(1.5e6, "limit 1.5M".into())],
        start: Some(20 * day),
    };
    let names = well_formed(&band::band_chart(&chart));
    assert_eq!(names[0], "svg");
    assert!(names.iter().any(|n| n == "polygon"));
}
