"""Where key-signing keys' private halves live.

Route 53 names a KSK's key by a KMS key ARN.  Here the ARN
`arn:aws:kms:REGION:ACCOUNT:key/ID` names an ECC P-256 key kept in the data
directory (DATA_DIR/dnssec-keys/, directory 0700, one PEM per key, 0600),
created on first use so that `aws route53 create-key-signing-key
--key-management-service-arn arn:aws:kms:...:key/any-id` works on a fresh
install.  A `pkcs11:` URI (RFC 7512) names a key in a PKCS#11 token instead
(the hardware path); that needs a PKCS#11 binding (python-pkcs11) and the
token's module, and is refused with a clear message when neither is there.

Private keys never leave this module except as a signing object: the API
only ever sees the public key.
"""
from __future__ import annotations

import hashlib
import os
import re

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

KMS_ARN = re.compile(r"^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):key/([A-Za-z0-9_/+=,.@-]{1,256})$")


class KeyStoreError(Exception):
    """The key cannot be named, created or read; `code` is Route 53's error."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class SigningKey:
    """An ECDSA P-256 private key that signs (RFC 6605 form) and shows its
    public half, and nothing more."""

    def __init__(self, private: ec.EllipticCurvePrivateKey):
        self._private = private

    @property
    def public_key(self) -> bytes:
        """The 64-octet X || Y of the public point (DNSKEY public key field)."""
        raw = self._private.public_key().public_bytes(serialization.Encoding.X962,
                                                      serialization.PublicFormat.UncompressedPoint)
        return raw[1:]

    def sign(self, data: bytes) -> bytes:
        """r || s, 32 octets each (RFC 6605 §4)."""
        der = self._private.sign(data, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    def to_pem(self) -> bytes:
        return self._private.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption())

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningKey:
        key = serialization.load_pem_private_key(pem, None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("not an ECC P-256 private key")
        return cls(key)


def check_arn(arn: str) -> None:
    """InvalidKMSArn unless `arn` names a key this store can hold."""
    if not isinstance(arn, str) or not (KMS_ARN.match(arn) or arn.startswith("pkcs11:")):
        raise KeyStoreError("InvalidKMSArn", "The KeyManagementServiceArn that you specified "
                            "isn't valid: it must be arn:aws:kms:REGION:ACCOUNT:key/ID or a "
                            "pkcs11: URI.")


class KeyStore:
    """Keys under `data_dir`/dnssec-keys, by ARN."""

    def __init__(self, data_dir: str):
        self.dir = os.path.join(data_dir, "dnssec-keys")

    def _path(self, arn: str) -> str:
        return os.path.join(self.dir, hashlib.sha256(arn.encode()).hexdigest()[:32] + ".pem")

    def get(self, arn: str, create: bool = False) -> SigningKey:
        """The key `arn` names; with `create`, a new P-256 key when there is
        none yet.  Raises KeyStoreError (InvalidKMSArn) when it cannot."""
        check_arn(arn)
        if arn.startswith("pkcs11:"):
            return _pkcs11_key(arn)
        return self._load(arn, create)

    def get_internal(self, name: str) -> SigningKey:
        """A key zonefront manages itself (a zone's ZSK), made on first use."""
        return self._load(name, True)

    def _load(self, arn: str, create: bool) -> SigningKey:
        path = self._path(arn)
        try:
            with open(path, "rb") as f:
                return SigningKey.from_pem(f.read())
        except FileNotFoundError:
            if not create:
                raise KeyStoreError("InvalidKMSArn", f"The key {arn} is not in the key "
                                    f"store ({self.dir}).") from None
        except (OSError, ValueError) as e:
            raise KeyStoreError("InvalidKMSArn", f"The key {arn} cannot be read: {e}") from None
        key = SigningKey.generate()
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        os.chmod(self.dir, 0o700)
        tmp = f"{path}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key.to_pem())
        try:
            os.link(tmp, path)  # first writer wins when two create the same key
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
        with open(path, "rb") as f:
            return SigningKey.from_pem(f.read())


def _pkcs11_key(uri: str) -> SigningKey:
    raise KeyStoreError("InvalidKMSArn", f"{uri}: PKCS#11 keys need the python-pkcs11 "
                        "binding and a token module (PKCS11_MODULE), not available here.")
