"""Route 53 REST-XML bodies <-> plain dicts, driven by botocore's shapes, with
untrusted XML parsed safely.

Safety: a DOCTYPE or any entity declaration is refused outright (the
"billion laughs" and external-entity attacks both need one), the body size is
bounded before parsing (the server checks Content-Length), and expat never
fetches anything.  This is what defusedxml does, without the dependency.
"""
from __future__ import annotations

import datetime as _dt
import xml.etree.ElementTree as ET
from xml.parsers import expat
from xml.sax.saxutils import escape

from ..aws._route53_model import SHAPES
from ..errors import InputError

NS = "https://route53.amazonaws.com/doc/2013-04-01/"
_NSB = "{" + NS + "}"


class XMLInputError(InputError, ValueError):
    """The body is not acceptable XML for the operation (-> InvalidInput)."""


class _Forbidden(InputError):
    pass


def _forbid(*_args):
    raise _Forbidden()


def _clark(name: str) -> str:
    uri, sep, local = name.rpartition(" ")
    return "{" + uri + "}" + local if sep else name


def parse_xml(body: bytes) -> ET.Element:
    """Parse with pyexpat directly so the DTD/entity hooks can be set (the C
    ElementTree parser does not expose them)."""
    p = expat.ParserCreate(namespace_separator=" ")
    tb = ET.TreeBuilder()
    p.StartElementHandler = lambda name, attrs: tb.start(_clark(name), attrs)
    p.EndElementHandler = lambda name: tb.end(_clark(name))
    p.CharacterDataHandler = tb.data
    p.StartDoctypeDeclHandler = _forbid
    p.EntityDeclHandler = _forbid
    p.UnparsedEntityDeclHandler = _forbid
    p.ExternalEntityRefHandler = _forbid
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        p.Parse(body, True)
        return tb.close()
    except _Forbidden:
        raise XMLInputError("DTDs and entity declarations are not allowed") from None
    except expat.ExpatError as e:
        raise XMLInputError(f"Could not parse the request body as XML: {e}") from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def from_xml(shape_name: str, elem: ET.Element) -> object:
    """Decode `elem` as `shape_name`; unknown elements are ignored (as AWS does)."""
    shape = SHAPES[shape_name]
    kind = shape["type"]
    if kind == "structure":
        out = {}
        by_tag = {}
        for member, ref in shape["members"].items():
            if ref.get("location") in ("uri", "querystring", "header", "headers"):
                continue
            by_tag[ref.get("locationName", member)] = (member, ref)
        for child in elem:
            hit = by_tag.get(_local(child.tag))
            if hit is not None:
                out[hit[0]] = from_xml(hit[1]["shape"], child)
        return out
    if kind == "list":
        ref = shape["member"]
        tag = ref.get("locationName", "member")
        return [from_xml(ref["shape"], c) for c in elem if _local(c.tag) == tag]
    if len(elem):
        # a value with markup inside would otherwise be read as its first
        # text run and the rest dropped unseen; Route 53 refuses it
        raise XMLInputError(f"Invalid {_local(elem.tag)}: the element holds other elements "
                            f"(<{_local(elem[0].tag)}>) where a {kind} value is expected")
    return scalar_from_text(shape_name, elem.text or "")


def scalar_from_text(shape_name: str, text: str, where: str = "") -> object:
    shape = SHAPES[shape_name]
    kind = shape["type"]
    if kind in ("integer", "long"):
        try:
            return int(text.strip())
        except ValueError:
            raise XMLInputError(f"Invalid {where or shape_name}: {text!r} is not an integer"
                                ) from None
    if kind == "boolean":
        t = text.strip().lower()
        if t not in ("true", "false"):
            raise XMLInputError(f"Invalid {where or shape_name}: {text!r} is not a boolean")
        return t == "true"
    if kind in ("float", "double"):
        try:
            return float(text)
        except ValueError:
            raise XMLInputError(f"Invalid {where or shape_name}: {text!r} is not a number"
                                ) from None
    return text


def timestamp_text(ts: float) -> str:
    """ISO 8601 with milliseconds and Z, as Route 53 writes SubmittedAt."""
    d = _dt.datetime.fromtimestamp(ts, _dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)


def _scalar_text(shape: dict, value) -> str:
    kind = shape["type"]
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return timestamp_text(value) if isinstance(value, (int, float)) else str(value)
    if kind in ("float", "double"):
        return repr(float(value))
    return str(value)


def _write(out: list, shape_name: str, tag: str, value) -> None:
    shape = SHAPES[shape_name]
    kind = shape["type"]
    if kind == "structure":
        out.append(f"<{tag}>")
        _write_members(out, shape, value)
        out.append(f"</{tag}>")
    elif kind == "list":
        ref = shape["member"]
        item = ref.get("locationName", "member")
        out.append(f"<{tag}>")
        for v in value:
            _write(out, ref["shape"], item, v)
        out.append(f"</{tag}>")
    else:
        out.append(f"<{tag}>{escape(_scalar_text(shape, value))}</{tag}>")


