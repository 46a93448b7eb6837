// Hosted zones: search by name, page through thousands (100 a page, server
// side), create public or private zones (VPC picker), delete with confirmation.
import { all, bareId, kid, ktxt, r53, request, txt, zfJson } from "./api.js";
import { checkbox, confirmDialog, field, h, input, message, select, showError, table } from "./ui.js";

const PAGE = 100;

export async function render(root) {
  const search = input("search", { type: "search", placeholder: "example.com", autocomplete: "off" });
  const msg = h("div", { id: "zones-msg" });
  const body = h("div", { id: "zones-table" });
  const pager = h("div", { class: "pager" });
  const markers = [];  // the marker each earlier page started at (Back)
  let current = { marker: "", dnsname: "" };

  async function load(start) {
    current = start;
    message(msg, "", "");
    try {
      let doc;
      if (start.dnsname !== "") {
        const params = [["dnsname", start.dnsname], ["maxitems", String(PAGE)]];
        if (start.zoneid) params.push(["hostedzoneid", start.zoneid]);
        doc = await r53("GET", "/hostedzonesbyname", { params });
      } else {
        const params = [["maxitems", String(PAGE)]];
        if (start.marker) params.push(["marker", start.marker]);
        doc = await r53("GET", "/hostedzone", { params });
      }
      show(doc);
    } catch (e) {
      body.replaceChildren();
      pager.replaceChildren();
      showError(msg, e);
    }
  }

  function show(doc) {
    const rows = all(doc, "HostedZone").map((z) => {
      const id = bareId(ktxt(z, "Id"));
      const cfg = kid(z, "Config");
      const isPrivate = cfg && ktxt(cfg, "PrivateZone") === "true";
      return h("tr", { dataset: { zone: ktxt(z, "Name") } },
        h("td", {}, h("a", { href: `#/zones/${id}` }, ktxt(z, "Name"))),
        h("td", {}, isPrivate ? "Private" : "Public"),
        h("td", {}, ktxt(z, "ResourceRecordSetCount")),
        h("td", {}, cfg ? ktxt(cfg, "Comment") : ""),
        h("td", {}, id),
        h("td", {}, h("button", { type: "button", class: "danger", "aria-label": `Delete ${ktxt(z, "Name")}`,
          onclick: () => remove(id, ktxt(z, "Name")) }, "Delete")));
    });
    body.replaceChildren(rows.length ? table(["Name", "Type", "Record sets", "Comment", "ID", ""], rows,
      { "aria-label": "Hosted zones" }) : h("p", {}, "No hosted zones."));
    const truncated = txt(doc, "IsTruncated") === "true";
    const next = truncated ? (current.dnsname !== ""
      ? { dnsname: txt(doc, "NextDNSName"), zoneid: txt(doc, "NextHostedZoneId"), marker: "" }
      : { marker: txt(doc, "NextMarker"), dnsname: "" }) : null;
    pager.replaceChildren(
      h("button", { type: "button", disabled: !markers.length, onclick: () => load(markers.pop()) }, "Previous page"),
      h("span", { "aria-live": "polite" }, `Page ${markers.length + 1}, ${rows.length} zones`),
      h("button", { type: "button", disabled: !next, onclick: () => { markers.push(current); load(next); } }, "Next page"));
  }

  async function remove(id, name) {
    if (!(await confirmDialog(`Delete ${name}?`, "Route 53 refuses while the zone holds record sets other than its SOA and NS.", name))) return;
    try {
      await r53("DELETE", `/hostedzone/${id}`);
      await load(current);
      message(msg, "ok", `Deleted ${name}.`);
    } catch (e) { showError(msg, e); }
  }

  const searchForm = h("form", { class: "toolbar", role: "search" },
    field("Find zones by name (from this name on, in Route 53's order)", search),
    h("button", { type: "submit" }, "Search"));
  searchForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    markers.length = 0;
    load({ dnsname: search.value.trim(), marker: "" });
  });
  root.replaceChildren(h("h1", {}, "Hosted zones"), msg, await createForm(msg, () => load(current)),
                       searchForm, body, pager);
  await load(current);
}

async function createForm(msg, done) {
  const name = input("name", { required: true, placeholder: "example.com" });
  const comment = input("comment");
  const priv = checkbox("private", "Private hosted zone (answers only inside a VPC)");
  let vpcs = [];
  try { vpcs = (await zfJson("GET", "/vpc")).VPCs || []; } catch { vpcs = []; }
  const vpc = select("vpc", vpcs.length ? vpcs.map((v) => [`${v.VPCRegion}|${v.VPCId}`,
    `${v.VPCId} (${v.VPCRegion}${v.Cidrs ? ", " + v.Cidrs.join(" ") : ""})`]) : [["", "No VPC is defined"]]);
  const vpcField = field("VPC", vpc, "VPCs come from [vpcs] in the configuration or the zonefront VPC calls.");
  vpcField.hidden = true;
  priv.querySelector("input").addEventListener("change", (e) => { vpcField.hidden = !e.target.checked; });
  const form = h("form", { class: "panel", "aria-labelledby": "create-zone-title" },
    h("h2", { id: "create-zone-title" }, "Create hosted zone"),
    h("div", { class: "grid" }, field("Domain name", name), field("Comment", comment), priv, vpcField),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create hosted zone")));
  const details = h("details", {}, h("summary", {}, "Create hosted zone"), form);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const isPrivate = priv.querySelector("input").checked;
    const body = { Name: name.value.trim(), CallerReference: `console-${Date.now()}-${Math.random().toString(36).slice(2)}`,
      HostedZoneConfig: { Comment: comment.value, PrivateZone: isPrivate ? "true" : "" } };
    if (isPrivate) {
      const [region, id] = vpc.value.split("|");
      body.VPC = { VPCRegion: region, VPCId: id };
    }
    try {
      const doc = await r53("POST", "/hostedzone", { xml: request("CreateHostedZoneRequest", body) });
      const id = bareId(txt(doc, "Id"));
      message(msg, "ok", `Created ${txt(doc, "Name")} (${id}).`);
      location.hash = `#/zones/${id}`;
    } catch (e) { showError(msg, e); }
    done();
  });
  return details;
}
