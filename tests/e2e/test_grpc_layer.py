"""The gRPC layer (worker/rpc, worker/service) against a real Temporal dev
server, through the tlw-info program built from the project.

The Python SDK is the reference: what tlw-info reports must equal what the
Python SDK reads from the same server.
"""
import asyncio
import json
import os
import subprocess
import time

import pytest
from google.protobuf.json_format import MessageToDict
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, GetSystemInfoRequest

from conftest import free_port, have_nginx, program, stop
from tlsproxy import SERVER_NAME, start_proxy


def tlw_info(*args, env=None, timeout=30):
    t0 = time.monotonic()
    p = subprocess.run([str(program("tlw-info")), *args], capture_output=True, text=True,
                       timeout=timeout, env=dict(os.environ, **(env or {})))
    return p, time.monotonic() - t0


def one_error_line(p):
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("tlw-info: ")
    return lines[0]


def true_fields(d):
    return sorted(k for k, v in d.items() if v is True)


def python_view(address, namespace="default"):
    from temporalio.client import Client

    async def read():
        client = await Client.connect(address, namespace=namespace)
        svc = client.workflow_service
        info = await svc.get_system_info(GetSystemInfoRequest())
        ns = await svc.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
        return (MessageToDict(info, preserving_proto_field_name=True),
                MessageToDict(ns, preserving_proto_field_name=True))

    return asyncio.run(read())


def test_info_matches_the_python_sdk(dev_server):
    p, _ = tlw_info("--address", dev_server.address, "--namespace", "default")
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    info, ns = python_view(dev_server.address)

    assert got["server_version"] == info["server_version"]
    assert got["server_version"].count(".") == 2
    assert true_fields(got["system_capabilities"]) == true_fields(info["capabilities"])
    assert got["namespace"]["name"] == "default"
    assert got["namespace"]["id"] == ns["namespace_info"]["id"]
    assert (true_fields(got["namespace"]["capabilities"])
            == true_fields(ns["namespace_info"]["capabilities"]))
    # scripts/dev-server turns on frontend.enableCancelWorkerPollsOnShutdown.
    assert got["namespace"]["capabilities"]["worker_poll_complete_on_shutdown"] is True
    assert got["graceful_poll_shutdown"] is True


def test_unknown_namespace_is_one_clear_line(dev_server):
    p, elapsed = tlw_info("--address", dev_server.address, "--namespace", "no-such-ns")
    assert p.returncode == 1
    line = one_error_line(p)
    assert 'namespace "no-such-ns" not found' in line
    assert dev_server.address in line
    assert p.stdout == ""


def test_unreachable_address_fails_within_the_deadline():
    address = f"127.0.0.1:{free_port()}"
    p, elapsed = tlw_info("--address", address, "--timeout-ms", "1500")
    assert p.returncode == 1
    line = one_error_line(p)
    assert address in line
    assert "cannot reach the Temporal server" in line
    assert elapsed < 5


def test_malformed_address_names_the_fix():
    p, _ = tlw_info("--address", "localhost")
    assert p.returncode == 1
    line = one_error_line(p)
    assert '"localhost" is not host:port' in line


def test_silent_server_times_out(tmp_path):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)  # never accepts, never answers
        address = f"127.0.0.1:{s.getsockname()[1]}"
        p, elapsed = tlw_info("--address", address, "--timeout-ms", "800")
    assert p.returncode == 1
    line = one_error_line(p)
    assert address in line
    assert "no answer before the deadline" in line
    assert elapsed < 5


@pytest.fixture(scope="module")
def tls_proxy(dev_server, tmp_path_factory):
    if not have_nginx():
        pytest.fail("nginx is needed for the TLS tests: run scripts/install-deps")
    proc, proxy = start_proxy(tmp_path_factory.mktemp("tls"), dev_server.port)
    yield proxy
    stop(proc)


def test_tls_with_the_right_ca(tls_proxy, dev_server):
    p, _ = tlw_info("--address", tls_proxy.address, "--tls-ca", str(tls_proxy.ca),
                    "--tls-server-name", SERVER_NAME)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["server_version"] == python_view(dev_server.address)[0][
        "server_version"]


def test_tls_with_the_wrong_ca_is_refused(tls_proxy):
    p, elapsed = tlw_info("--address", tls_proxy.address, "--tls-ca", str(tls_proxy.wrong_ca),
                          "--tls-server-name", SERVER_NAME, "--timeout-ms", "3000")
    assert p.returncode == 1
    line = one_error_line(p)
    assert tls_proxy.address in line
    assert "TLS handshake failed" in line
    assert "server CA certificate" in line
    assert elapsed < 8


