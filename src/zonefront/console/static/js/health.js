// Health checks: live status per checker location, last failure reason,
// charts over time, create/edit/delete every type (calculated checks pick
// their children from a list).
import { all, kid, kids, ktxt, metrics, r53, request, txt } from "./api.js";
import { every } from "./app.js";
import { lineChart } from "./chart.js";
import { checkbox, confirmDialog, field, fmtTime, h, input, message, select, showError, table } from "./ui.js";
import { samples } from "./prom.js";

const TYPES = ["HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP", "CALCULATED",
               "CLOUDWATCH_METRIC", "RECOVERY_CONTROL"];
const history = new Map();  // check id -> [[t, healthy locations fraction]]
const latency = new Map();  // check id -> [[t, ms]] from /metrics

function parseCheck(el) {
  const cfg = kid(el, "HealthCheckConfig");
  const c = { Id: ktxt(el, "Id"), Version: ktxt(el, "HealthCheckVersion") };
  for (const k of ["Type", "IPAddress", "Port", "ResourcePath", "FullyQualifiedDomainName", "SearchString",
                   "RequestInterval", "FailureThreshold", "MeasureLatency", "Inverted", "Disabled",
                   "HealthThreshold", "EnableSNI", "InsufficientDataHealthStatus", "RoutingControlArn"]) c[k] = ktxt(cfg, k);
  c.Children = all(cfg, "ChildHealthCheck").map((x) => x.textContent);
  const alarm = kid(cfg, "AlarmIdentifier");
  if (alarm) { c.AlarmRegion = ktxt(alarm, "Region"); c.AlarmName = ktxt(alarm, "Name"); }
  c.Regions = all(cfg, "Region").map((x) => x.textContent);
  return c;
}

const target = (c) => c.Type === "CALCULATED" ? `${c.Children.length} children, threshold ${c.HealthThreshold}` :
  `${c.FullyQualifiedDomainName || c.IPAddress}${c.Port ? ":" + c.Port : ""}${c.ResourcePath || ""}`;

async function status(id) {
  const doc = await r53("GET", `/healthcheck/${id}/status`);
  return all(doc, "HealthCheckObservation").map((o) => ({ region: ktxt(o, "Region"), ip: ktxt(o, "IPAddress"),
    status: txt(o, "Status"), when: txt(o, "CheckedTime") }));
}

const healthyOf = (obs) => obs.length ? obs.filter((o) => o.status.startsWith("Success")).length / obs.length : null;

