// The Prompts pages and their forms in a real browser: Debian's chromium, headless, driven by
// playwright-core (nothing downloaded at run time). Prompt SEAM_UI_PROMPT has release
// SEAM_UI_OLD on production and SEAM_UI_NEW awaiting approval, written by SEAM_UI_AUTHOR (an
// owner; each user is given by their token). SEAM_UI_APPROVER (the other owner, named
// SEAM_UI_APPROVER_NAME) approves it with the form; SEAM_UI_STRANGER (no owner) sees no
// approve button and has a deploy to production refused with the reason; the author deploys
// it. Screenshots of the prompt page, the refusal and the diff go to
// SEAM_UI_SHOTS. Prints `prompts: ok` when every step passed. Run by
// tests/e2e/test_dashboard_prompts.py.
import { join } from "node:path";
import { check, env, launch } from "./browser.mjs";

const [base, name, oldId, newId, author, approver, approverName, stranger, shots] = env(
  "SEAM_UI_URL",
  "SEAM_UI_PROMPT",
  "SEAM_UI_OLD",
  "SEAM_UI_NEW",
  "SEAM_UI_AUTHOR",
  "SEAM_UI_APPROVER",
  "SEAM_UI_APPROVER_NAME",
  "SEAM_UI_STRANGER",
  "SEAM_UI_SHOTS",
);
const promptPath = `/ui/prompts/${name}`;
const channelsTable = "xpath=//h2[text()='Channels']/following-sibling::table[1]";


const { browser, close } = await launch();

async function signIn(page, token) {
  await page.goto(`${base}/ui/signin`);
  await page.fill("#token", token);
  await page.click("button[type=submit]");
  // A prompt's owner may hold no role: Home then says so, but the session is made.
  check(new URL(page.url()).pathname === "/ui/", `not signed in: ${page.url()}`);
  await page.goto(`${base}${promptPath}`);
  check(new URL(page.url()).pathname === promptPath, `not on the prompt: ${page.url()}`);
}

async function signOut(page) {
  await page.click("form.signout button");
  check(new URL(page.url()).pathname === "/ui/signin", "not signed out");
}

try {
  const page = await browser.newPage();
  // The list links to the prompt.
  await signIn(page, approver);
  await page.goto(`${base}/ui/prompts`);
  await page.click(`a:text("${name}")`);
  check(new URL(page.url()).pathname === promptPath, `the list does not link the prompt: ${page.url()}`);
  let main = await page.textContent("main");
  check(main.includes(`${oldId}`) && main.includes("awaiting approval"), "the page lacks the releases");

  // An owner who did not write it approves it.
  check((await page.$(`#approve-${newId}`)) !== null, "the approver has no approve button");
  await page.click(`#approve-${newId} button`);
  check(new URL(page.url()).pathname === promptPath, `not back on the prompt after approving: ${page.url()}`);
  const row = await page.textContent(`tr[id="${newId}"]`);
  check(row.includes(approverName) && !row.includes("awaiting approval"), `the approval does not show: ${row}`);
  await signOut(page);

  // Someone who owns nothing: no approve button, and a deploy to production refused.
  await signIn(page, stranger);
  check((await page.$(`#approve-${newId}`)) === null, "a stranger sees an approve button");
  await page.fill(`#deploy-${newId} input[name=channel]`, "production");
  await page.click(`#deploy-${newId} button`);
  main = await page.textContent("main");
  check(
    main.includes("needs an owner of") && main.includes("Nothing was changed"),
    `the refusal does not say why: ${main}`,
  );
  await page.screenshot({ path: join(shots, "prompt-refused.png"), fullPage: true });
  await page.click(`a:text("Back to ${name}")`);
  const before = await page.textContent(channelsTable);
  check(before.includes(oldId) && !before.includes(newId), `the refused deploy changed production: ${before}`);
  await signOut(page);

  // The author, an owner, deploys the approved release; no approve button for their own.
  await signIn(page, author);
  main = await page.textContent("main");
  check(
    (await page.$(`#approve-${newId}`)) === null && main.includes("you authored it"),
    "the author may approve their own",
  );
  await page.fill(`#deploy-${newId} input[name=channel]`, "production");
  await page.click(`#deploy-${newId} button`);
  check(new URL(page.url()).pathname === promptPath, `not back on the prompt after deploying: ${page.url()}`);
  const channels = await page.textContent(channelsTable);
  check(
    channels.includes(newId) && channels.includes(`Roll back to ${oldId}`),
    `production does not serve the new release: ${channels}`,
  );
  await page.screenshot({ path: join(shots, "prompt.png"), fullPage: true });

  // The diff, the markup in the release's text shown as text.
  await page.click(`tr[id="${newId}"] a:text("diff")`);
  check(new URL(page.url()).pathname === `${promptPath}/diff`, `not on the diff: ${page.url()}`);
  main = await page.textContent("main");
  check(main.includes("<script>"), "the release's markup is not shown as text");
  check((await page.$$("main script")).length === 0, "the release's markup became an element");
  check((await page.$$("table.diff tr.chg")).length > 0, "no changed line");
  await page.screenshot({ path: join(shots, "prompt-diff.png"), fullPage: true });
  console.log("prompts: ok");
} finally {
  await close();
}
