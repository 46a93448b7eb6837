// Traffic: queries per second and answer codes per zone and per record (when
// the server counts per record, --metrics-per-record) from /metrics, sampled
// while the page is open; a zone's own record charts; and "test a query" on
// TestDNSAnswer.
import { all, bareId, ktxt, metrics, r53, txt } from "./api.js";
import { every } from "./app.js";
import { lineChart } from "./chart.js";
import { parseProm } from "./prom.js";
import { field, h, input, select, showError, table } from "./ui.js";

const NEEDS = "Traffic charts need zonefront's Prometheus metrics: start `zonefront serve` with " +
  "--metrics-listen HOST:PORT and the console reads them through this port (signed, IAM action " +
  "zonefront:GetMetrics). This server runs without them, so there is nothing to chart yet.";

// zonefront_dns_responses_total{transport,qtype,rcode,zone} summed per zone and per
// (zone, rcode); rates are the differences between two samples
export function totals(text) {
  const out = { zones: {}, codes: {} };
  for (const s of parseProm(text)) {
    if (s.name !== "zonefront_dns_responses_total") continue;
    const zone = s.labels.zone || "(no zone)";
    out.zones[zone] = (out.zones[zone] || 0) + s.value;
    const codes = out.codes[zone] || (out.codes[zone] = {});
    codes[s.labels.rcode || "?"] = (codes[s.labels.rcode || "?"] || 0) + s.value;
  }
  return out;
}

export function rates(prev, cur, seconds) {
  const r = (a, b) => Math.max(0, ((b || 0) - (a || 0)) / seconds);
  const out = { zones: {}, codes: {} };
  for (const [z, v] of Object.entries(cur.zones)) out.zones[z] = r(prev.zones[z], v);
  for (const [z, codes] of Object.entries(cur.codes)) {
    out.codes[z] = {};
    for (const [c, v] of Object.entries(codes)) out.codes[z][c] = r((prev.codes[z] || {})[c], v);
  }
  return out;
}

const PER_RECORD_OFF = "Per-record charts need zonefront serve --metrics-per-record N (the N " +
  "busiest records are exported as zonefront_dns_record_queries_total); this server counts " +
  "per zone only.";
const SHOWN = 6;  // records in the queries-per-second chart
const DETAILED = 3;  // records with an answer-code chart of their own

// zonefront_dns_record_queries_total{zone,name,type,rcode}: per record
// ("name type") its zone, all answers and answers by rcode; only `zone`'s when given
export function recordTotals(text, zone) {
  const out = {};
  for (const s of parseProm(text)) {
    if (s.name !== "zonefront_dns_record_queries_total") continue;
    if (zone && s.labels.zone !== zone) continue;
    const key = `${s.labels.name} ${s.labels.type}`;
    const r = out[key] || (out[key] = { name: s.labels.name, type: s.labels.type, zone: s.labels.zone, total: 0, codes: {} });
    r.total += s.value;
    r.codes[s.labels.rcode] = (r.codes[s.labels.rcode] || 0) + s.value;
  }
  return out;
}

// the server exports this family whenever per-record counting is on, even
// before a record has been asked for
export const perRecordOn = (text) => /^zonefront_dns_record_slots_used /m.test(text);

export function recordRates(prev, cur, seconds) {
  const r = (a, b) => Math.max(0, ((b || 0) - (a || 0)) / seconds);
  const out = {};
  for (const [k, v] of Object.entries(cur)) {
    const p = prev[k] || { total: 0, codes: {} };
    out[k] = { total: r(p.total, v.total), codes: {} };
    for (const [c, n] of Object.entries(v.codes)) out[k].codes[c] = r(p.codes[c], n);
  }
  return out;
}

