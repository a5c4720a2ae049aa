/**
 * /docs in a real browser with no network: headless Chromium (Debian's `chromium`, driven by
 * playwright-core) opens the page, every request that leaves loopback is blocked and recorded,
 * and /predict is run from the page twice, a text query and an uploaded photo, both answered 200.
 * Skipped, with a message, where chromium is not installed (CI installs it).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import type { Browser, Page } from "playwright-core";
import { writeClipModel } from "../support/clip-cache.ts";
import { tempDir } from "../support/temp.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((path) => existsSync(path));
if (!CHROMIUM) console.warn("[docs-browser] chromium is not installed (apt-get install chromium): the /docs browser test is skipped");

/** Flags for a root user in a container, and nothing in the browser that phones home on its own. */
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let server: TestServer;
let browser: Browser;
let page: Page;
const leftLoopback: string[] = [];

beforeAll(async () => {
  if (!CHROMIUM) return;
  const { chromium } = await import("playwright-core");
  server = await startTestServer({}, (cache) => void writeClipModel(cache, "ViT-B-32__openai"));
  // playwright gives the browser a fresh temporary profile (--user-data-dir) of its own.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  page = await browser.newPage();
  await page.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === "127.0.0.1" || url.hostname === "localhost") return route.continue();
    leftLoopback.push(url.href);
    return route.abort("internetdisconnected");
  });
  // Not the default 5 s: on CI, right after chromium's install, its first launch (a new profile,
  // fontconfig's caches) beside the rest of the suite once took longer, and the hook timed out.
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
}, 30_000);

const operation = () => page.locator("#operations-default-post_predict");

/** Presses Execute and returns the status and body the page shows for the live response. */
async function execute(): Promise<{ status: string; body: string }> {
  const responseArea = operation().locator(".live-responses-table");
  // Swagger UI keeps showing the previous answer until the next one arrives: clear it first.
  const clear = operation().locator("button.btn-clear");
  if (await clear.count()) {
    await clear.click();
    await responseArea.waitFor({ state: "detached" });
  }
  await operation().locator("button.execute").click();
  await responseArea.locator(".response-col_status").first().waitFor({ timeout: 30_000 });
  const status = (await responseArea.locator("tbody .response-col_status").first().textContent())?.trim() ?? "";
  const body = (await responseArea.locator("tbody .response-col_description pre").first().textContent()) ?? "";
  return { status, body };
}

describe.skipIf(!CHROMIUM)("/docs in headless Chromium with no network", () => {
  test("the page renders from the service alone, and /predict runs from it: a text query, then a photo", async () => {
    await page.goto(`${server.url}/docs#/default/post_predict`);
    const entries = operation().locator('tr[data-property-name="entries"] input[type=text]');
    await entries.waitFor({ timeout: 30_000 });
    expect(await entries.inputValue()).toBe('{"clip":{"textual":{"modelName":"ViT-B-32__openai"}}}');
    expect(await operation().locator('tr[data-property-name="text"] input[type=text]').inputValue()).toBe("a photo of a cat");

    const query = await execute();
    expect(query).toEqual({ status: "200", body: query.body });
    expect(JSON.parse(query.body)).toEqual({ clip: expect.stringMatching(/^\[-?\d/) });

    const photo = join(tempDir(), "photo.jpg");
    writeFileSync(
      photo,
      await sharp({ create: { width: 80, height: 60, channels: 3, background: "#aa6633" } })
        .jpeg()
        .toBuffer(),
    );
    await entries.fill('{"clip":{"visual":{"modelName":"ViT-B-32__openai"}}}');
    await operation().locator('tr[data-property-name="image"] input[type=file]').setInputFiles(photo);
    const upload = await execute();
    expect(upload).toEqual({ status: "200", body: upload.body });
    expect(JSON.parse(upload.body)).toEqual({ clip: expect.stringMatching(/^\[-?\d/), imageHeight: 60, imageWidth: 80 });

    expect(leftLoopback).toEqual([]);
  }, 90_000);
});
