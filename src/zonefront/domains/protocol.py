"""Route 53 Domains' two wire protocols, driven by botocore's shapes.

- JSON 1.1 (`awsJson1_1`): POST / with `X-Amz-Target:
  Route53Domains_v20140515.NAME`; timestamps are epoch seconds; errors are
  `{"__type": "InvalidInput", "message": ...}`.
- Smithy RPC v2 CBOR (`smithy-rpc-v2-cbor`): POST
  /service/Route53Domains_v20140515/operation/NAME with `smithy-protocol:
  rpc-v2-cbor`; timestamps are CBOR tag 1; errors carry `__type` as the
  shape id `com.amazonaws.route53domains#InvalidInput`.  CBOR is read and
  written with cbor2.

Input is type-checked (a wrong type is a SerializationException, as AWS
sends for an undecodable body) and then validated against the model's
required members, enums, lengths, ranges and patterns (InvalidInput, in
AWS's "N validation errors detected" form).
"""
from __future__ import annotations

import base64
import datetime as _dt
import json
import math
import re

import cbor2

from ..aws._domains_model import META, OPERATIONS, SHAPES
from .errors import DomainsError

TARGET_PREFIX = META["targetPrefix"]  # Route53Domains_v20140515
CBOR_PATH = re.compile(r"^/service/" + TARGET_PREFIX + r"/operation/([A-Za-z0-9]+)$")
SHAPE_NS = "com.amazonaws.route53domains"
JSON_TYPE = "application/x-amz-json-1.1"
CBOR_TYPE = "application/cbor"

JSON, CBOR = "json", "cbor"


def serialization_error(message: str) -> DomainsError:
    return DomainsError("SerializationException", message)


def decode_body(protocol: str, body: bytes) -> dict:
    if not body or not body.strip():
        return {}
    try:
        if protocol == JSON:
            doc = json.loads(body)
        else:
            doc = cbor2.loads(body)
    except (ValueError, cbor2.CBORDecodeError, RecursionError) as e:
        raise serialization_error(f"The request body could not be decoded: {e}") from None
    if not isinstance(doc, dict):
        raise serialization_error("The request body must be an object.")
    return doc


def _timestamp(value, path: str) -> float:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.timestamp()
    if isinstance(value, cbor2.CBORTag) and value.tag == 1:
        value = value.value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            d = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            return _timestamp(d, path)
        except ValueError:
            pass
    raise serialization_error(f"Value at '{path}' is not a timestamp.")


