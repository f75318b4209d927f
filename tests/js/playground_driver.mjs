#!/usr/bin/env node
// Drives the Microsoft 365 Agents Playground web UI with playwright-core and Debian chromium.
//
// Input: one JSON document on stdin (or in the file named by argv[2]):
//   { "baseUrl": "http://127.0.0.1:PORT", "steps": [ {action: ...}, ... ],
//     "chromium": "/usr/bin/chromium", "defaultTimeout": 15000,
//     "viewport": {"width": 1280, "height": 900}, "failureScreenshot": "/path.png" }
// Output: one JSON line per step on stdout: {"step": i, "action": ..., "ok": true|false, "ms": ..., ...}.
// The first failing step ends the script (exit code 1). Every request that is not to the loopback
// interface is aborted. The selectors are documented in docs/playground.md.
//
// Steps:
//   {action:"goto", path?:"/", chat?:"<chat name in the side bar>", logPanel?:false}
//   {action:"select_chat", name:"PEP meeting chat"}
//   {action:"send", text:"hello", mention?:"<bot name>"}            compose box + Send button
//   {action:"wait_for_text", text:"...", inCard?:false, timeout?:ms} text in the conversation pane
//   {action:"fill", label|id|placeholder:"...", value:"...", card?:"text in the card", nth?:0}
//        text, multi-line, number and date inputs; toggles take true/false;
//        choice sets take the choice title (compact: combobox, expanded: radio buttons);
//        nth picks one of several inputs sharing a label (document order; -1 = the last)
//   {action:"click", title:"Save", card?:"text in the card", optional?:false}   a card action
//        button; for Action.Execute / Action.Submit it waits for the invoke/submit answer and
//        reports it. optional: when the card has no such button, skip it ({"skipped": true})
//   {action:"settle", quietMs?:300, timeout?:ms}   wait until the conversation has been quiet
//        (no websocket message frame, no invoke/submit answer) for quietMs: a bot's in-place
//        update that races an invoke answer has then landed
//   {action:"press", key:"Escape"}    a key on whatever has the focus (e.g. Escape closes the date
//        picker's calendar, which a date fill can leave open over the card's buttons)
//   {action:"read_messages"}          innerText of every message in the open conversation
//   {action:"screenshot", path:"/abs/file.png", fullPage?:false}
//   {action:"dump_html", path:"/abs/file.html"}
//   {action:"wait", ms:500}
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const COMPOSE = '[data-lexical-editor="true"][role="textbox"]';
const TOP_CARD = '.ac-preview-panel > .ac-adaptiveCard';
const MESSAGE_HEADER = '[aria-label="Message header"]';
const CONTROL = 'input, textarea, select';
const ADAPTIVE = 'application/vnd.microsoft.card.adaptive';