def _write_members(out: list, shape: dict, value: dict) -> None:
    for member, ref in shape["members"].items():
        if ref.get("location"):
            continue
        v = value.get(member)
        if v is None:
            continue
        _write(out, ref["shape"], ref.get("locationName", member), v)


def to_xml(shape_name: str, value: dict, root: str | None = None) -> bytes:
    """Encode an output structure; members with location=header are skipped
    (the caller sends them as headers).  Element order follows the shape."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n',
           f'<{root or shape_name} xmlns="{NS}">']
    _write_members(out, SHAPES[shape_name], value)
    out.append(f"</{root or shape_name}>")
    return "".join(out).encode("utf-8")


def header_members(shape_name: str, value: dict) -> dict[str, str]:
    shape = SHAPES[shape_name]
    return {ref.get("locationName", m): str(value[m])
            for m, ref in shape["members"].items()
            if ref.get("location") == "header" and value.get(m) is not None}


def error_xml(code: str, message: str, request_id: str, sender: bool = True,
              messages: list[str] | None = None, extra_xml: str = "") -> bytes:
    """Route 53's ErrorResponse.  For InvalidChangeBatch the individual
    messages are also given as Error/Messages/Message (the InvalidChangeBatch
    shape's `messages`), while Message holds them joined in brackets the way
    Route 53 prints them, so boto3's ClientError shows them all."""
    extra = ""
    if messages:
        extra = "<Messages>" + "".join(
            f"<Message>{escape(m)}</Message>" for m in messages) + "</Messages>"
    extra += extra_xml
    return (
        '<?xml version="1.0"?>\n'
        f'<ErrorResponse xmlns="{NS}"><Error><Type>{"Sender" if sender else "Receiver"}</Type>'
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message>{extra}</Error>"
        f"<RequestId>{escape(request_id)}</RequestId></ErrorResponse>"
    ).encode("utf-8")


# zonefront extensions that widen a limit of botocore's model; the service
# applies the real bound (RequestInterval: [health] min_interval)
_RELAXED_MIN = {"RequestInterval": 1}


def _lower_first(s: str) -> str:
    return s[:1].lower() + s[1:]


def validate(shape_name: str, value, path: str = "") -> list[str]:
    """Check `value` against the model's required/enum/min/max constraints.

    Returns AWS-style validation messages ("Value 'x' at 'a.b' failed to
    satisfy constraint: ..."), the text Route 53 puts in InvalidInput.
    """
    shape = SHAPES[shape_name]
    kind = shape["type"]
    errs: list[str] = []
    if kind == "structure":
        for req in shape.get("required", ()):
            if value.get(req) is None:
                ref = shape["members"][req]
                errs.append(f"Value null at '{_join(path, _lower_first(req))}' failed to "
                            f"satisfy constraint: Member must not be null"
                            if ref.get("location") != "uri" else
                            f"Missing required path parameter '{req}'")
        for member, ref in shape["members"].items():
            v = value.get(member)
            if v is not None:
                errs += validate(ref["shape"], v, _join(path, _lower_first(member)))
        return errs
    if kind == "list":
        n = len(value)
        if "min" in shape and n < shape["min"]:
            errs.append(f"Value '[]' at '{path}' failed to satisfy constraint: Member must "
                        f"have length greater than or equal to {shape['min']}")
        if "max" in shape and n > shape["max"]:
            errs.append(f"Value at '{path}' failed to satisfy constraint: Member must have "
                        f"length less than or equal to {shape['max']}")
        for i, v in enumerate(value, 1):
            errs += validate(shape["member"]["shape"], v, f"{path}.{i}.member")
        return errs
    if kind in ("integer", "long"):
        lo = _RELAXED_MIN.get(shape_name, shape.get("min"))
        if lo is not None and value < lo:
            errs.append(f"Value '{value}' at '{path}' failed to satisfy constraint: Member "
                        f"must have value greater than or equal to {lo}")
        if "max" in shape and value > shape["max"]:
            errs.append(f"Value '{value}' at '{path}' failed to satisfy constraint: Member "
                        f"must have value less than or equal to {shape['max']}")
        return errs
    if kind == "string":
        if "enum" in shape and value not in shape["enum"]:
            errs.append(f"Value '{value}' at '{path}' failed to satisfy constraint: Member "
                        f"must satisfy enum value set: [{', '.join(shape['enum'])}]")
        if "min" in shape and len(value) < shape["min"]:
            errs.append(f"Value '{value}' at '{path}' failed to satisfy constraint: Member "
                        f"must have length greater than or equal to {shape['min']}")
        if "max" in shape and len(value) > shape["max"]:
            errs.append(f"Value '{value[:64]}' at '{path}' failed to satisfy constraint: "
                        f"Member must have length less than or equal to {shape['max']}")
    return errs


def _join(path: str, member: str) -> str:
    return f"{path}.{member}" if path else member
