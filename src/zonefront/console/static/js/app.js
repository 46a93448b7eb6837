// The console's shell: log in with an access key, then route #/... to pages.
import { ApiError, credentials, loadCredentials, r53, setCredentials } from "./api.js";
import { h, field, input, showError } from "./ui.js";

const PAGES = {
  zones: () => import("./zones.js"),
  zone: () => import("./records.js"),
  health: () => import("./health.js"),
  traffic: () => import("./traffic.js"),
  domains: () => import("./domains.js"),
};
const BAD_KEY = new Set(["InvalidClientTokenId", "SignatureDoesNotMatch", "IncompleteSignature",
                         "MissingAuthenticationToken"]);

function main() { return document.getElementById("main"); }

function loginPage() {
  document.getElementById("nav").hidden = true;
  document.getElementById("who").textContent = "";
  const key = input("key", { autocomplete: "username", required: true, spellcheck: "false" });
  const secret = input("secret", { type: "password", autocomplete: "current-password", required: true });
  const msg = h("div", { id: "login-msg" });
  const form = h("form", { class: "login panel", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Log in"),
    h("p", {}, "Use an access key of this server (`zonefront key create`, or the data directory's api-credentials). The secret stays in this tab and signs each request (SigV4); it is never sent."),
    field("Access key ID", key), field("Secret access key", secret), msg,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Log in")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    setCredentials({ key: key.value.trim(), secret: secret.value });
    try {
      await r53("GET", "/hostedzonecount");
    } catch (e) {
      if (BAD_KEY.has(e.code) || e.code === "NetworkError") {
        setCredentials(null);
        showError(msg, e);
        return;
      }
      // AccessDenied and the like: the key is real, its policy is narrow
    }
    location.hash = "#/zones";
    route();
  });
  main().replaceChildren(form);
  key.focus();
}

export async function route() {
  if (!credentials() && !loadCredentials()) return loginPage();
  const nav = document.getElementById("nav");
  nav.hidden = false;
  const who = document.getElementById("who");
  who.replaceChildren(`Key ${credentials().key} `, h("button", { type: "button", onclick: () => {
    setCredentials(null); location.hash = "#/login"; route(); } }, "Log out"));
  const parts = (location.hash.replace(/^#\/?/, "") || "zones").split("/").map(decodeURIComponent);
  if (parts[0] === "login") parts[0] = "zones";
  const name = parts[0] === "zones" && parts[1] ? "zone" : parts[0];
  for (const a of nav.querySelectorAll("a")) {
    const on = a.getAttribute("href") === `#/${parts[0]}`;
    if (on) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  const load = PAGES[name] || PAGES.zones;
  const root = main();
  root.replaceChildren(h("p", {}, "Loading…"));
  stopTimers();
  try {
    const mod = await load();
    await mod.render(root, parts.slice(1));
  } catch (e) {
    root.replaceChildren(h("h1", {}, "Error"), h("div", { id: "page-msg" }));
    showError("page-msg", e instanceof ApiError ? e : new ApiError("Error", e.message, 0));
  }
}

// pages register pollers here so that leaving a page stops them
const timers = new Set();
export function every(ms, fn) {
  const t = setInterval(fn, ms);
  timers.add(t);
  return t;
}
export function stopTimers() {
  for (const t of timers) clearInterval(t);
  timers.clear();
}

window.addEventListener("hashchange", route);
route();