function readInput() {
  const src = process.argv[2] ? fs.readFileSync(process.argv[2], 'utf8') : fs.readFileSync(0, 'utf8');
  return JSON.parse(src);
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// ---- card JSON bookkeeping (the DOM carries no card input ids, the JSON does) -------------------
// Every version of every card seen, oldest first: {messageId, card, seq}. All versions are kept,
// not only the newest per message: a message's card is replaced both by invoke answers and by
// the bot's updates (PUT, on the websocket), and the two can be seen here in either order.
const cards = [];
let seq = 0;
let lastActivity = Date.now(); // last conversation frame or invoke/submit answer seen (settle)

function rememberCard(messageId, card) {
  cards.push({ messageId: String(messageId), card, seq: ++seq });
}

function rememberMessage(message) {
  const att = (message.attachments || []).find((a) => a.contentType === ADAPTIVE);
  if (att && att.content) rememberCard(message.messageId, att.content);
}

function walk(node, visit) {
  if (Array.isArray(node)) node.forEach((n) => walk(n, visit));
  else if (node && typeof node === 'object') {
    visit(node);
    Object.values(node).forEach((v) => walk(v, visit));
  }
}

function textOf(card) {
  const parts = [];
  walk(card, (n) => {
    if (typeof n.text === 'string') parts.push(n.text);
    if (typeof n.title === 'string') parts.push(n.title);
  });
  return parts.join('\n');
}

// Newest card JSON with an element matching `pred`, optionally containing `within` text.
function findInCards(pred, within) {
  const ordered = [...cards].sort((a, b) => b.seq - a.seq);
  for (const { card } of ordered) {
    if (within && !textOf(card).includes(within)) continue;
    let hit = null;
    walk(card, (n) => { if (!hit && pred(n)) hit = n; });
    if (hit) return hit;
  }
  return null;
}

// ---- DOM helpers --------------------------------------------------------------------------------
function cardLocator(page, step) {
  let loc = page.locator(TOP_CARD);
  if (step.card) loc = loc.filter({ hasText: step.card });
  return loc.last();
}

async function byLabel(card, label, nth) {
  for (const exact of [true, false]) {
    const loc = card.getByLabel(label, { exact }).and(card.locator(CONTROL));
    const n = await loc.count();
    if (n === 1 && (nth === undefined || nth === null)) return loc;
    if (n >= 1 && nth !== undefined && nth !== null) {
      // several inputs share the label (table rows, a show-card form): pick one by position,
      // in document order; negative counts from the end (-1: the last, e.g. a show-card's)
      const index = nth < 0 ? n + nth : nth;
      if (index < 0 || index >= n) throw new Error(`label "${label}" matches ${n} inputs; no input number ${nth}`);
      return loc.nth(index);
    }
    if (n > 1) throw new Error(`label "${label}" matches ${n} inputs in the card (pass nth)`);
  }
  throw new Error(`no input labelled "${label}" in the card`);
}

async function resolveInput(page, card, step) {
  if (step.label) return { loc: await byLabel(card, step.label, step.nth), spec: null };
  if (step.placeholder) return { loc: card.getByPlaceholder(step.placeholder).and(card.locator(CONTROL)), spec: null };
  if (step.id) {
    const spec = findInCards((n) => typeof n.type === 'string' && n.type.startsWith('Input.') && n.id === step.id, step.card);
    if (!spec) throw new Error(`no card input with id "${step.id}" seen on this page`);
    if (spec.type === 'Input.ChoiceSet' && spec.style === 'expanded') return { loc: null, spec };
    if (spec.label) return { loc: await byLabel(card, spec.label, step.nth), spec };
    if (spec.placeholder) return { loc: card.getByPlaceholder(spec.placeholder).and(card.locator(CONTROL)), spec };
    if (spec.type === 'Input.Toggle' && spec.title) return { loc: card.getByRole('checkbox', { name: spec.title }), spec };
    throw new Error(`card input "${step.id}" has neither label nor placeholder; give it a label`);
  }
  throw new Error('fill needs label, id or placeholder');
}

async function fill(page, step) {
  const card = cardLocator(page, step);
  await card.waitFor();
  const { loc, spec } = await resolveInput(page, card, step);
  const value = step.value;
  if (!loc) { // expanded choice set: radio buttons (or checkboxes when isMultiSelect) named by choice title
    const role = spec.isMultiSelect ? 'checkbox' : 'radio';
    for (const title of Array.isArray(value) ? value : [value]) await card.getByRole(role, { name: String(title), exact: true }).check();
    return { kind: role };
  }
  const info = await loc.evaluate((el) => ({ tag: el.tagName.toLowerCase(), type: el.type || '', role: el.getAttribute('role') || '' }));
  if (info.type === 'checkbox') {
    await loc.setChecked(Boolean(value));
  } else if (info.tag === 'select') {
    await loc.selectOption({ label: String(value) });
  } else if (info.role === 'combobox') {
    // Fluent combobox: a compact Input.ChoiceSet, or the text box of the Input.Date picker
    const isDate = (spec && spec.type === 'Input.Date')
      || await loc.evaluate((el) => /date/i.test(el.getAttribute('aria-label') || el.getAttribute('placeholder') || ''));
    if (isDate) {
      await loc.fill(String(value));
      await loc.press('Enter');
    } else {
      await loc.click();
      await page.getByRole('option', { name: String(value), exact: true }).click();
    }
  } else {
    await loc.fill(String(value));
  }
  return { kind: info.role || info.type || info.tag };
}

async function click(page, step) {
  const card = cardLocator(page, step);
  await card.waitFor();
  const button = card.getByRole('button', { name: step.title, exact: true });
  if (step.optional && await button.count() === 0) return { skipped: true };
  const action = findInCards((n) => typeof n.type === 'string' && n.type.startsWith('Action.') && n.title === step.title, step.card);
  const kind = action ? action.type : null;
  const expectsAnswer = kind === 'Action.Execute' || kind === 'Action.Submit';
  const answer = expectsAnswer
    ? page.waitForResponse((r) => /\/_conversation\/v1\/(invoke|submit)$/.test(new URL(r.url()).pathname) && r.request().method() === 'POST', { timeout: step.timeout || 15000 })
    : null;
  if (answer) answer.catch(() => {}); // awaited below; keeps a failed click from leaving it unhandled
  await button.click();
  const out = { actionType: kind };
  if (answer) {
    const r = await answer;
    out.status = r.status();
    try { out.body = await r.json(); } catch { out.body = null; }
  }
  return out;
}

async function waitForText(page, step) {
  await page.waitForFunction(({ text, inCard, headerSel, cardSel }) => {
    const norm = (s) => s.replace(/\s+/g, ' ');
    const roots = inCard
      ? [...document.querySelectorAll(cardSel)]
      : [...document.querySelectorAll(headerSel)].map((h) => h.parentElement);
    return roots.some((r) => r && norm(r.innerText).includes(norm(text)));
  }, { text: step.text, inCard: !!step.inCard, headerSel: MESSAGE_HEADER, cardSel: TOP_CARD },
  { timeout: step.timeout || 15000, polling: 100 });
  return {};
}

async function settle(page, step) {
  const quiet = step.quietMs || 300;
  const deadline = Date.now() + (step.timeout || 15000);
  const started = Date.now();
  for (;;) {
    const idle = Date.now() - lastActivity;
    if (idle >= quiet) return { waited: Date.now() - started };
    if (Date.now() > deadline) throw new Error(`conversation not quiet for ${quiet} ms`);
    await page.waitForTimeout(Math.min(quiet - idle, 100));
  }
}

async function readMessages(page) {
  const messages = await page.$$eval(MESSAGE_HEADER, (hs) => hs.map((h) => h.parentElement.innerText));
  return { messages };
}

async function openComposer(page) {
  await page.locator(COMPOSE).waitFor({ state: 'visible' });
}

async function selectChat(page, name) {
  await page.getByRole('treeitem', { name, exact: true }).click();
  await openComposer(page);
}

async function goto(page, baseUrl, step) {
  await page.goto(new URL(step.path || '/', baseUrl).href, { waitUntil: 'networkidle' });
  await openComposer(page);
  if (!step.logPanel) {
    const hide = page.locator('button[title="Hide log panel"]');
    if (await hide.count()) await hide.first().click();
  }
  if (step.chat) await selectChat(page, step.chat);
  return {};
}

async function send(page, step) {
  const box = page.locator(COMPOSE);
  await box.click();
  if (step.mention) {
    await page.keyboard.type('@' + step.mention);
    await page.getByRole('menuitem', { name: step.mention }).first().click();
    await page.keyboard.type(' ');
  }
  await page.keyboard.type(step.text || '');
  const posted = page.waitForResponse((r) => /\/_conversation\/v1\/conversations\/[^/]+\/messages$/.test(new URL(r.url()).pathname) && r.request().method() === 'POST');
  posted.catch(() => {});
  await page.getByRole('button', { name: 'Send Message', exact: true }).click();
  const r = await posted;
  let body = null;
  try { body = await r.json(); } catch { /* empty */ }
  return { status: r.status(), messageId: body && body.messageId, sent: JSON.parse(r.request().postData() || 'null') };
}

// ---- main ---------------------------------------------------------------------------------------
async function main() {
  const input = readInput();
  const baseUrl = input.baseUrl;
  if (!LOOPBACK.has(new URL(baseUrl).hostname)) throw new Error('baseUrl must be a loopback address');
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdriver-profile-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: input.chromium || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: input.viewport || { width: 1280, height: 900 },
  });
  const blocked = [];
  let failed = false;
  try {
    await context.route('**/*', (route) => {
      const u = new URL(route.request().url());
      if (u.protocol === 'data:' || u.protocol === 'blob:' || LOOPBACK.has(u.hostname)) return route.continue();
      blocked.push(u.href);
      return route.abort();
    });
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(input.defaultTimeout || 15000);
    page.on('websocket', (ws) => {
      if (!ws.url().includes('/_ws_conversation/')) return;
      ws.on('framereceived', (f) => {
        lastActivity = Date.now();
        try {
          const data = JSON.parse(String(f.payload));
          if (data && data.message) rememberMessage(data.message);
        } catch { /* not JSON */ }
      });
    });
    page.on('response', async (r) => {
      if (/\/_conversation\/v1\/(invoke|submit)$/.test(new URL(r.url()).pathname)) lastActivity = Date.now();
      if (!/\/_conversation\/v1\/invoke$/.test(new URL(r.url()).pathname)) return;
      try {
        const req = JSON.parse(r.request().postData() || '{}');
        const body = await r.json();
        if (body && body.type === ADAPTIVE && body.value) rememberCard(req.replyToId, body.value);
      } catch { /* not JSON */ }
    });
    const steps = input.steps || [];
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      const started = Date.now();
      const base = { step: i, action: step.action };
      try {
        let extra;
        switch (step.action) {
          case 'goto': extra = await goto(page, baseUrl, step); break;
          case 'select_chat': await selectChat(page, step.name); extra = {}; break;
          case 'send': extra = await send(page, step); break;
          case 'wait_for_text': extra = await waitForText(page, step); break;
          case 'fill': extra = await fill(page, step); break;
          case 'click': extra = await click(page, step); break;
          case 'read_messages': extra = await readMessages(page); break;
          case 'screenshot':
            fs.mkdirSync(path.dirname(step.path), { recursive: true });
            await page.screenshot({ path: step.path, fullPage: !!step.fullPage });
            extra = { path: step.path };
            break;
          case 'dump_html':
            fs.mkdirSync(path.dirname(step.path), { recursive: true });
            fs.writeFileSync(step.path, await page.content());
            extra = { path: step.path };
            break;
          case 'wait': await page.waitForTimeout(step.ms || 0); extra = {}; break;
          case 'settle': extra = await settle(page, step); break;
          case 'press': await page.keyboard.press(step.key); extra = {}; break;
          default: throw new Error(`unknown action ${JSON.stringify(step.action)}`);
        }
        emit({ ...base, ok: true, ms: Date.now() - started, ...extra });
      } catch (err) {
        failed = true;
        const out = { ...base, ok: false, ms: Date.now() - started, error: String(err && err.message || err).split('\n').slice(0, 6).join('\n') };
        if (input.failureScreenshot) {
          try {
            fs.mkdirSync(path.dirname(input.failureScreenshot), { recursive: true });
            await page.screenshot({ path: input.failureScreenshot });
            out.screenshot = input.failureScreenshot;
          } catch { /* page gone */ }
        }
        emit(out);
        break;
      }
    }
  } finally {
    await context.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
    if (blocked.length) process.stderr.write(`blocked non-loopback requests: ${blocked.length}\n`);
  }
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  emit({ step: -1, action: 'setup', ok: false, error: String(err && err.stack || err) });
  process.exitCode = 2;
});
