"""Change history of ADVANCED zones: GetHostedZoneChangeBatch,
ListHostedZoneChangeBatches, ListResourceRecordSetChanges with their
filters, sort orders, pagination and errors, with boto3 and the AWS CLI."""
from __future__ import annotations

import datetime

import pytest
from botocore.exceptions import ClientError
from helpers.awscli import HAVE_AWS, aws
from helpers.route53 import AKID, change, new_zone, rrset


def _code(exc):
    return exc.value.response["Error"]["Code"]


def _advanced_zone(r53, name):
    zid = new_zone(r53, name)
    r53.update_hosted_zone_tier(HostedZoneId=zid, HostedZoneTier="ADVANCED")
    return zid


def test_history_records_batches_with_principal_request_and_comment(r53):
    zid = _advanced_zone(r53, "hist.example")
    r = change(r53, zid, ("CREATE", rrset("a.hist.example", "A", ["192.0.2.1"])),
               ("CREATE", rrset("b.hist.example", "TXT", ['"x"'])), comment="first batch")
    cid = r["ChangeInfo"]["Id"].split("/")[-1]
    got = r53.get_hosted_zone_change_batch(HostedZoneId=zid, ChangeId=cid)
    s = got["ChangeBatchSummary"]
    assert s["ChangeId"] == cid and s["Operation"] == "ChangeResourceRecordSets"
    assert s["ChangeCount"] == 2 and s["Comment"] == "first batch"
    assert s["SubmittedBy"] == f"arn:aws:iam::000000000000:user/{AKID}"
    assert s["RequestId"] == r["ResponseMetadata"]["RequestId"]
    assert got["ChangeBatch"]["Comment"] == "first batch"
    assert [(c["Action"], c["ResourceRecordSet"]["Name"], c["ResourceRecordSet"]["Type"])
            for c in got["ChangeBatch"]["Changes"]] == [
        ("CREATE", "a.hist.example", "A"), ("CREATE", "b.hist.example", "TXT")]
    assert got["ChangeBatch"]["Changes"][0]["ResourceRecordSet"]["ResourceRecords"] == [
        {"Value": "192.0.2.1"}]


