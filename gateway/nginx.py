"""ops/nginx/onebox.conf for a host, and a check of it with the real ``nginx -t``.

The shipped file has ``{{PLACEHOLDERS}}`` for what differs per host (names, certificate paths,
the gateway's address); :func:`render` fills them. :func:`prepare` wraps the rendered file in a
minimal ``nginx.conf`` whose every path is under one folder, so ``make nginx-check`` and the tests
run the real nginx on the real file without touching /etc/nginx.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "ops" / "nginx" / "onebox.conf"

DEFAULTS = {
    "SERVER_NAME": "_",
    "UPSTREAM": "127.0.0.1:8000",
    "HTTP_PORT": "80",
    "HTTPS_PORT": "443",
    "TLS_CERT": "/etc/letsencrypt/live/onebox/fullchain.pem",
    "TLS_KEY": "/etc/letsencrypt/live/onebox/privkey.pem",
    "ACME_ROOT": "/var/www/acme",
    "MAINTENANCE_ROOT": str(TEMPLATE.parent),
}


def render(**values: str) -> str:
    """The site configuration with every placeholder filled (``DEFAULTS`` for those not given)."""
    filled = {**DEFAULTS, **values}

    def fill(match: re.Match[str]) -> str:
        if match[1] not in filled:
            raise KeyError(f"ops/nginx/onebox.conf uses {{{{{match[1]}}}}}, which has no value")
        return filled[match[1]]

    return re.sub(r"\{\{(\w+)\}\}", fill, TEMPLATE.read_text())


def nginx_binary() -> str:
    """The system's nginx (root's PATH has /usr/sbin, other users' may not)."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise RuntimeError("nginx is not installed: `make nginx` installs it (apt-get install nginx)")
    return found


def self_signed(folder: Path, name: str = "localhost") -> tuple[Path, Path]:
    """A throw-away certificate for ``name`` and 127.0.0.1 (valid one day); returns (cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def prepare(prefix: Path, **values: str) -> Path:
    """Write the rendered site file and an ``nginx.conf`` around it under ``prefix``; returns the latter."""
    prefix.mkdir(parents=True, exist_ok=True)
    site = prefix / "onebox.conf"
    site.write_text(render(**values))
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = "\n".join(f"    {kind}_temp_path {prefix / kind};" for kind in kinds)
    # As root, nginx's workers would run as nobody, who can't enter pytest's private temp folders.
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"{user}worker_processes 1;\ndaemon off;\npid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} warn;\n"
        "events { worker_connections 1024; }\n"
        f"http {{\n    access_log {prefix / 'access.log'};\n{temp}\n    include {site};\n}}\n"
    )
    return conf


def check(conf: Path) -> str:
    """Run ``nginx -t`` on ``conf``; returns its report, raises when nginx rejects the configuration."""
    result = subprocess.run(
        [nginx_binary(), "-t", "-p", str(conf.parent), "-c", str(conf)], capture_output=True, text=True, timeout=30
    )
    if result.returncode != 0:
        raise RuntimeError(f"nginx rejects ops/nginx/onebox.conf:\n{result.stderr}")
    return result.stderr


def main() -> None:
    """``python -m gateway.nginx check`` (what ``make nginx-check`` runs)."""
    if sys.argv[1:] != ["check"]:
        raise SystemExit("usage: python -m gateway.nginx check")
    with tempfile.TemporaryDirectory(prefix="onebox-nginx-") as folder:
        cert, key = self_signed(Path(folder))
        conf = prepare(Path(folder), TLS_CERT=str(cert), TLS_KEY=str(key), HTTP_PORT="8080", HTTPS_PORT="8443")
        try:
            print(check(conf).strip())
        except RuntimeError as exc:
            raise SystemExit(str(exc)) from None


if __name__ == "__main__":
    main()
