"""cli_glue: the serve options and the service they configure."""
import argparse

import pytest

from zonefront.xfr import cli_glue

from helpers.xfr import KEY_TEXT


def parse(*argv):
    p = argparse.ArgumentParser()
    cli_glue.add_arguments(p)
    return p.parse_args(list(argv))


def test_nothing_configured_means_no_slow_path():
    kw = {}
    assert cli_glue.start(parse(), kw, list) is None and kw == {}


def test_options_build_the_service(zone):
    kw = {}
    args = parse("--allow-transfer", "127.0.0.1/32", "--allow-transfer", "::1",
                 "--tsig-key", KEY_TEXT, "--notify", "127.0.0.1:5301", "--notify", "[::1]:53")
    svc = cli_glue.start(args, kw, lambda: [zone])
    try:
        assert kw["xfr"] is svc and svc.require_tsig
        assert svc.allowed("127.0.0.1") and svc.allowed("::1") and not svc.allowed("127.0.0.2")
        assert svc.notifier.key is not None  # the only key signs NOTIFY
        assert svc.notifier.targets == [("127.0.0.1", 5301), ("::1", 53)]
        assert svc.zone(zone.origin) is zone
    finally:
        svc.stop()


@pytest.mark.parametrize("argv", [["--allow-transfer", "nonsense"],
                                  ["--tsig-key", "k:hmac-md4:AAAA"],
                                  ["--tsig-key", "k:hmac-sha256:not base64!"],
                                  ["--notify", "host:port"]])
def test_bad_options_are_refused(argv):
    with pytest.raises(SystemExit):
        parse(*argv)


def test_notify_key_must_exist():
    with pytest.raises(ValueError):
        cli_glue.start(parse("--notify", "127.0.0.1:53", "--notify-key", "nope"), {}, list)
