"""atheris: Route 53 REST/XML request bodies, as api/server.py decodes them.

The first octet picks one of the operations that take an XML body; the rest
is the body.  decode_input (pyexpat with DTDs and entities refused, then
the botocore shapes, then validation) may only refuse with a Route53Error
or an XMLInputError (which the handler answers with InvalidInput);
a ChangeResourceRecordSets body that decodes goes on to changes.normalize,
which parses every record's value as that type's RDATA.
"""
import _harness

OPS: list[str] = []


def setup():
    global server, changes, Route53Error, SHAPES, names, XMLInputError
    from zonefront.api import changes, server
    from zonefront.aws import names
    from zonefront.aws._route53_model import OPERATIONS, SHAPES
    from zonefront.aws.route53_errors import Route53Error
    from zonefront.api.xmlio import XMLInputError

    OPS.extend(sorted(n for n, o in OPERATIONS.items() if o["input"] and any(
        not r.get("location") for r in SHAPES[o["input"]]["members"].values())))
    OPS.remove("ChangeResourceRecordSets")
    OPS.insert(0, "ChangeResourceRecordSets")  # index 0: the busiest parser gets most inputs


def one_input(data: bytes) -> None:
    if not data:
        return
    op = OPS[0] if data[0] < 128 else OPS[data[0] % len(OPS)]
    params = {"Id": "Z1FUZZ", "HealthCheckId": "hc-1", "ResourceId": "Z1FUZZ",
              "ResourceType": "hostedzone", "Version": "1"}
    try:
        inp = server.decode_input(op, params, [], {}, data[1:])
    except (Route53Error, XMLInputError):  # the handler answers InvalidInput for both
        return
    if op == "ChangeResourceRecordSets":
        origin = names.name_from_text("example.com.")
        messages: list[str] = []
        for ch in inp["ChangeBatch"]["Changes"]:
            try:
                changes.normalize(ch["Action"], ch["ResourceRecordSet"], origin, "example.com.", messages)
            except Route53Error:
                pass


if __name__ == "__main__":
    _harness.main(globals())
