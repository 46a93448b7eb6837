"""The README's run command: `zonefront serve` with its embedded defaults
serves the demo zone and the signed-only Route 53 API (ports and the data
directory moved aside so the test can run anywhere)."""
import signal
import subprocess
import sys

import dns.message
import dns.query
import dns.rcode
from helpers.procs import child_env, wait_ready


def test_serve_with_defaults_answers_the_demo_zone(tmp_path, free_port):
    dns_port, api_port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "zonefront.cli", "serve", "--dns-listen", f"127.0.0.1:{dns_port}",
         "--api-listen", f"127.0.0.1:{api_port}", "--workers", "1"],
        cwd=tmp_path, stderr=subprocess.PIPE, text=True,
        env=child_env())
    try:
        lines = wait_ready(proc)
        assert f"api http://127.0.0.1:{api_port}" in lines[-1]
        # signed-only from the first start: a key pair made in ./zonefront-data
        key_id, secret = (tmp_path / "zonefront-data" / "api-credentials").read_text().split()
        assert key_id in "".join(lines) and secret not in "".join(lines)
        m = dns.query.udp(dns.message.make_query("www.example.com", "A"), "127.0.0.1",
                          port=dns_port, timeout=2)
        assert m.rcode() == dns.rcode.NOERROR
        assert [r.address for r in m.answer[0]] == ["192.0.2.10"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