def test_tls_host_name_is_checked_unless_disabled(tls_proxy):
    # The certificate names temporal.test, not 127.0.0.1.
    p, _ = tlw_info("--address", tls_proxy.address, "--tls-ca", str(tls_proxy.ca),
                    "--timeout-ms", "3000")
    assert p.returncode == 1
    assert tls_proxy.address in one_error_line(p)

    p, _ = tlw_info("--address", tls_proxy.address, "--tls-ca", str(tls_proxy.ca),
                    "--tls-disable-host-verification")
    assert p.returncode == 0, p.stderr

    # Turning off the host name check does not turn off the chain check.
    p, _ = tlw_info("--address", tls_proxy.address, "--tls-ca", str(tls_proxy.wrong_ca),
                    "--tls-disable-host-verification", "--timeout-ms", "3000")
    assert p.returncode == 1
    assert "TLS handshake failed" in one_error_line(p)


def test_plaintext_to_a_tls_port_fails_clearly(tls_proxy):
    p, elapsed = tlw_info("--address", tls_proxy.address, "--timeout-ms", "3000")
    assert p.returncode == 1
    line = one_error_line(p)
    assert tls_proxy.address in line
    assert elapsed < 8


def test_mutual_tls_needs_the_client_certificate(tls_proxy):
    base = ["--address", tls_proxy.mtls_address, "--tls-ca", str(tls_proxy.ca),
            "--tls-server-name", SERVER_NAME]
    p, _ = tlw_info(*base, "--tls-cert", str(tls_proxy.client_cert),
                    "--tls-key", str(tls_proxy.client_key))
    assert p.returncode == 0, p.stderr

    p, _ = tlw_info(*base, "--timeout-ms", "3000")
    assert p.returncode == 1
    assert tls_proxy.mtls_address in one_error_line(p)


def test_api_key_and_metadata_reach_the_server_and_never_the_output(tls_proxy):
    secret = "tlw-test-key-5f1c2e"
    p, _ = tlw_info("--address", tls_proxy.address, "--tls-ca", str(tls_proxy.ca),
                    "--tls-server-name", SERVER_NAME, "--api-key-env", "TLW_TEST_KEY",
                    "--header", "x-tenant=acme", env={"TLW_TEST_KEY": secret})
    assert p.returncode == 0, p.stderr
    assert secret not in p.stdout + p.stderr
    seen = tls_proxy.access_log.read_text().splitlines()
    assert f"Bearer {secret}|acme" in seen

    # Nor in an error message.
    p, _ = tlw_info("--address", tls_proxy.address, "--tls-ca", str(tls_proxy.wrong_ca),
                    "--tls-server-name", SERVER_NAME, "--api-key-env", "TLW_TEST_KEY",
                    "--timeout-ms", "2000", env={"TLW_TEST_KEY": secret})
    assert p.returncode == 1
    assert secret not in p.stdout + p.stderr


def test_from_env_refuses_a_plaintext_api_key_as_the_worker_would(tmp_path):
    secret = "tlw-test-key-5f1c2e"
    env = {"TEMPORAL_ADDRESS": "127.0.0.1:1", "TEMPORAL_API_KEY": secret,
           "TEMPORAL_TLS": "false", "TEMPORAL_CONFIG_FILE": "", "TEMPORAL_PROFILE": "",
           "TLW_WORKER_CONFIG": ""}
    p, _ = tlw_info("--from-env", "--timeout-ms", "2000", env=env)
    assert p.returncode == 1
    line = one_error_line(p)
    assert "the API key (TEMPORAL_API_KEY) would be sent in plaintext" in line
    assert "allow_plaintext_credentials = true;" in line
    assert secret not in p.stdout + p.stderr


def test_from_env_connects_as_the_worker_would(dev_server, tmp_path):
    # A temporal.toml profile, with the address coming from the environment.
    toml = tmp_path / "temporal.toml"
    toml.write_text('[profile.dev]\naddress = "127.0.0.1:1"\nnamespace = "default"\n'
                    '[profile.dev.grpc_meta]\nx-tenant = "acme"\n')
    env = {"TEMPORAL_CONFIG_FILE": str(toml), "TEMPORAL_PROFILE": "dev",
           "TEMPORAL_ADDRESS": dev_server.address}
    p, _ = tlw_info("--from-env", env=env)
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    assert got["address"] == dev_server.address
    assert got["namespace"]["name"] == "default"

    # A mistake in the file is one line that points at it.
    toml.write_text('[profile.dev]\nadress = "x:1"\n')
    p, _ = tlw_info("--from-env", env=env)
    assert p.returncode == 1
    line = one_error_line(p)
    assert f"{toml}:2:" in line and 'did you mean "address"' in line
