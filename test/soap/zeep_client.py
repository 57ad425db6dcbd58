"""Calls one operation of a WSDL with zeep and prints the outcome as one JSON line.

Run by test/soap-clients.test.ts with Debian's /usr/bin/python3 (python3-zeep):

    zeep_client.py WSDL --soap 1.1|1.2 --address URL --operation NAME --args JSON [--bearer KEY]

Prints, on success:  {"ok": true, "result": ..., "exchange": ...}
and for a SOAP fault: {"ok": false, "fault": {"code", "message", "subcodes", "problem"}, "exchange": ...}
where `exchange` is the HTTP request zeep sent and the response it got, bodies
in base64 so the test can compare them byte for byte. Anything else (a
transport error, a reply zeep cannot parse, bad arguments) is not caught: the
traceback goes to stderr and the exit status is non-zero, so the test fails.
"""

import argparse
import base64
import json
import sys

from zeep import Client, Transport
from zeep.exceptions import Fault
from zeep.helpers import serialize_object

BINDINGS = {
    "1.1": "{http://example.org/orders}OrdersSoap11Binding",
    "1.2": "{http://example.org/orders}OrdersSoap12Binding",
}
MQGATE_NS = "urn:mqgate:soap:1"


class RecordingTransport(Transport):
    """zeep's transport, keeping the last POST it made and the answer it got."""

    exchange = None

    def post(self, address, message, headers):
        response = super().post(address, message, headers)
        self.exchange = {
            "sent": {
                "address": address,
                "headers": {name: str(value) for name, value in response.request.headers.items()},
                "body": base64.b64encode(message).decode("ascii"),
            },
            "received": {
                "status": response.status_code,
                "headers": {name.lower(): value for name, value in response.headers.items()},
                "body": base64.b64encode(response.content).decode("ascii"),
            },
        }
        return response


def problem_of(detail):
    """mqgate's <mq:problem> in a fault's detail, as a dict of its child elements' text; None without one."""
    if detail is None:
        return None
    problem = detail.find("{%s}problem" % MQGATE_NS)
    if problem is None:
        return None
    return {child.tag.split("}")[1]: child.text for child in problem if isinstance(child.tag, str)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("wsdl")
    parser.add_argument("--soap", choices=sorted(BINDINGS), required=True)
    parser.add_argument("--address", required=True)
    parser.add_argument("--operation", required=True)
    parser.add_argument("--args", required=True, help="the operation's arguments, a JSON object")
    parser.add_argument("--bearer", help="an API key, sent as Authorization: Bearer KEY")
    options = parser.parse_args()

    transport = RecordingTransport(operation_timeout=30)
    if options.bearer is not None:
        transport.session.headers["Authorization"] = "Bearer " + options.bearer
    client = Client(options.wsdl, transport=transport)
    service = client.create_service(BINDINGS[options.soap], options.address)
    operation = getattr(service, options.operation)
    try:
        result = operation(**json.loads(options.args))
    except Fault as fault:
        outcome = {
            "ok": False,
            "fault": {
                "code": fault.code,
                "message": fault.message,
                "subcodes": [str(subcode) for subcode in fault.subcodes or []],
                "problem": problem_of(fault.detail),
            },
        }
    else:
        outcome = {"ok": True, "result": serialize_object(result, target_cls=dict)}
    outcome["exchange"] = transport.exchange
    # Decimals (xs:decimal) as their text, exactly as sent.
    json.dump(outcome, sys.stdout, default=str, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
