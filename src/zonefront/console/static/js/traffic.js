// Traffic: queries per second and answer codes per zone (and per record when
// the metrics carry it) from /metrics, sampled while the page is open; and
// "test a query" on TestDNSAnswer.
import { all, bareId, ktxt, metrics, r53, txt } from "./api.js";
import { every } from "./app.js";
import { lineChart } from "./chart.js";
import { parseProm } from "./prom.js";
import { field, h, input, select, showError, table } from "./ui.js";

const NEEDS = "Traffic charts need zonefront's Prometheus metrics at /metrics on this API port " +
  "(`zonefront serve --metrics-listen`, with the metrics also mounted on the API port). " +
  "This server does not answer /metrics yet, so there is nothing to chart.";

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
  const prev = new Map();  // series key -> [t, counter]
  const series = new Map();  // title -> name -> points
  async function sample() {
    const text = await metrics().catch(() => null);
    if (text === null) { charts.replaceChildren(h("p", { class: "msg info", id: "metrics-needed" }, NEEDS)); return; }
    const now = Date.now();
    for (const s of parseProm(text)) {
      if (!/quer|response|rcode|answer/i.test(s.name) || !/_total$/.test(s.name)) continue;
      const zone = s.labels.zone || s.labels.hosted_zone || "all zones";
      const code = s.labels.rcode || s.labels.code || "";
      const rec = s.labels.record || s.labels.name || "";
      const key = `${s.name}|${JSON.stringify(s.labels)}`;
      const last = prev.get(key);
      prev.set(key, [now, s.value]);
      if (!last || now === last[0]) continue;
      const rate = Math.max(0, (s.value - last[1]) / ((now - last[0]) / 1000));
      const title = code ? `Answer codes per second, ${zone}` : rec ? `Queries per second, ${zone} ${rec}` : `Queries per second, ${zone}`;
      const m = series.get(title) || new Map();
      const name = code || rec || s.name;
      const pts = m.get(name) || [];
      pts.push([now, rate]);
      m.set(name, pts.slice(-150));
      series.set(title, m);
    }
    charts.replaceChildren(...(series.size ? [...series].map(([title, m]) =>
      lineChart(title, [...m].map(([name, points]) => ({ name, points })), "/s"))
      : [h("p", { class: "msg info" }, "Sampling /metrics; the first rates appear after two samples.")]));
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
