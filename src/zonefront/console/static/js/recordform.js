// The create/edit form for one record set: every type, every routing policy
// (weighted, latency, failover, geolocation pickers, geoproximity
// coordinates, multivalue, IP-based with CIDR collections, alias targets),
// health check picker.  Route 53 does the validation; its error text is shown.
import { all, bareId, kid, ktxt, r53 } from "./api.js";
import { TYPES } from "./zonefile.js";
import { checkbox, field, h, input, select, uid } from "./ui.js";

const POLICIES = [["simple", "Simple"], ["weighted", "Weighted"], ["latency", "Latency"],
  ["failover", "Failover"], ["geolocation", "Geolocation"], ["geoproximity", "Geoproximity"],
  ["multivalue", "Multivalue answer"], ["ip", "IP-based"]];
const REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
  "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1", "eu-south-1", "me-south-1",
  "af-south-1", "ap-east-1", "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
  "ap-southeast-1", "ap-southeast-2", "il-central-1"];

let geoCache = null;
async function geoLocations() {
  if (geoCache) return geoCache;
  const out = [];
  let params = [["maxitems", "300"]];
  for (let i = 0; i < 20; i++) {
    const doc = await r53("GET", "/geolocations", { params });
    for (const g of all(doc, "GeoLocationDetails")) {
      out.push({ continent: ktxt(g, "ContinentCode"), country: ktxt(g, "CountryCode"),
                 subdivision: ktxt(g, "SubdivisionCode"),
                 name: ktxt(g, "SubdivisionName") || ktxt(g, "CountryName") || ktxt(g, "ContinentName") });
    }
    if (ktxt(doc.documentElement, "IsTruncated") !== "true") break;
    params = [["maxitems", "300"], ["startcontinentcode", ktxt(doc.documentElement, "NextContinentCode")],
              ["startcountrycode", ktxt(doc.documentElement, "NextCountryCode")],
              ["startsubdivisioncode", ktxt(doc.documentElement, "NextSubdivisionCode")]].filter(([, v]) => v);
  }
  geoCache = out;
  return out;
}

async function healthChecks() {
  try {
    const doc = await r53("GET", "/healthcheck", { params: [["maxitems", "1000"]] });
    return all(doc, "HealthCheck").map((c) => {
      const cfg = kid(c, "HealthCheckConfig");
      const target = ktxt(cfg, "FullyQualifiedDomainName") || ktxt(cfg, "IPAddress");
      return [ktxt(c, "Id"), `${ktxt(c, "Id").slice(0, 8)}… ${ktxt(cfg, "Type")} ${target}${ktxt(cfg, "Port") ? ":" + ktxt(cfg, "Port") : ""}`];
    });
  } catch { return []; }
}

async function cidrCollections() {
  try {
    const doc = await r53("GET", "/cidrcollection");
    return all(doc, "CollectionSummary").map((c) => [ktxt(c, "Id"), ktxt(c, "Name")]);
  } catch { return []; }
}

async function cidrLocations(id) {
  try {
    const doc = await r53("GET", `/cidrcollection/${id}`);
    return all(doc, "LocationSummary").map((l) => ktxt(l, "LocationName"));
  } catch { return []; }
}

async function hostedZones() {
  try {
    const doc = await r53("GET", "/hostedzone", { params: [["maxitems", "100"]] });
    return all(doc, "HostedZone").map((z) => [bareId(ktxt(z, "Id")), ktxt(z, "Name")]);
  } catch { return []; }
}

async function namesIn(zoneId) {
  try {
    const doc = await r53("GET", `/hostedzone/${zoneId}/rrset`, { params: [["maxitems", "300"]] });
    return [...new Set(all(doc, "ResourceRecordSet").map((x) => ktxt(x, "Name")))];
  } catch { return []; }
}

const val = (form, n) => (form.elements[n] ? form.elements[n].value.trim() : "");

