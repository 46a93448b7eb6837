"""Aliases to names outside our hosted zones (CloudFront, S3 website, ELB,
API Gateway... or any DNS name): followed through a recursive resolver and
served as the A/AAAA they resolve to (aliases.py), asked of a recursive
resolver by stub.py; targets.py says which alias targets are outside names."""
