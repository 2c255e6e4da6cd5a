# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared pytest fixtures of the unit tests."""

import http.server
import threading

import pytest


@pytest.fixture
def local_http():
    """Start a threaded HTTP server on 127.0.0.1 for a handler class; returns its base URL.
    Every server started through it is shut down when the test ends."""
    servers = []

    def start(handler):
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return "http://127.0.0.1:%d" % httpd.server_address[1]

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()
