// Drives the web app in Debian's Chromium (headless) through playwright-core, as a support
// person would: search a person by an email typed in the wrong case, open them, filter the
// timeline to one source, follow the link to their company, and look at it at phone width.
// Started by ../browser.rs with the server's URL and the expected values in the environment;
// screenshots go to $SCREENSHOTS. Exits non-zero with a message on the first failed check.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import path from "node:path";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`missing environment variable ${k}`);
  return v;
};
const url = env("PLEXUS_URL");
const email = env("PLEXUS_EMAIL");
const person = env("PLEXUS_PERSON");
const company = env("PLEXUS_COMPANY");
const source = env("PLEXUS_SOURCE");
const shots = env("SCREENSHOTS");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const errors = [];
let transferred = 0;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("response", async (r) => {
    const body = await r.body().catch(() => null);
    if (body) transferred += body.length;
  });

  // 1. Search by the email in mixed case, with a stray space: the person is the first result.
  await page.goto(url + "/");
  await page.waitForSelector("text=Warehouse");
  const firstLoad = transferred;
  const typed = " " + [...email].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join("");
  await page.fill("#q", typed);
  await page.waitForSelector("#results li[data-i]");
  const first = await page.textContent("#results li[data-i='0']");
  assert.ok(first.toLowerCase().includes(email), `first result should match ${email}: ${first}`);
  await page.screenshot({ path: path.join(shots, "1-search.png") });
  await page.keyboard.press("Enter");
  await page.waitForURL(`**/person/${person}`);
  await page.waitForSelector(".event");
  const heading = (await page.textContent("h1")).trim();
  assert.ok(heading.length > 0, "the person page has a name");
  const idText = await page.textContent(".layout");
  assert.ok(idText.includes(email), "the identifiers list the email");
  assert.ok((await page.locator(".fact").count()) >= 5, "key facts are shown");
  await page.screenshot({ path: path.join(shots, "2-person.png"), fullPage: true });

  // The source filter offers this person's sources only, each with its event count.
  const profile = await page.evaluate(async (id) => (await fetch(`/api/persons/${id}`)).json(), person);
  const chips = await page.$$eval("#source-chips [data-source]", (cs) =>
    cs.map((c) => [c.dataset.source, c.querySelector(".count").textContent.replace(/\D/g, "")]));
  assert.deepEqual(
    chips.slice(1),
    profile.sources.map((s) => [s.name, String(s.events)]),
    "one chip per source of the person, with its count",
  );
  assert.ok(profile.sources.some((s) => s.name === source), `the person has events from ${source}`);

  // 2. Filter the timeline to one source: every event shown is from it.
  await page.click(`#source-chips [data-source="${source}"]`);
  await page.waitForFunction(
    (s) => {
      const events = [...document.querySelectorAll("#events .event")];
      return events.length > 0 && events.every((e) => e.dataset.source === s);
    },
    source,
    { timeout: 10000 },
  );
  assert.ok(await page.locator(".day").count() >= 1, "day separators are shown");
  await page.screenshot({ path: path.join(shots, "3-person-one-source.png"), fullPage: true });

  // 3. Follow the link to the company: the person is among its members.
  await page.click(`.profile-head a[href="/group/${company}"]`);
  await page.waitForURL(`**/group/${company}`);
  await page.waitForSelector("#members");
  assert.ok(
    (await page.locator(`#members a[href="/person/${person}"]`).count()) === 1,
    "the company lists the person among its members",
  );
  await page.waitForSelector(".event");
  await page.screenshot({ path: path.join(shots, "4-company.png"), fullPage: true });

  // 4. At phone width the page still reads (one column, nothing wider than the screen).
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(100);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no horizontal scrolling at phone width (${overflow}px too wide)`);
  await page.screenshot({ path: path.join(shots, "5-company-phone.png"), fullPage: false });

  // 5. A deep link opens the page directly; an unknown id shows a message, not a blank page
  // (its 404 is the only failed request the browser may log).
  await page.goto(`${url}/person/${person}`);
  await page.waitForSelector(".event");
  assert.deepEqual(errors, [], "no script errors and no failed requests");

  // 6. A workspace lists its members with their role in the product.
  await page.setViewportSize({ width: 1280, height: 900 });
  const workspace = await page.getAttribute('.profile-head a.chip:has-text("workspace:")', "href");
  assert.ok(workspace, "the person page links the person's workspace");
  const role = (await page.textContent('.profile-head a.chip:has-text("workspace:") .muted')).replace(/[·\s]/g, "");
  await page.click('.profile-head a.chip:has-text("workspace:")');
  await page.waitForURL(`**${workspace}`);
  await page.waitForSelector("#members");
  const row = await page.textContent(`#members tr:has(a[href="/person/${person}"])`);
  assert.ok((await page.textContent("#members tr")).includes("Role"), "a role column");
  assert.ok(role && row.includes(role), `the member's row shows their role ${role}: ${row}`);
  await page.screenshot({ path: path.join(shots, "6-workspace.png"), fullPage: false });

  await page.goto(`${url}/person/per_0000000000000000`);
  await page.waitForSelector(".error");
  assert.ok((await page.textContent(".error")).includes("per_0000000000000000"));
  await page.screenshot({ path: path.join(shots, "7-unknown.png") });

  assert.deepEqual(errors.filter((e) => !e.includes("404")), [], "no script errors");
  console.log(JSON.stringify({ ok: true, first_load_bytes: firstLoad, screenshots: shots }));
} finally {
  await browser.close();
}
