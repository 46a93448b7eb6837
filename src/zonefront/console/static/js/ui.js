// Small DOM helpers: element builder, labelled fields, messages, dialogs.
// Every control gets a <label>; messages go to role="alert" regions so
// screen readers announce errors such as AccessDenied.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let seq = 0;
export const uid = (p = "f") => `${p}-${++seq}`;

// a labelled control; `control` is an element (input/select/textarea)
export function field(label, control, hint) {
  if (!control.id) control.id = uid();
  const hintEl = hint ? h("small", { id: control.id + "-hint", class: "hint" }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, hintEl);
}

export function input(name, attrs = {}) {
  return h("input", { name, type: "text", ...attrs });
}

export function select(name, options, value, attrs = {}) {
  return h("select", { name, ...attrs }, options.map((o) => {
    const [v, text] = Array.isArray(o) ? o : [o, o];
    return h("option", { value: v, selected: v === value }, text);
  }));
}

export function checkbox(name, label, checked) {
  const box = h("input", { type: "checkbox", name, id: uid(), checked: !!checked });
  return h("div", { class: "field check" }, box, h("label", { for: box.id }, label));
}

// the message area of a page: errors (Route 53's code and text) and notices
export function message(where, kind, text, code) {
  const box = typeof where === "string" ? document.getElementById(where) : where;
  if (!box) return;
  box.replaceChildren();
  if (!text) return;
  box.append(h("div", { class: `msg ${kind}`, role: kind === "error" ? "alert" : "status",
                       dataset: { code: code || "" } },
               code ? h("strong", {}, code + ": ") : null, text));
}

export function showError(where, e) {
  message(where, "error", e.message || String(e), e.code || "Error");
}

export function confirmDialog(title, body, confirmWord) {
  // resolves true when confirmed; with confirmWord the user must type it
  return new Promise((resolve) => {
    const typed = confirmWord ? h("input", { type: "text", id: uid(), autocomplete: "off" }) : null;
    const ok = h("button", { type: "submit", class: "danger", disabled: !!confirmWord }, "Delete");
    const cancel = h("button", { type: "button", value: "cancel" }, "Cancel");
    const dlg = h("dialog", { "aria-labelledby": "dlg-title", class: "confirm" },
      h("form", { method: "dialog" },
        h("h2", { id: "dlg-title" }, title), h("p", {}, body),
        typed ? field(`Type ${confirmWord} to confirm`, typed) : null,
        h("div", { class: "actions" }, cancel, ok)));
    if (typed) typed.addEventListener("input", () => { ok.disabled = typed.value !== confirmWord; });
    cancel.addEventListener("click", () => dlg.close("cancel"));
    dlg.addEventListener("close", () => { resolve(dlg.returnValue !== "cancel" && dlg.returnValue !== ""); dlg.remove(); });
    ok.addEventListener("click", (ev) => { ev.preventDefault(); dlg.close("ok"); });
    document.body.append(dlg);
    dlg.showModal();
    (typed || cancel).focus();
  });
}

export function table(headers, rows, attrs = {}) {
  return h("div", { class: "table-wrap" }, h("table", attrs,
    h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows)));
}

export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString();
}

export function download(filename, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
  const a = h("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