export async function recordForm(zone, existing, { save, queue, cancel, names }) {
  const r = existing || { Name: zone.name, Type: "A", TTL: "300", values: [] };
  const policy0 = existing ? (await import("./rrsets.js")).policyOf(existing) : "simple";
  const [checks, collections, geos] = await Promise.all([healthChecks(), cidrCollections(), geoLocations().catch(() => [])]);
  const sub = r.Name.toLowerCase() === zone.name.toLowerCase() ? "" : r.Name.slice(0, r.Name.length - zone.name.length - 1);
  const listId = uid("names");
  const f = h("form", { class: "panel", id: "record-form", "aria-labelledby": "rf-title" });
  const alias = checkbox("alias", "Alias (to another record set)", !!r.AliasTarget);
  const policy = select("policy", POLICIES, policy0);
  const sections = {};
  const section = (name, ...fields) => (sections[name] = h("div", { class: "grid", dataset: { policy: name } }, ...fields));
  const geo = r.GeoLocation || {};
  const gp = r.GeoProximityLocation || {};
  const coords = gp.Coordinates || {};
  const continents = geos.filter((g) => g.continent);
  const countries = geos.filter((g) => g.country && !g.subdivision);
  const subSelect = select("subdivision", [["", "Any subdivision"]], geo.SubdivisionCode || "");
  const country = select("country", [["", "None"], ["*", "Default (*)"], ...countries.map((g) => [g.country, `${g.name} (${g.country})`])], geo.CountryCode || "");
  const fillSubs = () => {
    const subs = geos.filter((g) => g.subdivision && g.country === country.value);
    subSelect.replaceChildren(...[["", "Any subdivision"], ...subs.map((g) => [g.subdivision, `${g.name} (${g.subdivision})`])]
      .map(([v, t]) => h("option", { value: v, selected: v === (geo.SubdivisionCode || "") }, t)));
    subSelect.disabled = !subs.length;
  };
  country.addEventListener("change", fillSubs);
  fillSubs();
  const collection = select("collection", [["", "Choose a CIDR collection"], ...collections], r.CidrRoutingConfig ? r.CidrRoutingConfig.CollectionId : "");
  const location = select("location", [["", "-"]], "");
  const fillLocations = async () => {
    const locs = collection.value ? await cidrLocations(collection.value) : [];
    const want = r.CidrRoutingConfig ? r.CidrRoutingConfig.LocationName : "";
    location.replaceChildren(...[...locs, "*"].map((l) => h("option", { value: l, selected: l === want }, l === "*" ? "Default (*)" : l)));
  };
  collection.addEventListener("change", fillLocations);
  if (collection.value) fillLocations();

  // alias targets: a hosted zone (this one first), then a name from it
  const zones = await hostedZones();
  const zoneWanted = r.AliasTarget ? bareId(r.AliasTarget.HostedZoneId) : zone.id;
  if (!zones.some(([id]) => id === zoneWanted)) zones.unshift([zoneWanted, zoneWanted]);
  const aliasZone = select("aliaszone", zones, zoneWanted);
  const datalist = h("datalist", { id: listId }, [...new Set(names())].map((n) => h("option", { value: n })));
  aliasZone.addEventListener("change", async () => {
    const picked = await namesIn(aliasZone.value);
    datalist.replaceChildren(...picked.map((n) => h("option", { value: n })));
  });
  f.append(h("h2", { id: "rf-title" }, existing ? `Edit ${r.Name} ${r.Type}` : "Create record"),
    h("div", { class: "grid" },
      field("Record name", input("name", { value: sub, placeholder: "www", list: listId, autocomplete: "off" }), `.${zone.name}`),
      field("Type", select("type", TYPES.filter((t) => t !== "SOA"), r.Type)),
      field("Routing policy", policy),
      field("Set identifier", input("setid", { value: r.SetIdentifier || "" }), "Required for every policy but simple"),
      field("TTL (seconds)", input("ttl", { value: r.TTL || "300", inputmode: "numeric" })),
      field("Health check", select("healthcheck", [["", "None"], ...checks], r.HealthCheckId || "")),
      alias),
    h("div", { dataset: { part: "values" } }, field("Values (one per line)", h("textarea", { name: "values", rows: 4 }, r.values.join("\n")))),
    h("div", { class: "grid", dataset: { part: "alias" } },
      field("Alias target hosted zone", aliasZone),
      field("Alias target name", input("aliasname", { value: r.AliasTarget ? r.AliasTarget.DNSName : "", list: listId })),
      checkbox("evaluate", "Evaluate target health", r.AliasTarget && r.AliasTarget.EvaluateTargetHealth === "true")),
    datalist,
    section("weighted", field("Weight (0-255)", input("weight", { value: r.Weight || "", inputmode: "numeric" }))),
    section("latency", field("Region", select("region", REGIONS, r.Region || "us-east-1"))),
    section("failover", field("Failover record type", select("failover", ["PRIMARY", "SECONDARY"], r.Failover || "PRIMARY"))),
    section("geolocation",
      field("Continent", select("continent", [["", "None"], ...continents.map((g) => [g.continent, `${g.name} (${g.continent})`])], geo.ContinentCode || "")),
      field("Country", country), field("Subdivision", subSelect)),
    section("geoproximity",
      field("AWS Region", select("gpregion", [["", "None (use coordinates)"], ...REGIONS], gp.AWSRegion || "")),
      field("Local Zone group", input("gplocal", { value: gp.LocalZoneGroup || "" })),
      field("Latitude", input("lat", { value: coords.Latitude || "", inputmode: "decimal", placeholder: "-90.00 .. 90.00" })),
      field("Longitude", input("lon", { value: coords.Longitude || "", inputmode: "decimal", placeholder: "-180.00 .. 180.00" })),
      field("Bias (-99..99)", input("bias", { value: gp.Bias || "", inputmode: "numeric" }))),
    section("multivalue", h("p", { class: "hint" }, "Each multivalue record set answers with its values while its health check is healthy.")),
    section("ip", field("CIDR collection", collection), field("Location", location)),
    h("div", { class: "actions" },
      h("button", { type: "button", onclick: cancel }, "Cancel"),
      h("button", { type: "button", id: "rf-queue", onclick: () => queue(changes()) }, "Add to batch"),
      h("button", { type: "submit", class: "primary" }, existing ? "Save changes" : "Create record")));
  const refresh = () => {
    for (const [name, el] of Object.entries(sections)) el.hidden = name !== policy.value;
    const isAlias = alias.querySelector("input").checked;
    f.querySelector("[data-part=values]").hidden = isAlias;
    f.querySelector("[data-part=alias]").hidden = !isAlias;
    f.elements.ttl.disabled = isAlias;
  };
  policy.addEventListener("change", refresh);
  alias.querySelector("input").addEventListener("change", refresh);
  refresh();

  function built() {
    const n = val(f, "name");
    const out = { Name: n ? `${n.replace(/\.$/, "")}.${zone.name}` : zone.name, Type: f.elements.type.value };
    if (n.endsWith(".") ) out.Name = n;
    const p = policy.value;
    if (p !== "simple") out.SetIdentifier = val(f, "setid");
    if (p === "weighted") out.Weight = val(f, "weight");
    if (p === "latency") out.Region = val(f, "region");
    if (p === "failover") out.Failover = val(f, "failover");
    if (p === "geolocation") out.GeoLocation = { ContinentCode: val(f, "continent"), CountryCode: val(f, "country"), SubdivisionCode: val(f, "subdivision") };
    if (p === "geoproximity") out.GeoProximityLocation = { AWSRegion: val(f, "gpregion"), LocalZoneGroup: val(f, "gplocal"),
      Coordinates: val(f, "lat") || val(f, "lon") ? { Latitude: val(f, "lat"), Longitude: val(f, "lon") } : undefined, Bias: val(f, "bias") };
    if (p === "multivalue") out.MultiValueAnswer = "true";
    if (p === "ip") out.CidrRoutingConfig = { CollectionId: val(f, "collection"), LocationName: val(f, "location") };
    if (alias.querySelector("input").checked) {
      out.AliasTarget = { HostedZoneId: bareId(val(f, "aliaszone")), DNSName: val(f, "aliasname"),
                          EvaluateTargetHealth: f.elements.evaluate.checked ? "true" : "false" };
    } else {
      out.TTL = val(f, "ttl");
      out.values = f.elements.values.value.split("\n").map((v) => v.trim()).filter(Boolean);
    }
    if (val(f, "healthcheck")) out.HealthCheckId = val(f, "healthcheck");
    return out;
  }

  function changes() {
    const next = built();
    if (!existing) return [{ Action: "CREATE", rrset: next }];
    const same = existing.Name.toLowerCase() === next.Name.toLowerCase() && existing.Type === next.Type &&
      (existing.SetIdentifier || "") === (next.SetIdentifier || "");
    return same ? [{ Action: "UPSERT", rrset: next }] : [{ Action: "DELETE", rrset: existing }, { Action: "CREATE", rrset: next }];
  }

  f.addEventListener("submit", (ev) => { ev.preventDefault(); save(changes()); });
  return f;
}
