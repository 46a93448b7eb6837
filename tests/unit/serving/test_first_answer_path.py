"""The zone-file server's way to its first answer (issue 13): no module it
does not answer with, the parser of the named command only, and the
compiler child's image handed over in a memfd (a file where there is none)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from zonefront import cli, serving

ZONE = "$ORIGIN z.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n"
# what the first answer does not need (lazylog.py, cli.py, dataplane/server.py)
NOT_BEFORE_THE_FIRST_ANSWER = ("logging", "socket", "queue", "signal")


def test_serve_imports_no_logging_socket_queue_or_signal_before_it_answers(tmp_path):
    zone = tmp_path / "z.zone"
    zone.write_text(ZONE)
    code = f"""
import sys
from zonefront import cli
from zonefront.dataplane import server
start = server.DnsServer.start
def started(self):
    start(self)
    print(' '.join(sys.modules), flush=True)
    self.stop()
    raise SystemExit(0)
server.DnsServer.start = started
cli.main(['serve', '--zone-file', {str(zone)!r}, '--no-api', '--workers', '1',
          '--dns-listen', '127.0.0.1:0'])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    mods = set(out.stdout.split())
    assert "zonefront.dataplane._worker" in mods  # the server did start
    assert not mods & set(NOT_BEFORE_THE_FIRST_ANSWER)


def test_one_command_parser_builds_only_that_command():
    p = cli.build_parser("compile")
    sub = next(a for a in p._actions if a.dest == "cmd")
    assert list(sub.choices) == ["compile"]
    full = next(a for a in cli.build_parser()._actions if a.dest == "cmd")
    assert list(full.choices) == list(cli.COMMANDS)


# every command and flag README.md documents, as its examples use them
DOCUMENTED = [
    ["compile", "a.zone", "-o", "a.snap", "--serial", "7"],
    ["serve", "--zone-file", "a.zone", "--no-api", "--dns-listen", "127.0.0.1:5300",
     "--workers", "2", "--edns-udp-size", "1400", "--geoip", "none", "--tcp-idle-timeout", "5",
     "--tcp-max-connections", "10", "--allow-transfer", "127.0.0.1/32", "--notify",
     "127.0.0.1:53", "--metrics-listen", "127.0.0.1:9153"],
    ["serve", "--snapshot", "a.snap", "--no-demo"],
    ["serve", "--api", "--api-listen", "127.0.0.1:8053", "--data-dir", "d", "--no-auth",
     "--no-console", "--nameserver", "ns1.example."],
    ["zone", "--data-dir", "d", "import", "example.com.", "a.zone"],
    ["zone", "--data-dir", "d", "export", "example.com."],
    ["key", "create", "--name", "ci", "--data-dir", "d"],
    ["key", "list"],
    ["key", "delete", "AKZF0"],
    ["edge", "--control-plane", "http://127.0.0.1:8053", "--data-dir", "d"],
]


@pytest.mark.parametrize("argv", DOCUMENTED, ids=lambda a: " ".join(a[:2]))
def test_one_command_parse_is_the_full_parse(argv):
    one = cli.parse_args(argv)
    full = cli.build_parser().parse_args(argv)
    assert vars(one).keys() == vars(full).keys()
    assert {k: v for k, v in vars(one).items() if k != "func"} == \
        {k: v for k, v in vars(full).items() if k != "func"}


def test_an_error_reads_as_the_full_parser_says_it(capsys):
    with pytest.raises(SystemExit) as e:
        cli.parse_args(["serve", "--no-such-flag"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --no-such-flag" in err
    assert "{compile,serve,zone,key,checker,edge}" in err  # the usage of every command


def test_readme_commands_are_all_parsed():
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "..", "README.md")).read()
    for command in cli.COMMANDS:
        if f"zonefront {command}" in readme:
            assert command in [a[0] for a in DOCUMENTED] or command == "checker"


def _compile_in_child(tmp_path):
    zone = tmp_path / "z.zone"
    zone.write_text(ZONE)
    return serving.compile_in_child([str(zone)])


