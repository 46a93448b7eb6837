"""A real Prometheus (Debian `prometheus`) scrapes a running server's
/metrics, and its HTTP API returns the series with the counts we sent."""
import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

pytest.importorskip("zonefront.dataplane._stats")

from tests.scenarios.serve.conftest import free_port
from helpers.metrics import ask, build_zones, start_server, zone_names
from zonefront.dataplane import metrics

PROM = shutil.which("prometheus")


@pytest.mark.skipif(PROM is None, reason="Debian prometheus not installed")
def test_prometheus_scrapes_zonefront(tmp_path):
    image = build_zones(tmp_path)
    server = start_server(image)
    reg = metrics.Registry()
    reg.register(metrics.DnsCollector(server, zone_names=lambda: zone_names(image)))
    http = metrics.MetricsServer("127.0.0.1", 0, reg).start()
    web = free_port()
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(f"""global:
  scrape_interval: 1s
scrape_configs:
  - job_name: zonefront
    static_configs:
      - targets: ['127.0.0.1:{http.address[1]}']
""")
    prom = subprocess.Popen([PROM, f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path}/tsdb",
                             f"--web.listen-address=127.0.0.1:{web}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(5):
            assert ask(server, "www.example.net.").rcode() == 0

        def query(q):
            url = f"http://127.0.0.1:{web}/api/v1/query?" + urllib.parse.urlencode({"query": q})
            with urllib.request.urlopen(url, timeout=5) as r:
                return json.load(r)["data"]["result"]

        sel = ('zonefront_dns_responses_total{transport="udp",qtype="A",rcode="NOERROR",'
               'zone="example.net."}')
        deadline = time.time() + 40
        result = []
        while time.time() < deadline:
            try:
                result = query(sel)
                if result and float(result[0]["value"][1]) == 5:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert result, "prometheus never returned the series"
        assert float(result[0]["value"][1]) == 5
        assert result[0]["metric"]["job"] == "zonefront"
        up = query('up{job="zonefront"}')
        assert float(up[0]["value"][1]) == 1
    finally:
        prom.terminate()
        prom.wait(20)
        http.stop()
        server.stop()
