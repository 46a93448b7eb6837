// One hosted zone: its record sets (server-side paging, name/type filter,
// forms for every type and routing policy, one change batch for many edits,
// PENDING -> INSYNC shown live), zone file import/export and DNSSEC status.
import { all, bareId, first, kid, ktxt, r53, txt } from "./api.js";
import { every } from "./app.js";
import { recordForm } from "./recordform.js";
import { describePolicy, fromXml, listAll, submit } from "./rrsets.js";
import { TYPES, ZoneFileError, format, parse } from "./zonefile.js";
import { confirmDialog, download, field, h, input, message, select, showError, table } from "./ui.js";

const PAGE = 100;

export async function render(root, [zoneId, tab = "records"]) {
  const doc = await r53("GET", `/hostedzone/${zoneId}`);
  const zone = { id: zoneId, name: txt(doc, "Name"), private: txt(doc, "PrivateZone") === "true",
                 count: txt(doc, "ResourceRecordSetCount"),
                 nameservers: all(doc, "NameServer").map((n) => n.textContent) };
  const tabs = [["records", "Record sets"], ["import", "Import / export"], ["dnssec", "DNSSEC"], ["traffic", "Traffic"], ["test", "Test a query"]];
  const nav = h("nav", { class: "tabs", "aria-label": "Zone" }, tabs.map(([t, label]) =>
    h("a", { href: `#/zones/${zoneId}/${t}`, "aria-current": t === tab ? "page" : null }, label)));
  const msg = h("div", { id: "zone-msg" });
  root.replaceChildren(
    h("p", {}, h("a", { href: "#/zones" }, "Hosted zones"), " / ", zone.name),
    h("h1", {}, zone.name, " ", h("small", {}, zone.private ? "(private)" : "(public)")),
    h("p", { class: "hint" }, `${zoneId} · ${zone.count} record sets`,
      zone.nameservers.length ? ` · name servers ${zone.nameservers.join(", ")}` : ""),
    nav, msg);
  const body = h("div");
  root.append(body);
  if (tab === "import") return importExport(body, zone, msg);
  if (tab === "dnssec") return dnssec(body, zone, msg);
  if (tab === "test") return (await import("./traffic.js")).testQuery(body, zone);
  if (tab === "traffic") return (await import("./traffic.js")).zoneTraffic(body, zone);
  return records(body, zone, msg);
}

// -- change status -----------------------------------------------------------
export function watchChange(where, changeId) {
  const status = h("span", { class: "status-PENDING", id: "change-status", dataset: { change: changeId } }, "PENDING");
  where.replaceChildren(h("div", { class: "msg info", role: "status" }, `Change ${changeId}: `, status));
  const t = every(500, async () => {
    try {
      const doc = await r53("GET", `/change/${changeId}`);
      const s = txt(doc, "Status");
      status.textContent = s;
      status.className = `status-${s}`;
      if (s === "INSYNC") clearInterval(t);
    } catch (e) { clearInterval(t); showError(where, e); }
  });
}

