"""Zone transfers out: AXFR (RFC 5936), IXFR (RFC 1995), NOTIFY (RFC 1996), TSIG (RFC 8945).

A slow path in Python beside the compiled engine: the TCP loop hands
AXFR/IXFR queries to `service.XfrService`, which answers from the zones last
published (model.Zone) and the change history kept between publishes.
message.py parses queries and writes responses, axfr.py and ixfr.py build
the transfers from history.py, notify.py tells secondaries, tsig.py signs,
and cli_glue.py holds the `zonefront serve` options.
"""
