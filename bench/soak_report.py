"""The soak's results file: what ran, the verdicts, and the gateway's readings over time."""

import datetime
import math
import statistics
from pathlib import Path

from bench import machine

ROOT = Path(__file__).resolve().parents[1]


def flatness(samples, secs):
    """RSS and open fds while the load ran: the readings at the end of warm-up (the first
    tenth), the highest of the rest of the first half and of the second half, and the median
    of the last tenth. Faults repeat in the second half, so memory that each of them leaks
    shows as a second half higher than the first; what the allocator keeps after the first
    of them (a high-water mark) does not."""
    running = [s for s in samples if s["calls_per_s"] > 0]
    warm = [s for s in running if s["t"] >= 0.10 * secs]
    first = [s for s in warm if s["t"] < 0.5 * secs]
    second = [s for s in warm if s["t"] >= 0.5 * secs]
    tail = [s for s in running if s["t"] >= 0.90 * secs]
    if not first or not second or not tail:
        return None
    out = {}
    for k in ("rss_mib", "fds"):
        out[k] = {"base": first[0][k], "first": max(s[k] for s in first), "second": max(s[k] for s in second),
                  "end": statistics.median(s[k] for s in tail)}
    return out


def buckets(samples, most=40):
    """At most `most` rows: consecutive samples merged (rates and readings averaged, counts
    summed, faults joined)."""
    size = max(1, math.ceil(len(samples) / most))
    rows = []
    for i in range(0, len(samples), size):
        g = samples[i:i + size]
        faults = sorted({f for s in g for f in s["faults"].split(",") if f})
        rows.append({
            "t": g[-1]["t"], "calls_per_s": round(statistics.mean(s["calls_per_s"] for s in g), 1),
            "ok": sum(s["ok"] for s in g), "s429": sum(s["s429"] for s in g), "s5xx": sum(s["s5xx"] for s in g),
            "left": sum(s["left"] for s in g), "errors": sum(s["errors"] for s in g),
            "rss_mib": max(s["rss_mib"] for s in g), "fds": max(s["fds"] for s in g),
            "threads": max(s["threads"] for s in g), "written": g[-1]["written"],
            "spool_kib": max(s["spool_kib"] for s in g), "faults": ", ".join(faults),
        })
    return rows


