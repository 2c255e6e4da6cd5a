# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""TEST STAND-IN for `python3 -m vllm.entrypoints.openai.api_server` in the Molecule scenario
triton_container (installed as vllm/entrypoints/openai/api_server.py in the small test image).

Takes the flags the role renders for the vllm runtime, binds --host/--port and answers vLLM's
readiness endpoints: /health and /v1/models listing --served-model-name.
"""

import argparse
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main(argv):
    signal.signal(signal.SIGTERM, lambda *_args: os._exit(0))  # PID 1 in the container
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--served-model-name", default=None)
    ap.add_argument("--host", default="0.0.0.0")
    ap.add_argument("--port", type=int, default=8000)
    args, unknown = ap.parse_known_args(argv)
    name = args.served_model_name or args.model
    print(
        "fake vLLM API server (test stand-in): model %s as %s, extra flags %s"
        % (args.model, name, " ".join(unknown)),
        flush=True,
    )
    models = json.dumps({"object": "list", "data": [{"id": name, "object": "model"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = models if self.path == "/v1/models" else b""
            code = 200 if self.path in ("/health", "/v1/models") else 404
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer((args.host, args.port), Handler).serve_forever()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
