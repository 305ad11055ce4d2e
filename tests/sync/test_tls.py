"""HTTPS: ``hub serve --tls-cert/--tls-key``, the van checks the hub with ``--ca-file``."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .conftest import HubProcess, Site, cli, rows


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_tls(directory: Path) -> tuple[Path, Path, Path]:
    """A test CA and a server certificate for 127.0.0.1 signed by it (PEM files)."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("odekake test CA"))
        .issuer_name(_name("odekake test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = (
        directory / "ca.pem",
        directory / "hub.crt",
        directory / "hub.key",
    )
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return cert_file, key_file, ca_file


@pytest.fixture
def tls_hub(site: Site) -> Iterator[tuple[HubProcess, Path]]:
    cert, key, ca = make_tls(site.root)
    hub = HubProcess(site.hub, tls=(cert, key, ca)).start()
    yield hub, ca
    hub.stop()


def test_push_and_pull_over_https_with_a_ca_file(
    site: Site, tls_hub: tuple[HubProcess, Path]
) -> None:
    van = site.van("van-a", 12)
    hub, ca = tls_hub
    assert hub.url.startswith("https://")
    out = cli("sync", "push", "--db", str(van), "--hub", hub.url, "--ca-file", str(ca))
    assert out.returncode == 0, out.stderr
    assert "12 件を 1 回に分けて送信しました" in out.stdout
    assert rows(site.hub, "van-a") == rows(van, "van-a")
    pulled = cli("sync", "pull", "--db", str(van), "--hub", hub.url, "--ca-file", str(ca))
    assert pulled.returncode == 0, pulled.stderr
    # the CA given once is kept in the van's settings: no option needed any more
    kept = cli("sync", "push", "--db", str(van), "--hub", hub.url)
    assert kept.returncode == 0, kept.stderr
    # a van never given the CA does not trust the certificate: one Japanese line
    # (and says so at once, with the default retries: a certificate does not get better)
    other = site.van("van-b", 1)
    untrusted = cli("sync", "push", "--db", str(other), "--hub", hub.url, "--backoff", "30")
    assert untrusted.returncode == 1 and untrusted.stderr.startswith("エラー: ハブ")
    assert "の証明書を確かめられません" in untrusted.stderr and "--ca-file" in untrusted.stderr
    assert "回試行" not in untrusted.stderr
    assert "Traceback" not in untrusted.stderr
    missing = cli("sync", "pull", "--db", str(other), "--hub", hub.url, "--ca-file", "nope.pem")
    assert missing.returncode == 1 and "CA証明書のファイルがありません" in missing.stderr


def test_hub_serve_needs_both_certificate_and_key(site: Site) -> None:
    cert, _, _ = make_tls(site.root)
    out = cli("hub", "serve", "--db", str(site.hub), "--port", "0", "--tls-cert", str(cert))
    assert out.returncode == 1 and "--tls-cert と --tls-key の両方" in out.stderr