// -- record sets -------------------------------------------------------------
async function records(body, zone, msg) {
  const nameFilter = input("filter-name", { type: "search", placeholder: "www." + zone.name, autocomplete: "off" });
  const typeFilter = select("filter-type", [["", "Any type"], ...TYPES.map((t) => [t, t])], "");
  const changeBox = h("div", { id: "change-box", "aria-live": "polite" });
  const tableBox = h("div", { id: "rrset-table" });
  const pager = h("div", { class: "pager" });
  const batch = [];  // pending changes: one ChangeResourceRecordSets when submitted
  const batchBox = h("div", { class: "panel", id: "batch" });
  const formBox = h("div");
  const starts = [];
  let current = null, rows = [];

  function filterStart() {
    const n = nameFilter.value.trim();
    if (!n) return { name: "", type: "" };
    const name = n.endsWith(".") ? n : (n.toLowerCase().endsWith(zone.name.replace(/\.$/, "")) ? n + "." : `${n}.${zone.name}`);
    return { name, type: typeFilter.value };
  }

  // names in reversed-label form: a name's subtree is the keys it prefixes
  const key = (n) => n.toLowerCase().replace(/\.$/, "").split(".").reverse().join(".");

  async function load(start) {
    current = start;
    message(msg, "", "");
    const f = filterStart();
    const fkey = key(f.name);
    const found = [];
    let next = null, params = pageParams(start);
    try {
      for (let calls = 0; calls < 20 && !next; calls++) {
        const doc = await r53("GET", `/hostedzone/${zone.id}/rrset`, { params });
        const page = Array.from(doc.getElementsByTagName("ResourceRecordSet")).map(fromXml);
        let past = false;
        for (const r of page) {
          const k = key(r.Name);
          const under = !f.name || k === fkey || k.startsWith(fkey + ".");
          if (f.name && !under && k > fkey && !k.startsWith(fkey)) { past = true; break; }
          if (!under || (typeFilter.value && r.Type !== typeFilter.value)) continue;
          if (found.length === PAGE) { next = { name: r.Name, type: r.Type, identifier: r.SetIdentifier }; break; }
          found.push(r);
        }
        if (past || next || txt(doc, "IsTruncated") !== "true") break;
        const cont = { name: txt(doc, "NextRecordName"), type: txt(doc, "NextRecordType"),
                       identifier: txt(doc, "NextRecordIdentifier") };
        if (found.length === PAGE || calls === 19) { next = cont; break; }
        params = pageParams(cont, typeFilter.value ? 300 : PAGE - found.length);
      }
    } catch (e) {
      tableBox.replaceChildren();
      pager.replaceChildren();
      showError(msg, e);
      return;
    }
    rows = found;
    show(found, next);
  }

  function pageParams(s, n = PAGE) {
    const p = [["maxitems", String(Math.max(1, Math.min(300, n)))]];
    if (s.name) p.push(["name", s.name]);
    if (s.name && s.type) p.push(["type", s.type]);
    if (s.name && s.type && s.identifier) p.push(["identifier", s.identifier]);
    return p;
  }

  function show(found, next) {
    const trs = found.map((r, i) => h("tr", { dataset: { name: r.Name, type: r.Type, set: r.SetIdentifier || "" } },
      h("td", {}, h("input", { type: "checkbox", "aria-label": `Select ${r.Name} ${r.Type} ${r.SetIdentifier || ""}`, dataset: { row: i } })),
      h("td", {}, r.Name), h("td", {}, r.Type),
      h("td", {}, describePolicy(r), r.SetIdentifier ? ` (${r.SetIdentifier})` : ""),
      h("td", {}, r.AliasTarget ? "alias" : r.TTL),
      h("td", { class: "values" }, r.AliasTarget ? `ALIAS ${r.AliasTarget.DNSName}` : r.values.join("\n")),
      h("td", {}, r.HealthCheckId || ""),
      h("td", {}, h("button", { type: "button", onclick: () => openForm(r) }, "Edit"))));
    tableBox.replaceChildren(found.length ? table(["", "Name", "Type", "Routing", "TTL", "Value", "Health check", ""], trs,
      { "aria-label": "Record sets" }) : h("p", {}, "No record sets match."));
    pager.replaceChildren(
      h("button", { type: "button", disabled: !starts.length, onclick: () => load(starts.pop()) }, "Previous page"),
      h("span", { "aria-live": "polite", id: "page-label" }, `Page ${starts.length + 1} · ${found.length} record sets from ${found[0] ? found[0].Name : "-"}`),
      h("button", { type: "button", id: "next-page", disabled: !next, onclick: () => { starts.push(current); load(next); } }, "Next page"),
      h("button", { type: "button", class: "danger", onclick: deleteSelected }, "Delete selected"));
  }

  async function deleteSelected() {
    const picked = Array.from(tableBox.querySelectorAll("input[type=checkbox]:checked")).map((c) => rows[+c.dataset.row]);
    if (!picked.length) return message(msg, "info", "Select record sets to delete first.");
    if (!(await confirmDialog(`Delete ${picked.length} record set(s)?`, picked.map((r) => `${r.Name} ${r.Type}`).join(", ")))) return;
    await send(picked.map((r) => ({ Action: "DELETE", rrset: r })));
  }

  async function send(changes) {
    try {
      const { id } = await submit(zone.id, changes, "console");
      watchChange(changeBox, id);
      formBox.replaceChildren();
      await load(current);
      message(msg, "ok", `Submitted ${changes.length} change(s) as one batch.`);
      return true;
    } catch (e) { showError(msg, e); return false; }
  }

  function renderBatch() {
    batchBox.hidden = !batch.length;
    batchBox.replaceChildren(h("h2", {}, `Batch: ${batch.length} pending change(s)`),
      h("ul", {}, batch.map((c, i) => h("li", {}, `${c.Action} ${c.rrset.Name} ${c.rrset.Type}${c.rrset.SetIdentifier ? " " + c.rrset.SetIdentifier : ""} `,
        h("button", { type: "button", onclick: () => { batch.splice(i, 1); renderBatch(); } }, "Remove")))),
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => { batch.length = 0; renderBatch(); } }, "Discard batch"),
        h("button", { type: "button", class: "primary", id: "submit-batch", onclick: async () => {
          if (await send(batch.slice())) { batch.length = 0; renderBatch(); } } }, "Submit batch")));
  }

  async function openForm(existing) {
    const form = await recordForm(zone, existing, {
      save: (changes) => send(changes),
      queue: (changes) => { batch.push(...changes); renderBatch(); formBox.replaceChildren(); message(msg, "info", `${batch.length} change(s) in the batch.`); },
      cancel: () => formBox.replaceChildren(),
      names: () => rows.map((r) => r.Name),
    });
    formBox.replaceChildren(form);
    form.querySelector("input,select")?.focus();
  }

  const filterForm = h("form", { class: "toolbar", role: "search" },
    field("Record name (and below)", nameFilter), field("Type", typeFilter),
    h("button", { type: "submit" }, "Filter"),
    h("button", { type: "button", class: "primary", onclick: () => openForm(null) }, "Create record"));
  filterForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    starts.length = 0;
    const f = filterStart();
    load({ name: f.name, type: f.type && f.name ? f.type : "" });
  });
  renderBatch();
  body.replaceChildren(filterForm, changeBox, formBox, batchBox, tableBox, pager);
  await load({ name: "", type: "" });
}

