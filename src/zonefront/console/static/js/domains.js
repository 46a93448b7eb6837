// Route 53 Domains, when the server runs a registry (registry.tlds or
// --registry-tld): availability search, register, renew, transfer lock,
// auto-renew, contacts, name servers, DS records and operation status.
import { domains } from "./api.js";
import { checkbox, field, fmtTime, h, input, message, select, showError, table } from "./ui.js";

const CONTACT_FIELDS = [["FirstName", "First name"], ["LastName", "Last name"], ["ContactType", "Contact type"],
  ["OrganizationName", "Organization"], ["AddressLine1", "Address"], ["City", "City"], ["State", "State"],
  ["CountryCode", "Country code"], ["ZipCode", "Postal code"], ["PhoneNumber", "Phone (+1.5555550100)"], ["Email", "Email"]];
const when = (t) => (typeof t === "number" ? fmtTime(new Date(t * 1000).toISOString()) : fmtTime(t));

function contactFields(prefix, c = {}) {
  return h("fieldset", {}, h("legend", {}, prefix), h("div", { class: "grid" }, CONTACT_FIELDS.map(([k, label]) =>
    field(label, k === "ContactType" ? select(`${prefix}.${k}`, ["PERSON", "COMPANY", "ASSOCIATION", "PUBLIC_BODY", "RESELLER"], c[k] || "PERSON")
      : input(`${prefix}.${k}`, { value: c[k] || "" })))));
}

function readContact(form, prefix) {
  const out = {};
  for (const [k] of CONTACT_FIELDS) {
    const v = form.elements[`${prefix}.${k}`].value.trim();
    if (v) out[k] = v;
  }
  return out;
}

export async function render(root, [domain]) {
  const msg = h("div", { id: "domains-msg" });
  root.replaceChildren(h("h1", {}, "Domains"), msg);
  let tlds = [];
  try {
    tlds = ((await domains("ListPrices", {})).Prices || []).map((p) => p.Name);
  } catch (e) { return showError(msg, e); }
  if (!tlds.length) {
    root.append(h("p", { class: "msg info", id: "no-registry" }, "No registry TLD is configured on this server: set [registry] tlds in the configuration or start with --registry-tld TLD to register domains here."));
    return;
  }
  if (domain) return detail(root, msg, domain);
  const name = input("domain", { placeholder: `example.${tlds[0]}`, required: true });
  const avail = h("div", { "aria-live": "polite", id: "availability" });
  const search = h("form", { class: "panel", role: "search" }, h("h2", {}, "Register a domain"),
    h("p", { class: "hint" }, `TLDs here: ${tlds.join(", ")}`),
    h("div", { class: "toolbar" }, field("Domain name", name), h("button", { type: "submit" }, "Check availability")), avail);
  search.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await domains("CheckDomainAvailability", { DomainName: name.value.trim() });
      avail.replaceChildren(h("p", {}, `${name.value.trim()}: `, h("strong", {}, r.Availability)));
      if (r.Availability === "AVAILABLE") avail.append(registerForm(name.value.trim(), msg));
    } catch (e) { showError(avail, e); }
  });
  const list = h("div");
  const ops = h("div");
  root.append(search, h("h2", {}, "Registered domains"), list, h("h2", {}, "Operations"), ops);
  try {
    const r = await domains("ListDomains", {});
    list.replaceChildren(table(["Domain", "Auto-renew", "Transfer lock", "Expires"], (r.Domains || []).map((d) => h("tr", {},
      h("td", {}, h("a", { href: `#/domains/${encodeURIComponent(d.DomainName)}` }, d.DomainName)),
      h("td", {}, d.AutoRenew ? "on" : "off"), h("td", {}, d.TransferLock ? "on" : "off"), h("td", {}, when(d.Expiry)))),
      { "aria-label": "Domains" }));
    const o = await domains("ListOperations", {});
    ops.replaceChildren(table(["Operation", "Domain", "Type", "Status", "Submitted"], (o.Operations || []).map((x) => h("tr", {},
      h("td", {}, x.OperationId), h("td", {}, x.DomainName || ""), h("td", {}, x.Type), h("td", {}, x.Status), h("td", {}, when(x.SubmittedDate)))),
      { "aria-label": "Operations" }));
  } catch (e) { showError(msg, e); }
}

