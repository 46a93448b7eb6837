// The Route 53 REST/XML API (and Route 53 Domains' JSON API) from the
// browser: sign, send to this origin, parse the answer, and turn an
// ErrorResponse into an ApiError carrying Route 53's code and text.
import { sign } from "./sigv4.js";

export const VERSION = "/2013-04-01";
const NS = "https://route53.amazonaws.com/doc/2013-04-01/";
let creds = null;

export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export function setCredentials(c) {
  creds = c;
  if (c) sessionStorage.setItem("zonefront.creds", JSON.stringify(c));
  else sessionStorage.removeItem("zonefront.creds");
}

export function loadCredentials() {
  try { creds = JSON.parse(sessionStorage.getItem("zonefront.creds")); } catch { creds = null; }
  return creds;
}

export const credentials = () => creds;

async function send(method, path, params, body, headers, service) {
  if (!creds) throw new ApiError("MissingAuthenticationToken", "Log in with an access key first.", 403);
  const signed = await sign({ method, path, params, headers, body: body || "", key: creds.key,
                              secret: creds.secret, service });
  const qs = params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
  let resp;
  try {
    resp = await fetch(path + (qs ? "?" + qs : ""), {
      method, headers: signed, body: body || undefined, credentials: "omit", cache: "no-store" });
  } catch (e) {
    throw new ApiError("NetworkError", `The server did not answer: ${e.message}`, 0);
  }
  return resp;
}

function parseXml(text) {
  return new DOMParser().parseFromString(text, "application/xml");
}

// Route 53 REST: returns the response document (or null when empty)
export async function r53(method, path, { params = [], xml = null } = {}) {
  const headers = xml ? { "Content-Type": "text/xml" } : {};
  const resp = await send(method, VERSION + path, params, xml, headers, "route53");
  const text = await resp.text();
  const doc = text ? parseXml(text) : null;
  if (!resp.ok) {
    const code = doc && txt(doc, "Code");
    const msg = doc && (txt(doc, "Message") || all(doc, "Message").map((m) => m.textContent).join("; "));
    throw new ApiError(code || `HTTP ${resp.status}`, msg || text || resp.statusText, resp.status);
  }
  return doc;
}

// zonefront's own JSON endpoints beside the Route 53 paths (VPCs)
export async function zfJson(method, path) {
  const resp = await send(method, VERSION + "/zonefront" + path, [], null,
                          { Accept: "application/json" }, "route53");
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const e = data.Error || data;
    throw new ApiError(e.Code || `HTTP ${resp.status}`, e.Message || resp.statusText, resp.status);
  }
  return data;
}

// Route 53 Domains: JSON 1.1 with X-Amz-Target, signed for route53domains
export async function domains(op, input = {}) {
  const body = JSON.stringify(input);
  const resp = await send("POST", "/", [], body, {
    "Content-Type": "application/x-amz-json-1.1",
    "X-Amz-Target": `Route53Domains_v20140515.${op}`,
  }, "route53domains");
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const code = (data.__type || resp.headers.get("x-amzn-ErrorType") || `HTTP ${resp.status}`)
      .split("#").pop().split(":")[0];
    throw new ApiError(code, data.message || data.Message || resp.statusText, resp.status);
  }
  return data;
}

// Prometheus text from --metrics-listen, through the console's signed proxy
// (the page may only talk to this origin); null when the server has none
export async function metrics() {
  const resp = await send("GET", "/console/metrics", [], null, {}, "route53");
  const text = await resp.text();
  if (resp.status === 404) return null;
  if (!resp.ok) {
    const [code, ...rest] = text.split(": ");
    throw new ApiError(resp.headers.get("x-amzn-ErrorType") || code, rest.join(": ").trim() || text, resp.status);
  }
  return text;
}

// -- XML helpers -------------------------------------------------------------
export function all(node, tag) {
  return node ? Array.from(node.getElementsByTagName(tag)) : [];
}

export function first(node, tag) {
  return all(node, tag)[0] || null;
}

export function txt(node, tag) {
  const el = first(node, tag);
  return el ? el.textContent : "";
}

// direct children named tag (getElementsByTagName searches the whole subtree)
export function kids(node, tag) {
  return node ? Array.from(node.children).filter((c) => c.localName === tag) : [];
}

export function kid(node, tag) {
  return kids(node, tag)[0] || null;
}

export function ktxt(node, tag) {
  const el = kid(node, tag);
  return el ? el.textContent : "";
}

export const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;")
  .replace(/>/g, "&gt;").replace(/"/g, "&quot;");

// {Tag: value | [values] | {nested}} -> XML; arrays repeat the tag given by itemTag
export function toXml(obj) {
  let out = "";
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) {
      const [item, list] = v;
      out += `<${k}>${list.map((x) => `<${item}>${typeof x === "object" ? toXml(x) : esc(x)}</${item}>`).join("")}</${k}>`;
    } else if (typeof v === "object") out += `<${k}>${toXml(v)}</${k}>`;
    else out += `<${k}>${esc(v)}</${k}>`;
  }
  return out;
}

export function request(root, obj) {
  return `<?xml version="1.0" encoding="UTF-8"?><${root} xmlns="${NS}">${toXml(obj)}</${root}>`;
}

export const bareId = (id) => id.replace(/^\/?[a-z]+\//, "");
