"""The emulator's HTTP server (`server.PooledServer`): connections served by kept threads, a slow
request never holding up the others, and a process that stops even with a connection open."""

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
import unittest

from ecomflow_emulator.server import PooledServer


class PooledServerTest(unittest.TestCase):
    def setUp(self):
        self.release = threading.Event()
        self.threads = []

        def app(environ, start_response):
            if environ["PATH_INFO"] == "/slow":
                self.release.wait(30)
            self.threads.append(threading.current_thread())
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            start_response("200 OK", [("Content-Length", str(len(body)))])
            return [body]

        self.server = PooledServer("127.0.0.1", 0, app)
        self.loop = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.loop.start()

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

    def test_answers_each_request_and_closes_its_connection(self):
        self.assertEqual(self.call("/", b"records"), (200, "close", b"records"))

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
        self.assertEqual(slow, [(200, "close", b"late")])

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


# Serves until its stdin closes, then returns from the script; prints the port first.
SERVE_UNTIL_STDIN_CLOSES = """
import sys, threading
from ecomflow_emulator.server import PooledServer
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
