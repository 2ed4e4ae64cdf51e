"""OpenTelemetry: a C worker under the Lambda emulator exports to a real
OpenTelemetry Collector (built by scripts/install-deps from
tests/e2e/otelcol-builder.yaml) on loopback, once per invocation, before the
invocation answers.

The collector receives OTLP/gRPC as the ADOT layer's would and forwards what
it got as OTLP/JSON over HTTP to a sink in this process, which the tests
read: metric names, labels and values after a known workload, nothing lost
across invocations with idle gaps, a dead collector costing only a bounded,
logged delay."""
import json
import os
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import REPO, free_port, invoke, program, start, stop, wait_for_port
from workers import PythonSide, c_env, set_current_version


def collector_binary() -> Path:
    tools = Path(os.environ.get("TLW_TOOLS", REPO / ".tools"))
    path = Path(os.environ.get("TLW_OTELCOL", tools / "bin" / "otelcol-tlw"))
    if not path.exists():
        pytest.fail(f"{path} is not built: run scripts/install-deps")
    return path


class Sink:
    """What the collector forwarded: OTLP/JSON requests by path, in order."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = {"/v1/metrics": [], "/v1/traces": []}
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with sink.lock:
                    sink.requests.setdefault(self.path, []).append(json.loads(body or b"{}"))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def metrics_exports(self):
        with self.lock:
            return list(self.requests["/v1/metrics"])

    def traces(self):
        with self.lock:
            return list(self.requests["/v1/traces"])


def attrs(kvs):
    out = {}
    for kv in kvs or []:
        v = kv.get("value", {})
        out[kv["key"]] = next(iter(v.values())) if v else None
    return out


def points(export):
    """(name, unit, labels, value, resource) of every point of one export.
    A counter's or gauge's value is a number; a histogram's is a dict."""
    out = []
    for rm in export.get("resourceMetrics", []):
        resource = attrs(rm.get("resource", {}).get("attributes"))
        for sm in rm.get("scopeMetrics", []):
            for m in sm.get("metrics", []):
                for kind in ("sum", "gauge", "histogram"):
                    for p in m.get(kind, {}).get("dataPoints", []):
                        if kind == "histogram":
                            value = {"count": int(p.get("count", 0)),
                                     "sum": p.get("sum", 0.0),
                                     "buckets": [int(b) for b in p.get("bucketCounts", [])],
                                     "bounds": p.get("explicitBounds", [])}
                        elif "asInt" in p:
                            value = int(p["asInt"])
                        else:
                            value = p.get("asDouble", 0.0)
                        out.append((m["name"], m.get("unit", ""), attrs(p.get("attributes")),
                                    value, resource))
    return out


def latest(sink, name, **labels):
    """The newest value of the series `name` with these labels (the values
    are cumulative, so the newest is the total); None if there is none."""
    found = None
    for export in sink.metrics_exports():
        for n, _, a, v, _ in points(export):
            if n == name and all(a.get(k) == val for k, val in labels.items()):
                found = v
    return found


