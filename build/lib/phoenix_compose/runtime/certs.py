"""``inv certs.init``: a local CA and one certificate per TLS service (``cryptography``),
delivered as podman secrets: ``tls_ca_crt`` and ``<service>_tls_crt`` / ``_tls_key``
(dashes as underscores).  The CA's key stays on the host only, in
``.phoenix/secrets/<env>/ca.key`` (0600), to issue certificates again; it never enters a
container.  A certificate names the service, ``localhost`` and 127.0.0.1, so that both
the other services and the service's own health check verify it."""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Sequence
from pathlib import Path

from phoenix_compose.errors import ComposeRuntimeError, StateError
from phoenix_compose.fileio import check_folders, open_nofollow, read_bytes, write_files
from phoenix_compose.runtime.deploy import Deployer
from phoenix_compose.runtime.rotate import rotate_many
from phoenix_compose.runtime.secrets import SecretStore
from phoenix_compose.statedir import FOLDER

TLS_SERVICES = ("phoenix-core", "nca-toolkit")
DAYS = 397  # the longest a public CA may issue for; short-lived by habit


def secret_names(service: str) -> tuple[str, str]:
    base = service.replace("-", "_")
    return f"{base}_tls_crt", f"{base}_tls_key"


def init_certs(store: SecretStore, services: Sequence[str] = TLS_SERVICES,
               force: bool = False, deployer: Deployer | None = None,
               timeout: float = 300.0) -> tuple[list[str], tuple[str, ...]]:
    """Make the CA (kept when present) and every service's certificate; store them as the
    env's secrets.  Existing ones are replaced only with ``force``: then as one rotation
    (every running consumer recreated, health-gated; all rolled back on a failure).
    Returns the secrets stored and the services recreated."""
    names = ["tls_ca_crt"] + [n for s in services for n in secret_names(s)]
    present = {store.short(n) for n in store.existing()} & set(names)
    if present and not force:
        raise ComposeRuntimeError(
            f"TLS secrets exist already: {', '.join(sorted(present))}",
            hint="renew them with --force (the services using them are recreated)")
    try:
        ca_key, ca_cert = _ca(store.root / FOLDER / "secrets" / store.env)
    except OSError as exc:  # a linked, read-only or full .phoenix/secrets/
        raise StateError(f"cannot keep the CA in {FOLDER}/secrets/{store.env}: "
                         f"{exc.strerror or exc}") from None
    values = {"tls_ca_crt": _pem(ca_cert)}
    for service in services:
        key, cert = _issue(ca_key, ca_cert, service)
        crt_name, key_name = secret_names(service)
        values.update({crt_name: _pem(cert), key_name: _key_pem(key)})
    if present and deployer is not None:
        done = rotate_many(deployer, store, values, timeout)
        return [store.resolve(n) for n in values], done.recreated
    return [store.set(name, value) for name, value in values.items()], ()


def _ca(folder: Path):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key_file, cert_file = folder / "ca.key", folder / "ca.crt"
    check_folders(key_file)  # .phoenix/secrets/<env>: real folders, never a link
    if key_file.is_file() and cert_file.is_file():  # read without following a link
        return (serialization.load_pem_private_key(read_bytes(key_file), None),
                x509.load_pem_x509_certificate(read_bytes(cert_file)))
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME,
                                         f"phoenix-compose {folder.name} CA")])
    cert = (_builder(name, name, key.public_key(), 3650)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .sign(key, _sha256()))
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    fd = open_nofollow(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(_key_pem(key))
    write_files({cert_file: _pem(cert)})
    return key, cert


def _issue(ca_key, ca_cert, service: str):
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, service)])
    names = [x509.DNSName(service), x509.DNSName("localhost"),
             x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (_builder(subject, ca_cert.subject, key.public_key(), DAYS)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH,
                                                  x509.ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(ca_key, _sha256()))
    return key, cert


def _builder(subject, issuer, public_key, days: int):
    from cryptography import x509

    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days)))


def _sha256():
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


def _pem(cert) -> str:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _key_pem(key) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()