// Samples -> the per-record charts and a table of the counts (the table is
// also what a screen reader reads); zone: only that zone's records.
export function recordPanel(zone) {
  let prev = null;
  const qps = new Map();  // "name type" -> points
  const codes = new Map();  // "name type" -> rcode -> points
  const push = (map, key, point) => { const p = map.get(key) || []; p.push(point); map.set(key, p.slice(-150)); };
  return (text, now) => {
    if (!perRecordOn(text)) return [h("p", { class: "hint", id: "records-off" }, PER_RECORD_OFF)];
    const cur = recordTotals(text, zone);
    if (prev) {
      for (const [k, v] of Object.entries(recordRates(prev.totals, cur, (now - prev.t) / 1000))) {
        push(qps, k, [now, v.total]);
        const m = codes.get(k) || new Map();
        for (const [c, n] of Object.entries(v.codes)) push(m, c, [now, n]);
        codes.set(k, m);
      }
    }
    prev = { t: now, totals: cur };
    const busiest = Object.values(cur).sort((a, b) => b.total - a.total);
    const top = busiest.slice(0, SHOWN).map((r) => `${r.name} ${r.type}`);
    const out = [];
    if (!busiest.length) {
      out.push(h("p", { class: "msg info", id: "records-none" }, "No record has been asked for yet."));
      return out;
    }
    const chart = lineChart("Queries per second by record", top.filter((k) => qps.has(k))
      .map((k) => ({ name: k, points: qps.get(k) })), "/s");
    chart.id = "record-qps";
    out.push(chart);
    for (const k of top.slice(0, DETAILED)) {
      const m = codes.get(k);
      const c = lineChart(`Answer codes per second, ${k}`, m ? [...m].map(([name, points]) => ({ name, points })) : [], "/s");
      c.classList.add("record-codes");
      c.dataset.record = k;
      out.push(c);
    }
    const rcodes = [...new Set(busiest.flatMap((r) => Object.keys(r.codes)))].sort();
    out.push(table(["Record", "Type", "Zone", "Answers", ...rcodes], busiest.map((r) =>
      h("tr", { dataset: { record: `${r.name} ${r.type}` } }, h("td", {}, r.name), h("td", {}, r.type), h("td", {}, r.zone),
        h("td", { class: "num" }, String(r.total)),
        ...rcodes.map((c) => h("td", { class: "num", dataset: { rcode: c } }, String(r.codes[c] || 0))))),
    { "aria-label": "Answers per record", id: "record-table" }));
    return out;
  };
}

// A zone's own traffic tab: its answer codes and its records.
export async function zoneTraffic(box, zone) {
  const charts = h("div", { id: "zone-traffic" });
  box.replaceChildren(charts);
  const panel = recordPanel(zone.name);
  let prev = null;
  const codes = new Map();
  async function sample() {
    let text;
    try { text = await metrics(); } catch (e) { showError(charts, e); return; }
    if (text === null) { charts.replaceChildren(h("p", { class: "msg info", id: "metrics-needed" }, NEEDS)); return; }
    const now = Date.now();
    const cur = totals(text);
    if (prev) {
      const r = rates(prev.totals, cur, (now - prev.t) / 1000);
      for (const [c, v] of Object.entries(r.codes[zone.name] || {})) {
        const p = codes.get(c) || []; p.push([now, v]); codes.set(c, p.slice(-150));
      }
    }
    prev = { t: now, totals: cur };
    charts.replaceChildren(lineChart(`Answer codes per second, ${zone.name}`,
      [...codes].map(([name, points]) => ({ name, points })), "/s"), ...panel(text, now));
  }
  await sample();
  every(2000, sample);
}

