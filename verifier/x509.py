"""The verifier's X.509 identity for signed OpenID4VP requests (`x509_san_dns:`, `x509_hash:`).

`create_local_pki` makes a local CA and a P-256 leaf with a dNSName SAN (what `mobileid verifier
init-cert --dns HOST` writes into the data directory); `load_verifier_certificate` reads them
back, or PEM files an operator got from a real CA. Wallets validate the leaf (sent in `x5c`
without the trust anchor, as HAIP asks) against the CA they were told to trust.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from vc.keys import P256PrivateKey
from vc.openid4vp import PREFIX_X509_HASH, PREFIX_X509_SAN_DNS, x509_hash
from vc.private_files import ensure_private_dir, permission_problem, write_private_file
from verifier.errors import VerifierError

__all__ = [
    "CA_CERT_FILE",
    "LEAF_CERT_FILE",
    "LEAF_KEY_FILE",
    "CertificateError",
    "VerifierCertificate",
    "create_local_pki",
    "load_verifier_certificate",
]

CA_CERT_FILE = "ca.pem"
CA_KEY_FILE = "ca.key.pem"
LEAF_CERT_FILE = "verifier.pem"
LEAF_KEY_FILE = "verifier.key.pem"
CHAIN_FILE = "chain.pem"
_CA_DAYS = 10 * 365
_LEAF_DAYS = 2 * 365


class CertificateError(VerifierError):
    """The certificate files are missing, unreadable or unusable (`invalid_certificate`); the
    detail says which."""

    def __init__(self, detail: str) -> None:
        super().__init__("invalid_certificate", detail)


@dataclass(frozen=True, slots=True)
class VerifierCertificate:
    """The signing key, its leaf certificate, intermediates (no anchor) and the anchor if known."""

    key: P256PrivateKey
    leaf: x509.Certificate
    intermediates: tuple[x509.Certificate, ...] = ()
    anchor: x509.Certificate | None = None

    @property
    def x5c_der(self) -> list[bytes]:
        encoding = serialization.Encoding.DER
        return [c.public_bytes(encoding) for c in (self.leaf, *self.intermediates)]

    @property
    def dns_names(self) -> list[str]:
        try:
            san = self.leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        except x509.ExtensionNotFound:
            return []
        return list(san.value.get_values_for_type(x509.DNSName))

    @property
    def x509_hash(self) -> str:
        return x509_hash(self.leaf.public_bytes(serialization.Encoding.DER))

    def client_id(self, prefix: str) -> str:
        """The full client_id for a prefix (§5.9.3): the first dNSName, or the leaf's hash."""
        if prefix == PREFIX_X509_HASH:
            return f"{PREFIX_X509_HASH}:{self.x509_hash}"
        if prefix == PREFIX_X509_SAN_DNS:
            if not self.dns_names:
                raise CertificateError("the leaf certificate has no dNSName SAN")
            return f"{PREFIX_X509_SAN_DNS}:{self.dns_names[0]}"
        raise CertificateError(f"no certificate-based client id for prefix {prefix!r}")


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mobileid verifier (local)"),
        ]
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def create_local_pki(
    directory: Path, dns_name: str, *, now: dt.datetime | None = None
) -> VerifierCertificate:
    """Write a local CA and a leaf for `dns_name` (P-256, ES256) into `directory` (keys 0600)."""
    if not dns_name or any(c in dns_name for c in " /:@"):
        raise CertificateError(f"not a DNS name: {dns_name!r}")
    now = now or dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("mobileid verifier local CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=_CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = P256PrivateKey.generate()
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(dns_name))
        .issuer_name(ca_name)
        .public_key(leaf_key.crypto_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=_LEAF_DAYS))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ensure_private_dir(directory)
    pem = serialization.Encoding.PEM
    write_private_file(directory / CA_CERT_FILE, ca.public_bytes(pem))
    write_private_file(directory / CA_KEY_FILE, _key_pem(ca_key))
    write_private_file(directory / LEAF_CERT_FILE, leaf.public_bytes(pem))
    write_private_file(directory / LEAF_KEY_FILE, _key_pem(leaf_key.crypto_key))
    (directory / CHAIN_FILE).unlink(missing_ok=True)
    return VerifierCertificate(leaf_key, leaf, (), ca)


def _read_certificates(path: Path) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(path.read_bytes())
    except OSError as exc:
        raise CertificateError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise CertificateError(f"{path} holds no PEM certificate") from None


def load_verifier_certificate(
    directory: Path,
    *,
    cert_file: Path | None = None,
    key_file: Path | None = None,
    chain_file: Path | None = None,
    ca_file: Path | None = None,
) -> VerifierCertificate:
    """Read the leaf, its key (P-256), intermediates and the anchor; defaults from `directory`."""
    cert_path = cert_file or directory / LEAF_CERT_FILE
    key_path = key_file or directory / LEAF_KEY_FILE
    chain_path = chain_file or directory / CHAIN_FILE
    ca_path = ca_file or directory / CA_CERT_FILE
    if not cert_path.exists() or not key_path.exists():
        raise CertificateError(
            f"no verifier certificate in {directory}; run `mobileid verifier init-cert --dns HOST`"
        )
    problem = permission_problem(key_path) or permission_problem(key_path.parent)
    if problem is not None:
        raise CertificateError(f"refusing a private key others can read: {problem}")
    leaf = _read_certificates(cert_path)[0]
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        raise CertificateError(f"{key_path} is not an unencrypted PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise CertificateError("the verifier key must be P-256 (ES256)")
    if key.public_key() != leaf.public_key():
        raise CertificateError("the private key does not belong to the leaf certificate")
    chain = tuple(_read_certificates(chain_path)) if chain_path.exists() else ()
    anchor = _read_certificates(ca_path)[0] if ca_path.exists() else None
    return VerifierCertificate(P256PrivateKey(key), leaf, chain, anchor)
