// The coverage page in a real browser (run by tests/e2e/test_dashboard_coverage.py): signs in
// with SEAM_UI_TOKEN at SEAM_UI_URL, opens Coverage from the nav for the last hour, checks the
// signals chart and the test's cluster (uncovered, its user's markup shown as text), saves a
// screenshot in SEAM_UI_SHOTS, then presses the cluster's Export button and reads the download:
// JSON lines, each a candidate case tagged needs-review. Prints `coverage: ok` when every step
// passed.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { check, env, errorsOf, launch } from "./browser.mjs";

const [base, token, shots] = env("SEAM_UI_URL", "SEAM_UI_TOKEN", "SEAM_UI_SHOTS");

const { browser, close } = await launch({ acceptDownloads: true });
try {
  const page = await browser.newPage();
  const errors = errorsOf(page);
  await page.goto(`${base}/ui/signin`);
  await page.fill("#token", token);
  await page.click("button[type=submit]");
  check(new URL(page.url()).pathname === "/ui/", `not signed in: ${page.url()}`);

  await page.click("nav >> text=Coverage");
  check(new URL(page.url()).pathname === "/ui/coverage", `not on coverage: ${page.url()}`);
  await page.fill("input[name=since]", "1h");
  await page.click("form.filters button");
  check(new URL(page.url()).searchParams.get("since") === "1h", "the period is not in the URL");
  check((await page.textContent("main h1")) === "Coverage", "the page's title");
  const lines = await page.locator("main .charts svg polyline, main .charts svg circle").count();
  check(lines >= 1, "the signals chart draws nothing");
  check((await page.textContent("main")).includes("rephrase"), "no rephrase signal listed");
  // The test's cluster: the one whose examples ask about the zebra ledger.
  const cluster = page.locator("article.cluster", { hasText: "zebra" }).first();
  check((await cluster.count()) === 1, "the zebra cluster is not shown");
  const text = await cluster.textContent();
  check(text.includes("UNCOVERED"), "the cluster is not uncovered");
  check(text.includes("<b>ledger</b>"), "the user's markup is not shown as text");
  check((await cluster.locator("b").count()) === 0, "the user's markup became an element");
  await page.screenshot({ path: join(shots, "coverage.png"), fullPage: true });

  const [download] = await Promise.all([
    page.waitForEvent("download", { timeout: 30000 }),
    cluster.locator("button", { hasText: "Export candidate cases" }).click(),
  ]);
  const name = download.suggestedFilename();
  check(/^coverage-.+\.jsonl$/.test(name), `the download is named ${name}`);
  const body = readFileSync(await download.path(), "utf8");
  const cases = body.trim().split("\n").map((l) => JSON.parse(l));
  check(cases.length >= 1 && cases.length <= 20, `${cases.length} candidate cases`);
  for (const c of cases) {
    check(c.tags.includes("needs-review"), `a case without needs-review: ${JSON.stringify(c.tags)}`);
    check(c.expected === null, "a candidate carries an expected answer");
    check(JSON.stringify(c.input).includes("zebra"), "a candidate from another cluster");
  }
  check(errors.length === 0, `the browser reported: ${errors.join(" | ")}`);
  console.log(`coverage: ok (${cases.length} candidates in ${name})`);
} finally {
  await close();
}
