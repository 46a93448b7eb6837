"""The API's access keys and what each may do.

Two sources, one ring:
- the configuration: [api] access_key_id, [api.credentials], the
  environment, [edges] (edge-only keys); each with [api.policies]' policy,
  the read-only policy for api.readonly_keys, or full access (so existing
  setups keep working unchanged);
- managed keys, made by `zonefront key create` or the admin extension API
  (api/keyapi.py), kept in <data_dir>/access-keys.json with their policy.

SigV4 needs the secret itself to recompute a signature, so a managed
secret cannot be stored as a one-way hash.  It is encrypted at rest instead,
with a 32-byte key in <data_dir>/access-keys.key (both files mode 0600, the
key never in the JSON): HMAC-SHA256 in counter mode as the keystream and an
HMAC-SHA256 tag over nonce and ciphertext (encrypt-then-MAC, separate
derived keys), stdlib only.  The secret is shown once, when created.

The running API re-reads the file when it changes (one stat per lookup),
so a key made or deleted from the command line counts at once.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time

from ..config import Config
from ..aws import iam
from ..aws.route53_errors import Route53Error
from ..errors import InputError

KEYS_FILE = "access-keys.json"
MASTER_FILE = "access-keys.key"
_NONCE = 16
_TAG = 32


class KeyError_(InputError, ValueError):
    """A managed-key operation that cannot be done (unknown key, bad policy)."""


def _derive(master: bytes, purpose: bytes) -> bytes:
    return hmac.new(master, b"zonefront access keys: " + purpose, hashlib.sha256).digest()


def _keystream(key: bytes, nonce: bytes, n: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < n:
        out += hmac.new(key, nonce + counter.to_bytes(8, "big"), hashlib.sha256).digest()
        counter += 1
    return bytes(out[:n])


def seal(master: bytes, plaintext: str) -> str:
    data = plaintext.encode("utf-8")
    nonce = secrets.token_bytes(_NONCE)
    ct = bytes(a ^ b for a, b in zip(data, _keystream(_derive(master, b"enc"), nonce,
                                                       len(data))))
    tag = hmac.new(_derive(master, b"mac"), nonce + ct, hashlib.sha256).digest()
    return base64.b64encode(nonce + ct + tag).decode("ascii")


def unseal(master: bytes, sealed: str) -> str:
    raw = base64.b64decode(sealed)
    nonce, ct, tag = raw[:_NONCE], raw[_NONCE:-_TAG], raw[-_TAG:]
    want = hmac.new(_derive(master, b"mac"), nonce + ct, hashlib.sha256).digest()
    if len(raw) < _NONCE + _TAG or not hmac.compare_digest(tag, want):
        raise KeyError_("an access key secret does not decrypt with access-keys.key "
                        "(file changed, or the key file belongs to another data dir)")
    return bytes(a ^ b for a, b in zip(ct, _keystream(_derive(master, b"enc"), nonce,
                                                      len(ct)))).decode("utf-8")


def _write_private(path: str, data: bytes) -> None:
    """Atomically, mode 0600 from the first byte."""
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class ManagedKeys:
    """<data_dir>/access-keys.json: key id -> name, created, sealed secret, policy."""

    def __init__(self, data_dir: str):
        self.data_dir = data_dir
        self.path = os.path.join(data_dir, KEYS_FILE)
        self.master_path = os.path.join(data_dir, MASTER_FILE)

    def _master(self, create: bool) -> bytes | None:
        try:
            with open(self.master_path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            if not create:
                return None
        os.makedirs(self.data_dir, exist_ok=True)
        master = secrets.token_bytes(32)
        try:
            fd = os.open(self.master_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            with open(self.master_path, "rb") as f:
                return f.read()
        with os.fdopen(fd, "wb") as f:
            f.write(master)
        return master

    def read(self) -> dict[str, dict]:
        try:
            with open(self.path, "rb") as f:
                return json.loads(f.read() or b"{}")
        except FileNotFoundError:
            return {}

    def stamp(self):
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def secrets(self, entries: dict[str, dict]) -> dict[str, str]:
        if not entries:
            return {}
        master = self._master(create=False)
        if master is None:
            raise KeyError_(f"{self.master_path} is missing: the managed keys cannot be read")
        return {k: unseal(master, e["secret"]) for k, e in entries.items()}

    def create(self, name: str, policy: dict | None) -> tuple[str, str]:
        """(access key id, secret); the secret is not retrievable afterwards."""
        if policy is not None:
            try:
                iam.parse(policy)
            except iam.PolicyError as e:
                raise KeyError_(f"MalformedPolicyDocument: {e}") from None
        master = self._master(create=True)
        entries = self.read()
        key_id = "AKZF" + secrets.token_hex(8).upper()
        secret = secrets.token_urlsafe(30)
        entries[key_id] = {"name": name or key_id, "created": time.time(),
                           "secret": seal(master, secret), "policy": policy}
        _write_private(self.path, json.dumps(entries, indent=1, sort_keys=True).encode())
        return key_id, secret

    def delete(self, key_id: str) -> None:
        entries = self.read()
        if key_id not in entries:
            raise KeyError_(f"no managed access key {key_id}")
        del entries[key_id]
        _write_private(self.path, json.dumps(entries, indent=1, sort_keys=True).encode())

    def listing(self) -> list[dict]:
        return [{"AccessKeyId": k, "UserName": e["name"], "CreateDate": e["created"],
                 "Policy": e["policy"]} for k, e in sorted(self.read().items())]


class KeyRing:
    """Secrets (for SigV4) and policies (for IAM) of every key the API accepts."""

    def __init__(self, config: Config):
        self.config = config
        self.managed = ManagedKeys(config.data_dir)
        self._lock = threading.Lock()
        self._stamp = object()
        self._secrets: dict[str, str] = {}
        self._policies: dict[str, iam.Policy] = {}
        self._names: dict[str, str] = {}
        self._full = iam.parse(iam.FULL_ACCESS)
        self._readonly = iam.parse(iam.READ_ONLY)
        self._static_policies: dict[str, iam.Policy] = {}
        for key_id, doc in config.policies.items():
            if key_id in config.readonly_keys:
                raise ValueError(f"api.policies.{key_id}: the key is also in "
                                 "api.readonly_keys; give it one or the other")
            try:
                self._static_policies[key_id] = iam.parse(doc)
            except iam.PolicyError as e:
                raise ValueError(f"api.policies.{key_id}: MalformedPolicyDocument: {e}") \
                    from None
        self._refresh()

    def _refresh(self) -> None:
        stamp = self.managed.stamp()
        if stamp == self._stamp:
            return
        with self._lock:
            if stamp == self._stamp:
                return
            entries = self.managed.read()
            secrets_ = self.managed.secrets(entries)
            policies = {k: (iam.parse(e["policy"]) if e.get("policy") is not None
                            else self._full) for k, e in entries.items()}
            self._secrets = secrets_
            self._policies = policies
            self._names = {k: e["name"] for k, e in entries.items()}
            self._stamp = stamp

    # the mapping sigv4.verify reads
    def get(self, key_id: str) -> str | None:
        secret = self.config.credentials.get(key_id)
        if secret is None:
            secret = self.config.edges.credentials.get(key_id)
        if secret is None:
            self._refresh()
            secret = self._secrets.get(key_id)
        return secret

    def __contains__(self, key_id: str) -> bool:
        return self.get(key_id) is not None

    def policy_of(self, key_id: str) -> iam.Policy:
        if key_id in self.config.credentials:
            if key_id in self._static_policies:
                return self._static_policies[key_id]
            if key_id in self.config.readonly_keys:
                return self._readonly
            return self._full
        self._refresh()
        return self._policies.get(key_id, self._readonly if key_id in
                                  self.config.readonly_keys else self._full)

    def user_arn(self, key_id: str) -> str:
        name = self._names.get(key_id, key_id)
        return f"arn:aws:iam::{self.config.account_of(key_id)}:user/{name}"

    def authorize(self, key_id: str | None, req: iam.Request, code: str = "AccessDenied"):
        """Raise Route53Error(code) unless the key's policy allows `req`.
        No key (--no-auth) is allowed everything, as before."""
        if key_id is None:
            return
        outcome, resource = iam.evaluate(self.policy_of(key_id), req)
        if outcome != "Allow":
            raise Route53Error(code, iam.denial_message(self.user_arn(key_id), req, outcome,
                                                        resource), 403)

    def allows(self, key_id: str | None, req: iam.Request) -> bool:
        if key_id is None:
            return True
        return iam.evaluate(self.policy_of(key_id), req)[0] == "Allow"
