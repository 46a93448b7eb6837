// Record sets between Route 53's XML and plain objects, and the change
// batch request; shared by the record table, its forms and zone import.
import { kid, kids, ktxt, r53, request, txt } from "./api.js";

export function fromXml(el) {
  const r = { Name: ktxt(el, "Name"), Type: ktxt(el, "Type") };
  for (const k of ["SetIdentifier", "Weight", "Region", "Failover", "MultiValueAnswer", "TTL",
                   "HealthCheckId"]) {
    if (kid(el, k)) r[k] = ktxt(el, k);
  }
  const rr = kid(el, "ResourceRecords");
  r.values = rr ? kids(rr, "ResourceRecord").map((x) => ktxt(x, "Value")) : [];
  const geo = kid(el, "GeoLocation");
  if (geo) r.GeoLocation = { ContinentCode: ktxt(geo, "ContinentCode"), CountryCode: ktxt(geo, "CountryCode"),
                             SubdivisionCode: ktxt(geo, "SubdivisionCode") };
  const alias = kid(el, "AliasTarget");
  if (alias) r.AliasTarget = { HostedZoneId: ktxt(alias, "HostedZoneId"), DNSName: ktxt(alias, "DNSName"),
                               EvaluateTargetHealth: ktxt(alias, "EvaluateTargetHealth") };
  const cidr = kid(el, "CidrRoutingConfig");
  if (cidr) r.CidrRoutingConfig = { CollectionId: ktxt(cidr, "CollectionId"), LocationName: ktxt(cidr, "LocationName") };
  const gp = kid(el, "GeoProximityLocation");
  if (gp) {
    const c = kid(gp, "Coordinates");
    r.GeoProximityLocation = { AWSRegion: ktxt(gp, "AWSRegion"), LocalZoneGroup: ktxt(gp, "LocalZoneGroup"),
      Coordinates: c ? { Latitude: ktxt(c, "Latitude"), Longitude: ktxt(c, "Longitude") } : undefined,
      Bias: ktxt(gp, "Bias") };
  }
  return r;
}

export function policyOf(r) {
  if (r.Weight !== undefined) return "weighted";
  if (r.Region) return "latency";
  if (r.Failover) return "failover";
  if (r.GeoLocation) return "geolocation";
  if (r.GeoProximityLocation) return "geoproximity";
  if (r.MultiValueAnswer !== undefined) return "multivalue";
  if (r.CidrRoutingConfig) return "ip";
  return "simple";
}

export function describePolicy(r) {
  switch (policyOf(r)) {
    case "weighted": return `Weighted ${r.Weight}`;
    case "latency": return `Latency ${r.Region}`;
    case "failover": return `Failover ${r.Failover}`;
    case "geolocation": {
      const g = r.GeoLocation;
      return `Geolocation ${[g.ContinentCode, g.CountryCode, g.SubdivisionCode].filter(Boolean).join("/")}`;
    }
    case "geoproximity": {
      const g = r.GeoProximityLocation;
      const where = g.AWSRegion || g.LocalZoneGroup || (g.Coordinates ? `${g.Coordinates.Latitude},${g.Coordinates.Longitude}` : "");
      return `Geoproximity ${where}${g.Bias ? ` bias ${g.Bias}` : ""}`;
    }
    case "multivalue": return "Multivalue answer";
    case "ip": return `IP-based ${r.CidrRoutingConfig.CollectionId.slice(0, 8)}…/${r.CidrRoutingConfig.LocationName}`;
    default: return "Simple";
  }
}

// Route 53's member order
export function toShape(r) {
  const o = { Name: r.Name, Type: r.Type, SetIdentifier: r.SetIdentifier, Weight: r.Weight, Region: r.Region };
  if (r.GeoLocation) o.GeoLocation = { ContinentCode: r.GeoLocation.ContinentCode, CountryCode: r.GeoLocation.CountryCode,
                                       SubdivisionCode: r.GeoLocation.SubdivisionCode };
  o.Failover = r.Failover;
  o.MultiValueAnswer = r.MultiValueAnswer;
  if (!r.AliasTarget) {
    o.TTL = r.TTL;
    o.ResourceRecords = ["ResourceRecord", r.values.map((v) => ({ Value: v }))];
  } else {
    o.AliasTarget = { HostedZoneId: r.AliasTarget.HostedZoneId, DNSName: r.AliasTarget.DNSName,
                      EvaluateTargetHealth: r.AliasTarget.EvaluateTargetHealth || "false" };
  }
  o.HealthCheckId = r.HealthCheckId;
  if (r.CidrRoutingConfig) o.CidrRoutingConfig = { ...r.CidrRoutingConfig };
  if (r.GeoProximityLocation) {
    const g = r.GeoProximityLocation;
    o.GeoProximityLocation = { AWSRegion: g.AWSRegion, LocalZoneGroup: g.LocalZoneGroup,
      Coordinates: g.Coordinates && g.Coordinates.Latitude !== "" ? { ...g.Coordinates } : undefined, Bias: g.Bias };
  }
  return o;
}

// one ChangeResourceRecordSets call: [{Action, rrset}] -> change id
export async function submit(zoneId, changes, comment = "") {
  const xml = request("ChangeResourceRecordSetsRequest", { ChangeBatch: { Comment: comment,
    Changes: ["Change", changes.map((c) => ({ Action: c.Action, ResourceRecordSet: toShape(c.rrset) }))] } });
  const doc = await r53("POST", `/hostedzone/${zoneId}/rrset/`, { xml });
  return { id: txt(doc, "Id").replace(/^\/change\//, ""), status: txt(doc, "Status") };
}

// every record set of the zone, page by page (export)
export async function listAll(zoneId) {
  const out = [];
  let params = [["maxitems", "300"]];
  for (;;) {
    const doc = await r53("GET", `/hostedzone/${zoneId}/rrset`, { params });
    for (const el of doc.getElementsByTagName("ResourceRecordSet")) out.push(fromXml(el));
    if (txt(doc, "IsTruncated") !== "true") return out;
    params = [["maxitems", "300"], ["name", txt(doc, "NextRecordName")], ["type", txt(doc, "NextRecordType")]];
    if (txt(doc, "NextRecordIdentifier")) params.push(["identifier", txt(doc, "NextRecordIdentifier")]);
  }
}
