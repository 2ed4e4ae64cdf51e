"""A TLS-terminating gRPC proxy (nginx) in front of the dev server, with
certificates made for the test: a CA, a server certificate for the name
`temporal.test` only, a client certificate, and an unrelated second CA.

nginx logs the authorization and x-tenant headers it receives, so a test can
see what metadata crossed the wire.
"""
import datetime
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conftest import free_port, start, stop, wait_for_port

SERVER_NAME = "temporal.test"


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _pem_cert(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _builder(subject, issuer, pub):
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(pub).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1)))


def make_ca(cn):
    key = _key()
    cert = (_builder(_name(cn), _name(cn), key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                           critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_leaf(ca_key, ca_cert, cn, san_dns=None, client=False):
    key = _key()
    b = _builder(_name(cn), ca_cert.subject, key.public_key())
    if san_dns:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(san_dns)]), critical=False)
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    b = b.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return key, b.sign(ca_key, hashes.SHA256())


@dataclass
class TlsProxy:
    address: str         # server-authenticated TLS
    mtls_address: str    # also requires a client certificate
    auth_address: str    # server-authenticated TLS; refuses calls without API key "good-key"
    ca: Path
    wrong_ca: Path
    client_cert: Path
    client_key: Path
    access_log: Path


def write_certs(d: Path):
    ca_key, ca = make_ca("tlw test CA")
    _, wrong = make_ca("some other CA")
    srv_key, srv = make_leaf(ca_key, ca, SERVER_NAME, san_dns=SERVER_NAME)
    cli_key, cli = make_leaf(ca_key, ca, "tlw test client", client=True)
    files = {
        "ca.pem": _pem_cert(ca), "wrong-ca.pem": _pem_cert(wrong),
        "server.pem": _pem_cert(srv), "server.key": _pem_key(srv_key),
        "client.pem": _pem_cert(cli), "client.key": _pem_key(cli_key),
    }
    for name, data in files.items():
        (d / name).write_bytes(data)


NGINX_CONF = """
worker_processes 1;
daemon off;
user root;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
  log_format meta '$http_authorization|$http_x_tenant';
  access_log {d}/access.log meta;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  grpc_read_timeout 120s;
  server {{
    listen 127.0.0.1:{port} ssl http2;
    ssl_certificate {d}/server.pem;
    ssl_certificate_key {d}/server.key;
    location / {{ grpc_pass grpc://127.0.0.1:{upstream}; }}
  }}
  server {{
    listen 127.0.0.1:{mport} ssl http2;
    ssl_certificate {d}/server.pem;
    ssl_certificate_key {d}/server.key;
    ssl_client_certificate {d}/ca.pem;
    ssl_verify_client on;
    location / {{ grpc_pass grpc://127.0.0.1:{upstream}; }}
  }}
  server {{
    listen 127.0.0.1:{aport} ssl http2;
    ssl_certificate {d}/server.pem;
    ssl_certificate_key {d}/server.key;
    location / {{
      if ($http_authorization != "Bearer good-key") {{ return 401; }}
      grpc_pass grpc://127.0.0.1:{upstream};
    }}
  }}
}}
"""


def start_proxy(d: Path, upstream_port: int):
    write_certs(d)
    port, mport, aport = free_port(), free_port(), free_port()
    conf = d / "nginx.conf"
    conf.write_text(NGINX_CONF.format(d=d, port=port, mport=mport, aport=aport,
                                      upstream=upstream_port))
    proc = start(["nginx", "-c", str(conf), "-p", str(d)], d / "nginx.out")
    wait_for_port(port, proc, 10, d / "nginx.out")
    wait_for_port(mport, proc, 10, d / "nginx.out")
    wait_for_port(aport, proc, 10, d / "nginx.out")
    proxy = TlsProxy(f"127.0.0.1:{port}", f"127.0.0.1:{mport}", f"127.0.0.1:{aport}", d / "ca.pem",
                     d / "wrong-ca.pem", d / "client.pem", d / "client.key", d / "access.log")
    return proc, proxy


__all__ = ["SERVER_NAME", "TlsProxy", "start_proxy", "stop", "subprocess"]