function registerForm(domain, msg) {
  const f = h("form", { class: "panel" }, h("h3", {}, `Register ${domain}`),
    field("Years", input("years", { value: "1", inputmode: "numeric" })), checkbox("autorenew", "Renew automatically", true),
    contactFields("Registrant"), checkbox("same", "Use the registrant as admin and tech contact", true),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Register")));
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const c = readContact(f, "Registrant");
    try {
      const r = await domains("RegisterDomain", { DomainName: domain, DurationInYears: +f.elements.years.value,
        AutoRenew: f.elements.autorenew.checked, RegistrantContact: c, AdminContact: c, TechContact: c });
      message(msg, "ok", `Registration submitted: operation ${r.OperationId}.`);
    } catch (e) { showError(msg, e); }
  });
  return f;
}

async function detail(root, msg, domain) {
  let d;
  try { d = await domains("GetDomainDetail", { DomainName: domain }); } catch (e) { return showError(msg, e); }
  const act = (label, op, extra = {}) => h("button", { type: "button", onclick: async () => {
    try { const r = await domains(op, { DomainName: domain, ...extra }); message(msg, "ok", `${label}: ${r.OperationId ? "operation " + r.OperationId : "done"}.`); }
    catch (e) { showError(msg, e); }
  } }, label);
  const expiryYear = d.ExpirationDate ? new Date((typeof d.ExpirationDate === "number" ? d.ExpirationDate * 1000 : d.ExpirationDate)).getUTCFullYear() : "";
  const ns = h("textarea", { rows: 4, name: "ns" }, (d.Nameservers || []).map((n) => [n.Name, ...(n.GlueIps || [])].join(" ")).join("\n"));
  const nsForm = h("form", { class: "panel" }, h("h2", {}, "Name servers"), field("One per line: name [glue IPs]", ns),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Update name servers")));
  nsForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const servers = ns.value.split("\n").map((l) => l.trim().split(/\s+/)).filter((p) => p[0]).map(([Name, ...GlueIps]) => (GlueIps.length ? { Name, GlueIps } : { Name }));
    try { const r = await domains("UpdateDomainNameservers", { DomainName: domain, Nameservers: servers }); message(msg, "ok", `Operation ${r.OperationId}.`); }
    catch (e) { showError(msg, e); }
  });
  const contacts = h("form", { class: "panel" }, h("h2", {}, "Contacts"), contactFields("Registrant", d.RegistrantContact),
    contactFields("Admin", d.AdminContact), contactFields("Tech", d.TechContact),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Update contacts")));
  contacts.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await domains("UpdateDomainContact", { DomainName: domain, RegistrantContact: readContact(contacts, "Registrant"),
        AdminContact: readContact(contacts, "Admin"), TechContact: readContact(contacts, "Tech") });
      message(msg, "ok", `Operation ${r.OperationId}.`);
    } catch (e) { showError(msg, e); }
  });
  const flags = select("flags", [["257", "257 (KSK)"], ["256", "256 (ZSK)"]], "257");
  const alg = input("alg", { value: "13", inputmode: "numeric" });
  const key = input("pubkey");
  const dsForm = h("form", { class: "panel" }, h("h2", {}, "DS records (DNSSEC keys at the parent)"),
    table(["Id", "Key tag", "Algorithm", "Digest"], (d.DnssecKeys || []).map((k) => h("tr", {}, h("td", {}, k.Id), h("td", {}, k.KeyTag),
      h("td", {}, k.Algorithm), h("td", { class: "values" }, k.Digest || ""),
      h("td", {}, act("Remove", "DisassociateDelegationSignerFromDomain", { Id: k.Id })))), { "aria-label": "DS records" }),
    h("div", { class: "grid" }, field("Flags", flags), field("Algorithm", alg), field("Public key (base64)", key)),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Add key")));
  dsForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await domains("AssociateDelegationSignerToDomain", { DomainName: domain,
        SigningAttributes: { Flags: +flags.value, Algorithm: +alg.value, PublicKey: key.value.trim() } });
      message(msg, "ok", `Operation ${r.OperationId}.`);
    } catch (e) { showError(msg, e); }
  });
  root.append(h("p", {}, h("a", { href: "#/domains" }, "Domains"), " / ", domain),
    h("div", { class: "panel" }, h("h2", {}, domain),
      h("p", {}, `Expires ${when(d.ExpirationDate)} · auto-renew ${d.AutoRenew ? "on" : "off"} · status ${(d.StatusList || []).join(", ")}`),
      h("div", { class: "actions" }, act("Renew 1 year", "RenewDomain", { DurationInYears: 1, CurrentExpiryYear: expiryYear }),
        act(d.AutoRenew ? "Turn auto-renew off" : "Turn auto-renew on", d.AutoRenew ? "DisableDomainAutoRenew" : "EnableDomainAutoRenew"),
        act("Lock transfers", "EnableDomainTransferLock"), act("Unlock transfers", "DisableDomainTransferLock"))),
    nsForm, contacts, dsForm);
}
