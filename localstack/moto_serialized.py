"""moto server (as `moto_server -H HOST -p PORT`) with its requests processed one at a time.

moto's server handles each request in its own thread without any lock, so two concurrent
requests on one secret interleave inside moto: PutSecretValue's "is this ClientRequestToken
already a version?" check and the insert that follows are not atomic (two writers can both
succeed with the same token), and ListSecrets fails with "dictionary changed size during
iteration" while secrets are being created (localstack/NOTES.md, items 1 and 9). AWS processes
each request atomically. Connections stay concurrent (threaded server, keep-alive); only the
application call, which is all in-memory work, holds the lock.
"""

import argparse
import threading

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()

    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialized(environ, start_response):
        with lock:
            # Materialize the body under the lock: moto builds it in memory anyway.
            return list(app(environ, start_response))

    run_simple(
        args.host,
        args.port,
        serialized,
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
