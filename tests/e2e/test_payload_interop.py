"""worker/payload against the real Python SDK's default data converter.

The probe (tests/e2e/fixtures/payload_probe) runs worker/payload on bytes that
temporalio made, and makes bytes for temporalio to read. Both directions are
checked exactly: Python's payloads decode in C to the values Python encoded,
the C encoder writes the same metadata and data bytes as Python for the same
values, and Python reads tlw's Failure as the ApplicationError it describes.
No server is needed.
"""
import base64
import json
import math
import random
import struct
import subprocess

import pytest
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.failure.v1 import Failure
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError, CancelledError

from conftest import program

PROBE = "tests/e2e/fixtures/payload_probe"
CONVERTER = DataConverter.default
PAYLOADS = CONVERTER.payload_converter
FAILURES = CONVERTER.failure_converter

# Every JSON type. Objects have sorted keys here, since Python's converter
# sorts keys and tlw keeps the order it is given (see test_key_order_*).
VALUES = [
    None, True, False,
    0, 1, -1, 42, 2**31, -(2**31) - 1, 2**53 + 1, 2**63 - 1, -(2**63),
    0.0, -0.0, 0.5, 0.1, -2.5, 1.0, 100.0, 1 / 3, 1e15, 1e16, 1e-4, 1e-5, 2.5e-7,
    1.5e300, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 123456789012345.67,
    "", "hello, world", "caf\u00e9", "\u20ac \uffff", "\U0001f600 \U0010ffff",
    "quote \" backslash \\ slash / \b\f\n\r\t \x00 \x01 \x1f \x7f \x80 \u2028",
    [], {}, [1, [2, [3, []]]], [None, True, "x", 1.25],
    {"a": {"b": [None, False, 7, -0.5, "\u00e9"]}, "k\u00e9y\n": "v", "z": []},
]


def probe(*args, data=b"", ok=True):
    result = subprocess.run([str(program(PROBE)), *args], input=data, capture_output=True,
                            timeout=60)
    if ok:
        assert result.returncode == 0, result.stderr.decode(errors="replace")
    else:
        assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    return result


def serialized(values):
    return Payloads(payloads=PAYLOADS.to_payloads(values)).SerializeToString()


def c_encode(values):
    """tlw's payloads for `values` (a list, one payload per element)."""
    out = probe("encode", data=json.dumps(values).encode()).stdout
    return list(Payloads.FromString(out).payloads)


