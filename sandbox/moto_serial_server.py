"""moto's server, handling one request at a time.

moto_server answers requests on parallel threads, and moto's DynamoDB checks a
ConditionExpression and writes without a lock, so two concurrent conditional writes
to one item can both succeed there. Real DynamoDB serialises writes to an item. Serving
requests one at a time restores that guarantee, so the lease's single-flight tests
exercise real conditional-write semantics. Usage: python3 moto_serial_server.py HOST PORT
"""

import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, use_reloader=False)


if __name__ == "__main__":
    main()
