"""The emulator's command: every addition of the package put into moto, then moto's server.

`python -m ecomflow_emulator [--port 5000] [--host 127.0.0.1] [--tls-terminated]`, which
`scripts/emulator` runs with the project venv's python. It prints `emulator listening on http://HOST:PORT` once the
socket accepts connections (`--port 0` takes a free port and names it there), and serves until
SIGINT or SIGTERM.

Four of moto's costs per request are cut here: the directory listing moto routes each request
with is made once; with `MOTO_ACCESS_LOG=0` in its environment it writes no line per request
(the tests' harness discards its output anyway); connections are served by threads kept
between them (`PooledServer`); and a connection stays open for the client's next request
(`KeepAliveHandler`), as AWS's endpoints keep it, instead of werkzeug's close after every answer.
"""

import argparse
import logging
import os
import signal
import queue
import sys
import threading

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

from . import (
    apigateway,
    athena,
    cloudformation,
    cognito,
    dynamodb,
    firehose,
    firehose_sse,
    glue,
    iam_eval,
    iam_extras,
    kinesis,
    kms,
    lambda_,
    logs,
    redshift,
    s3,
    sns,
    wafv2,
)


def list_backends_once():
    # moto lists its package directory (a listdir and ~200 isdir calls) to route every
    # request, under the server's one lock; the list cannot change while it runs.
    from moto import backends

    names = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: names


def handler_methods_once():
    # moto lists every function of a service's response class (inspect.getmembers, hundreds of
    # members) on each request to check that the action has a handler: about 8% of the
    # emulator's time while streaming (py-spy). The list is kept per class; an action not in it
    # lists the class again, so a handler added later is still found.
    from moto.core import responses

    listed = {}
    list_methods = responses.method_names_from_class

    class Methods:
        def __init__(self, clazz):
            self.clazz = clazz

        def __contains__(self, name):
            names = listed.get(self.clazz)
            if names is None or name not in names:
                names = listed[self.clazz] = frozenset(list_methods(self.clazz))
            return name in names

    responses.method_names_from_class = Methods


def quiet_access_log():
    # One log line per request costs the single-process emulator about a tenth of its time
    # under load; whoever discards the output anyway (the tests' harness) turns it off.
    if os.environ.get("MOTO_ACCESS_LOG") == "0":
        logging.getLogger("werkzeug").setLevel(logging.WARNING)


def install():
    """Puts every addition and rule of the package into the imported moto (once per process)."""
    glue.install()
    redshift.install()
    apigateway.install()
    kinesis.install()
    dynamodb.install()
    iam_eval.install()
    iam_extras.install()
    cognito.install()
    firehose.install()
    firehose_sse.install()
    athena.install()
    sns.install()
    lambda_.install()
    logs.install()
    kms.install()
    s3.install()
    wafv2.install()
    cloudformation.install()
    quiet_access_log()
    list_backends_once()
    handler_methods_once()


class KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's request handler with HTTP/1.1 persistent connections.

    werkzeug answers every request with `Connection: close`, because after an answer it reads
    whatever the client sent until the client pauses, to discard a body the application did
    not read; on a kept connection that would swallow the next request. Here the body is read
    to its end instead, by its `Content-Length` or its last chunk, and the connection then
    waits for the next request line. Each call then no longer costs a TCP connection: a
    pipeline beside the producer opened hundreds a second, and thousands of closed sockets
    sat in TIME_WAIT. A client that asks to close (`Connection: close`) or speaks HTTP/1.0
    gets its connection closed after the answer, as RFC 9112 section 9.3 has it.
    """

    protocol_version = "HTTP/1.1"
    # An answer is written in pieces (its head, its body); on a kept connection Nagle's algorithm
    # holds the body until the client acknowledges the head, which the client delays (40 ms on
    # Linux), so every call but a connection's first waited 40 ms. Each piece leaves at once.
    # (Buffering them instead would also hold back werkzeug's `100 Continue`, which a client
    # sending `Expect: 100-continue` waits for before its body.)
    disable_nagle_algorithm = True
    # How long a kept connection may wait for its next request. Longer than the AWS SDKs keep an
    # idle pooled connection (90 s in the Rust SDK's hyper client), so that the client closes
    # first and never sends a request on a connection the emulator is closing.
    timeout = 120

    def setup(self):
        super().setup()
        self.connection_rfile = self.rfile
        self.body = None

    def make_environ(self):
        environ = super().make_environ()
        if self.request_version < "HTTP/1.1":
            # An HTTP/1.0 client keeps a connection only when the answer says so; it is closed.
            self.close_connection = True
        if not environ.get("wsgi.input_terminated"):
            # Not chunked: the body is `Content-Length` bytes, and a request without one has none.
            try:
                length = max(int(environ.get("CONTENT_LENGTH") or 0), 0)
            except ValueError:
                length = 0
                self.close_connection = True  # where this body ends is unknown
            environ["wsgi.input"] = LimitedStream(self.connection_rfile, length)
        self.body = environ["wsgi.input"]
        # werkzeug's discard after the answer reads `self.rfile`: it gets this body's rest only.
        self.rfile = RestOfBody(self)
        return environ

    def handle_one_request(self):
        self.rfile = self.connection_rfile
        self.body = None
        super().handle_one_request()
        self.rfile = self.connection_rfile
        if not self.close_connection:
            self.discard_body()

    def discard_body(self):
        """Reads what the application left of this request's body, so that the connection's next
        bytes are the next request line; a body that ends early closes the connection."""
        body, self.body = self.body, None
        if body is None:
            return
        try:
            while body.read(1 << 20):
                pass
        except Exception:  # the client left mid-body; nothing more will come on this connection
            self.close_connection = True

    def send_header(self, keyword, value):
        # werkzeug closes every connection; a kept one goes without the header.
        if keyword.lower() == "connection" and value.lower() == "close" and not self.close_connection:
            return
        super().send_header(keyword, value)

    def send_error(self, code, message=None, explain=None):
        # A request http.server cannot parse ends its connection: where the next one starts is
        # unknown.
        self.close_connection = True
        super().send_error(code, message, explain)

    def log_error(self, format, *args):
        # http.server reports a kept connection left idle past `timeout` as an error; it is the
        # ordinary end of a kept connection.
        if not format.startswith("Request timed out"):
            super().log_error(format, *args)


class RestOfBody:
    """What werkzeug's after-answer discard reads in place of the connection: the rest of the
    current request's body, then nothing, so that its loop ends before the next request."""

    def __init__(self, handler):
        self.handler = handler

    def read(self, size=-1):
        self.handler.discard_body()
        return b""


class PooledServer(ThreadedWSGIServer):
    """werkzeug's threaded server, with each accepted connection handed to a kept thread.

    werkzeug starts a thread per connection, and `Thread.start` waits until the new thread has
    run, which means getting the interpreter from every busy request thread: while a pipeline
    kept the emulator busy, its accept loop spent nine tenths of its time there (py-spy), and
    callers queued for the accept rather than for their answers. A kept thread takes the next
    connection from a queue without that wait; a thread is started only when none is idle, so
    a slow request never stalls others.

    Hand-written rather than `ThreadPoolExecutor`, whose threads the interpreter joins at exit:
    one connection that never sent its request kept the emulator from stopping on SIGTERM.
    These threads are daemons, as werkzeug's own are.
    """

    def __init__(self, host, port, app, handler=KeepAliveHandler, **kwargs):
        super().__init__(host, port, app, handler, **kwargs)
        self.connections = queue.SimpleQueue()
        self.idle = 0
        self.idle_lock = threading.Lock()

    def process_request(self, request, client_address):
        with self.idle_lock:
            start = self.idle == 0
            if not start:
                self.idle -= 1
        if start:
            threading.Thread(target=self.serve_connections, name="request", daemon=True).start()
        self.connections.put((request, client_address))

    def serve_connections(self):
        while True:
            # ThreadingMixIn's own per-connection work: handle, report an error, close.
            self.process_request_thread(*self.connections.get())
            with self.idle_lock:
                self.idle += 1


def endpoint(host, port):
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="scripts/emulator",
        description="The local AWS emulator of ecomflow-infra: moto_server plus what AWS does "
        "that moto does not (see the ecomflow_emulator package's documentation).",
    )
    parser.add_argument(
        "-H", "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "-p",
        "--port",
        type=int,
        default=5000,
        help="port to listen on (default 5000, as moto_server; 0 takes a free one)",
    )
    parser.add_argument(
        "--tls-terminated",
        action="store_true",
        help="take every request as made over TLS (aws:SecureTransport true), standing for "
        "AWS's HTTPS endpoints while clients reach the emulator over loopback HTTP; also "
        f"{iam_eval.SECURE_TRANSPORT_ENV}=1",
    )
    args = parser.parse_args(argv)
    if args.tls_terminated:
        os.environ[iam_eval.SECURE_TRANSPORT_ENV] = "1"

    install()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    # As moto_server builds it.
    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True
    server = PooledServer(args.host, args.port, app)
    port = server.server_port
    # moto builds some URLs (SQS queue URLs, Lambda's endpoint) from it, as moto_server sets it.
    os.environ.setdefault("MOTO_PORT", str(port))

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    print(f"emulator listening on {endpoint(args.host, port)}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