def wait_exports(sink, count, timeout=20):
    """The collector forwards as it receives; bounded wait for `count`."""
    deadline = time.monotonic() + timeout
    while len(sink.metrics_exports()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return len(sink.metrics_exports())


@pytest.fixture
def collector(tmp_path):
    sink = Sink()
    grpc_port = free_port()
    config = tmp_path / "otelcol.yaml"
    config.write_text(f"""
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc_port}
exporters:
  debug:
    verbosity: basic
  otlphttp:
    endpoint: http://127.0.0.1:{sink.port}
    encoding: json
    compression: none
    retry_on_failure:
      enabled: false
    sending_queue:
      enabled: false
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    metrics:
      receivers: [otlp]
      exporters: [otlphttp, debug]
    traces:
      receivers: [otlp]
      exporters: [otlphttp, debug]
""")
    log = tmp_path / "otelcol.log"
    proc = start([str(collector_binary()), "--config", str(config)], log)
    try:
        wait_for_port(grpc_port, proc, 30, log)
        sink.endpoint = f"http://127.0.0.1:{grpc_port}"
        sink.log = log
        yield sink
    finally:
        stop(proc)
        sink.server.shutdown()


@pytest.fixture(scope="module")
def py(dev_server):
    side = PythonSide(dev_server.address)
    yield side
    side.close()


def otel_lambda(dev_server, lambda_emulator, tmp_path, endpoint, timeout_s=8, **tuning):
    """The activity bootstrap as a Lambda function with OpenTelemetry on (the
    tuning file), its first invocation made and its version current."""
    queue = f"c-otel-{uuid.uuid4().hex[:8]}"
    deployment = f"e2e-o-{uuid.uuid4().hex[:8]}"
    tuning = dict(dict(workflow_slots=0, activity_slots=2, graceful_shutdown_timeout_ms=1000,
                       shutdown_deadline_buffer_ms=2500, otel_enabled="true",
                       otel_endpoint=f'"{endpoint}"'), **tuning)
    env = c_env(dev_server.address, tmp_path, queue, deployment, **tuning)
    env = {k: v for k, v in env.items() if k.startswith(("TEMPORAL_", "TLW_"))}
    env["OTEL_SERVICE_NAME"] = "otel-e2e"
    env["AWS_LAMBDA_FUNCTION_NAME"] = "tlw-otel-fn"
    env["AWS_REGION"] = "eu-west-1"
    emu = lambda_emulator(program("tests/e2e/fixtures/activity_bootstrap"), env=env,
                          timeout_s=timeout_s)
    status, body, _ = invoke(emu.url, {})
    assert status == 200, body
    set_current_version(dev_server.address, deployment, "b1")
    return emu, queue


def test_metrics_of_a_known_workload(dev_server, lambda_emulator, tmp_path, collector, py):
    emu, queue = otel_lambda(dev_server, lambda_emulator, tmp_path, collector.endpoint)
    assert wait_exports(collector, 1) == 1  # the first invocation's, before it answered
    handles = [py.start({"activity": "greet", "args": [f"n{i}"], "queue": queue})
               for i in range(3)]
    handles.append(py.start({"activity": "fail_app", "args": ["x"], "queue": queue}))
    handles.append(py.start({"activity": "crash", "args": ["abort"], "queue": queue}))
    status, body, _ = invoke(emu.url, {})
    assert status == 200, body
    assert body["tasks"]["activity"]["completed"] == 3, body
    assert body["tasks"]["activity"]["crashed"] == 1, body
    assert wait_exports(collector, 2) == 2

    labels = dict(service_name="otel-e2e", namespace="default", task_queue=queue)
    greet = dict(labels, activity_type="greet")
    failing = dict(labels, activity_type="fail_app")
    latency = latest(collector, "temporal_activity_execution_latency", **greet)
    assert latency["count"] == 3 and sum(latency["buckets"]) == 3
    assert latency["bounds"] == [50, 100, 500, 1000, 5000, 10000, 60000]
    assert latest(collector, "temporal_activity_execution_latency", **failing)["count"] == 1
    assert latest(collector, "temporal_activity_execution_failed", **failing) == 1
    assert latest(collector, "temporal_activity_execution_failed", **greet) is None
    assert latest(collector, "temporal_activity_succeed_endtoend_latency", **greet)["count"] == 3
    assert latest(collector, "temporal_activity_schedule_to_start_latency", **greet)["count"] == 3
    assert latest(collector, "temporal_activity_task_received", **labels) == 5
    assert latest(collector, "tlw_executor_crashes", activity_type="crash", signal="SIGABRT",
                  **labels) == 1
    assert latest(collector, "temporal_activity_execution_failed", activity_type="crash",
                  **labels) == 1
    assert latest(collector, "temporal_request", operation="RespondActivityTaskCompleted",
                  **labels) == 3
    assert latest(collector, "temporal_request", operation="RespondActivityTaskFailed",
                  **labels) == 2
    assert latest(collector, "temporal_long_request", operation="PollActivityTaskQueue",
                  **labels) >= 5
    assert latest(collector, "temporal_worker_start", worker_type="ActivityWorker",
                  **labels) == 4  # 2 slots x 2 invocations
    assert latest(collector, "temporal_worker_task_slots_available",
                  worker_type="ActivityWorker", **labels) == 2
    assert latest(collector, "temporal_num_pollers", poller_type="activity_task", **labels) == 2
    assert latest(collector, "tlw_invocations", **labels) == 2
    assert latest(collector, "tlw_cold_starts", **labels) == 1
    assert latest(collector, "tlw_work_window", **labels)["count"] == 2

    export = collector.metrics_exports()[-1]
    names = {p[0]: p[1] for p in points(export)}
    assert names["temporal_activity_execution_latency"] == "ms"
    resource = points(export)[0][4]
    assert resource["service.name"] == "otel-e2e"
    assert resource["faas.name"] == "tlw-otel-fn"
    assert resource["cloud.provider"] == "aws"
    assert resource["cloud.region"] == "eu-west-1"
    for h in handles[:3]:
        assert py.run(h.result()).startswith("Hello, n")


def test_nothing_is_lost_across_invocations_with_idle_gaps(dev_server, lambda_emulator,
                                                           tmp_path, collector, py):
    emu, queue = otel_lambda(dev_server, lambda_emulator, tmp_path, collector.endpoint,
                             timeout_s=6)
    labels = dict(service_name="otel-e2e", namespace="default", task_queue=queue,
                  activity_type="greet")
    for i in range(3):
        time.sleep(1.5)  # idle: the environment waits for its next invocation
        handle = py.start({"activity": "greet", "args": [f"gap{i}"], "queue": queue})
        status, body, _ = invoke(emu.url, {})
        assert status == 200, body
        assert py.run(handle.result()) == f"Hello, gap{i}!"
        assert wait_exports(collector, 2 + i) == 2 + i
        # Each export, made before its invocation answered, has every task
        # so far: the values are cumulative since the environment started.
        assert latest(collector, "temporal_activity_execution_latency",
                      **labels)["count"] == i + 1
    assert latest(collector, "tlw_invocations", service_name="otel-e2e") == 4


def test_a_dead_collector_costs_a_bounded_logged_delay(dev_server, lambda_emulator, tmp_path,
                                                       py):
    # A collector that takes the connection and never answers: the worst
    # case (a refused connection fails at once).
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        emu, queue = otel_lambda(dev_server, lambda_emulator, tmp_path, endpoint, timeout_s=6,
                                 otel_export_timeout_ms=400)
        handle = py.start({"activity": "greet", "args": ["dead"], "queue": queue})
        status, body, _ = invoke(emu.url, {})
        # The invocation answers with its own result, inside its deadline
        # (an answer after it would be a timeout error, not 200).
        assert status == 200, body
        assert body["tasks"]["activity"]["completed"] == 1, body
        assert py.run(handle.result()) == "Hello, dead!"
        text = emu.log.read_text()
        assert "OpenTelemetry export to" in text and "did not finish within" in text or \
            "OTLP metrics export to" in text, text[-3000:]
    finally:
        silent.close()


def spans_of(sink):
    """(span as OTLP/JSON, resource attributes) of every span forwarded."""
    out = []
    for export in sink.traces():
        for rs in export.get("resourceSpans", []):
            resource = attrs(rs.get("resource", {}).get("attributes"))
            for ss in rs.get("scopeSpans", []):
                for s in ss.get("spans", []):
                    out.append((s, resource))
    return out


def test_a_python_clients_trace_continues_through_a_c_activity(dev_server, lambda_emulator,
                                                               tmp_path, collector):
    import asyncio

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from temporalio.client import Client
    from temporalio.contrib.opentelemetry import TracingInterceptor
    from temporalio.worker import Worker

    from workers import CallC

    emu, queue = otel_lambda(dev_server, lambda_emulator, tmp_path, collector.endpoint)
    python_spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(python_spans))
    tracer = provider.get_tracer("test_otel")
    workflow_id = f"traced-{uuid.uuid4().hex[:8]}"

    async def run():
        # The client's interceptor is the Python worker's too (it is both).
        client = await Client.connect(dev_server.address,
                                      interceptors=[TracingInterceptor(tracer)])
        py_queue = f"py-traced-{uuid.uuid4().hex[:8]}"
        async with Worker(client, task_queue=py_queue, workflows=[CallC]):
            handle = await client.start_workflow(
                CallC.run, {"activity": "greet", "args": ["trace"], "queue": queue},
                id=workflow_id, task_queue=py_queue)
            status, body = (await asyncio.to_thread(invoke, emu.url, {}))[:2]
            assert status == 200, body
            return await handle.result()

    assert asyncio.run(run()) == "Hello, trace!"
    provider.force_flush()
    by_name = {s.name: s for s in python_spans.get_finished_spans()}
    start_wf = by_name["StartWorkflow:CallC"]
    start_act = by_name["StartActivity:greet"]
    trace_id = f"{start_wf.context.trace_id:032x}"
    assert f"{start_act.context.trace_id:032x}" == trace_id

    deadline = time.monotonic() + 20
    run_activity = []
    while not run_activity and time.monotonic() < deadline:
        run_activity = [(s, r) for s, r in spans_of(collector)
                        if s["name"] == "RunActivity:greet"]
        time.sleep(0.05)
    assert len(run_activity) == 1, spans_of(collector)
    span, resource = run_activity[0]
    # The C activity's span continues the Python client's trace, under the
    # span the Python workflow started the activity in.
    assert span["traceId"] == trace_id
    assert span["parentSpanId"] == f"{start_act.context.span_id:016x}"
    a = attrs(span.get("attributes"))
    assert a["temporalWorkflowID"] == workflow_id
    assert a["temporalActivityID"] and a["temporalRunID"]
    assert resource["service.name"] == "otel-e2e"
    assert int(span["endTimeUnixNano"]) >= int(span["startTimeUnixNano"]) > 0

    # One span per invocation (two so far), each the root of its own trace
    # with an X-Ray-compatible id: its first 8 hex digits are the epoch
    # seconds it started in.
    invocations = [s for s, _ in spans_of(collector) if s["name"] == "tlw-otel-fn"]
    assert len(invocations) == 2
    for inv in invocations:
        assert inv.get("kind") in (2, "SPAN_KIND_SERVER")
        started = int(inv["startTimeUnixNano"]) // 10**9
        assert abs(int(inv["traceId"][:8], 16) - started) <= 1
        assert attrs(inv.get("attributes"))["faas.invocation_id"]
        assert not inv.get("parentSpanId")


