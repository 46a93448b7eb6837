// RFC 1035 master files in the browser, as Route 53's console imports them:
// the text is parsed here (each error carries its line) and submitted as one
// change batch; SOA and the apex NS are left to the zone.
export const TYPES = ["A", "AAAA", "CAA", "CNAME", "DS", "HTTPS", "MX", "NAPTR", "NS", "PTR",
  "SOA", "SPF", "SRV", "SSHFP", "SVCB", "TLSA", "TXT"];
// fields (0-based) holding domain names, made absolute against $ORIGIN
const NAME_FIELDS = { CNAME: [0], NS: [0], PTR: [0], MX: [1], SRV: [3], NAPTR: [5], SOA: [0, 1] };

export class ZoneFileError extends Error {
  constructor(line, reason) { super(`line ${line}: ${reason}`); this.line = line; this.reason = reason; }
}

function tokens(text) {
  // -> [{line, tokens, blankOwner}], joining ( ... ) across lines
  const out = [];
  let cur = null, depth = 0, openLine = 0;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    let j = 0;
    const toks = [];
    while (j < raw.length) {
      const c = raw[j];
      if (c === ";") break;
      if (c === " " || c === "\t") { j++; continue; }
      if (c === "(") { if (!depth++) openLine = line; j++; continue; }
      if (c === ")") { if (!depth) throw new ZoneFileError(line, "unbalanced ')'"); depth--; j++; continue; }
      if (c === '"') {
        let k = j + 1, s = '"';
        while (k < raw.length && raw[k] !== '"') { if (raw[k] === "\\") s += raw[k++]; s += raw[k++]; }
        if (k >= raw.length) throw new ZoneFileError(line, "unterminated quoted string");
        toks.push(s + '"');
        j = k + 1;
        continue;
      }
      let k = j;
      while (k < raw.length && !" \t;()\"".includes(raw[k])) { if (raw[k] === "\\") k++; k++; }
      toks.push(raw.slice(j, k));
      j = k;
    }
    if (cur) { cur.tokens.push(...toks); }
    else if (toks.length) { cur = { line, tokens: toks, blankOwner: raw[0] === " " || raw[0] === "\t" }; }
    if (cur && depth === 0) { out.push(cur); cur = null; }
  });
  if (depth) throw new ZoneFileError(openLine, "unbalanced '(': missing ')'");
  return out;
}

const ttlValue = (t) => {
  if (/^\d+$/.test(t)) return +t;
  const m = t.toLowerCase().match(/^(\d+[smhdw])+$/);
  if (!m) return null;
  let n = 0;
  for (const [, v, u] of t.toLowerCase().matchAll(/(\d+)([smhdw])/g)) n += +v * { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[u];
  return n;
};

function absolute(name, origin, line) {
  if (name === "@") return origin;
  if (name.endsWith(".")) return name;
  if (!origin) throw new ZoneFileError(line, `relative name '${name}' without $ORIGIN`);
  return `${name}.${origin === "." ? "" : origin}`;
}

// -> {rrsets: [{Name, Type, TTL, values, line}], origin}; throws ZoneFileError
export function parse(text, zoneName) {
  let origin = zoneName.endsWith(".") ? zoneName : zoneName + ".";
  let defaultTtl = null, lastOwner = null, lastTtl = null;
  const sets = new Map();
  for (const { line, tokens: t, blankOwner } of tokens(text)) {
    if (t[0].startsWith("$")) {
      const d = t[0].toUpperCase();
      if (d === "$ORIGIN") { if (!t[1]) throw new ZoneFileError(line, "$ORIGIN needs a name"); origin = absolute(t[1], origin, line); }
      else if (d === "$TTL") { defaultTtl = ttlValue(t[1] || ""); if (defaultTtl === null) throw new ZoneFileError(line, `bad $TTL '${t[1] || ""}'`); }
      else throw new ZoneFileError(line, `${d} is not supported`);
      continue;
    }
    let i = 0, owner;
    if (blankOwner) {
      if (!lastOwner) throw new ZoneFileError(line, "no owner name (the first record must name one)");
      owner = lastOwner;
    } else owner = absolute(t[i++], origin, line);
    let ttl = null;
    for (let n = 0; n < 2 && i < t.length; n++) {
      if (ttl === null && ttlValue(t[i]) !== null && !TYPES.includes(t[i].toUpperCase())) ttl = ttlValue(t[i++]);
      else if (["IN", "CH", "HS"].includes(t[i].toUpperCase())) {
        if (t[i].toUpperCase() !== "IN") throw new ZoneFileError(line, `class ${t[i]} is not IN`);
        i++;
      }
    }
    const type = (t[i++] || "").toUpperCase();
    if (!type) throw new ZoneFileError(line, "missing record type");
    if (!TYPES.includes(type)) throw new ZoneFileError(line, `type '${type}' is not one Route 53 stores`);
    const rdata = t.slice(i);
    if (!rdata.length) throw new ZoneFileError(line, `${type} record without data`);
    for (const f of NAME_FIELDS[type] || []) {
      if (f < rdata.length) rdata[f] = absolute(rdata[f], origin, line);
    }
    if (ttl === null) ttl = defaultTtl !== null ? defaultTtl : lastTtl;
    if (ttl === null) throw new ZoneFileError(line, "no TTL and no $TTL before it");
    owner = owner.toLowerCase();
    if (!owner.endsWith(origin.toLowerCase()) && owner !== origin.toLowerCase()) {
      const z = zoneName.toLowerCase().replace(/\.?$/, ".");
      if (!(owner === z || owner.endsWith("." + z))) throw new ZoneFileError(line, `${owner} is outside the zone ${z}`);
    }
    lastOwner = owner; lastTtl = ttl;
    const key = `${owner}|${type}`;
    if (!sets.has(key)) sets.set(key, { Name: owner, Type: type, TTL: ttl, values: [], line });
    const set = sets.get(key);
    set.TTL = Math.min(set.TTL, ttl);
    set.values.push(rdata.join(" "));
  }
  return { rrsets: [...sets.values()], origin };
}

// rrsets -> master file text (simple record sets; routed ones as comments)
export function format(zoneName, rrsets) {
  const lines = [`$ORIGIN ${zoneName}`];
  for (const r of rrsets) {
    if (r.routing) { lines.push(`; ${r.Name} ${r.Type} (${r.routing}) has a routing policy; not expressible here`); continue; }
    if (r.alias) { lines.push(`; ${r.Name} ${r.Type} ALIAS ${r.alias}`); continue; }
    for (const v of r.values) lines.push(`${r.Name}\t${r.TTL}\tIN\t${r.Type}\t${v}`);
  }
  return lines.join("\n") + "\n";
}
