"""What the bench/compile scripts share: generated zones, a `zonefront serve`
with its Route 53 API over an imported store, boto3 clients and a lean
SigV4 client for high rates, the pollers that time INSYNC and the DNS
answer, and the figures' summaries.

The peers' start-up, /proc accounting and table rendering come from
bench/dnsperf/run.py (imported as `peers`), so both benchmarks read
processes the same way.  Every process started here runs in its own process
group, is listed in peers._STARTED and is stopped by that PID.
"""
from __future__ import annotations

import datetime
import hashlib
import hmac
import http.client
import json
import math
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from xml.sax.saxutils import escape as xml_escape

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "bench", "dnsperf"))
import genzone
import run as peers

BIG_ORIGIN = genzone.ORIGIN  # "bench.test.": the generated zone
SMALL_ORIGIN = "small.test."
DEFAULT_CACHE = os.path.join(tempfile.gettempdir(), "zonefront-bench-cache")
QUERIES = 200_000  # query-file length genzone.ensure caches beside each zone (as run.py)


def log(msg: str) -> None:
    print(f"[compile-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parse_size(text: str) -> int:
    """'1k' -> 1000, '1M' -> 1000000, '2500' -> 2500."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", text)
    if not m:
        raise ValueError(f"{text!r}: expected a count like 1000, 10k or 1M")
    mult = {"": 1, "k": 1000, "m": 1_000_000}[m.group(2).lower()]
    return int(float(m.group(1)) * mult)


def size_label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


# --------------------------------------------------------------------------
# the machine and the code under test


def git_rev() -> str:
    try:
        rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], check=False,
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               check=False, capture_output=True, text=True,
                               timeout=10).stdout.strip()
    except OSError:
        return "?"
    return rev + ("+dirty" if dirty else "")


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def context(argv: list[str] | None, script: str) -> dict:
    """Who ran what, where and when: the header of every JSON and table."""
    args = argv if argv is not None else sys.argv[1:]
    m = peers.machine_info()
    return {"command": f"python3 bench/compile/{script} " + " ".join(shlex.quote(a) for a in args),
            "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "git": git_rev(), "cpu": m["cpu"], "kernel": m["kernel"],
            "loadavg_before": loadavg()}


def write_json(path: str | None, doc: dict) -> None:
    if not path:
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    text = json.dumps(doc, indent=1, default=str)
    # one line per innermost list (a sample row), not one line per number
    text = re.sub(r"\[\s*([^\[\]{}]*?)\s*\]",
                  lambda m: "[" + re.sub(r"\s*\n\s*", " ", m.group(1)) + "]", text)
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, path)
    log(f"wrote {path}")


def header_lines(ctx: dict) -> list[str]:
    return [f"- command: `{ctx['command']}`",
            f"- date: {ctx['date']}; zonefront git {ctx['git']}",
            (f"- machine: {ctx['cpu']}, Linux {ctx['kernel']}; load average before "
             f"{ctx['loadavg_before']}, after {ctx.get('loadavg_after', '?')}")]


# --------------------------------------------------------------------------
# figures


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile: an observed value, never an interpolation
    (with 20 samples p99 is the maximum, which is what it should say)."""
    if not values:
        return None
    s = sorted(values)
    k = max(1, math.ceil(pct / 100.0 * len(s)))
    return s[k - 1]


def summary(values: list[float]) -> dict:
    return {"n": len(values), "p50": percentile(values, 50), "p99": percentile(values, 99),
            "max": max(values) if values else None}


def ms(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v * 1000:,.0f}" if v >= 1 else f"{v * 1000:.1f}"


# --------------------------------------------------------------------------
# zones


def zone_with_rrsets(cache: str, rrsets: int, seed: int = 53) -> str:
    """A genzone zone cut to exactly `rrsets` record sets (SOA and apex NS
    included, as Route 53 counts them).  The cut keeps whole RRsets: lines
    of one owner and type are adjacent in genzone's output.  CNAME, MX and
    SRV targets beyond the cut dangle, which a hosted zone allows."""
    data = os.path.join(cache, "data")
    out = os.path.join(data, f"bench.test.rrsets{rrsets}-s{seed}.zone")
    if os.path.exists(out):
        return out
    src, _ = genzone.ensure(data, rrsets, QUERIES, seed)  # >= rrsets record sets
    seen: set[tuple[str, str]] = set()
    tmp = out + ".tmp"
    with open(src, encoding="ascii") as f, open(tmp, "w", encoding="ascii", newline="\n") as w:
        for line in f:
            if line.startswith((";", "$")):
                w.write(line)
                continue
            owner, _, rest = line.partition(" ")
            fields = rest.split()
            # "OWNER [TTL] IN TYPE RDATA"
            i = fields.index("IN")
            key = (owner, fields[i + 1])
            if key not in seen:
                if len(seen) >= rrsets:
                    break
                seen.add(key)
            w.write(line)
    if len(seen) != rrsets:
        os.unlink(tmp)
        raise RuntimeError(f"{src} holds only {len(seen)} record sets, wanted {rrsets}")
    os.replace(tmp, out)
    return out


def write_small_zone(path: str, rrsets: int = 10) -> str:
    """small.test. with SOA, NS and rrsets-2 A record sets."""
    lines = [f"$ORIGIN {SMALL_ORIGIN}", "$TTL 300",
             "@ IN SOA ns1.small.test. hostmaster.small.test. 1 7200 3600 1209600 300",
             "@ IN NS ns1.small.test."]
    for i in range(rrsets - 2):
        name = "ns1" if i == 0 else f"host{i}"
        lines.append(f"{name} IN A 192.0.2.{i + 1}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------
# zonefront processes


def zonefront_cmd(override: str | None = None) -> list[str]:
    """The command prefix that runs this checkout's zonefront."""
    if override:
        return shlex.split(override)
    return [sys.executable, "-m", "zonefront.cli"]


def zonefront_env() -> dict[str, str]:
    e = dict(os.environ)
    src = os.path.join(REPO, "src")
    e["PYTHONPATH"] = src + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    return e


class ApiServer:
    """`zonefront serve` with the API over a fresh data directory into which
    zones are imported before it starts (`zonefront zone import`: one
    transaction, far faster than ChangeResourceRecordSets batches)."""

    EDGE_KEY, EDGE_SECRET = "AKIDBENCHEDGE", "bench-edge-secret"

    def __init__(self, workdir: str, max_rrsets: int, workers: int = 1,
                 cmd: str | None = None) -> None:
        self.dir = workdir
        self.data_dir = os.path.join(workdir, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.config = os.path.join(workdir, "zonefront.toml")
        with open(self.config, "w") as f:
            # Route 53's default limit is 10,000 record sets; raised on request.
            f.write(f"[zones]\nmax_rrsets_per_zone = {max_rrsets}\n")
            # the key `zonefront edge` processes use (start_edges)
            f.write(f'[edges]\naccess_key_id = "{self.EDGE_KEY}"\n'
                    f'secret_access_key = "{self.EDGE_SECRET}"\n')
        self.edges: list[subprocess.Popen] = []
        self.cmd = zonefront_cmd(cmd)
        self.workers = workers
        self.proc: subprocess.Popen | None = None
        self.logpath = os.path.join(workdir, "serve.log")
        self.api_port = self.dns_port = 0
        self.key_id = self.secret = ""

    def import_zone(self, origin: str, path: str, timeout: float) -> dict:
        """Import; returns {"rrsets", "seconds"} (raises on failure or timeout)."""
        argv = self.cmd + ["zone", "--data-dir", self.data_dir, "--config", self.config,
                           "import", origin, path]
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=zonefront_env(), start_new_session=True)
        peers._STARTED.append(proc)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            peers.stop_proc(proc)
            raise TimeoutError(f"zone import of {path} took more than {timeout:.0f}s") from None
        peers._STARTED.remove(proc)
        if proc.returncode != 0:
            raise RuntimeError(f"zone import {origin} failed: {err.strip()[-500:]}")
        m = re.search(r"'rrsets': (\d+)", err + out)
        return {"rrsets": int(m.group(1)) if m else None, "seconds": time.monotonic() - t0}

    def start(self, timeout: float, base_port: int) -> float:
        """Start and wait for its `ready:` line; returns seconds from exec."""
        self.dns_port = peers.free_port(base_port)
        self.api_port = peers.free_port(self.dns_port + 1)
        argv = self.cmd + ["serve", "--data-dir", self.data_dir, "--config", self.config,
                           "--api", "--api-listen", f"127.0.0.1:{self.api_port}",
                           "--dns-listen", f"127.0.0.1:{self.dns_port}",
                           "--workers", str(self.workers), "--no-demo"]
        with open(self.logpath, "wb") as logf:
            t0 = time.monotonic()
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf,
                                         stderr=subprocess.STDOUT, cwd=self.dir,
                                         env=zonefront_env(), start_new_session=True)
        peers._STARTED.append(self.proc)
        deadline = t0 + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"zonefront serve exited {self.proc.returncode}:\n"
                                   f"{self.log_tail()}")
            if b"\nready:" in b"\n" + self._log_bytes():
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"zonefront serve not ready after {timeout:.0f}s")
            time.sleep(0.05)
        ready = time.monotonic() - t0
        with open(os.path.join(self.data_dir, "api-credentials")) as f:
            self.key_id, self.secret = f.read().split()[:2]
        return ready

    def _log_bytes(self) -> bytes:
        try:
            with open(self.logpath, "rb") as f:
                return f.read()
        except OSError:
            return b""

    def log_tail(self, n: int = 15) -> str:
        return b"\n".join(self._log_bytes().splitlines()[-n:]).decode("utf-8", "replace")

    def client(self):
        """A boto3 Route 53 client of its own (one per thread), no retries:
        a refused or failed call is counted, not hidden."""
        import boto3
        from botocore.config import Config

        session = boto3.session.Session()
        return session.client(
            "route53", endpoint_url=f"http://127.0.0.1:{self.api_port}", region_name="us-east-1",
            aws_access_key_id=self.key_id, aws_secret_access_key=self.secret,
            config=Config(retries={"total_max_attempts": 1}, connect_timeout=10,
                          read_timeout=600, max_pool_connections=4))

    def zone_id(self, client, origin: str) -> str:
        zones = client.list_hosted_zones_by_name(DNSName=origin)["HostedZones"]
        for z in zones:
            if z["Name"] == origin:
                return z["Id"]
        raise RuntimeError(f"no hosted zone {origin}")

    def start_edges(self, n: int, timeout: float) -> float:
        """`zonefront edge` processes fed by this server (each its own data
        directory and DNS port); returns seconds until all are ready.  With
        edges, INSYNC means every live edge serves the change."""
        t0 = time.monotonic()
        logs = []
        for i in range(n):
            data = os.path.join(self.dir, f"edge{i}")
            os.makedirs(data, exist_ok=True)
            port = peers.free_port(self.api_port + 1 + i)
            argv = self.cmd + ["edge", "--control-plane", f"http://127.0.0.1:{self.api_port}",
                               "--dns-listen", f"127.0.0.1:{port}", "--workers", "1",
                               "--data-dir", data, "--edge-id", f"edge{i}",
                               "--access-key-id", self.EDGE_KEY,
                               "--secret-access-key", self.EDGE_SECRET]
            logp = os.path.join(data, "edge.log")
            logs.append(logp)
            with open(logp, "wb") as logf:
                p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.STDOUT, env=zonefront_env(),
                                     start_new_session=True)
            peers._STARTED.append(p)
            self.edges.append(p)
        for p, logp in zip(self.edges, logs):
            while True:
                with open(logp, "rb") as f:
                    text = f.read()
                if b"\nready:" in b"\n" + text:
                    break
                if p.poll() is not None:
                    raise RuntimeError(f"zonefront edge exited {p.returncode}: {text[-500:]!r}")
                if time.monotonic() - t0 > timeout:
                    raise TimeoutError(f"edges not ready after {timeout:.0f}s")
                time.sleep(0.05)
        return time.monotonic() - t0

    def pids(self) -> list[int]:
        return peers.tree_pids(self.proc.pid) if self.proc and self.proc.poll() is None else []

    def edge_pids(self) -> list[int]:
        return [pid for p in self.edges if p.poll() is None for pid in peers.tree_pids(p.pid)]

    def stop(self) -> int | None:
        for p in self.edges:
            peers.stop_proc(p)
        return peers.stop_proc(self.proc)