export async function render(root, [detail]) {
  const msg = h("div", { id: "health-msg" });
  const listBox = h("div", { id: "health-table" });
  const formBox = h("div");
  const detailBox = h("div", { id: "health-detail" });
  root.replaceChildren(h("h1", {}, "Health checks"), msg,
    h("div", { class: "toolbar" }, h("button", { type: "button", class: "primary", onclick: () => openForm(null) }, "Create health check")),
    formBox, listBox, detailBox);
  let checks = [];

  async function load() {
    try {
      const doc = await r53("GET", "/healthcheck", { params: [["maxitems", "1000"]] });
      checks = all(doc, "HealthCheck").map(parseCheck);
    } catch (e) { listBox.replaceChildren(); return showError(msg, e); }
    const rows = checks.map((c) => h("tr", { dataset: { check: c.Id } },
      h("td", {}, h("a", { href: `#/health/${c.Id}` }, c.Id)), h("td", {}, c.Type), h("td", {}, target(c)),
      h("td", { class: "state", "aria-live": "polite" }, "…"),
      h("td", {}, h("button", { type: "button", onclick: () => openForm(c) }, "Edit"), " ",
        h("button", { type: "button", class: "danger", onclick: () => remove(c) }, "Delete"))));
    listBox.replaceChildren(rows.length ? table(["ID", "Type", "Target", "Status", ""], rows, { "aria-label": "Health checks" })
      : h("p", {}, "No health checks."));
    await refresh();
  }

  async function refresh() {
    const m = await metrics().catch(() => null);  // no metrics, or not allowed: no latency chart
    const now = Date.now();
    await Promise.all(checks.slice(0, 100).map(async (c) => {
      const cell = listBox.querySelector(`tr[data-check="${c.Id}"] td.state`);
      try {
        const obs = await status(c.Id);
        const frac = healthyOf(obs);
        const hist = history.get(c.Id) || [];
        if (frac !== null) hist.push([now, frac * 100]);
        history.set(c.Id, hist.slice(-300));
        if (m) {  // zonefront_health_check_latency_seconds{health_check, location}
          const per = latency.get(c.Id) || new Map();
          for (const s of samples(m, /^zonefront_health_check_latency_seconds$/)) {
            if (s.labels.health_check !== c.Id) continue;
            const p = per.get(s.labels.location) || [];
            p.push([now, s.value * 1000]);
            per.set(s.labels.location, p.slice(-300));
          }
          latency.set(c.Id, per);
        }
        if (cell) {
          const word = frac === null ? "Unknown" : frac >= 0.5 ? "Healthy" : "Unhealthy";
          cell.textContent = obs.length && !obs[0].region ? `${word}: ${obs[0].status.replace(/^\w+: /, "")}`
            : `${word} (${obs.filter((o) => o.status.startsWith("Success")).length}/${obs.length} checkers)`;
          cell.className = `state ${word.toLowerCase()}`;
        }
        if (detail === c.Id) await showDetail(c, obs, m);
      } catch (e) { if (cell) cell.textContent = e.code || "Error"; }
    }));
  }

  async function showDetail(c, obs, m) {
    let fails = [];
    try {
      const doc = await r53("GET", `/healthcheck/${c.Id}/lastfailurereason`);
      fails = all(doc, "HealthCheckObservation").map((o) => ({ region: ktxt(o, "Region"), ip: ktxt(o, "IPAddress"),
        status: txt(o, "Status"), when: txt(o, "CheckedTime") }));
    } catch (e) { fails = [{ region: "-", status: `${e.code}: ${e.message}`, when: "" }]; }
    const obsRows = obs.map((o) => h("tr", {}, h("td", {}, o.region || "-"), h("td", {}, o.ip),
      h("td", { class: o.status.startsWith("Success") ? "healthy" : "unhealthy" }, o.status), h("td", {}, fmtTime(o.when))));
    const failRows = fails.map((o) => h("tr", {}, h("td", {}, o.region), h("td", {}, o.status), h("td", {}, fmtTime(o.when))));
    const lat = [...(latency.get(c.Id) || new Map())].map(([name, points]) => ({ name, points }));
    detailBox.replaceChildren(h("section", { class: "panel", "aria-labelledby": "hc-detail-title" },
      h("h2", { id: "hc-detail-title" }, `Health check ${c.Id}`), h("p", {}, `${c.Type} ${target(c)}`),
      h("h3", {}, "Status per checker location"),
      table(["Location", "Checker IP", "Status", "Checked"], obsRows, { "aria-label": "Checker observations", id: "hc-observations" }),
      h("h3", {}, "Last failure reason"),
      failRows.length ? table(["Location", "Reason", "When"], failRows, { "aria-label": "Last failures", id: "hc-failures" }) : h("p", {}, "No failure recorded."),
      lineChart("Healthy checker locations (%) while this page is open", [{ name: "healthy", points: history.get(c.Id) || [] }], "%"),
      lat.length ? lineChart("Latency per checker location (ms), from the metrics", lat, " ms")
        : h("p", { class: "hint", id: "latency-note" }, m ? "The metrics hold no latency for this check yet."
          : "A latency chart needs zonefront's metrics: start `zonefront serve` with --metrics-listen.")));
  }

  async function remove(c) {
    if (!(await confirmDialog(`Delete health check ${c.Id}?`, "Record sets that use it must be changed first."))) return;
    try { await r53("DELETE", `/healthcheck/${c.Id}`); message(msg, "ok", `Deleted ${c.Id}.`); load(); } catch (e) { showError(msg, e); }
  }

  function openForm(c) {
    formBox.replaceChildren(checkForm(c, checks, async (xmlRoot, body) => {
      try {
        const path = c ? `/healthcheck/${c.Id}` : "/healthcheck";
        const doc = await r53("POST", path, { xml: request(xmlRoot, body) });
        message(msg, "ok", `${c ? "Updated" : "Created"} health check ${txt(doc, "Id")}.`);
        formBox.replaceChildren();
        load();
      } catch (e) { showError(msg, e); }
    }, () => formBox.replaceChildren()));
  }

  await load();
  every(2000, refresh);
}

