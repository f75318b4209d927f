// Render Adaptive Cards with the official `adaptivecards` JS renderer in headless Chromium.
//
// Usage: node render_cards.mjs CARDS.json [--screenshot DIR] [--inspect]
//
// CARDS.json holds a JSON array of card objects. All cards are rendered in ONE browser session
// with the Microsoft Teams light host config. TextBlock and Fact text goes through Markdown as
// in Teams: `AdaptiveCard.onProcessMarkdown` renders it with markdown-it (its default preset:
// no raw HTML, no linkify). For each card the script collects:
//   - parse events of `card.parse(json, new SerializationContext(1.5))`,
//   - the failures of `card.validateProperties()`,
//   - whether `card.render()` returned an element (and any exception thrown).
// It prints {"results": [[message, ...], ...], "screenshots": [path, ...]} on stdout; an empty
// message list means the card is clean. With --inspect it adds "inspected": per card, the count
// of each Markdown-made HTML element (a, strong, em, img, h1-h6, ul, ol, li, code, pre,
// blockquote, hr, del, s) and "texts", the text of every TextBlock as shown. Every request that
// does not go to loopback, about: or data: is aborted. Exit code 0 unless the harness itself
// failed (then a message on stderr).
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");
const CHROMIUM = process.env.PEP_CHROMIUM || "/usr/bin/chromium";

function parseArgs(argv) {
  const args = { cardsPath: undefined, screenshotDir: undefined, inspect: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--inspect") {
      args.inspect = true;
    } else if (argv[i] === "--screenshot") {
      args.screenshotDir = argv[++i];
      if (!args.screenshotDir) throw new Error("--screenshot needs a directory");
    } else if (args.cardsPath === undefined) {
      args.cardsPath = argv[i];
    } else {
      throw new Error(`unexpected argument: ${argv[i]}`);
    }
  }
  if (!args.cardsPath) {
    throw new Error("usage: node render_cards.mjs CARDS.json [--screenshot DIR] [--inspect]");
  }
  return args;
}

function isAllowedUrl(url) {
  if (url.startsWith("about:") || url.startsWith("data:")) return true;
  try {
    const host = new URL(url).hostname;
    return host === "127.0.0.1" || host === "localhost" || host === "[::1]";
  } catch {
    return false;
  }
}

// Runs inside the page. Must be self-contained (serialised by playwright).
function renderAll({ cards, hostConfigJson, inspect }) {
  const AC = window.AdaptiveCards;
  const markdown = window.markdownit();
  AC.AdaptiveCard.onProcessMarkdown = (text, result) => {
    result.outputHtml = markdown.render(text);
    result.didProcess = true;
  };
  const MARKUP = ["a", "strong", "em", "img", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol",
    "li", "code", "pre", "blockquote", "hr", "del", "s"];
  const inspected = [];
  const hostConfig = new AC.HostConfig(hostConfigJson);
  const eventName = (e) => AC.ValidationEvent[e.event] ?? String(e.event);
  const describe = (e) => {
    const src = e.source;
    const type = src && typeof src.getJsonTypeName === "function" ? src.getJsonTypeName() : "";
    const id = src && src.id ? `#${src.id}` : "";
    return type || id ? ` (${type}${id})` : "";
  };
  const results = [];
  cards.forEach((json, index) => {
    const messages = [];
    const host = document.createElement("div");
    host.className = "card-host";
    host.dataset.index = String(index);
    document.body.appendChild(host);
    try {
      const card = new AC.AdaptiveCard();
      card.hostConfig = hostConfig;
      const context = new AC.SerializationContext(AC.Versions.v1_5);
      card.parse(json, context);
      for (let i = 0; i < context.eventCount; i++) {
        const e = context.getEventAt(i);
        messages.push(`parse ${eventName(e)}${describe(e)}: ${e.message}`);
      }
      const validation = card.validateProperties();
      for (const e of validation.validationEvents) {
        messages.push(`validate ${eventName(e)}${describe(e)}: ${e.message}`);
      }
      const element = card.render();
      if (!element) {
        messages.push("render: card.render() returned no element");
      } else {
        host.appendChild(element);
      }
    } catch (err) {
      messages.push(`exception: ${err && err.stack ? err.stack : String(err)}`);
    }
    results.push(messages);
    if (inspect) {
      const tags = {};
      for (const tag of MARKUP) {
        const count = host.querySelectorAll(tag).length;
        if (count) tags[tag] = count;
      }
      const texts = [...host.querySelectorAll(".ac-textBlock")].map((e) => e.innerText);
      inspected.push({ tags, texts });
    }
  });
  return { results, inspected };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const cards = JSON.parse(readFileSync(args.cardsPath, "utf8"));
  if (!Array.isArray(cards)) throw new Error("the cards file must hold a JSON array");

  const bundle = readFileSync(join(modules, "adaptivecards", "dist", "adaptivecards.min.js"), "utf8");
  const markdownIt = readFileSync(
    join(modules, "markdown-it", "dist", "browser", "markdown-it.umd.min.js"),
    "utf8",
  );
  const css = readFileSync(join(modules, "adaptivecards", "dist", "adaptivecards.css"), "utf8");
  const hostConfigJson = JSON.parse(
    readFileSync(
      join(modules, "adaptivecards-designer", "lib", "hostConfigs", "microsoft-teams-light.json"),
      "utf8",
    ),
  );

  const userDataDir = mkdtempSync(join(tmpdir(), "pep-cards-chromium-"));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 800, height: 600 },
      serviceWorkers: "block",
    });
    const blocked = [];
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (isAllowedUrl(url)) return route.continue();
      blocked.push(url);
      return route.abort("blockedbyclient");
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors = [];
    page.on("pageerror", (err) => pageErrors.push(String(err)));

    await page.setContent(
      "<!doctype html><html><head><meta charset='utf-8'><style>" +
        "body{margin:0;padding:8px;background:#fff;font-family:'Segoe UI',Tahoma,Geneva,Verdana,sans-serif}" +
        ".card-host{width:500px;background:#fff;margin:0 0 16px 0;border:1px solid #e1dfdd}" +
        "</style></head><body></body></html>",
    );
    await page.addStyleTag({ content: css });
    await page.addScriptTag({ content: bundle });
    await page.addScriptTag({ content: markdownIt });
    const loaded = await page.evaluate(
      () =>
        typeof window.AdaptiveCards?.AdaptiveCard === "function" &&
        typeof window.markdownit === "function",
    );
    if (!loaded) throw new Error(`renderer bundles did not load: ${pageErrors.join("; ")}`);

    const { results, inspected } = await page.evaluate(renderAll, {
      cards,
      hostConfigJson,
      inspect: args.inspect,
    });

    const screenshots = [];
    if (args.screenshotDir) {
      const dir = resolve(args.screenshotDir);
      mkdirSync(dir, { recursive: true });
      const hosts = await page.$$(".card-host");
      for (const [i, handle] of hosts.entries()) {
        const file = join(dir, `card-${String(i).padStart(2, "0")}.png`);
        await handle.screenshot({ path: file });
        screenshots.push(file);
      }
    }
    process.stdout.write(
      JSON.stringify({
        results,
        screenshots,
        blockedRequests: blocked,
        pageErrors,
        ...(args.inspect ? { inspected } : {}),
      }) + "\n",
    );
  } finally {
    if (context) await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`render_cards.mjs: ${err && err.stack ? err.stack : String(err)}\n`);
  process.exit(2);
});