def install_signal_handlers() -> None:
    """SIGTERM/SIGHUP unwind like Ctrl-C, so `finally` stops what we started."""
    signal.signal(signal.SIGTERM, peers._on_signal)
    signal.signal(signal.SIGHUP, peers._on_signal)


# --------------------------------------------------------------------------
# one change, timed


def change_batch(name: str, ip: str, ttl: int = 60) -> dict:
    return {"Comment": "bench/compile", "Changes": [{
        "Action": "UPSERT",
        "ResourceRecordSet": {"Name": name, "Type": "A", "TTL": ttl,
                              "ResourceRecords": [{"Value": ip}]}}]}


def poll_interval(elapsed: float, floor: float, cap: float) -> float:
    """Polls spaced at a tenth of the time waited so far: a reading is late
    by at most ~10% (and at least `floor`), and a 90 s wait costs a few
    hundred polls, not thousands competing with the compile they time."""
    return min(cap, max(floor, elapsed * 0.1))


def wait_insync(client, change_id: str, t0: float, deadline: float) -> tuple[float | None, int]:
    """(seconds from t0 to the first GetChange that says INSYNC, polls);
    None when the deadline passes first."""
    polls = 0
    while True:
        now = time.monotonic()
        polls += 1
        status = client.get_change(Id=change_id)["ChangeInfo"]["Status"]
        if status == "INSYNC":
            return now - t0, polls
        if now > deadline:
            return None, polls
        time.sleep(poll_interval(time.monotonic() - t0, 0.002, 0.1))