def same(a, b):
    """Equal, and of the same JSON types: 1 is not 1.0, -0.0 is not 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def assert_same_payloads(ours, pythons):
    assert len(ours) == len(pythons)
    for i, (mine, theirs) in enumerate(zip(ours, pythons)):
        assert dict(mine.metadata) == dict(theirs.metadata), i
        assert mine.data == theirs.data, (i, mine.data, theirs.data)
        assert mine.SerializeToString() == theirs.SerializeToString(), i


def test_python_payloads_decode_to_the_values_python_encoded():
    out = probe("decode", data=serialized(VALUES)).stdout
    assert same(json.loads(out), VALUES)


def test_tlw_encodes_the_bytes_python_encodes():
    ours = c_encode(VALUES)
    assert_same_payloads(ours, PAYLOADS.to_payloads(VALUES))
    assert same(PAYLOADS.from_payloads(ours), VALUES)


def test_python_payloads_round_trip_byte_for_byte():
    data = serialized(VALUES)
    out = probe("roundtrip", data=data).stdout
    assert out == data
    assert same(PAYLOADS.from_payloads(Payloads.FromString(out).payloads), VALUES)


def test_one_value_is_one_payload():
    out = probe("encode-one", data=json.dumps([1, {"a": None}]).encode()).stdout
    ours = list(Payloads.FromString(out).payloads)
    assert_same_payloads(ours, PAYLOADS.to_payloads([[1, {"a": None}]]))
    out = probe("encode-one", data=b"null").stdout
    assert_same_payloads(Payloads.FromString(out).payloads, PAYLOADS.to_payloads([None]))
    # No arguments: no payloads, zero bytes.
    assert probe("encode", data=b"[]").stdout == b""
    assert json.loads(probe("decode", data=b"").stdout) == []


def test_keys_are_sorted_as_python_sorts_them():
    value = {"zeta": 1, "alpha": {"y": 2, "b": 3}, "mid": [{"d": 1, "c": 2}], "\u00e9": 0}
    [ours] = c_encode([value])
    assert ours.data == b'{"alpha":{"b":3,"y":2},"mid":[{"c":2,"d":1}],"zeta":1,"\\u00e9":0}'
    assert ours.data == PAYLOADS.to_payloads([value])[0].data
    assert PAYLOADS.from_payloads([ours]) == [value]
    # Python's bytes (sorted keys) read back to the same object in C.
    out = probe("decode", data=serialized([value])).stdout
    assert json.loads(out) == [value]


def test_reals_are_written_as_python_writes_them():
    rng = random.Random(20240601)
    reals = [2.0**k for k in range(-1074, 1024)]
    reals += [-(2.0**k) * 1.5 for k in range(-1000, 1000, 7)]
    reals += [1 / n for n in range(1, 400)]
    reals += [round(rng.uniform(-1e6, 1e6), rng.randrange(0, 12)) for _ in range(2000)]
    reals += [rng.uniform(-10, 10) * 10.0 ** rng.randrange(-320, 300) for _ in range(2000)]
    while len(reals) < 9000:
        (x,) = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))
        if math.isfinite(x):
            reals.append(x)
    ours = c_encode(reals)
    pythons = PAYLOADS.to_payloads(reals)
    mismatches = [(x, o.data, p.data) for x, o, p in zip(reals, ours, pythons) if o.data != p.data]
    assert not mismatches[:20]
    assert same(PAYLOADS.from_payloads(ours), reals)
    assert same(json.loads(probe("decode", data=serialized(reals)).stdout), reals)


def test_strings_are_escaped_as_python_escapes_them():
    rng = random.Random(7)
    points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    strings = ["".join(chr(c) for c in range(0, 0x100))]
    strings += ["".join(chr(rng.choice(points)) for _ in range(rng.randrange(0, 40)))
                for _ in range(500)]
    ours = c_encode(strings)
    assert_same_payloads(ours, PAYLOADS.to_payloads(strings))
    assert PAYLOADS.from_payloads(ours) == strings
    out = probe("roundtrip", data=serialized(strings)).stdout
    assert out == serialized(strings)


def test_binary_plain_reads_as_base64():
    blobs = [b"", b"\x00", b"\x00\xff", b"hello", bytes(range(256))]
    out = probe("decode", data=serialized(blobs)).stdout
    assert json.loads(out) == [{"binary": base64.b64encode(b).decode()} for b in blobs]
    # One way only: it comes back as that JSON object.
    out = probe("roundtrip", data=serialized([b"\x01\x02"])).stdout
    assert PAYLOADS.from_payloads(Payloads.FromString(out).payloads) == [{"binary": "AQI="}]


def refused(payloads, message):
    data = Payloads(payloads=payloads).SerializeToString()
    err = probe("decode", data=data, ok=False).stderr.decode()
    assert message in err, err


def test_other_encodings_are_refused_by_name():
    ok = PAYLOADS.to_payloads(["fine"])[0]
    # A Python protobuf value: encoding json/protobuf.
    proto = PAYLOADS.to_payloads([Payloads()])[0]
    assert proto.metadata["encoding"] == b"json/protobuf"
    refused([ok, proto], 'payload 2: unknown encoding "json/protobuf"; tlw decodes json/plain, '
                         'binary/plain and binary/null')
    encrypted = Payload(metadata={"encoding": b"binary/encrypted", "encryption-key-id": b"k"},
                        data=b"\x8f\x00")
    refused([encrypted], 'payload 1: unknown encoding "binary/encrypted"')
    refused([Payload(data=b"1")], 'payload 1: no "encoding" metadata')
    refused([ok, ok, Payload(metadata={"encoding": b"json/plain"}, data=b"[1, tru]")],
            "payload 3: invalid JSON at line 1 column 7: invalid token near 'tru'")
    refused([Payload(metadata={"encoding": b"json/plain"})],
            "payload 1: json/plain payload has no data")
    refused([Payload(metadata={"encoding": b"json/plain"}, data=b'"\xff\xfe"')],
            "payload 1: invalid JSON")
    refused([Payload(metadata={"encoding": b"binary/null"}, data=b"x")],
            "payload 1: binary/null payload carries 1 bytes")
    # Python writes integers of any size; tlw reads those that fit 64 bits.
    refused(PAYLOADS.to_payloads([2**64]), "payload 1: invalid JSON at line 1 column 20: "
                                            "too big integer")


def test_python_reads_tlw_failure_as_its_application_error():
    details = ["card declined", 402, None, {"attempt": 3, "retry_in": 1.5}, [True]]
    out = probe("failure", "payment failed: caf\u00e9", "PaymentError", "1",
                json.dumps(details)).stdout
    failure = Failure.FromString(out)
    assert failure.source == "tlw"
    assert failure.WhichOneof("failure_info") == "application_failure_info"
    err = FAILURES.from_failure(failure, PAYLOADS)
    assert isinstance(err, ApplicationError)
    assert err.message == "payment failed: caf\u00e9"
    assert err.type == "PaymentError"
    assert err.non_retryable is True
    assert same(list(err.details), details)
    assert err.next_retry_delay is None

    # The same ApplicationError converted by Python gives the same info.
    theirs = Failure()
    FAILURES.to_failure(ApplicationError("payment failed: caf\u00e9", *details,
                                         type="PaymentError", non_retryable=True),
                        PAYLOADS, theirs)
    assert theirs.message == failure.message
    assert (theirs.application_failure_info.SerializeToString()
            == failure.application_failure_info.SerializeToString())


def test_a_failure_without_details():
    out = probe("failure", "boom", "", "0").stdout
    failure = Failure.FromString(out)
    assert not failure.application_failure_info.HasField("details")
    err = FAILURES.from_failure(failure, PAYLOADS)
    assert isinstance(err, ApplicationError)
    assert (err.message, err.type, err.non_retryable, err.details) == ("boom", None, False, ())
    theirs = Failure()
    FAILURES.to_failure(ApplicationError("boom"), PAYLOADS, theirs)
    assert (theirs.application_failure_info.SerializeToString()
            == failure.application_failure_info.SerializeToString())
    # An empty array is no details too.
    out = probe("failure", "boom", "T", "1", "[]").stdout
    assert not Failure.FromString(out).application_failure_info.HasField("details")


def test_failure_details_are_checked():
    err = probe("failure", "m", "T", "0", '{"a": 1}', ok=False).stderr.decode()
    assert "failure details must be a JSON array of values (or NULL), not an object" in err


def test_tlw_reads_details_of_python_failures():
    def made_by_python(error):
        failure = Failure()
        FAILURES.to_failure(error, PAYLOADS, failure)
        return failure.SerializeToString()

    details = ["x", {"n": [1, 2.5, None]}, None, b"\x01"]
    out = probe("failure-details",
                data=made_by_python(ApplicationError("m", *details, type="T"))).stdout
    assert json.loads(out) == ["x", {"n": [1, 2.5, None]}, None, {"binary": "AQ=="}]
    out = probe("failure-details", data=made_by_python(ApplicationError("m"))).stdout
    assert json.loads(out) == []
    # Not an application failure: no application details.
    out = probe("failure-details", data=made_by_python(CancelledError("c", "d"))).stdout
    assert json.loads(out) == []
    # A Python exception that is not an ApplicationError becomes one, without details.
    out = probe("failure-details", data=made_by_python(ValueError("bad"))).stdout
    assert json.loads(out) == []


@pytest.mark.parametrize("mode", ["decode", "roundtrip", "failure-details"])
def test_garbage_is_refused_without_crashing(mode):
    for data in [b"\xff", b"\x0a\x05\x0a\x03", b"\x0a" + b"\xff" * 11]:
        result = subprocess.run([str(program(PROBE)), mode], input=data, capture_output=True,
                                timeout=60)
        assert result.returncode == 1, (data, result)
        assert b"payload_probe: input is not a serialized" in result.stderr