def write(soak, args):
    secs = args.minutes * 60
    short = args.minutes < 30
    date = datetime.date.today().isoformat()
    out = Path(args.out) if args.out else ROOT / "bench" / "results" / f"soak-{date}{'-short' if short else ''}.md"
    flat = flatness(soak.samples, secs)
    verdicts = []

    def verdict(ok, text):
        verdicts.append((ok, text))

    if flat:
        r, f = flat["rss_mib"], flat["fds"]
        grew = r["second"] - r["first"]
        verdict(grew <= max(10.0, 0.15 * r["first"]),
                f"RSS flat: highest {r['first']:.1f} MiB in the first half (after warm-up), {r['second']:.1f} MiB in "
                f"the second ({grew:+.1f} MiB; flat means within 10 MiB or 15%); {r['base']:.1f} MiB after warm-up, "
                f"{r['end']:.1f} MiB in the last tenth")
        verdict(f["second"] <= f["first"] + 10,
                f"open fds flat: highest {f['first']} in the first half, {f['second']} in the second (flat means "
                f"within 10); {f['base']} after warm-up, {f['end']:.0f} in the last tenth")
    else:
        verdict(False, "too few samples to judge RSS and fds")
    verdict(not soak.missing,
            f"calls acknowledged {len(soak.load.acked)}, recorded {soak.stored}: "
            f"{len(soak.missing)} acknowledged but not recorded"
            + (f" (first: {', '.join(soak.missing[:5])})" if soak.missing else "")
            + f"; {soak.unacked_stored} recorded that no client saw answered (it left or timed out first)")
    dropped = soak.final_metrics.get("dropped", 0)
    verdict(dropped == 0, f"records dropped (seam_records_dropped_total): {dropped:.0f}; "
                          f"spooled through outages: {soak.final_metrics.get('seam_records_spooled_total', 0):.0f}")
    verdict(soak.req_over <= soak.req_slack,
            f"limited tenant, requests per UTC minute: limit {soak.limits['requests_per_minute']}, "
            f"most in a minute {max((m[1] for m in soak.minutes), default=0)} (overshoot {max(0, soak.req_over)}; "
            f"calls that can be in flight, one per client thread: {soak.req_slack})")
    verdict(soak.tok_over <= soak.token_slack,
            f"limited tenant, tokens per UTC minute: limit {soak.limits['tokens_per_minute']}, most in a minute "
            f"{max((m[2] for m in soak.minutes), default=0)} (overshoot {max(0, soak.tok_over)}; "
            f"reservations that can be outstanding: {soak.token_slack})")
    verdict(soak.gw_exit == 0, f"the gateway stopped cleanly on SIGTERM (exit {soak.gw_exit})")
    for f in soak.failures:
        verdict(False, f)
    soak.verdicts_failed = [t for ok, t in verdicts if not ok]

    counts = soak.load.snapshot()
    statuses = {}
    for k, v in counts.items():
        if ":" in k:
            kind, status = k.split(":", 1)
            statuses.setdefault(kind, {})[status] = v
    lines = [
        f"# Soak, {date}" + (f" (short run: {args.minutes:g} min; the full run is 30)" if short else ""),
        "",
        f"`bench/soak --minutes {args.minutes:g} --rate {args.rate:g}` on {machine()}: the release build of "
        f"`seam serve` recording to PostgreSQL (through a TCP proxy) with limits in a Redis of its own, "
        f"~{args.rate:g} calls/s offered through `seam sim` by {soak.load.workers} client threads "
        "(45% chat, 25% streams, 10% prompt calls, 5% embeddings, 15% a tenant over its limits).",
        "",
        "## Verdicts",
        "",
    ]
    lines += [f"- {'ok' if ok else 'FAILED'}: {text}" for ok, text in verdicts]
    lines += ["", "## Faults", "", "| t (s) | what |", "|---:|---|"]
    lines += [f"| {t} | {text} |" for t, _, text in soak.events]
    lines += ["", "## Answers by kind of call", "", "| kind | answers by status |", "|---|---|"]
    for kind in sorted(statuses):
        lines.append(f"| {kind} | {', '.join(f'{s}: {n}' for s, n in sorted(statuses[kind].items()))} |")
    lines += [
        "",
        "`left`: a streaming client that left after the first bytes; a name: the client's own error.",
        "",
        "## Over time",
        "",
        "Each row ends at `t`; calls/s is the mean, RSS, fds, threads and spool the highest of the row's samples.",
        "",
        "| t (s) | calls/s | 200 | 429 | 5xx | left | client errors | RSS MiB | fds | threads | records written | spool KiB | faults |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in buckets(soak.samples):
        lines.append(
            f"| {r['t']} | {r['calls_per_s']} | {r['ok']} | {r['s429']} | {r['s5xx']} | {r['left']} | {r['errors']} "
            f"| {r['rss_mib']} | {r['fds']} | {r['threads']} | {r['written']} | {r['spool_kib']} | {r['faults']} |")
    lines += ["", "## The limited tenant per UTC minute", "",
              f"Limits: {soak.limits['requests_per_minute']} requests, {soak.limits['tokens_per_minute']} tokens a minute.",
              "", "| minute | calls that reached the provider | tokens billed | faults that minute |",
              "|---:|---:|---:|---|"]
    for m in soak.minutes:
        during = [text for _, wall, text in soak.events if int(wall // 60) == m[0]]
        stamp = datetime.datetime.fromtimestamp(m[0] * 60, datetime.timezone.utc).strftime("%H:%M")
        lines.append(f"| {stamp} | {m[1]} | {m[2]} | {'; '.join(during)} |")
    lines.append("")
    out.write_text("\n".join(lines))
    return out
