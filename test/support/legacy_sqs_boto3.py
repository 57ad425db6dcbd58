"""SQS calls made with boto3, served to test/sqs-legacy-clients.test.ts one JSON line at a time.

Run by test/support/legacySqs.ts with Debian's /usr/bin/python3, whose boto3
(python3-boto3 1.26, botocore 1.29) speaks SQS's query protocol:

    legacy_sqs_boto3.py ENDPOINT_URL

One process serves a whole test file: starting Python and boto3 for each call
would cost more than the calls. Each line read is one request, answered by
one line, in order:

  {"call": "SendMessage", "params": {...}, "credentials": {"accessKeyId": ..., "secretAccessKey": ...}}
      the operation through boto3's method for it (send_message). Answers
      {"ok": true, "output": ...} (without ResponseMetadata), or for an error
      the gateway answered {"ok": false, "error": {"exception", "code",
      "message", "status"}}, where `exception` is the class botocore raised:
      the one of client.exceptions the model names for the code
      (QueueDoesNotExist, ...), or ClientError for an error it does not model.
  {"presign": "ListQueues", "params": {...}, "expiresIn": 60, "credentials": ...}
      generate_presigned_url: {"ok": true, "url": ...}
  {"post": URL}
      the URL POSTed with an empty body through urllib, as a presigned URL is
      used: {"ok": true, "status", "contentType", "body"}

"credentials" may be left out: the client then signs with the credentials of
the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY). Bytes (blob
members such as BinaryValue) travel as {"$bytes": base64} both ways, so that
a blob boto3 did not decode is seen as text. Anything else (a failure to
connect, an answer botocore cannot parse, a bad line) is not caught: the
traceback goes to stderr and the process ends, which fails the test.
"""

import base64
import json
import sys
import urllib.error
import urllib.request

import boto3
from botocore import xform_name
from botocore.exceptions import ClientError


def decoded(value):
    """A JSON object {"$bytes": base64} as the bytes it stands for."""
    if set(value) == {"$bytes"}:
        return base64.b64decode(value["$bytes"], validate=True)
    return value


def encoded(value):
    """json.dumps's fallback: bytes as {"$bytes": base64}."""
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    raise TypeError("cannot write %r as JSON" % (value,))


class Clients:
    """One boto3 client per set of credentials, made when first asked for."""

    def __init__(self, endpoint_url):
        self.endpoint_url = endpoint_url
        self.by_credentials = {}

    def get(self, credentials):
        key = None if credentials is None else (credentials["accessKeyId"], credentials["secretAccessKey"])
        if key not in self.by_credentials:
            explicit = {} if key is None else {"aws_access_key_id": key[0], "aws_secret_access_key": key[1]}
            # Region, retries (AWS_MAX_ATTEMPTS) and, without explicit ones, credentials come from the environment.
            self.by_credentials[key] = boto3.client("sqs", endpoint_url=self.endpoint_url, **explicit)
        return self.by_credentials[key]


def call(clients, request):
    client = clients.get(request.get("credentials"))
    method = getattr(client, xform_name(request["call"]))
    try:
        output = method(**request["params"])
    except ClientError as error:
        modeled = [
            name
            for name in dir(client.exceptions)
            if name != "ClientError" and isinstance(getattr(client.exceptions, name), type) and isinstance(error, getattr(client.exceptions, name))
        ]
        return {
            "ok": False,
            "error": {
                "exception": modeled[0] if modeled else "ClientError",
                "code": error.response["Error"]["Code"],
                "message": error.response["Error"]["Message"],
                "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
            },
        }
    output.pop("ResponseMetadata", None)
    return {"ok": True, "output": output}


def presign(clients, request):
    client = clients.get(request.get("credentials"))
    url = client.generate_presigned_url(xform_name(request["presign"]), Params=request["params"], ExpiresIn=request["expiresIn"])
    return {"ok": True, "url": url}


def post(request):
    try:
        response = urllib.request.urlopen(urllib.request.Request(request["post"], data=b"", method="POST"), timeout=30)
    except urllib.error.HTTPError as error:
        # An answer all the same (403 for a bad signature): urllib raises it, with the response in it.
        response = error
    with response:
        return {"ok": True, "status": response.status, "contentType": response.headers.get("Content-Type"), "body": response.read().decode("utf-8")}


def main():
    clients = Clients(sys.argv[1])
    for line in sys.stdin:
        request = json.loads(line, object_hook=decoded)
        if "call" in request:
            answer = call(clients, request)
        elif "presign" in request:
            answer = presign(clients, request)
        else:
            answer = post(request)
        sys.stdout.write(json.dumps(answer, default=encoded) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
