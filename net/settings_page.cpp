// The settings screen's page, compiled in: one HTML document with its style and script
// inline, so the node serves it without files, a build step or anything from elsewhere.
// It holds no data; everything it shows comes from token-protected calls.
#include "net/settings_api.hpp"

namespace fedrelay::net {
namespace {

constexpr const char* page_html = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Federation - fedrelay</title>
<style>
  :root { --blue: #1d74f5; --red: #f5455c; --green: #2de0a5; --amber: #ffd21f;
          --text: #2f343d; --muted: #6c727a; --line: #e4e7ea; --bg: #f7f8fa; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
         sans-serif; color: var(--text); background: var(--bg); }
  header { display: flex; align-items: center; justify-content: space-between; padding: 16px 32px;
           background: #fff; border-bottom: 1px solid var(--line); position: sticky; top: 0; }
  header h1 { font-size: 22px; font-weight: 600; margin: 0; }
  header .node { color: var(--muted); font-size: 13px; margin-left: 12px; }
  main { max-width: 920px; margin: 24px auto; padding: 0 32px 48px; }
  section.panel { background: #fff; border: 1px solid var(--line); border-radius: 4px;
                  margin-bottom: 24px; }
  section.panel > h2 { font-size: 16px; font-weight: 600; margin: 0; padding: 14px 20px;
                       border-bottom: 1px solid var(--line); display: flex;
                       justify-content: space-between; align-items: center; }
  .setting { display: grid; grid-template-columns: 200px 1fr; gap: 16px; padding: 14px 20px;
             border-bottom: 1px solid var(--line); align-items: start; }
  .setting:last-child { border-bottom: 0; }
  .setting > label { font-weight: 600; padding-top: 7px; }
  .hint { color: var(--muted); font-size: 12px; margin-top: 4px; }
  input[type=text], input[type=password], select, textarea {
    width: 100%; font: inherit; padding: 7px 10px; border: 1px solid #cbced1; border-radius: 4px;
    background: #fff; color: var(--text); }
  input:focus, select:focus, textarea:focus { outline: none; border-color: var(--blue);
                                             box-shadow: 0 0 0 2px rgba(29,116,245,.2); }
  textarea { font: 12px/1.4 ui-monospace, Menlo, Consolas, monospace; resize: vertical; }
  button { font: inherit; font-weight: 600; padding: 7px 16px; border-radius: 4px; cursor: pointer;
           border: 1px solid #cbced1; background: #fff; color: var(--text); }
  button.primary { background: var(--blue); border-color: var(--blue); color: #fff; }
  button:disabled { opacity: .5; cursor: default; }
  .switch { position: relative; display: inline-block; width: 40px; height: 22px; margin-top: 5px; }
  .switch input { opacity: 0; width: 0; height: 0; }
  .switch span { position: absolute; inset: 0; background: #cbced1; border-radius: 11px;
                 transition: .15s; cursor: pointer; }
  .switch span:before { content: ""; position: absolute; width: 16px; height: 16px; left: 3px;
                        top: 3px; background: #fff; border-radius: 50%; transition: .15s; }
  .switch input:checked + span { background: var(--blue); }
  .switch input:checked + span:before { transform: translateX(18px); }
  .status { display: inline-block; padding: 5px 10px; border-radius: 4px; font-weight: 600;
            background: #eef1f4; margin-top: 2px; }
  .status.ok { background: #d5f8ec; color: #0c7a56; }
  .status.warn { background: #fff6d6; color: #8a6d00; }
  .status.bad { background: #ffe3e7; color: #b3001b; }
  .key-row { display: flex; gap: 8px; align-items: flex-start; }
  .messages { margin: 0; padding: 12px 20px; border-top: 1px solid var(--line); display: none;
              font: 12px/1.5 ui-monospace, Menlo, Consolas, monospace; white-space: pre-wrap; }
  .messages.error { display: block; background: #ffe3e7; color: #b3001b; }
  .messages.ok { display: block; background: #d5f8ec; color: #0c7a56; }
  pre { margin: 0; padding: 14px 20px; font: 12px/1.5 ui-monospace, Menlo, Consolas, monospace;
        white-space: pre-wrap; word-break: break-all; }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; padding: 9px 20px; border-bottom: 1px solid var(--line);
           vertical-align: top; }
  th { font-size: 12px; text-transform: uppercase; letter-spacing: .03em; color: var(--muted);
       font-weight: 600; }
  tr:last-child td { border-bottom: 0; }
  td.empty { color: var(--muted); }
  .level { font-weight: 600; text-transform: uppercase; font-size: 12px; }
  .level.ok { color: #0c7a56; } .level.warning { color: #8a6d00; } .level.error { color: #b3001b; }
  #login { max-width: 420px; margin: 80px auto; }
  #login form { padding: 20px; display: grid; gap: 12px; }
  [hidden] { display: none !important; }
</style>
</head>
<body>
<header>
  <div><h1 style="display:inline">Federation</h1><span class="node" id="node-file"></span></div>
  <div><button id="logout" hidden>Forget token</button>
       <button class="primary" id="save" hidden disabled>Save changes</button></div>
</header>

<div id="login">
  <section class="panel">
    <h2>Local API token</h2>
    <form id="login-form">
      <div>This screen belongs to the node. Enter its <code>local_api.token</code> to
        continue; it is kept in this tab only.</div>
      <input type="password" id="token-input" autocomplete="off" placeholder="token">
      <div class="hint" id="login-error"></div>
      <button class="primary" id="token-submit" type="submit">Continue</button>
    </form>
  </section>
</div>

<main id="screen" hidden>
  <section class="panel" id="settings-panel">
    <h2>Federation</h2>
    <div class="setting"><label for="enabled">Enabled</label>
      <div><label class="switch"><input type="checkbox" id="enabled"><span></span></label></div></div>
    <div class="setting"><label>Status</label>
      <div><span class="status" id="status">Loading...</span>
        <div class="hint" id="status-reason"></div></div></div>
    <div class="setting"><label for="domain">Domain</label>
      <div><input type="text" id="domain" spellcheck="false">
        <div class="hint">The domain this node federates for, such as chat.example.com.</div></div></div>
    <div class="setting"><label for="public-key">Public Key</label>
      <div><div class="key-row"><textarea id="public-key" rows="4" readonly></textarea>
        <button id="copy-key" type="button">Copy</button></div>
        <div class="hint" id="fingerprint"></div></div></div>
    <div class="setting"><label for="hub-url">Hub URL</label>
      <div><input type="text" id="hub-url" spellcheck="false">
        <div class="hint">Where the node registers when the discovery method is Hub.</div></div></div>
    <div class="setting"><label for="discovery">Discovery Method</label>
      <div><select id="discovery">
        <option value="dns">DNS</option><option value="hub">Hub</option>
        <option value="static">Static (peers in the settings file)</option></select></div></div>
    <div class="messages" id="messages"></div>
  </section>

  <section class="panel">
    <h2>DNS records to publish</h2>
    <pre id="dns-records">Loading...</pre>
  </section>

  <section class="panel">
    <h2>Checks <button id="run-checks" type="button">Run checks</button></h2>
    <table><thead><tr><th>Check</th><th>Result</th><th>Message</th></tr></thead>
      <tbody id="checks"><tr><td class="empty" colspan="3">Loading...</td></tr></tbody></table>
  </section>

  <section class="panel">
    <h2>Peers</h2>
    <table><thead><tr><th>Domain</th><th>State</th><th>Queue depth</th><th>Oldest queued</th>
      <th>Last error</th></tr></thead>
      <tbody id="peers"><tr><td class="empty" colspan="5">Loading...</td></tr></tbody></table>
  </section>
</main>

<script>
"use strict";
const $ = (id) => document.getElementById(id);
const tokenKey = "fedrelay-token";
let token = sessionStorage.getItem(tokenKey) || "";
let loaded = null;        // the settings as last read from the file
let instance = null;      // which start of the node answered last
let restarting = false;   // a saved change is being applied
let restartingSince = 0;
let pollTimer = null;

class Unauthorized extends Error {}

async function api(method, call, body) {
  const res = await fetch("/api/v1/" + call, {
    method, cache: "no-store",
    headers: { "Authorization": "Bearer " + token, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body) });
  let json = {};
  try { json = await res.json(); } catch (e) { json = { success: false, error: "HTTP " + res.status }; }
  if (res.status === 401) throw new Unauthorized(json.error || "wrong token");
  json.httpStatus = res.status;
  return json;
}

function text(node, value) { node.textContent = value; }

function showLogin(message) {
  token = "";
  sessionStorage.removeItem(tokenKey);
  clearTimeout(pollTimer);
  $("screen").hidden = true; $("save").hidden = true; $("logout").hidden = true;
  $("login").hidden = false;
  text($("login-error"), message || "");
  $("token-input").focus();
}

function guard(promise) {
  return promise.catch((e) => { if (e instanceof Unauthorized) showLogin("That token was not accepted."); else throw e; });
}

function ageText(ms) {
  if (!ms) return "-";
  const s = Math.round(ms / 1000);
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
}

function cell(row, value, cls) {
  const td = document.createElement("td");
  td.textContent = value;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function emptyRow(body, columns, message) {
  body.replaceChildren();
  const tr = document.createElement("tr");
  cell(tr, message, "empty").colSpan = columns;
  body.appendChild(tr);
}

function showStatus(status, reason) {
  const node = $("status");
  text(node, status);
  node.className = "status " + (status === "Running" ? "ok" :
    (status === "Booting..." || status === "[HUB Only] Registering with Hub...") ? "warn" : "bad");
  text($("status-reason"), reason || "");
}

function showPeers(peers) {
  const body = $("peers");
  if (!peers.length) return emptyRow(body, 5, "No peers yet: they appear once a room has members on another server.");
  body.replaceChildren();
  for (const p of peers) {
    const tr = document.createElement("tr");
    cell(tr, p.domain); cell(tr, p.state); cell(tr, String(p.queue_depth));
    cell(tr, ageText(p.oldest_queued_age_ms)); cell(tr, p.last_error || "-");
    body.appendChild(tr);
  }
}

// A restart takes about a second; one that takes much longer did not come back.
function waitingForRestart() {
  if (Date.now() - restartingSince < 30000) return showStatus("Booting...", "applying the saved settings");
  restarting = false;
  showStatus("Unknown", "the node did not come back after applying the settings; see its log");
}

async function pollStatus() {
  try {
    if (restarting) {
      // Until a new start of the node answers, the old one or none may be there.
      const s = await api("GET", "federation.settings");
      if (s.instance && s.instance !== instance) { restarting = false; await loadAll(); }
      else waitingForRestart();
    } else {
      const st = await api("GET", "federation.status");
      if (st.success) {
        showStatus(st.status, st.status_reason);
        const key = $("public-key");
        if (key.value !== st.public_key) key.value = st.public_key || "";
        text($("fingerprint"), st.fingerprint ? "Fingerprint " + st.fingerprint : "");
        showPeers(st.peers || []);
      } else {
        showStatus("Unknown", st.error);
      }
    }
  } catch (e) {
    if (e instanceof Unauthorized) return showLogin("That token was not accepted.");
    if (restarting) waitingForRestart();
    else showStatus("Unknown", "the node does not answer");
  }
  pollTimer = setTimeout(pollStatus, 1000);
}

function fillForm(s) {
  loaded = s;
  $("enabled").checked = s.enabled;
  $("domain").value = s.domain;
  $("hub-url").value = s.hub_url;
  $("discovery").value = s.discovery;
  formChanged();
}

function formValues() {
  return { enabled: $("enabled").checked, domain: $("domain").value.trim(),
           hub_url: $("hub-url").value.trim(), discovery: $("discovery").value };
}

function changedValues() {
  const now = formValues(), out = {};
  if (!loaded) return out;
  for (const k of Object.keys(now)) if (now[k] !== loaded[k]) out[k] = now[k];
  return out;
}

function formChanged() { $("save").disabled = Object.keys(changedValues()).length === 0; }

function showMessages(kind, lines) {
  const box = $("messages");
  box.className = "messages " + kind;
  text(box, lines.join("\n"));
}

async function loadSettings() {
  const s = await api("GET", "federation.settings");
  if (!s.success) return showMessages("error", (s.errors || [s.error]).map((l) => "error: " + l));
  instance = s.instance;
  text($("node-file"), s.file);
  fillForm(s.settings);
}

async function loadRecords() {
  const r = await api("GET", "federation.dnsRecords");
  text($("dns-records"), r.success ? r.records : (r.errors || [r.error]).map((l) => "error: " + l).join("\n"));
}

async function runChecks() {
  const body = $("checks");
  $("run-checks").disabled = true;
  emptyRow(body, 3, "Running...");
  try {
    const r = await api("GET", "federation.checks");
    if (!r.success) return emptyRow(body, 3, r.httpStatus === 503 && /unavailable/.test(r.error) ? "checks unavailable" : r.error);
    if (!r.checks.length) return emptyRow(body, 3, "No checks ran.");
    body.replaceChildren();
    for (const c of r.checks) {
      const tr = document.createElement("tr");
      cell(tr, c.name); cell(tr, c.level, "level " + c.level);
      cell(tr, c.message + (c.fix ? "\nFix: " + c.fix : "")).style.whiteSpace = "pre-wrap";
      body.appendChild(tr);
    }
  } finally { $("run-checks").disabled = false; }
}

async function loadAll() {
  await loadSettings();
  await loadRecords();
  guard(runChecks());
}

async function save() {
  const changes = changedValues();
  if (!Object.keys(changes).length) return;
  $("save").disabled = true;
  let r;
  try { r = await api("POST", "federation.settings", changes); }
  catch (e) {
    if (e instanceof Unauthorized) throw e;
    formChanged();
    return showMessages("error", ["The node did not answer: " + e.message]);
  }
  if (!r.success) {
    formChanged();
    return showMessages("error", (r.errors || [r.error]).map((l) => "error: " + l));
  }
  const lines = ["Saved to " + $("node-file").textContent + "."];
  for (const m of r.missing || []) lines.push("missing: " + m);
  showMessages("ok", lines);
  fillForm(r.settings);
  if (r.applying) {
    restarting = true;
    restartingSince = Date.now();
    showStatus("Booting...", "applying the saved settings");
  }
}

function start() {
  $("login").hidden = true;
  $("screen").hidden = false; $("save").hidden = false; $("logout").hidden = false;
  guard(loadAll());
  clearTimeout(pollTimer);
  pollStatus();
}

$("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  token = $("token-input").value.trim();
  if (!token) return;
  sessionStorage.setItem(tokenKey, token);
  $("token-input").value = "";
  start();
});
$("logout").addEventListener("click", () => showLogin(""));
$("save").addEventListener("click", () => guard(save()));
$("run-checks").addEventListener("click", () => guard(runChecks()));
for (const id of ["enabled", "domain", "hub-url", "discovery"]) {
  $(id).addEventListener("input", formChanged);
  $(id).addEventListener("change", formChanged);
}
$("copy-key").addEventListener("click", async () => {
  const key = $("public-key");
  try { await navigator.clipboard.writeText(key.value); }
  catch (e) { key.select(); document.execCommand("copy"); }
  text($("copy-key"), "Copied");
  setTimeout(() => text($("copy-key"), "Copy"), 1500);
});

if (token) start(); else showLogin("");
</script>
</body>
</html>
)html";

}  // namespace

http_response settings_page() {
  http_response res;
  res.content_type = "text/html; charset=utf-8";
  // Nothing may be loaded from elsewhere, nor the page framed by another site.
  res.headers = {{"Content-Security-Policy",
                  "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
                  "connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'"},
                 {"X-Frame-Options", "DENY"},
                 {"Referrer-Policy", "no-referrer"},
                 {"Cache-Control", "no-store"}};
  res.body = page_html;
  return res;
}

}  // namespace fedrelay::net
