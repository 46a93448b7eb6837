// AWS Signature Version 4 in the browser: the console signs each Route 53
// call exactly as boto3 does, so the server has one authentication path
// (aws/sigv4.py: scope route53/us-east-1, 5-minute skew, host signed, body
// hashed).  The browser sets Host itself, so we sign location.host, the value
// it will send.
import { sha256 as jsSha256, hmacSha256 as jsHmac } from "./sha256.js";

const enc = new TextEncoder();
const subtle = globalThis.crypto && globalThis.crypto.subtle;

async function sha256(bytes) {
  if (subtle) return new Uint8Array(await subtle.digest("SHA-256", bytes));
  return jsSha256(bytes);
}

async function hmac(key, text) {
  const msg = enc.encode(text);
  if (subtle) {
    const k = await subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    return new Uint8Array(await subtle.sign("HMAC", k, msg));
  }
  return jsHmac(key, msg);
}

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

// RFC 3986 unreserved characters stay; everything else is %XX of its UTF-8
export function uriEncode(text, keepSlash) {
  let out = "";
  for (const byte of enc.encode(text)) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === "/")) out += c;
    else out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

export function canonicalQuery(params) {
  return params.map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`).join("&");
}

export function amzDate(d) {
  return d.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

// headers: what is sent besides Host; returns them plus X-Amz-Date,
// X-Amz-Content-SHA256 and Authorization
export async function sign({ method, path, params = [], headers = {}, body = "", key, secret,
                             service = "route53", region = "us-east-1", host = location.host,
                             now = new Date() }) {
  const date = amzDate(now);
  const day = date.slice(0, 8);
  const payloadHash = hex(await sha256(enc.encode(body)));
  // only Host and x-amz-* are signed: the browser may rewrite others (Content-Type)
  const amz = Object.fromEntries(Object.entries(headers).filter(([k]) => /^x-amz-/i.test(k)));
  const all = { ...amz, host, "x-amz-date": date, "x-amz-content-sha256": payloadHash };
  const names = Object.keys(all).map((n) => n.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(all).map(([k, v]) => [k.toLowerCase(), v]));
  const canonHeaders = names.map((n) => `${n}:${String(lower[n]).trim().replace(/\s+/g, " ")}\n`).join("");
  const signed = names.join(";");
  const creq = [method, uriEncode(path, true), canonicalQuery(params), canonHeaders, signed,
                payloadHash].join("\n");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const sts = ["AWS4-HMAC-SHA256", date, scope, hex(await sha256(enc.encode(creq)))].join("\n");
  let k = await hmac(enc.encode("AWS4" + secret), day);
  k = await hmac(k, region);
  k = await hmac(k, service);
  k = await hmac(k, "aws4_request");
  const signature = hex(await hmac(k, sts));
  const out = { ...headers, "X-Amz-Date": date, "X-Amz-Content-SHA256": payloadHash };
  out.Authorization = `AWS4-HMAC-SHA256 Credential=${key}/${scope}, SignedHeaders=${signed}, ` +
    `Signature=${signature}`;
  return out;
}
