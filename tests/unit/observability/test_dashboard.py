"""The Grafana dashboard queries only metrics zonefront exports."""
import json
import pathlib
import re

DASH = pathlib.Path(__file__).resolve().parents[3] / "contrib" / "grafana" / "zonefront.json"
README = pathlib.Path(__file__).resolve().parents[3] / "README.md"


def test_dashboard_metrics_are_documented_and_exported():
    import zonefront.dataplane.metrics as m
    import zonefront.observability as o
    dash = json.loads(DASH.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    names = set()
    for e in exprs:
        names.update(re.findall(r"\b(zonefront_[a-z_]+)", e))
    assert "zonefront_dns_responses_total" in names
    source = pathlib.Path(m.__file__).read_text() + pathlib.Path(o.__file__).read_text()
    readme = README.read_text()
    for n in sorted(names):
        base = re.sub(r"_(bucket|sum|count)$", "", n)
        assert f'"{base}"' in source, f"{n} is not exported"
        assert base in readme or base.rsplit("_", 1)[0] in readme, f"{n} not in README"
