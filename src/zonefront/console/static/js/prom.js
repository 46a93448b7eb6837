// Prometheus text exposition format -> [{name, labels, value}] (the metrics
// endpoint another part of zonefront serves); only what the charts need.
export function parseProm(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = {};
    for (const [, k, v] of (m[3] || "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v.replace(/\\(.)/g, "$1");
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

export function samples(text, nameRe) {
  return parseProm(text).filter((s) => nameRe.test(s.name));
}