def test_a_trace_continues_through_a_c_workflow_and_its_activities(dev_server, lambda_emulator,
                                                                   tmp_path, collector):
    import asyncio

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from temporalio.client import Client
    from temporalio.contrib.opentelemetry import TracingInterceptor

    queue = f"c-otel-wf-{uuid.uuid4().hex[:8]}"
    deployment = f"e2e-ow-{uuid.uuid4().hex[:8]}"
    env = c_env(dev_server.address, tmp_path, queue, deployment, workflow_slots=1,
                activity_slots=1, graceful_shutdown_timeout_ms=1000,
                shutdown_deadline_buffer_ms=2500, otel_enabled="true",
                otel_endpoint=f'"{collector.endpoint}"')
    env = {k: v for k, v in env.items() if k.startswith(("TEMPORAL_", "TLW_"))}
    env["OTEL_SERVICE_NAME"] = "otel-e2e-wf"
    emu = lambda_emulator(program("tests/e2e/fixtures/workflow_bootstrap"), env=env,
                          timeout_s=8)
    status, body, _ = invoke(emu.url, {})
    assert status == 200, body
    set_current_version(dev_server.address, deployment, "b1")

    python_spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(python_spans))
    tracer = provider.get_tracer("test_otel")
    workflow_id = f"traced-wf-{uuid.uuid4().hex[:8]}"

    async def run():
        client = await Client.connect(dev_server.address,
                                      interceptors=[TracingInterceptor(tracer)])
        handle = await client.start_workflow("Greeting", "Lambda", id=workflow_id,
                                             task_queue=queue)
        for _ in range(3):  # bounded: it finishes in the first, or the next
            status, body = (await asyncio.to_thread(invoke, emu.url, {}))[:2]
            assert status == 200, body
            desc = await handle.describe()
            if desc.status and desc.status.name == "COMPLETED":
                break
        return await handle.result()

    assert asyncio.run(run()) == ["Hello, Lambda!", "Hello, again!"]
    provider.force_flush()
    start_wf = {s.name: s for s in python_spans.get_finished_spans()}["StartWorkflow:Greeting"]
    trace_id = f"{start_wf.context.trace_id:032x}"

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        spans = [s for s, _ in spans_of(collector) if s["traceId"] == trace_id]
        if len([s for s in spans if s["name"] == "RunActivity:compose_greeting"]) == 2:
            break
        time.sleep(0.05)
    run_wf = [s for s in spans if s["name"] == "RunWorkflow:Greeting"]
    assert len(run_wf) == 1, spans
    assert run_wf[0]["parentSpanId"] == f"{start_wf.context.span_id:016x}"
    assert attrs(run_wf[0]["attributes"])["temporalWorkflowID"] == workflow_id
    # As the SDKs' interceptors: RunWorkflow -> StartActivity -> RunActivity.
    starts = {s["spanId"]: s for s in spans if s["name"] == "StartActivity:compose_greeting"}
    assert len(starts) == 2
    for st in starts.values():
        assert st["parentSpanId"] == run_wf[0]["spanId"]
        assert attrs(st["attributes"])["temporalWorkflowID"] == workflow_id
    acts = [s for s in spans if s["name"] == "RunActivity:compose_greeting"]
    assert len(acts) == 2
    assert {a["parentSpanId"] for a in acts} == set(starts)

    labels = dict(service_name="otel-e2e-wf", task_queue=queue, workflow_type="Greeting")
    assert latest(collector, "temporal_workflow_completed", **labels) == 1
    assert latest(collector, "temporal_workflow_endtoend_latency", **labels)["count"] == 1
    assert latest(collector, "temporal_workflow_task_execution_latency", **labels)["count"] >= 3
    assert latest(collector, "temporal_workflow_task_schedule_to_start_latency",
                  **labels)["count"] >= 3
    assert latest(collector, "temporal_workflow_task_queue_poll_succeed", service_name="otel-e2e-wf",
                  task_queue=queue) >= 3
    assert latest(collector, "temporal_workflow_failed", **labels) is None
