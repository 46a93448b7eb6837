"""The `zonefront` command: --version, compile + serve --snapshot, refusal of broken
zone files (file and line named, nothing partial served), SIGHUP reload, SIGTERM."""
from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import dns.flags
import dns.rcode
import pytest

from helpers import dnsquery as dnsutil
from .conftest import TARGET, ZONE_FILES, start_zonefront, zone_file_args, zonefront_cmd
from helpers.dnsquery import assert_response, query
from .test_answers import APEX_NS, CASES, case_params

if TARGET != "zonefront":
    pytest.skip("tests the zonefront command itself", allow_module_level=True)


def run(*args, timeout=60):
    return subprocess.run(zonefront_cmd(*args), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_version():
    out = run("--version")
    assert out.returncode == 0, out.stderr
    want = subprocess.run([sys.executable, "-c", "import zonefront; print(zonefront.__version__)"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert want in out.stdout + out.stderr, (out.stdout, out.stderr)


# -- compile, then serve the snapshot --------------------------------------------

@pytest.fixture(scope="module")
def snapshot_server(tmp_path_factory):
    snap = tmp_path_factory.mktemp("snap") / "all.snap"
    out = run("compile", *map(str, ZONE_FILES), "-o", str(snap))
    assert out.returncode == 0, f"compile failed:\n{out.stdout}\n{out.stderr}"
    assert snap.is_file() and snap.stat().st_size > 0
    srv = start_zonefront(["--snapshot", str(snap)], workers=1)
    yield srv
    assert srv.stop() == 0, srv.stderr_text()


@pytest.mark.parametrize("case", case_params())
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_snapshot_answers_like_zone_files(snapshot_server, server, transport, case):
    """Every answer case, served from the compiled snapshot, is exactly right, and the
    same as the one served from the zone files."""
    fn = getattr(dnsutil, transport)
    qname, qtype, want = CASES[case]
    a = fn(snapshot_server.addr, query(qname, qtype))
    b = fn(server.addr, query(qname, qtype))
    assert_response(a, **want)
    assert (a.rcode(), a.flags) == (b.rcode(), b.flags)
    for sa, sb in ((a.answer, b.answer), (a.authority, b.authority),
                   (a.additional, b.additional)):
        assert sorted(dnsutil.rrs_of(sa)) == sorted(dnsutil.rrs_of(sb))


def test_edns_udp_size_option(tmp_path):
    """With --edns-udp-size 4096 the server honours a 4096-octet client buffer: the
    2.6 KB answer fits in one datagram; a smaller client buffer still truncates."""
    srv = start_zonefront(zone_file_args(ZONE_FILES) + ["--edns-udp-size", "4096"], workers=1)
    try:
        big = [f'big.example.test. 600 IN TXT "record-{i:02d}-{"x" * 40}"' for i in range(40)]
        apex_ns = APEX_NS["example.test."]
        resp = dnsutil.udp(srv.addr, query("big.example.test.", "TXT", use_edns=0, payload=4096))
        assert resp.payload == 4096
        assert len(resp.wire) <= 4096
        assert_response(resp, rcode=dns.rcode.NOERROR, aa=True, answer=big, allow_apex_ns=apex_ns)
        resp = dnsutil.udp(srv.addr, query("big.example.test.", "TXT", use_edns=0, payload=1232))
        assert len(resp.wire) <= 1232
        assert resp.flags & dns.flags.TC
    finally:
        assert srv.stop() == 0, srv.stderr_text()


# -- broken zone files ---------------------------------------------------------------

GOOD = """$ORIGIN broken.test.
$TTL 300
@    IN SOA ns.broken.test. admin.broken.test. 1 7200 3600 1209600 300
@    IN NS  ns
ns   IN A   192.0.2.1
www  IN A   192.0.2.2
"""
BROKEN = {
    "bad-a-rdata": (GOOD + "bad  IN A   192.0.2.300\n", 7),
    "unknown-type": (GOOD + "x    IN A   192.0.2.3\nbad  IN NOSUCHTYPE 1\n", 8),
    "bad-ttl": (GOOD + "bad  12x IN A 192.0.2.4\n", 7),
    "unclosed-quote": (GOOD + 'bad  IN TXT "no end\n', 7),
    "aaaa-in-a": (GOOD.replace("www  IN A   192.0.2.2", "www  IN A   2001:db8::1"), 6),
}


def assert_names_file_and_line(stderr: str, path, line: int):
    assert path.name in stderr, f"stderr does not name {path.name}:\n{stderr}"
    assert re.search(rf"(line\s*{line}\b|:{line}\b)", stderr, re.I), (
        f"stderr does not name line {line}:\n{stderr}")


@pytest.mark.parametrize("case", BROKEN)
def test_compile_refuses_broken_zone(tmp_path, case):
    text, line = BROKEN[case]
    zone = tmp_path / f"{case}.zone"
    zone.write_text(text)
    snap = tmp_path / "out.snap"
    out = run("compile", str(zone), "-o", str(snap))
    assert out.returncode != 0, f"compile accepted a broken zone ({case})"
    assert_names_file_and_line(out.stderr, zone, line)
    assert not snap.exists(), "a failed compile left a snapshot behind"


def test_serve_refuses_broken_zone(tmp_path):
    text, line = BROKEN["bad-a-rdata"]
    zone = tmp_path / "broken.zone"
    zone.write_text(text)
    argv = zonefront_cmd("serve", *zone_file_args([ZONE_FILES[0], zone]),
                         "--dns-listen", "127.0.0.1:0", "--workers", "1")
    # port 0 is never used: the server must fail on the zone before it listens
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                             stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail("serve with a broken zone file kept running")
    assert out.returncode != 0
    assert "ready:" not in out.stderr, "served although a zone file is broken"
    assert_names_file_and_line(out.stderr, zone, line)


def test_serve_refuses_missing_snapshot(tmp_path):
    out = run("serve", "--snapshot", str(tmp_path / "nope.snap"), "--dns-listen",
              "127.0.0.1:0", timeout=30)
    assert out.returncode != 0 and "ready:" not in out.stderr
    assert "nope.snap" in out.stderr


# -- SIGHUP reload, SIGTERM -----------------------------------------------------------

def soa_serial(addr):
    return dnsutil.udp(addr, query("broken.test.", "SOA")).answer[0][0].serial


def wait_for(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_sighup_reload(tmp_path):
    zone = tmp_path / "reload.zone"
    zone.write_text(GOOD)
    srv = start_zonefront(zone_file_args([zone]), workers=2)
    try:
        www = ["www.broken.test. 300 IN A 192.0.2.2"]
        assert_response(dnsutil.udp(srv.addr, query("www.broken.test.", "A")),
                        rcode=dns.rcode.NOERROR, aa=True, answer=www,
                        allow_apex_ns=(["broken.test. 300 IN NS ns.broken.test."],
                                       ["ns.broken.test. 300 IN A 192.0.2.1"]))
        # a changed zone is picked up
        zone.write_text(GOOD.replace(" 1 7200", " 2 7200").replace("www  IN A   192.0.2.2",
                                                                  "new  IN A   192.0.2.9"))
        srv.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: soa_serial(srv.addr) == 2), "SIGHUP did not load the new zone"
        new = dnsutil.udp(srv.addr, query("new.broken.test.", "A"))
        assert_response(new, rcode=dns.rcode.NOERROR, aa=True,
                        answer=["new.broken.test. 300 IN A 192.0.2.9"],
                        allow_apex_ns=(["broken.test. 300 IN NS ns.broken.test."],
                                       ["ns.broken.test. 300 IN A 192.0.2.1"]))
        gone = dnsutil.tcp(srv.addr, query("www.broken.test.", "A"))
        assert_response(gone, rcode=dns.rcode.NXDOMAIN, aa=True, authority=[
            "broken.test. 300 IN SOA ns.broken.test. admin.broken.test. 2 7200 3600 1209600 300"])
        # a broken zone is refused and the last good one keeps serving
        before = len(srv.stderr_lines)
        zone.write_text(GOOD.replace(" 1 7200", " 3 7200") + "bad  IN A   192.0.2.300\n")
        srv.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "reload.zone" in "".join(srv.stderr_lines[before:]), 5), (
            f"failed reload not reported on stderr:\n{srv.stderr_text()}")
        time.sleep(0.3)
        assert srv.alive(), srv.stderr_text()
        assert soa_serial(srv.addr) == 2
        assert dnsutil.udp(srv.addr, query("new.broken.test.", "A")).answer
        # and a fixed zone loads again
        zone.write_text(GOOD.replace(" 1 7200", " 4 7200"))
        srv.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: soa_serial(srv.addr) == 4), "reload after a failed one"
    finally:
        rc = srv.stop()
    assert rc == 0, f"exit status {rc} on SIGTERM:\n{srv.stderr_text()}"


@pytest.mark.parametrize("sig,codes", [(signal.SIGTERM, (0,)), (signal.SIGINT, (0, 130))])
def test_signal_stops_cleanly(tmp_path, sig, codes):
    zone = tmp_path / "z.zone"
    shutil.copy(ZONE_FILES[2], zone)
    srv = start_zonefront(zone_file_args([zone]), workers=2)
    try:
        assert dnsutil.tcp(srv.addr, query("www.other.test.", "A")).answer
        srv.proc.send_signal(sig)
        try:
            rc = srv.proc.wait(10)
        except subprocess.TimeoutExpired:
            pytest.fail(f"server still running 10 s after {sig.name}")
    finally:
        srv.kill()
    assert rc in codes, f"exit status {rc} after {sig.name}:\n{srv.stderr_text()}"


def test_reload_under_load_never_mixes(tmp_path):
    """Queries racing several SIGHUP reloads are each answered whole from the old or the
    new zones, never a mix of both, and none is dropped."""
    head = ("$ORIGIN swap.test.\n$TTL 60\n"
            "@ IN SOA ns.swap.test. admin.swap.test. {serial} 7200 3600 1209600 60\n"
            "@ IN NS ns\nns IN A 192.0.2.1\n")
    versions = {
        1: head.format(serial=1) + "x IN CNAME t1\nt1 IN A 192.0.2.11\n",
        2: head.format(serial=2) + "x IN CNAME t2\nt2 IN A 192.0.2.22\n",
    }
    answers = {
        1: sorted(dnsutil.rr(r) for r in ["x.swap.test. 60 IN CNAME t1.swap.test.",
                                          "t1.swap.test. 60 IN A 192.0.2.11"]),
        2: sorted(dnsutil.rr(r) for r in ["x.swap.test. 60 IN CNAME t2.swap.test.",
                                          "t2.swap.test. 60 IN A 192.0.2.22"]),
    }
    zone = tmp_path / "swap.zone"
    zone.write_text(versions[1])
    srv = start_zonefront(zone_file_args([zone]), workers=2)
    seen = set()
    stop = threading.Event()
    errors: list[str] = []

    def hammer():  # a second client racing the reloads, over TCP
        while not stop.is_set():
            try:
                r = dnsutil.tcp(srv.addr, query("x.swap.test.", "A"), timeout=2.0)
            except (dnsutil.NoResponse, OSError) as e:
                errors.append(f"query lost during reload: {e}")
                return
            if sorted(dnsutil.rrs_of(r.answer)) not in (answers[1], answers[2]):
                errors.append(f"mixed answer during reload:\n{r}")
                return

    racer = threading.Thread(target=hammer, daemon=True)
    racer.start()
    try:
        for flip in range(6):
            version = 2 if flip % 2 == 0 else 1
            zone.write_text(versions[version])
            srv.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while True:
                resp = dnsutil.udp(srv.addr, query("x.swap.test.", "A"), timeout=2.0)
                assert resp.rcode() == dns.rcode.NOERROR, resp
                got = sorted(dnsutil.rrs_of(resp.answer))
                assert got in (answers[1], answers[2]), f"mixed answer during reload:\n{resp}"
                seen.add(got == answers[2])
                if got == answers[version]:
                    break
                assert time.monotonic() < deadline, f"reload {flip} not picked up"
        assert seen == {True, False}
        assert srv.alive()
    finally:
        stop.set()
        racer.join(5)
        rc = srv.stop()
    assert not errors, errors[0]
    assert rc == 0, srv.stderr_text()