// -- import / export ---------------------------------------------------------
function importExport(body, zone, msg) {
  const text = h("textarea", { rows: 14, id: "zonefile-text", spellcheck: "false",
                               placeholder: `$TTL 300\nwww  IN A 192.0.2.1` });
  const file = h("input", { type: "file", accept: ".zone,.txt,.db,text/plain" });
  file.addEventListener("change", async () => { if (file.files[0]) text.value = await file.files[0].text(); });
  const result = h("div", { id: "import-result" });
  const changeBox = h("div");
  const doImport = async (ev) => {
    ev.preventDefault();
    message(result, "", "");
    let parsed;
    try { parsed = parse(text.value, zone.name); } catch (e) {
      if (e instanceof ZoneFileError) {
        message(result, "error", `Line ${e.line}: ${e.reason}`, "ZoneFileError");
        result.firstChild.dataset.line = e.line;
        highlight(text, e.line);
        return;
      }
      throw e;
    }
    const apex = zone.name.toLowerCase();
    const sets = parsed.rrsets.filter((r) => !(r.Type === "SOA" || (r.Type === "NS" && r.Name === apex)));
    if (!sets.length) return message(result, "error", "The file holds no record set to import besides SOA and NS.", "ZoneFileError");
    try {
      const { id } = await submit(zone.id, sets.map((r) => ({ Action: "UPSERT", rrset: { ...r, TTL: String(r.TTL) } })), "zone file import");
      message(result, "ok", `Imported ${sets.length} record sets in one change batch.`);
      watchChange(changeBox, id);
    } catch (e) {
      // Route 53 names the record; point at the line it came from
      const hit = sets.find((r) => e.message.includes(r.Name.replace(/\.$/, "")) && e.message.includes(r.Type));
      const line = hit ? `Line ${hit.line}: ` : "";
      message(result, "error", line + e.message, e.code);
      if (hit) { result.firstChild.dataset.line = hit.line; highlight(text, hit.line); }
    }
  };
  const exportBtn = h("button", { type: "button", onclick: async () => {
    try {
      const sets = await listAll(zone.id);
      const out = format(zone.name, sets.map((r) => ({ ...r, routing: r.SetIdentifier ? describePolicy(r) : null,
        alias: r.AliasTarget ? r.AliasTarget.DNSName : null })));
      preview.textContent = out;
      download(`${zone.name}zone`, out);
    } catch (e) { showError(msg, e); }
  } }, "Export zone file");
  const preview = h("pre", { class: "zone", id: "export-preview", tabindex: "0", "aria-label": "Exported zone file" });
  const form = h("form", { class: "panel", "aria-labelledby": "import-title" },
    h("h2", { id: "import-title" }, "Import a zone file"),
    h("p", { class: "hint" }, "Record sets are created or replaced (UPSERT) in one change batch; SOA and the apex NS stay the zone's."),
    field("Zone file", text), field("or read a file", file), result,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Import")));
  form.addEventListener("submit", doImport);
  body.replaceChildren(form, changeBox, h("div", { class: "panel" }, h("h2", {}, "Export"), exportBtn, preview));
}

function highlight(textarea, line) {
  const lines = textarea.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  textarea.focus();
  textarea.setSelectionRange(start, start + (lines[line - 1] || "").length);
}

// -- DNSSEC ------------------------------------------------------------------
async function dnssec(body, zone, msg) {
  try {
    const doc = await r53("GET", `/hostedzone/${zone.id}/dnssec`);
    const status = first(doc, "Status");
    const keys = all(doc, "KeySigningKey");
    body.replaceChildren(h("div", { class: "panel", id: "dnssec" },
      h("h2", {}, "Signing"),
      h("p", {}, "ServeSignature: ", h("strong", { id: "serve-signature" }, status ? ktxt(status, "ServeSignature") : "-"),
        status && ktxt(status, "StatusMessage") ? ` (${ktxt(status, "StatusMessage")})` : ""),
      keys.length ? table(["KSK", "Status", "Key tag", "Algorithm", "DS record to give the parent"], keys.map((k) =>
        h("tr", {}, h("td", {}, ktxt(k, "Name")), h("td", {}, ktxt(k, "Status")), h("td", {}, ktxt(k, "KeyTag")),
          h("td", {}, ktxt(k, "SigningAlgorithmMnemonic")), h("td", { class: "values" }, ktxt(k, "DSRecord")))),
        { "aria-label": "Key-signing keys" }) : h("p", {}, "No key-signing keys.")));
  } catch (e) { showError(msg, e); }
}