function checkForm(c, checks, submit, cancel) {
  const v = c || { Type: "HTTP", RequestInterval: "30", FailureThreshold: "3", Children: [], Regions: [] };
  const type = select("type", TYPES, v.Type, { disabled: !!c });
  const kidsBox = h("fieldset", { dataset: { part: "calculated" } }, h("legend", {}, "Child health checks"),
    checks.filter((x) => !c || x.Id !== c.Id).map((x) => checkbox("child", `${x.Id.slice(0, 8)}… ${x.Type} ${target(x)}`, v.Children.includes(x.Id)))
      .map((el, i) => { el.querySelector("input").value = checks.filter((x) => !c || x.Id !== c.Id)[i].Id; return el; }));
  const f = h("form", { class: "panel", id: "hc-form", "aria-labelledby": "hc-form-title" },
    h("h2", { id: "hc-form-title" }, c ? `Edit health check ${c.Id}` : "Create health check"),
    h("div", { class: "grid" },
      field("Type", type),
      h("div", { dataset: { part: "endpoint" }, class: "grid" },
        field("IP address", input("ip", { value: v.IPAddress || "" })),
        field("Domain name", input("fqdn", { value: v.FullyQualifiedDomainName || "" })),
        field("Port", input("port", { value: v.Port || "", inputmode: "numeric" })),
        field("Path", input("path", { value: v.ResourcePath || "", placeholder: "/health" })),
        field("Search string", input("search", { value: v.SearchString || "" }), "HTTP_STR_MATCH / HTTPS_STR_MATCH"),
        field("Request interval (s)", input("interval", { value: v.RequestInterval || "30", disabled: !!c })),
        field("Failure threshold", input("threshold", { value: v.FailureThreshold || "3" })),
        checkbox("latency", "Measure latency", v.MeasureLatency === "true"),
        checkbox("sni", "Enable SNI", v.EnableSNI === "true"),
        field("Checker regions (comma separated, empty for all)", input("regions", { value: v.Regions.join(",") }))),
      h("div", { dataset: { part: "calculated" }, class: "grid" },
        field("Healthy children needed", input("healththreshold", { value: v.HealthThreshold || "1" }))),
      h("div", { dataset: { part: "cloudwatch" }, class: "grid" },
        field("When data is insufficient", select("insufficient", ["Healthy", "Unhealthy", "LastKnownStatus"], v.InsufficientDataHealthStatus || "LastKnownStatus")),
        field("CloudWatch alarm region", input("alarmregion", { value: v.AlarmRegion || "", disabled: !!c })),
        field("CloudWatch alarm name", input("alarmname", { value: v.AlarmName || "", disabled: !!c }))),
      h("div", { dataset: { part: "recovery" }, class: "grid" },
        field("Routing control ARN", input("arn", { value: v.RoutingControlArn || "", disabled: !!c }))),
      checkbox("inverted", "Invert health status", v.Inverted === "true"),
      checkbox("disabled", "Disabled (considered healthy)", v.Disabled === "true")),
    kidsBox,
    h("div", { class: "actions" }, h("button", { type: "button", onclick: cancel }, "Cancel"),
      h("button", { type: "submit", class: "primary" }, c ? "Save" : "Create")));
  const refresh = () => {
    const t = type.value;
    const probed = !["CALCULATED", "CLOUDWATCH_METRIC", "RECOVERY_CONTROL"].includes(t);
    f.querySelector("[data-part=endpoint]").hidden = !probed;
    for (const el of f.querySelectorAll("[data-part=calculated]")) el.hidden = t !== "CALCULATED";
    f.querySelector("[data-part=cloudwatch]").hidden = t !== "CLOUDWATCH_METRIC";
    f.querySelector("[data-part=recovery]").hidden = t !== "RECOVERY_CONTROL";
  };
  type.addEventListener("change", refresh);
  refresh();
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const g = (n) => (f.elements[n] ? f.elements[n].value.trim() : "");
    const on = (n) => (f.elements[n].checked ? "true" : "false");
    const t = type.value;
    const children = Array.from(f.querySelectorAll("input[name=child]:checked")).map((x) => x.value);
    const regions = g("regions") ? g("regions").split(",").map((s) => s.trim()).filter(Boolean) : [];
    const probed = !["CALCULATED", "CLOUDWATCH_METRIC", "RECOVERY_CONTROL"].includes(t);
    const cfg = {};
    if (probed) Object.assign(cfg, { IPAddress: g("ip"), Port: g("port"), ResourcePath: g("path"),
      FullyQualifiedDomainName: g("fqdn"), SearchString: t.endsWith("STR_MATCH") ? g("search") : "" });
    if (!c) cfg.Type = t;
    if (probed && !c) cfg.RequestInterval = g("interval");
    if (probed) cfg.FailureThreshold = g("threshold");
    if (probed && !c) cfg.MeasureLatency = on("latency");
    cfg.Inverted = on("inverted");
    cfg.Disabled = on("disabled");
    if (t === "CALCULATED") { cfg.HealthThreshold = g("healththreshold"); cfg.ChildHealthChecks = ["ChildHealthCheck", children]; }
    if (probed) cfg.EnableSNI = t.startsWith("HTTPS") ? on("sni") : "";
    if (probed && regions.length) cfg.Regions = ["Region", regions];
    if (t === "CLOUDWATCH_METRIC" && !c) cfg.AlarmIdentifier = { Region: g("alarmregion"), Name: g("alarmname") };
    if (t === "CLOUDWATCH_METRIC") cfg.InsufficientDataHealthStatus = g("insufficient");
    if (t === "RECOVERY_CONTROL" && !c) cfg.RoutingControlArn = g("arn");
    if (c) submit("UpdateHealthCheckRequest", { HealthCheckVersion: c.Version, ...cfg });
    else submit("CreateHealthCheckRequest", { CallerReference: `console-${Date.now()}`, HealthCheckConfig: cfg });
  });
  return f;
}
