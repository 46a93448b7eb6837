"""Health checks (a service): spec.py checks a HealthCheckConfig and makes
the frozen CheckSpec; probe.py is one probe, pool.py probes every (check,
location) pair at its interval; state.py turns observations into one bit
per check in table.py's HealthTable, which the data plane reads without a
lock; manager.py is the control plane's side (checks from the store,
reports of remote checkers) and remote.py one checker location in its own
process, started by cli_glue.py's `zonefront checker`."""