MEMFD_CHECK = """
import os, sys, tempfile
from zonefront import serving
made = []
real = serving.handoff_memfd
def spy():
    fd = real()
    made.append(fd)
    return fd
serving.handoff_memfd = spy
tempfile.tempdir = None
engine = serving.compile_in_child([sys.argv[1]])
assert made and made[0] is not None, made
assert [z["origin"] for z in engine.zones] == [b"\\x01z\\x04test\\x00"]
try:
    os.fstat(made[0])
except OSError:
    print("closed")
try:  # the compiler child, let go once its image was whole, is reaped after the load
    os.waitpid(-1, os.WNOHANG)
except ChildProcessError:
    print("reaped")
"""


def test_the_image_comes_through_a_memfd_and_leaves_no_file(tmp_path):
    """In a fresh interpreter: the fork (and so the memfd) is taken only
    while the process has one thread, which a pytest process that ran other
    tests' servers need not have."""
    if not hasattr(os, "memfd_create"):
        pytest.skip("no memfd here")
    from helpers.procs import child_env

    zone = tmp_path / "z.zone"
    zone.write_text(ZONE)
    out = subprocess.run([sys.executable, "-c", MEMFD_CHECK, str(zone)], capture_output=True,
                         text=True, timeout=60, env=child_env(TMPDIR=str(tmp_path)))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["closed", "reaped"]  # the memfd is closed once loaded
    assert sorted(os.listdir(tmp_path)) == ["z.zone"]  # no temporary snapshot


def test_without_memfd_a_temporary_file_serves_and_is_removed(tmp_path, monkeypatch):
    monkeypatch.delattr(os, "memfd_create", raising=False)
    assert serving.handoff_memfd() is None
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    engine = _compile_in_child(tmp_path)
    assert engine.zones[0]["records"] == 3
    assert sorted(os.listdir(tmp_path)) == ["z.zone"]


def test_memfd_refused_by_the_kernel_falls_back(monkeypatch):
    def refuse(*a):
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(os, "memfd_create", refuse, raising=False)
    assert serving.handoff_memfd() is None


def test_a_broken_zone_file_is_still_refused_with_file_and_line(tmp_path):
    zone = tmp_path / "bad.zone"
    zone.write_text(ZONE + "www A 300.1.1.1\n")
    with pytest.raises(ValueError, match=r"bad\.zone:6: "):
        serving.compile_in_child([str(zone)])


HERE_CHECK = """
import socket, struct, sys
from zonefront import serving
def refuse(*a):
    raise AssertionError("forked")
serving._compile_forked = refuse
engine = serving.compile_files([sys.argv[1]])
query = struct.pack("!6H", 7, 0, 1, 0, 0, 0) + b"\\x02ns\\x01z\\x04test\\x00" + struct.pack("!2H", 1, 1)
reply = engine.answer(query)
assert socket.inet_aton("192.0.2.1") in reply, reply
print(*engine.image.in_place)
"""


def test_the_first_build_compiles_here_and_answers_from_the_streams(tmp_path):
    """One thread (a fresh interpreter): no compiler child, and the image
    holds the compiler's node and block streams instead of a copy."""
    from helpers.procs import child_env

    zone = tmp_path / "z.zone"
    zone.write_text(ZONE)
    out = subprocess.run([sys.executable, "-c", HERE_CHECK, str(zone)], capture_output=True,
                         text=True, timeout=60, env=child_env())
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["blocks", "nodes"]


def test_a_file_for_the_python_path_goes_to_the_child(tmp_path, monkeypatch):
    """A fault is reported as ever (file:line), by the compiler child."""
    forked = []
    real = serving._compile_forked
    monkeypatch.setattr(serving, "_compile_forked", lambda *a: forked.append(a) or real(*a))
    monkeypatch.setattr(serving.threading, "active_count", lambda: 1)
    zone = tmp_path / "bad.zone"
    zone.write_text(ZONE + "www A 300.1.1.1\n")
    with pytest.raises(ValueError, match=r"bad\.zone:6: "):
        serving.compile_files([str(zone)])
    assert len(forked) == 1
