#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TEST STAND-IN for `tritonserver` inside the Molecule scenario triton_container.

Installed as /usr/local/bin/tritonserver in a small image built during the test (no registry
is reachable). It takes the real tritonserver flags the role renders, binds the HTTP, gRPC and
metrics ports on the given addresses, loads the "models" it finds in the mounted repository
(a directory with config.pbtxt and a version directory) and answers Triton's readiness
endpoints. A model directory holding a file FAIL_TO_LOAD makes it log a Triton-style load
error and exit 1, like a server whose model cannot load. It never prints its environment.
"""

import argparse
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def log(level, msg):
    stamp = time.strftime("%m%d %H:%M:%S")
    print("%s%s.000000 1 fake_tritonserver.py:0] %s" % (level, stamp, msg), flush=True)


def parse(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-repository", required=True)
    ap.add_argument("--http-address", default="0.0.0.0")
    ap.add_argument("--http-port", type=int, default=8000)
    ap.add_argument("--grpc-address", default="0.0.0.0")
    ap.add_argument("--grpc-port", type=int, default=8001)
    ap.add_argument("--metrics-address", default="0.0.0.0")
    ap.add_argument("--metrics-port", type=int, default=8002)
    args, unknown = ap.parse_known_args(argv)
    return args, unknown


def load_models(repo):
    models, failed = [], []
    for name in sorted(os.listdir(repo)):
        path = os.path.join(repo, name)
        if not os.path.isfile(os.path.join(path, "config.pbtxt")):
            continue
        if os.path.exists(os.path.join(path, "FAIL_TO_LOAD")):
            failed.append(name)
            log("E", "failed to load '%s' version 1: Internal: engine args rejected" % name)
            continue
        log("I", "successfully loaded '%s' version 1" % name)
        models.append(name)
    return models, failed


def main(argv):
    args, unknown = parse(argv)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))  # PID 1 in the container
    log("I", "fake tritonserver (test stand-in) args: %s" % " ".join(argv))
    if unknown:
        log("I", "ignoring flags: %s" % " ".join(unknown))
    models, failed = load_models(args.model_repository)
    if failed:
        log("E", "failed to load all models; exiting")
        return 1
    token = os.path.join(os.environ.get("HF_HOME", "/nonexistent"), "token")
    log("I", "HF token file %s" % ("present" if os.path.exists(token) else "absent"))
    started = time.time()
    ready_after = 3.0  # seconds: lets the role's readiness loop see "not ready" first

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *a):
            pass

        def _code(self, code):
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            ready = time.time() - started >= ready_after
            if self.path == "/v2/health/live":
                return self._code(200)
            if self.path == "/v2/health/ready":
                return self._code(200 if ready else 400)
            parts = self.path.strip("/").split("/")
            if len(parts) == 4 and parts[:2] == ["v2", "models"] and parts[3] == "ready":
                return self._code(200 if ready and parts[2] in models else 400)
            if self.path == "/metrics":
                body = b"nv_inference_count 0\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return None
            return self._code(404)

    http = ThreadingHTTPServer((args.http_address, args.http_port), Handler)
    metrics = ThreadingHTTPServer((args.metrics_address, args.metrics_port), Handler)
    grpc = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    grpc.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    grpc.bind((args.grpc_address, args.grpc_port))
    grpc.listen(8)
    for srv in (http, metrics):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    log("I", "Started HTTPService at %s:%d" % (args.http_address, args.http_port))
    log("I", "Started GRPCInferenceService at %s:%d" % (args.grpc_address, args.grpc_port))
    log("I", "Started Metrics Service at %s:%d" % (args.metrics_address, args.metrics_port))
    while True:
        conn, _peer = grpc.accept()
        conn.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