def dns_answers(port: int, qname: str, ip: str, timeout: float = 0.2) -> bool:
    """True when 127.0.0.1:port answers qname A authoritatively with ip."""
    import dns.exception
    import dns.flags
    import dns.message
    import dns.query
    import dns.rcode
    import dns.rdatatype

    q = dns.message.make_query(qname, "A")
    try:
        r = dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout)
    except (OSError, dns.exception.DNSException):
        return False
    if r.rcode() != dns.rcode.NOERROR or not r.flags & dns.flags.AA:
        return False
    for rrset in r.answer:
        if rrset.rdtype == dns.rdatatype.A and any(rd.address == ip for rd in rrset):
            return True
    return False


def wait_dns(port: int, qname: str, ip: str, t0: float, deadline: float,
             give_up: threading.Event | None = None) -> float | None:
    """Seconds from t0 until the name answers with the new address; None
    after the deadline or once give_up is set.  UDP queries cost the server
    little (its workers run in C), so this polls more often than GetChange."""
    while True:
        now = time.monotonic()
        if dns_answers(port, qname, ip):
            return now - t0
        if now > deadline or (give_up is not None and give_up.is_set()):
            return None
        time.sleep(poll_interval(time.monotonic() - t0, 0.001, 0.01))


class ProcSampler(threading.Thread):
    """CPU seconds and RSS of a process tree, sampled every `interval` s."""

    def __init__(self, pids_fn, interval: float = 0.5) -> None:
        super().__init__(daemon=True, name="proc-sampler")
        self.pids_fn = pids_fn
        self.interval = interval
        self.samples: list[tuple[float, float, int]] = []  # (t, cpu s, rss KiB)
        self.stop_event = threading.Event()

    def sample(self) -> None:
        pids = self.pids_fn()
        if not pids:
            return
        total, _, _ = peers.cpu_ticks(pids)
        rss, _ = peers.mem_kb(pids)
        self.samples.append((time.monotonic(), total / peers.CLK_TCK, rss))

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(self.interval)

    def finish(self) -> dict:
        self.stop_event.set()
        self.join()
        self.sample()
        if len(self.samples) < 2:
            return {}
        (t0, c0, _), (t1, c1, rss1) = self.samples[0], self.samples[-1]
        return {"cpu_s": c1 - c0, "cpu_pct": 100.0 * (c1 - c0) / max(1e-9, t1 - t0),
                "rss_max_mb": max(s[2] for s in self.samples) / 1024, "rss_end_mb": rss1 / 1024,
                "wall_s": t1 - t0}


