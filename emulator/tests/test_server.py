"""The emulator's HTTP server (`server.PooledServer`, `server.KeepAliveHandler`): connections
served by kept threads and kept open between requests, a body the application left unread never
taken for the next request, a slow request never holding up the others, and a process that stops
even with a connection open."""

import http.client
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import unittest

from ecomflow_emulator.server import KeepAliveHandler, PooledServer


class ServerCase(unittest.TestCase):
    """A `PooledServer` on a free port whose application echoes the request body."""

    def setUp(self):
        self.release = threading.Event()
        self.threads = []
        self.ports = []

        def app(environ, start_response):
            if environ["PATH_INFO"] == "/slow":
                self.release.wait(30)
            self.threads.append(threading.current_thread())
            self.ports.append(environ["REMOTE_PORT"])
            if environ["PATH_INFO"] == "/unread":
                # Answers without reading the body, as moto does when it refuses a request.
                start_response("400 Bad Request", [("Content-Length", "7")])
                return [b"refused"]
            body = environ["wsgi.input"].read()
            start_response("200 OK", [("Content-Length", str(len(body)))])
            return [body]

        self.server = PooledServer("127.0.0.1", 0, app, handler=self.handler())
        self.loop = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.loop.start()

    def handler(self):
        return KeepAliveHandler

    def tearDown(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.loop.join(10)

    def call(self, path, body=b""):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.server_port, timeout=10)
        try:
            conn.request("POST", path, body=body)
            answer = conn.getresponse()
            return answer.status, answer.getheader("Connection"), answer.read()
        finally:
            conn.close()

    def raw(self, request, until=None):
        """Sends `request` bytes at once on one connection; returns what came back by the time
        it ends with `until`, or the server closed the connection."""
        with socket.create_connection(("127.0.0.1", self.server.server_port), timeout=10) as conn:
            conn.sendall(request)
            received = b""
            while until is None or not received.endswith(until):
                data = conn.recv(65536)
                if not data:
                    break
                received += data
            return received



