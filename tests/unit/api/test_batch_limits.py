"""Change-batch limits counted as Route 53 counts them (an UPSERT counts twice
toward the 1,000 values and the 32,000 characters), and markup where a value
belongs refused with InvalidInput; a refused batch changes nothing."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from helpers.route53 import new_zone, rrset
from test_auth_xml import error_of, raw_request


def rrsets(r53, zid):
    return r53.list_resource_record_sets(HostedZoneId=zid)["ResourceRecordSets"]


def ips(base, n):
    return [f"10.{base}.{i // 250}.{i % 250 + 1}" for i in range(n)]


def batch(action, sets):
    return {"Changes": [{"Action": action, "ResourceRecordSet": s} for s in sets]}


def test_upsert_counts_twice_toward_values(r53):
    zid = new_zone(r53, "limits-values.example")
    sets = [rrset(f"n{i}.limits-values.example", "A", ips(i, 300)) for i in range(2)]
    before = rrsets(r53, zid)
    with pytest.raises(ClientError) as e:  # 600 values, counted 1,200
        r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch=batch("UPSERT", sets))
    assert e.value.response["Error"]["Code"] == "InvalidChangeBatch"
    assert "Number of records limit of 1000 exceeded." in e.value.response["Error"]["Message"]
    assert rrsets(r53, zid) == before
    # the same values as CREATE count once: accepted
    r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch=batch("CREATE", sets))
    assert len(rrsets(r53, zid)) == len(before) + 2


def test_upsert_counts_twice_toward_characters(r53):
    zid = new_zone(r53, "limits-chars.example")
    value = '"' + "x" * 248 + '"'  # 250 characters
    sets = [rrset(f"t{i}.limits-chars.example", "TXT",
                  [value[:-4] + f"{j:03d}" + '"' for j in range(34)]) for i in range(2)]
    # 68 values x 250 = 17,000 characters, counted 34,000 when upserted
    before = rrsets(r53, zid)
    with pytest.raises(ClientError) as e:
        r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch=batch("UPSERT", sets))
    assert e.value.response["Error"]["Code"] == "InvalidChangeBatch"
    assert "32,000" in e.value.response["Error"]["Message"]
    assert rrsets(r53, zid) == before
    r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch=batch("CREATE", sets))
    assert len(rrsets(r53, zid)) == len(before) + 2


def _change_xml(comment: bytes) -> bytes:
    return (b'<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsRequest '
            b'xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch>'
            b'<Comment>' + comment + b'</Comment><Changes><Change><Action>CREATE</Action>'
            b'<ResourceRecordSet><Name>a.nested.example</Name><Type>A</Type><TTL>60</TTL>'
            b'<ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord>'
            b'</ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch>'
            b'</ChangeResourceRecordSetsRequest>')


def test_nested_elements_in_a_value_refused(server, r53):
    zid = new_zone(r53, "nested.example").split("/")[-1]
    before = rrsets(r53, zid)
    deep = b"<a>" * 100000 + b"x" + b"</a>" * 100000
    for comment in (deep, b"fine<b>hidden</b>"):
        status, data = raw_request(server, "POST", f"/2013-04-01/hostedzone/{zid}/rrset/",
                                   body=_change_xml(comment))
        assert status == 400, data[:300]
        _t, code, msg = error_of(data)
        assert code == "InvalidInput" and "Comment" in msg
        assert rrsets(r53, zid) == before
    # the control: a plain comment goes through
    status, _ = raw_request(server, "POST", f"/2013-04-01/hostedzone/{zid}/rrset/",
                            body=_change_xml(b"plain"))
    assert status == 200
    assert len(rrsets(r53, zid)) == len(before) + 1


def test_nested_element_in_a_value_anywhere(server, r53):
    zid = new_zone(r53, "nested2.example").split("/")[-1]
    before = rrsets(r53, zid)
    body = _change_xml(b"ok").replace(b"<TTL>60</TTL>", b"<TTL>60<x/></TTL>")
    status, data = raw_request(server, "POST", f"/2013-04-01/hostedzone/{zid}/rrset/",
                               body=body)
    assert status == 400 and error_of(data)[1] == "InvalidInput"
    assert rrsets(r53, zid) == before