class LeanRoute53:
    """ChangeResourceRecordSets and GetChange over one keep-alive
    http.client connection, signed with SigV4 (header form) here.

    boto3's request pipeline costs ~4 ms of CPU per ChangeResourceRecordSets
    + GetChange pair (measured 2026-12-04); at 100 batches/s plus the polls
    that is most of a core on this 2-core machine, so sustained.py would
    measure its own client.  These are the same requests (paths, XML body,
    signature) for a fraction of that; insync.py, at a few calls per second,
    keeps boto3."""

    NS = "https://route53.amazonaws.com/doc/2013-04-01/"
    REGION, SERVICE = "us-east-1", "route53"

    def __init__(self, port: int, key_id: str, secret: str) -> None:
        import http.client

        self.port = port
        self.host = f"127.0.0.1:{port}"
        self.key_id, self.secret = key_id, secret
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self._keys: dict[str, bytes] = {}  # date -> signing key

    def _signing_key(self, date: str) -> bytes:
        key = self._keys.get(date)
        if key is None:
            key = ("AWS4" + self.secret).encode()
            for part in (date, self.REGION, self.SERVICE, "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._keys = {date: key}
        return key

    def _headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        """SigV4 over host and x-amz-date; `path` needs no escaping (ids and
        fixed words only)."""
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        date = amz_date[:8]
        payload = hashlib.sha256(body).hexdigest()
        canonical = (f"{method}\n{path}\n\nhost:{self.host}\nx-amz-date:{amz_date}\n\n"
                     f"host;x-amz-date\n{payload}")
        scope = f"{date}/{self.REGION}/{self.SERVICE}/aws4_request"
        to_sign = (f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n"
                   f"{hashlib.sha256(canonical.encode()).hexdigest()}")
        sig = hmac.new(self._signing_key(date), to_sign.encode(), hashlib.sha256).hexdigest()
        h = {"Host": self.host, "X-Amz-Date": amz_date,
             "Authorization": f"AWS4-HMAC-SHA256 Credential={self.key_id}/{scope}, "
                              f"SignedHeaders=host;x-amz-date, Signature={sig}"}
        if body:
            h["Content-Type"] = "application/xml"
        return h

    def _call(self, method: str, path: str, body: bytes = b"") -> str:
        headers = self._headers(method, path, body)
        try:
            self.conn.request(method, path, body=body or None, headers=headers)
            resp = self.conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            self.conn.close()  # a dropped keep-alive connection: reconnect once
            self.conn.request(method, path, body=body or None, headers=headers)
            resp = self.conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
        if resp.status >= 300:
            code = re.search(r"<Code>([^<]*)</Code>", text)
            raise RuntimeError(f"HTTP {resp.status} {code.group(1) if code else text[:200]}")
        return text

    @staticmethod
    def _change(text: str) -> dict:
        cid = re.search(r"<Id>(?:/change/)?([^<]*)</Id>", text)
        status = re.search(r"<Status>([^<]*)</Status>", text)
        if not cid or not status:
            raise RuntimeError(f"no ChangeInfo in {text[:200]!r}")
        return {"Id": cid.group(1), "Status": status.group(1)}

    def change_a(self, zone_id: str, name: str, ip: str, ttl: int = 60) -> dict:
        """One UPSERT of an A record set; returns {"Id", "Status"}."""
        zid = zone_id.rsplit("/", 1)[-1]
        body = (f'<?xml version="1.0" encoding="UTF-8"?>'
                f'<ChangeResourceRecordSetsRequest xmlns="{self.NS}"><ChangeBatch>'
                f'<Comment>bench/compile</Comment><Changes><Change><Action>UPSERT</Action>'
                f'<ResourceRecordSet><Name>{xml_escape(name)}</Name><Type>A</Type>'
                f'<TTL>{ttl}</TTL><ResourceRecords><ResourceRecord><Value>{ip}</Value>'
                f'</ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes>'
                f'</ChangeBatch></ChangeResourceRecordSetsRequest>').encode()
        return self._change(self._call("POST", f"/2013-04-01/hostedzone/{zid}/rrset/", body))

    def change_status(self, change_id: str) -> str:
        cid = change_id.rsplit("/", 1)[-1]
        return self._change(self._call("GET", f"/2013-04-01/change/{cid}"))["Status"]
