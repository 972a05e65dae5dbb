"""moto's server, handling one request at a time.

moto_server answers requests on parallel threads, and moto's DynamoDB checks a
ConditionExpression and writes without a lock, so two concurrent conditional writes
to one item can both succeed there. Real DynamoDB serialises writes to an item. Serving
requests one at a time restores that guarantee, so the lease's single-flight tests
exercise real conditional-write semantics. Usage: python3 moto_serial_server.py HOST PORT
"""

import sys

from moto import backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def list_service_folders_once() -> None:
    """moto routes every request by listing and stat-ing its ~200 service folders
    (`backends.list_of_moto_modules`, called by the dispatcher for each request's host):
    about 1.1 ms, a third of a typical call's CPU. The folders do not change while the
    server runs, so they are listed once. Nothing else about a request changes."""
    folders = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: iter(folders)


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    list_service_folders_once()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, use_reloader=False)


if __name__ == "__main__":
    main()
