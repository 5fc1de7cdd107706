"""A stand-in for vLLM's OpenAI-compatible server, for testing ``ServerEngine`` without vLLM.

It answers ``GET /v1/models`` and streams ``POST /v1/chat/completions`` the way vLLM does with
``return_token_ids``: one chunk per token, with its id. What it writes for a page depends on
the colour of the page's top-left pixel (tests send pages of one colour, which
resizing keeps), so tests choose per page:

- any colour: the tokens of ``"page R G B"`` and ``<|im_end|>``;
- ``LOOP``: one block of tokens, repeated until the client hangs up;
- ``REFUSE``: HTTP 400, as vLLM answers a prompt it cannot take;
- ``STALL``: nothing for ``stall_seconds``;
- ``ABORT``: a few tokens, then ``finish_reason: "abort"`` (vLLM stopped mid-page).

``unavailable`` answers the next that many chat requests with 503 first.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image

LOOP = (1, 2, 3)
REFUSE = (4, 5, 6)
STALL = (7, 8, 9)
ABORT = (10, 11, 12)
LOOP_TOKENS = [40, 41, 42, 43, 44]


class FakeServer:
    def __init__(self, checkpoint: str, *, api_key: str | None = None) -> None:
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(checkpoint)
        self.end_token_id = int(self.tokenizer.convert_tokens_to_ids("<|im_end|>"))
        self.checkpoint = checkpoint
        self.model = "got-fake"
        self.api_key = api_key
        self.unavailable = 0
        self.stall_seconds = 5.0
        self.max_model_len = 8192
        self.bodies: list[dict[str, Any]] = []
        self.loop_tokens_sent: list[int] = []
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> FakeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def expected_text(self, image: Image.Image) -> str:
        return "page {} {} {}".format(*image.convert("RGB").getpixel((0, 0)))

    def reply(self, body: dict[str, Any]) -> tuple[int, Any]:
        """(HTTP status, what to send): a token list, "loop", or an error body."""
        parts = body["messages"][0]["content"]
        first = next(part for part in parts if part["type"] == "image_url")
        data = first["image_url"]["url"].split(",", 1)[1]
        pixel = Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB").getpixel((0, 0))
        if pixel == REFUSE:
            error = {"message": "The prompt is too long.", "type": "BadRequestError", "code": 400}
            return 400, {"error": error}
        if pixel == STALL:
            time.sleep(self.stall_seconds)
        if pixel == LOOP:
            return 200, "loop"
        if pixel == ABORT:
            return 200, "abort"
        text = "page {} {} {}".format(*pixel)
        tokens = [*self.tokenizer.encode(text, add_special_tokens=False), self.end_token_id]
        return 200, tokens


def _handler(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            return

        def _authorized(self) -> bool:
            if server.api_key is None:
                return True
            if self.headers.get("Authorization") == f"Bearer {server.api_key}":
                return True
            self._json(401, {"error": "Unauthorized"})
            return False

        def _json(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/health":
                self._json(200, {})
            elif self.path == "/v1/models" and self._authorized():
                model = {
                    "id": server.model,
                    "object": "model",
                    "root": server.checkpoint,
                    "max_model_len": server.max_model_len,
                }
                self._json(200, {"object": "list", "data": [model]})
            elif self.path != "/v1/models":
                self._json(404, {"error": {"message": "Not Found"}})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path != "/v1/chat/completions":
                self._json(404, {"error": {"message": "Not Found"}})
                return
            if not self._authorized():
                return
            with server.lock:
                server.bodies.append(body)
                busy = server.unavailable > 0
                server.unavailable -= busy
            if busy:
                self._json(503, {"error": {"message": "Service Unavailable"}})
                return
            status, reply = server.reply(body)
            if status != 200:
                self._json(status, reply)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            if reply == "loop":
                self._loop(body)
                return
            if reply == "abort":
                self._chunk(body, [40], server.tokenizer.decode([40]), None)
                self._chunk(body, [41], server.tokenizer.decode([41]), "abort")
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                return
            for position, token in enumerate(reply):
                last = position == len(reply) - 1
                text = "" if last else server.tokenizer.decode([token])
                self._chunk(body, [token], text, "stop" if last else None)
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

        def _loop(self, body: dict[str, Any]) -> None:
            sent = 0
            try:
                while sent < body["max_tokens"]:
                    token = LOOP_TOKENS[sent % len(LOOP_TOKENS)]
                    self._chunk(body, [token], server.tokenizer.decode([token]), None)
                    sent += 1
                    time.sleep(0.0005)
                self._chunk(body, [], "", "length")
                self.wfile.write(b"data: [DONE]\n\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client hung up: vLLM would abort the request
            finally:
                with server.lock:
                    server.loop_tokens_sent.append(sent)

        def _chunk(
            self, body: dict[str, Any], tokens: list[int], text: str, finish: str | None
        ) -> None:
            choice = {
                "index": 0,
                "delta": {"content": text},
                "finish_reason": finish,
                "token_ids": tokens,
            }
            chunk = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": body["model"],
                "choices": [choice],
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()

    return Handler