def coerce(shape_name: str, value, path: str):
    """Check the JSON/CBOR value's type against the shape; unknown structure
    members are dropped (AWS ignores them)."""
    shape = SHAPES[shape_name]
    kind = shape["type"]
    if value is None:
        return None
    if kind == "structure":
        if not isinstance(value, dict):
            raise serialization_error(f"Value at '{path}' must be an object.")
        out = {}
        for k, v in value.items():
            ref = shape["members"].get(k)
            if ref is not None and v is not None:
                out[k] = coerce(ref["shape"], v, f"{path}.{k}" if path else k)
        return out
    if kind == "list":
        if not isinstance(value, list):
            raise serialization_error(f"Value at '{path}' must be a list.")
        if None in value:  # a dense list: validate() would meet None where a value must be
            raise serialization_error(f"Value at '{path}.{value.index(None) + 1}' must not be null.")
        return [coerce(shape["member"]["shape"], v, f"{path}.{i + 1}")
                for i, v in enumerate(value)]
    if kind == "map":
        if not isinstance(value, dict):
            raise serialization_error(f"Value at '{path}' must be a map.")
        if any(v is None for v in value.values()):
            raise serialization_error(f"Value at '{path}' must not hold null values.")
        return {coerce(shape["key"]["shape"], k, path): coerce(shape["value"]["shape"], v, path)
                for k, v in value.items()}
    if kind == "string":
        if not isinstance(value, str):
            raise serialization_error(f"Value at '{path}' must be a string.")
        return value
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise serialization_error(f"Value at '{path}' must be an integer.")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise serialization_error(f"Value at '{path}' must be a boolean.")
        return value
    if kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise serialization_error(f"Value at '{path}' must be a number.")
        return float(value)
    if kind == "timestamp":
        return _timestamp(value, path)
    if kind == "blob":
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        try:
            return base64.b64decode(value, validate=True)
        except (ValueError, TypeError):
            raise serialization_error(f"Value at '{path}' must be base64.") from None
    return value


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def validate(shape_name: str, value, path: str, errs: list[str]) -> None:
    shape = SHAPES[shape_name]
    kind = shape["type"]
    where = ".".join(_lower_first(p) for p in path.split(".")) if path else path
    if kind == "structure":
        for req in shape.get("required", []):
            if value.get(req) is None:
                p = f"{path}.{req}" if path else req
                errs.append(f"Value null at '{'.'.join(_lower_first(x) for x in p.split('.'))}'"
                            " failed to satisfy constraint: Member must not be null")
        for k, v in value.items():
            validate(shape["members"][k]["shape"], v, f"{path}.{k}" if path else k, errs)
        return
    if kind == "list":
        if "min" in shape and len(value) < shape["min"]:
            errs.append(f"Value at '{where}' failed to satisfy constraint: Member must have "
                        f"length greater than or equal to {shape['min']}")
        if "max" in shape and len(value) > shape["max"]:
            errs.append(f"Value at '{where}' failed to satisfy constraint: Member must have "
                        f"length less than or equal to {shape['max']}")
        for i, v in enumerate(value):
            validate(shape["member"]["shape"], v, f"{path}.{i + 1}", errs)
        return
    if kind == "string":
        if "enum" in shape and value not in shape["enum"]:
            errs.append(f"Value '{value}' at '{where}' failed to satisfy constraint: Member "
                        f"must satisfy enum value set: [{', '.join(shape['enum'])}]")
        if "min" in shape and len(value) < shape["min"]:
            errs.append(f"Value '{value}' at '{where}' failed to satisfy constraint: Member "
                        f"must have length greater than or equal to {shape['min']}")
        if "max" in shape and len(value) > shape["max"]:
            errs.append(f"Value at '{where}' failed to satisfy constraint: Member must have "
                        f"length less than or equal to {shape['max']}")
        pat = shape.get("pattern")
        if pat and not re.fullmatch(pat, value):
            errs.append(f"Value '{value}' at '{where}' failed to satisfy constraint: Member "
                        f"must satisfy regular expression pattern: {pat}")
        return
    if kind in ("integer", "long", "double", "float"):
        if "min" in shape and value < shape["min"]:
            errs.append(f"Value '{value}' at '{where}' failed to satisfy constraint: Member "
                        f"must have value greater than or equal to {shape['min']}")
        if "max" in shape and value > shape["max"]:
            errs.append(f"Value '{value}' at '{where}' failed to satisfy constraint: Member "
                        f"must have value less than or equal to {shape['max']}")


def decode_input(protocol: str, op_name: str, body: bytes) -> dict:
    doc = decode_body(protocol, body)
    shape_name = OPERATIONS[op_name]["input"]
    if shape_name is None:
        return {}
    inp = coerce(shape_name, doc, "")
    errs: list[str] = []
    validate(shape_name, inp, "", errs)
    if errs:
        n = len(errs)
        raise DomainsError("InvalidInput", f"{n} validation error{'s' if n > 1 else ''} "
                           "detected: " + "; ".join(errs))
    return inp


def _out(shape_name: str, value, protocol: str):
    shape = SHAPES[shape_name]
    kind = shape["type"]
    if kind == "structure":
        return {k: _out(shape["members"][k]["shape"], v, protocol)
                for k, v in value.items() if v is not None and k in shape["members"]}
    if kind == "list":
        return [_out(shape["member"]["shape"], v, protocol) for v in value]
    if kind == "map":
        return {k: _out(shape["value"]["shape"], v, protocol) for k, v in value.items()}
    if kind == "timestamp":
        t = float(value)
        return cbor2.CBORTag(1, t) if protocol == CBOR else t
    if kind in ("double", "float"):
        return float(value)
    if kind == "blob" and protocol == JSON:
        return base64.b64encode(value).decode("ascii")
    return value


def encode_output(protocol: str, op_name: str, out: dict | None) -> bytes:
    shape_name = OPERATIONS[op_name]["output"]
    doc = _out(shape_name, out or {}, protocol) if shape_name else {}
    if protocol == JSON:
        return json.dumps(doc, separators=(",", ":")).encode("utf-8")
    if shape_name is None:
        return b""
    return cbor2.dumps(doc)


def encode_error(protocol: str, e: DomainsError) -> bytes:
    doc = {"__type": e.code if protocol == JSON else f"{SHAPE_NS}#{e.code}",
           "message": e.message}
    for k, v in e.fields.items():
        if v is not None:
            doc[k] = v
    if protocol == JSON:
        return json.dumps(doc, separators=(",", ":")).encode("utf-8")
    return cbor2.dumps(doc)


def content_type(protocol: str) -> str:
    return JSON_TYPE if protocol == JSON else CBOR_TYPE
