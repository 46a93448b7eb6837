"""End-to-end tests: real server processes queried over the network."""
