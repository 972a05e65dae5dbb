"""moto's server for the benchmarks: sandbox/moto_serial_server.py plus one seeding route.

Requests are served exactly as in the tests (moto's own WSGI app, one request at a time, its
service folders listed once), so every timed AWS call costs what it costs there. The only addition is `POST /bench/seed-secrets`,
used before the timed part: it creates many secrets directly in moto's Secrets Manager backend
(the same `create_secret` that the CreateSecret API calls), because 10,000 CreateSecret calls
through HTTP take minutes on a serial moto. Usage: python3 moto_bench_server.py HOST PORT
"""

import json
import os
import sys

from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.secretsmanager.models import secretsmanager_backends
from werkzeug.serving import run_simple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sandbox"))
from moto_serial_server import list_service_folders_once  # noqa: E402

SEED_PATH = "/bench/seed-secrets"


def seed(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length))
    backend = secretsmanager_backends[DEFAULT_ACCOUNT_ID][body["region"]]
    for secret in body["secrets"]:
        backend.create_secret(
            name=secret["name"],
            secret_string=secret["value"],
            secret_binary=None,
            description=None,
            tags=[{"Key": k, "Value": v} for k, v in secret.get("tags", {}).items()],
            kms_key_id=None,
            client_request_token=secret.get("versionId"),
            replica_regions=[],
            force_overwrite=False,
        )
    payload = json.dumps({"created": len(body["secrets"])}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    list_service_folders_once()
    moto = DomainDispatcherApplication(create_backend_app)

    def app(environ, start_response):
        if environ.get("PATH_INFO") == SEED_PATH and environ.get("REQUEST_METHOD") == "POST":
            return seed(environ, start_response)
        return moto(environ, start_response)

    run_simple(host, port, app, threaded=False, use_reloader=False)


if __name__ == "__main__":
    main()