class PooledServerTest(ServerCase):
    def test_answers_each_request_and_keeps_its_connection(self):
        self.assertEqual(self.call("/", b"records"), (200, None, b"records"))

    def test_requests_one_after_another_share_one_connection(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.server_port, timeout=10)
        started = time.monotonic()
        try:
            for i in range(50):
                conn.request("POST", "/", body=b"%d" % i)
                answer = conn.getresponse()
                self.assertEqual((answer.status, answer.read()), (200, b"%d" % i))
        finally:
            conn.close()
        # No answer waits for the client's delayed acknowledgement (40 ms each, 2 s in all):
        # the answers take well under a millisecond each here.
        self.assertLess(time.monotonic() - started, 1.0)
        self.assertEqual(len(set(self.ports)), 1, self.ports)
        self.assertEqual(len({id(t) for t in self.threads}), 1, self.threads)

    def test_an_unread_body_is_not_taken_for_the_next_request(self):
        # The first body is shaped as a request line, so that a server reading the connection's
        # next bytes from where the application stopped would answer it.
        trap = b"GET /trap HTTP/1.1\r\nHost: x\r\n\r\n"
        received = self.raw(
            b"POST /unread HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nnext" % (len(trap), trap),
            b"next",
        )
        self.assertEqual(received.count(b"HTTP/1.1 "), 2, received)
        self.assertIn(b"HTTP/1.1 400", received)
        self.assertTrue(received.endswith(b"\r\n\r\nnext"), received)
        self.assertNotIn(b"trap", received)

    def test_an_unread_chunked_body_is_read_to_its_last_chunk(self):
        received = self.raw(
            b"POST /unread HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nfirst\r\n6\r\nsecond\r\n0\r\n\r\n"
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nnext",
            b"next",
        )
        self.assertEqual(received.count(b"HTTP/1.1 "), 2, received)
        self.assertTrue(received.endswith(b"\r\n\r\nnext"), received)

    def test_an_http_1_0_client_gets_its_connection_closed(self):
        received = self.raw(
            b"POST / HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 4\r\n\r\nlast"
        )
        self.assertIn(b"Connection: close", received)
        self.assertTrue(received.endswith(b"last"), received)

    def test_a_client_that_expects_100_continue_gets_it_before_sending_its_body(self):
        with socket.create_connection(("127.0.0.1", self.server.server_port), timeout=5) as conn:
            conn.sendall(
                b"PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"
            )
            # Interim answers may repeat (http.server and werkzeug each send one); a client
            # takes any number of them before the final one (RFC 9110 section 15.2).
            self.assertTrue(conn.recv(65536).startswith(b"HTTP/1.1 100 Continue\r\n\r\n"))
            conn.sendall(b"body")
            received = b""
            while not received.endswith(b"body"):
                received += conn.recv(65536)
            self.assertIn(b"HTTP/1.1 200", received)

    def test_a_client_that_asks_to_close_gets_its_connection_closed(self):
        received = self.raw(
            b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 4\r\n\r\nlast"
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nnever"
        )
        self.assertIn(b"Connection: close", received)
        self.assertEqual(received.count(b"HTTP/1.1 "), 1, received)
        self.assertTrue(received.endswith(b"last"), received)

    def test_one_after_another_kept_threads_serve(self):
        for i in range(40):
            self.assertEqual(self.call("/", str(i).encode())[2], str(i).encode())
        # A thread still closing the last connection (werkzeug waits briefly for the client's
        # end) can overlap the next requests, so a few threads take turns; never one each.
        # Thread objects, all kept alive by the list: distinct objects are distinct threads.
        self.assertLessEqual(len({id(t) for t in self.threads}), 10, self.threads)
        self.assertTrue(all(t.daemon for t in self.threads), self.threads)

    def test_a_slow_request_does_not_hold_up_the_others(self):
        slow = []
        waiting = threading.Thread(target=lambda: slow.append(self.call("/slow", b"late")))
        waiting.start()
        answers = [self.call("/", b"%d" % i) for i in range(5)]
        self.assertEqual([a[2] for a in answers], [b"0", b"1", b"2", b"3", b"4"])
        self.assertEqual(slow, [], "the slow request was answered before it was released")
        self.release.set()
        waiting.join(10)
        self.assertEqual(slow, [(200, None, b"late")])

    def test_concurrent_connections_are_all_answered(self):
        answers = {}

        def client(i):
            answers[i] = self.call("/", b"%d" % i)[2]

        clients = [threading.Thread(target=client, args=(i,)) for i in range(64)]
        for c in clients:
            c.start()
        for c in clients:
            c.join(30)
        self.assertEqual(answers, {i: b"%d" % i for i in range(64)})


class IdleTimeoutTest(ServerCase):
    def handler(self):
        class Brief(KeepAliveHandler):
            timeout = 0.3

        return Brief

    def test_an_idle_kept_connection_is_closed_after_the_timeout(self):
        with socket.create_connection(("127.0.0.1", self.server.server_port), timeout=10) as conn:
            conn.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
            received = b""
            while not received.endswith(b"ok"):
                received += conn.recv(65536)
            started = time.monotonic()
            self.assertEqual(conn.recv(65536), b"")  # the server's end of the connection
            self.assertLess(time.monotonic() - started, 5)
        with self.assertLogs("werkzeug", "INFO") as logs:
            logging.getLogger("werkzeug").info("marker")
            self.call("/", b"x")
            time.sleep(0.6)  # past the timeout; the idle close is not reported as an error
        self.assertFalse([r for r in logs.records if r.levelname == "ERROR"], logs.output)


# Serves until its stdin closes, then returns from the script; prints the port first.
SERVE_UNTIL_STDIN_CLOSES = """
import sys, threading
from ecomflow_emulator.server import KeepAliveHandler, PooledServer
def app(environ, start_response):
    start_response("200 OK", [("Content-Length", "0")])
    return [b""]
server = PooledServer("127.0.0.1", 0, app)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(server.server_port, flush=True)
sys.stdin.read()
server.server_close()
"""


class Stopping(unittest.TestCase):
    def test_the_process_ends_with_a_connection_that_never_sent_its_request(self):
        package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVE_UNTIL_STDIN_CLOSES],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=package,
            text=True,
        )
        try:
            port = int(proc.stdout.readline())
            with socket.create_connection(("127.0.0.1", port)) as silent:
                time.sleep(0.3)  # accepted and handed to a thread, which waits for a request
                proc.stdin.close()
                self.assertEqual(proc.wait(20), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()


if __name__ == "__main__":
    unittest.main()
