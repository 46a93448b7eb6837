"""Tests of the socket data plane (dataplane/): real sockets, echo answers."""
