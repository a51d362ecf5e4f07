"""Assertions that read arrays of either backend (CuPy arrays are copied to the host first)."""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
import tracemalloc
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from fnn.backend import to_numpy


def host(x: Any) -> Any:
    """``x`` as a NumPy array (arrays, scalars and nested lists alike)."""
    if isinstance(x, (list, tuple)):
        return np.asarray([host(v) for v in x])
    return to_numpy(x)


def assert_allclose(actual: Any, desired: Any, **kwargs: Any) -> None:
    """``numpy.testing.assert_allclose`` on host copies of ``actual`` and ``desired``."""
    np.testing.assert_allclose(host(actual), host(desired), **kwargs)


def assert_array_equal(actual: Any, desired: Any, **kwargs: Any) -> None:
    """``numpy.testing.assert_array_equal`` on host copies of ``actual`` and ``desired``."""
    np.testing.assert_array_equal(host(actual), host(desired), **kwargs)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serving(directory: Path) -> contextlib.AbstractContextManager[str]:
    """A local HTTP server of ``directory`` (no log lines) for download tests: yields its base URL."""
    return http_server(functools.partial(_QuietHandler, directory=str(directory)))


@contextlib.contextmanager
def http_server(handler: Callable[..., http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A local threaded HTTP server whose requests ``handler`` answers: yields its base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def traced_apply(model: Any, params: Any, x: Any) -> tuple[Any, int]:
    """``(model.apply(params, x), the peak bytes of NumPy's host memory it traced)``, after one untraced call."""
    model.apply(params, x)  # warm up
    tracemalloc.start()
    try:
        y = model.apply(params, x)
        peak: int = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return y, peak


def layer_by_layer(model: Any, params: Any, x: Any, make_dy: Callable[[Any], Any]) -> tuple[Any, Any, Any, tuple[Any, ...]]:
    """A sequential's passes one child at a time: ``(y, dy, dx, grads)``, with ``dy = make_dy(y.shape)``."""
    h, residuals = x, []
    for layer, p in zip(model.layers, params):
        h, r = layer.forward(p, h)
        residuals.append(r)
    dy = make_dy(h.shape)
    d, grads = dy, list[Any]()
    for layer, p, r in zip(model.layers[::-1], params[::-1], residuals[::-1]):
        g, d = layer.grad(p, r, d)
        grads.insert(0, g)
    return h, dy, d, tuple(grads)