def test_list_batches_sort_filters_and_pages(r53):
    zid = _advanced_zone(r53, "histlist.example")
    ids = []
    for i in range(5):
        r = change(r53, zid, ("CREATE", rrset(f"h{i}.histlist.example", "A",
                                              [f"192.0.2.{i + 1}"])))
        ids.append(r["ChangeInfo"]["Id"].split("/")[-1])
    asc = r53.list_hosted_zone_change_batches(HostedZoneId=zid)["ChangeBatchSummaries"]
    assert [s["ChangeId"] for s in asc] == ids
    desc = r53.list_hosted_zone_change_batches(HostedZoneId=zid, SortOrder="DESCENDING")
    assert [s["ChangeId"] for s in desc["ChangeBatchSummaries"]] == ids[::-1]
    got, token = [], None
    while True:
        kw = {"NextToken": token} if token else {}
        page = r53.list_hosted_zone_change_batches(HostedZoneId=zid, MaxResults="2", **kw)
        assert len(page["ChangeBatchSummaries"]) <= 2
        got += [s["ChangeId"] for s in page["ChangeBatchSummaries"]]
        token = page.get("NextToken")
        if not token:
            break
    assert got == ids
    after = r53.list_hosted_zone_change_batches(HostedZoneId=zid, StartAfterChangeId=ids[2])
    assert [s["ChangeId"] for s in after["ChangeBatchSummaries"]] == ids[3:]
    future = (datetime.datetime.now(datetime.UTC)
              + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    past = "2000-01-01T00:00:00Z"
    assert r53.list_hosted_zone_change_batches(
        HostedZoneId=zid, SubmittedAfter=future)["ChangeBatchSummaries"] == []
    assert len(r53.list_hosted_zone_change_batches(
        HostedZoneId=zid, SubmittedAfter=past, SubmittedBefore=future)
        ["ChangeBatchSummaries"]) == 5
    assert r53.list_hosted_zone_change_batches(
        HostedZoneId=zid, SubmittedBefore=past)["ChangeBatchSummaries"] == []


def test_list_rrset_changes_filters(r53):
    zid = _advanced_zone(r53, "histrr.example")
    change(r53, zid, ("CREATE", rrset("www.histrr.example", "A", ["192.0.2.1"])),
           ("CREATE", rrset("www.histrr.example", "TXT", ['"t"'])))
    change(r53, zid, ("UPSERT", rrset("www.histrr.example", "A", ["192.0.2.2"])))
    change(r53, zid, ("CREATE", rrset("mail.histrr.example", "A", ["192.0.2.3"])))
    every = r53.list_resource_record_set_changes(HostedZoneId=zid)["ResourceRecordSetChanges"]
    assert len(every) == 4
    www_a = r53.list_resource_record_set_changes(
        HostedZoneId=zid, RecordName="WWW.histrr.example.", RecordType="A")
    items = www_a["ResourceRecordSetChanges"]
    assert [(c["Action"], c["ResourceRecordSet"]["ResourceRecords"][0]["Value"])
            for c in items] == [("CREATE", "192.0.2.1"), ("UPSERT", "192.0.2.2")]
    assert all(c["Operation"] == "ChangeResourceRecordSets" and c["SubmittedBy"]
               for c in items)
    desc = r53.list_resource_record_set_changes(
        HostedZoneId=zid, RecordName="www.histrr.example", RecordType="A",
        SortOrder="DESCENDING")["ResourceRecordSetChanges"]
    assert [c["Action"] for c in desc] == ["UPSERT", "CREATE"]
    page1 = r53.list_resource_record_set_changes(HostedZoneId=zid, MaxResults="3")
    assert len(page1["ResourceRecordSetChanges"]) == 3
    page2 = r53.list_resource_record_set_changes(HostedZoneId=zid, MaxResults="3",
                                                 NextToken=page1["NextToken"])
    assert len(page2["ResourceRecordSetChanges"]) == 1 and "NextToken" not in page2


def test_history_errors(r53):
    standard = new_zone(r53, "histstd.example")
    r = change(r53, standard, ("CREATE", rrset("x.histstd.example", "A", ["192.0.2.1"])))
    for call in (lambda: r53.list_hosted_zone_change_batches(HostedZoneId=standard),
                 lambda: r53.list_resource_record_set_changes(HostedZoneId=standard),
                 lambda: r53.get_hosted_zone_change_batch(
                     HostedZoneId=standard, ChangeId=r["ChangeInfo"]["Id"].split("/")[-1])):
        with pytest.raises(ClientError) as e:
            call()
        assert _code(e) == "FeatureNotEnabled"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    zid = _advanced_zone(r53, "histerr.example")
    # a batch from before the zone became ADVANCED is not in its history
    with pytest.raises(ClientError) as e:
        r53.get_hosted_zone_change_batch(HostedZoneId=zid, ChangeId="CNOSUCHCHANGE0000000")
    assert _code(e) == "NoSuchChange"
    with pytest.raises(ClientError) as e:
        r53.list_hosted_zone_change_batches(HostedZoneId="/hostedzone/ZNOSUCH0000000000000")
    assert _code(e) == "NoSuchHostedZone"
    with pytest.raises(ClientError) as e:
        r53.list_hosted_zone_change_batches(HostedZoneId=zid, NextToken="bogus")
    assert _code(e) == "InvalidPaginationToken"
    with pytest.raises(ClientError) as e:
        r53.list_hosted_zone_change_batches(HostedZoneId=zid,
                                            SubmittedAfter="2030-01-01T00:00:00Z",
                                            SubmittedBefore="2020-01-01T00:00:00Z")
    assert _code(e) == "InvalidInput"
    with pytest.raises(ClientError) as e:
        r53.list_resource_record_set_changes(HostedZoneId=zid, MaxResults="0")
    assert _code(e) == "InvalidInput"


def test_refused_batch_leaves_no_history(r53):
    zid = _advanced_zone(r53, "histrb.example")
    with pytest.raises(ClientError):
        change(r53, zid, ("DELETE", rrset("nope.histrb.example", "A", ["192.0.2.1"])))
    assert r53.list_hosted_zone_change_batches(
        HostedZoneId=zid)["ChangeBatchSummaries"] == []


@pytest.mark.skipif(not HAVE_AWS, reason="aws CLI not installed")
def test_aws_cli_history(server, r53):
    zid = new_zone(r53, "clihist.example")
    err = aws(server, "list-hosted-zone-change-batches", "--hosted-zone-id", zid, ok=False)
    assert "FeatureNotEnabled" in err
    aws(server, "update-hosted-zone-tier", "--hosted-zone-id", zid, "--hosted-zone-tier",
        "ADVANCED")
    r = change(r53, zid, ("CREATE", rrset("w.clihist.example", "A", ["192.0.2.1"])),
               comment="via boto3")
    cid = r["ChangeInfo"]["Id"].split("/")[-1]
    out = aws(server, "list-hosted-zone-change-batches", "--hosted-zone-id", zid)
    assert [s["ChangeId"] for s in out["ChangeBatchSummaries"]] == [cid]
    got = aws(server, "get-hosted-zone-change-batch", "--hosted-zone-id", zid,
              "--change-id", cid)
    assert got["ChangeBatchSummary"]["Comment"] == "via boto3"
    rr = aws(server, "list-resource-record-set-changes", "--hosted-zone-id", zid,
             "--record-name", "w.clihist.example", "--record-type", "A")
    assert [c["Action"] for c in rr["ResourceRecordSetChanges"]] == ["CREATE"]


def test_zone_created_advanced_records_its_creation(r53):
    zid = new_zone(r53, "histcreate.example", HostedZoneConfig={"HostedZoneTier": "ADVANCED"})
    batches = r53.list_hosted_zone_change_batches(HostedZoneId=zid)["ChangeBatchSummaries"]
    assert [(b["Operation"], b["ChangeCount"]) for b in batches] == [("CreateHostedZone", 2)]
    got = r53.get_hosted_zone_change_batch(HostedZoneId=zid, ChangeId=batches[0]["ChangeId"])
    assert sorted(c["ResourceRecordSet"]["Type"] for c in got["ChangeBatch"]["Changes"]) == [
        "NS", "SOA"]
