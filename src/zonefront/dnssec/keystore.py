"""Where key-signing keys' private halves live.

Route 53 names a KSK's key by a KMS key ARN.  Here the ARN
`arn:aws:kms:REGION:ACCOUNT:key/ID` names an ECC P-256 key kept in the data
directory (DATA_DIR/dnssec-keys/, directory 0700, one PEM per key, 0600),
created on first use so that `aws route53 create-key-signing-key
--key-management-service-arn arn:aws:kms:...:key/any-id` works on a fresh
install.  A `pkcs11:` URI (RFC 7512) names a key in a PKCS#11 token instead
(the hardware path, dnssec/keystore.py Pkcs11Key): the key is made in the
token on first use and signs there; its private half never leaves it.  That
needs python-pkcs11 and the token's module (SoftHSM2's by default).

Private keys never leave this module except as a signing object: the API
only ever sees the public key.
"""
from __future__ import annotations

import hashlib
import os
import re
import threading

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from ..errors import ServiceError

KMS_ARN = re.compile(r"^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):key/([A-Za-z0-9_/+=,.@-]{1,256})$")


class KeyStoreError(ServiceError):
    """The key cannot be named, created or read; `code` is Route 53's error."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class SigningKey:
    """An ECDSA P-256 private key that signs (RFC 6605 form) and shows its
    public half, and nothing more."""

    def __init__(self, private: ec.EllipticCurvePrivateKey):
        self._private = private
        raw = private.public_key().public_bytes(serialization.Encoding.X962,
                                                serialization.PublicFormat.UncompressedPoint)
        self.public_key = raw[1:]  # X || Y, the DNSKEY public key field (64 octets)

    def sign(self, data: bytes) -> bytes:
        """r || s, 32 octets each (RFC 6605 §4)."""
        der = self._private.sign(data, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def raw_private(self) -> bytes:
        """The 32-octet scalar, for the engine's online signer (a ZSK only:
        dnssec/online.py).  Never written anywhere but a compiled image."""
        return self._private.private_numbers().private_value.to_bytes(32, "big")

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
            return _pkcs11_key(arn, create)
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


DEFAULT_PKCS11_MODULE = "/usr/lib/softhsm/libsofthsm2.so"


def parse_pkcs11_uri(uri: str) -> tuple[dict, dict]:
    """RFC 7512: `pkcs11:path-attrs?query-attrs`, both percent-encoded."""
    from urllib.parse import unquote

    body = uri[len("pkcs11:"):]
    path, _, query = body.partition("?")

    def attrs(text: str, sep: str) -> dict:
        out = {}
        for part in text.split(sep):
            if part:
                k, _, v = part.partition("=")
                out[unquote(k)] = unquote(v)
        return out

    return attrs(path, ";"), attrs(query, "&")


class Pkcs11Key:
    """A P-256 key that stays in a PKCS#11 token: it signs there (CKM_ECDSA
    over a SHA-256 digest gives r || s, the RFC 6605 form) and shows its
    public point.  The same two members as SigningKey."""

    def __init__(self, session, private, public_key: bytes, lock):
        self._session = session  # kept open: the private key lives through it
        self._private = private
        self._lock = lock  # one operation at a time per session
        self.public_key = public_key

    def sign(self, data: bytes) -> bytes:
        from pkcs11 import Mechanism

        digest = hashlib.sha256(data).digest()
        with self._lock:
            return bytes(self._private.sign(digest, mechanism=Mechanism.ECDSA))


def _pkcs11_key(uri: str, create: bool = False) -> Pkcs11Key:
    """The key `object` in the token `token` (pkcs11:token=T;object=K, PIN in
    `pin-value` or ZONEFRONT_PKCS11_PIN, module in `module-path` or
    PKCS11_MODULE, SoftHSM2's by default), generated in the token when
    asked to create it and it is not there."""
    try:
        import pkcs11
        from pkcs11 import Attribute, KeyType, ObjectClass
        from pkcs11.util.ec import encode_named_curve_parameters
    except ImportError:
        raise KeyStoreError("InvalidKMSArn", f"{uri}: PKCS#11 keys need the python-pkcs11 "
                            "package") from None
    path, query = parse_pkcs11_uri(uri)
    token_label, label = path.get("token"), path.get("object")
    if not token_label or not label:
        raise KeyStoreError("InvalidKMSArn", f"{uri}: a PKCS#11 URI names a token and an "
                            "object (pkcs11:token=...;object=...)")
    module = query.get("module-path") or os.environ.get("PKCS11_MODULE", DEFAULT_PKCS11_MODULE)
    pin = query.get("pin-value") or os.environ.get("ZONEFRONT_PKCS11_PIN")
    with _SESSIONS_LOCK:
        held = _SESSIONS.get((module, token_label))
        if held is None:
            try:
                lib = pkcs11.lib(module)
                token = lib.get_token(token_label=token_label)
                # a token takes one login per application: every key of it
                # shares this session (and its lock)
                held = (token.open(user_pin=pin, rw=True), threading.Lock())
            except Exception as e:  # the module, the token or the PIN: all "cannot use it"
                raise KeyStoreError("InvalidKMSArn", f"{uri}: the PKCS#11 token cannot be "
                                    f"opened: {type(e).__name__} {e}") from None
            _SESSIONS[(module, token_label)] = held
    session, lock = held
    with lock:
        return _token_key(uri, session, lock, label, create)


def _token_key(uri, session, lock, label: str, create: bool) -> Pkcs11Key:
    import pkcs11
    from pkcs11 import Attribute, KeyType, ObjectClass
    from pkcs11.util.ec import encode_named_curve_parameters

    try:
        try:
            private = session.get_key(ObjectClass.PRIVATE_KEY, KeyType.EC, label=label)
            public = session.get_key(ObjectClass.PUBLIC_KEY, KeyType.EC, label=label)
        except pkcs11.NoSuchKey:
            if not create:
                raise KeyStoreError("InvalidKMSArn", f"{uri}: no such key in the token") \
                    from None
            params = session.create_domain_parameters(KeyType.EC, {
                Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True)
            public, private = params.generate_keypair(store=True, label=label)
        point = bytes(public[Attribute.EC_POINT])
    except KeyStoreError:
        raise
    except Exception as e:  # a token removed under an open session lands here
        _forget_session(session)
        raise KeyStoreError("InvalidKMSArn", f"{uri}: {type(e).__name__} {e}") from None
    # EC_POINT is a DER OCTET STRING around 04 || X || Y
    raw = point[-65:]
    if len(raw) != 65 or raw[0] != 4:
        raise KeyStoreError("InvalidKMSArn", f"{uri}: not an uncompressed P-256 point")
    return Pkcs11Key(session, private, raw[1:], lock)


_SESSIONS: dict = {}  # (module, token label) -> (open session, its lock)
_SESSIONS_LOCK = threading.Lock()


def _forget_session(session) -> None:
    with _SESSIONS_LOCK:
        for k, (s, _lock) in list(_SESSIONS.items()):
            if s is session:
                del _SESSIONS[k]