export async function render(root) {
  const msg = h("div", { id: "traffic-msg" });
  const charts = h("div", { id: "traffic-charts" });
  let zones = [];
  try {
    const doc = await r53("GET", "/hostedzone", { params: [["maxitems", "100"]] });
    zones = all(doc, "HostedZone").map((z) => ({ id: bareId(ktxt(z, "Id")), name: ktxt(z, "Name") }));
  } catch (e) { showError(msg, e); }
  const testBox = h("div");
  root.replaceChildren(h("h1", {}, "Traffic"), msg, charts, testBox);
  await testQuery(testBox, null, zones);
  let prev = null;
  const qps = new Map();  // zone -> points
  const codes = new Map();  // zone -> rcode -> points
  const push = (map, key, point) => { const p = map.get(key) || []; p.push(point); map.set(key, p.slice(-150)); };
  const records = recordPanel(null);
  async function sample() {
    let text;
    try { text = await metrics(); } catch (e) { showError(charts, e); return; }
    if (text === null) { charts.replaceChildren(h("p", { class: "msg info", id: "metrics-needed" }, NEEDS)); return; }
    const now = Date.now();
    const cur = totals(text);
    if (prev) {
      const r = rates(prev.totals, cur, (now - prev.t) / 1000);
      for (const [z, v] of Object.entries(r.zones)) push(qps, z, [now, v]);
      for (const [z, cs] of Object.entries(r.codes)) {
        const m = codes.get(z) || new Map();
        for (const [c, v] of Object.entries(cs)) push(m, c, [now, v]);
        codes.set(z, m);
      }
    }
    prev = { t: now, totals: cur };
    charts.replaceChildren(
      qps.size ? lineChart("Queries per second by zone", [...qps].map(([name, points]) => ({ name, points })), "/s")
        : h("p", { class: "msg info" }, "Sampling the metrics; rates appear after two samples (2 s)."),
      ...[...codes].map(([z, m]) => lineChart(`Answer codes per second, ${z}`,
        [...m].map(([name, points]) => ({ name, points })), "/s")),
      h("h2", {}, "Records"), ...records(text, now));
  }
  await sample();
  every(2000, sample);
}

export async function testQuery(box, zone, zones) {
  const zoneSel = zone ? null : select("zone", (zones || []).map((z) => [z.id, z.name]), "");
  const name = input("recordname", { value: zone ? zone.name : "", required: true });
  const type = select("recordtype", ["A", "AAAA", "CAA", "CNAME", "DS", "MX", "NAPTR", "NS", "PTR", "SOA", "SPF", "SRV", "TXT", "HTTPS", "SVCB", "TLSA", "SSHFP"], "A");
  const resolver = input("resolverip", { placeholder: "192.0.2.53" });
  const subnet = input("ecs", { placeholder: "198.51.100.0" });
  const mask = input("ecsmask", { placeholder: "24", inputmode: "numeric" });
  const out = h("div", { id: "test-result", "aria-live": "polite" });
  const form = h("form", { class: "panel", "aria-labelledby": "test-title" },
    h("h2", { id: "test-title" }, "Test a query"),
    h("p", { class: "hint" }, "What a client behind this resolver (or EDNS client subnet) would get, from TestDNSAnswer."),
    h("div", { class: "grid" }, zoneSel ? field("Hosted zone", zoneSel) : null, field("Record name", name), field("Type", type),
      field("Resolver IP", resolver), field("Client subnet IP", subnet), field("Subnet mask", mask)),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Get response")), out);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const params = [["hostedzoneid", zone ? zone.id : zoneSel.value], ["recordname", name.value.trim()], ["recordtype", type.value]];
    if (resolver.value.trim()) params.push(["resolverip", resolver.value.trim()]);
    if (subnet.value.trim()) params.push(["edns0clientsubnetip", subnet.value.trim()]);
    if (mask.value.trim()) params.push(["edns0clientsubnetmask", mask.value.trim()]);
    try {
      const doc = await r53("GET", "/testdnsanswer", { params });
      out.replaceChildren(table(["Name server", "Name", "Type", "Response code", "Protocol", "Answer"], [h("tr", {},
        h("td", {}, txt(doc, "Nameserver")), h("td", {}, txt(doc, "RecordName")), h("td", {}, txt(doc, "RecordType")),
        h("td", {}, txt(doc, "ResponseCode")), h("td", {}, txt(doc, "Protocol")),
        h("td", { class: "values" }, all(doc, "RecordDataEntry").map((e) => e.textContent).join("\n")))], { "aria-label": "Test result" }));
    } catch (e) { showError(out, e); }
  });
  box.replaceChildren(form);
}
