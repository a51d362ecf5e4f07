"""A fair race between libraries in one process: the same threads for all, quiet workers at each switch.

Two things made the suite's old cross-library ratios depend on how the runs were
interleaved rather than on the libraries:

- **Threads.** NumPy's OpenBLAS, PyTorch's OpenMP pool and XLA's Eigen pool each size
  themselves when first loaded. :func:`limit_threads` gives every one of them the same count
  before any is imported (environment variables for OpenBLAS and OpenMP, the process's CPU
  affinity for XLA, which sizes its pool from it); :func:`thread_counts` reads back what each
  library actually uses at run time (OpenBLAS through its own ``*_get_num_threads`` entry
  point, found with :mod:`ctypes` in the loaded libraries, PyTorch's ``get_num_threads`` and
  the number of XLA's ``XLAEigen`` worker threads) and :func:`thread_mismatches` names any
  that differ.
- **Spinning workers.** After its last call a library's worker threads keep spinning for a
  while (OpenBLAS about 0.1 s, ``sched_yield`` in a loop; OpenMP a few ms) before they sleep.
  A turn of the next library started in that window shares the cores with them.
  :func:`wait_until_quiet` waits, at each switch of library, until no thread of this process
  but the caller is running, reading each thread's state from ``/proc/self/task/*/stat``.

This module imports nothing but the standard library, so that :func:`limit_threads` can run
before NumPy.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import threading
import time
from pathlib import Path
from typing import Any

__all__ = [
    "THREAD_VARIABLES",
    "available_cpus",
    "threads_argument",
    "limit_threads",
    "openblas_threads",
    "openblas_kernels",
    "xla_threads",
    "thread_counts",
    "thread_mismatches",
    "thread_state",
    "busy_threads",
    "wait_until_quiet",
]

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""Read once, at load, by OpenBLAS, OpenMP runtimes (PyTorch's intra-op pool) and MKL."""

TASK_DIR = Path("/proc/self/task")
_OPENBLAS_GETTERS = (
    "openblas_get_num_threads",
    "openblas_get_num_threads64_",
    "scipy_openblas_get_num_threads64_",
    "scipy_openblas_get_num_threads",
)
_OPENBLAS_CORENAMES = ("openblas_get_corename", "scipy_openblas_get_corename64_", "openblas_get_corename64_")


def available_cpus() -> int:
    """The number of CPUs this process may run on (its affinity mask), the default thread count."""
    return len(os.sched_getaffinity(0))


def threads_argument(argv: list[str]) -> int:
    """The value of ``--threads N`` in ``argv`` (default :func:`available_cpus`), read before NumPy loads.

    The command's own argument parser declares ``--threads`` too (for ``--help``); this one
    reads just that option so that it can be applied before the imports.
    """
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--threads", type=int, default=None)
    threads: int | None = parser.parse_known_args(argv)[0].threads
    return available_cpus() if threads is None else threads


def limit_threads(threads: int, environ: dict[str, str] | None = None) -> None:
    """Make every library compute on ``threads`` threads; call it before NumPy, PyTorch or JAX loads.

    Sets :data:`THREAD_VARIABLES` in ``environ`` (default ``os.environ``) and, when
    ``threads`` is below the CPUs available, pins the process to the first ``threads`` of
    them, which is how XLA's pool is sized (and bounds the others too).

    Raises:
        ValueError: ``threads`` is not between 1 and the number of CPUs available.
    """
    cpus = sorted(os.sched_getaffinity(0))
    if not 1 <= threads <= len(cpus):
        raise ValueError(
            f"--threads: expected 1 to {len(cpus)} (the CPUs this process may use), got {threads}; "
            "pass a count in that range or omit it to use them all"
        )
    env = os.environ if environ is None else environ
    for variable in THREAD_VARIABLES:
        env[variable] = str(threads)
    if threads < len(cpus):
        os.sched_setaffinity(0, cpus[:threads])


def _loaded_libraries(maps: Path = Path("/proc/self/maps")) -> list[str]:
    fields = (line.split(maxsplit=5) for line in maps.read_text().splitlines())
    return sorted({f[5] for f in fields if len(f) == 6 and f[5].startswith("/") and ".so" in f[5]})


def _openblas_functions(names: tuple[str, ...]) -> list[Any]:
    """The first of ``names`` found in each loaded library whose file name contains ``openblas``
    (the NumPy wheels export OpenBLAS's functions under several prefixes and suffixes)."""
    found = []
    for path in _loaded_libraries():
        if "openblas" in Path(path).name.lower():
            library = ctypes.CDLL(path)
            function = next((getattr(library, n) for n in names if hasattr(library, n)), None)
            if function is not None:
                found.append(function)
    return found


def openblas_threads() -> int | None:
    """OpenBLAS's thread count as the loaded library reports it, or ``None`` when none is loaded.

    Uses OpenBLAS's own ``openblas_get_num_threads`` (under any of the names the NumPy wheels
    export it with) in every loaded OpenBLAS; when several are loaded (NumPy's and another
    wheel's), the largest count.
    """
    counts = [int(getter()) for getter in _openblas_functions(_OPENBLAS_GETTERS)]
    return max(counts) if counts else None


def openblas_kernels() -> str | None:
    """The CPU kernels the loaded OpenBLAS runs (``openblas_get_corename``, e.g. ``"Haswell"``,
    ``"SkylakeX"``, ``"Zen"``), or ``None`` when no OpenBLAS is loaded.

    ``OPENBLAS_CORETYPE`` overrides OpenBLAS's own choice: some machines set it to an older
    core (AVX2 kernels on an AVX-512 CPU) for old builds, which slows a current NumPy's
    products, so a benchmark prints which kernels ran.
    """
    names = []
    for getter in _openblas_functions(_OPENBLAS_CORENAMES):
        getter.restype = ctypes.c_char_p
        names.append(getter().decode())
    return ", ".join(names) if names else None


def _thread_names(task_dir: Path = TASK_DIR) -> list[str]:
    names = []
    for task in task_dir.iterdir():
        try:
            names.append((task / "comm").read_text().strip())
        except OSError:  # the thread ended meanwhile
            continue
    return names


def xla_threads(task_dir: Path = TASK_DIR) -> int:
    """The number of XLA's CPU worker threads (named ``…XLAEigen``) in this process; 0 before XLA runs."""
    return sum("XLAEigen" in name for name in _thread_names(task_dir))


def thread_counts(torch: Any = None, jax_ran: bool = False) -> dict[str, int | None]:
    """What each loaded library uses now: ``{"OpenBLAS": n, "torch": n, "XLA": n}`` (``None``: not loaded).

    Args:
        torch: The ``torch`` module when loaded, else ``None``.
        jax_ran: Whether JAX has run a computation (its pool exists only then).
    """
    return {
        "OpenBLAS": openblas_threads(),
        "torch": None if torch is None else int(torch.get_num_threads()),
        "XLA": xla_threads() if jax_ran else None,
    }


def thread_mismatches(threads: int, counts: dict[str, int | None]) -> list[str]:
    """The libraries whose thread count is not ``threads``, as ``"torch uses 4"`` (``[]``: all fair).

    >>> thread_mismatches(2, {"OpenBLAS": 2, "torch": 4, "XLA": None})
    ['torch uses 4']
    """
    return [
        f"{name} uses {count}" for name, count in counts.items() if count is not None and count != threads
    ]


def thread_state(stat: str) -> str:
    """The state letter (``R`` running, ``S`` sleeping, …) of one ``/proc/<pid>/task/<tid>/stat`` line.

    The command name in parentheses may itself hold spaces and parentheses, so the state is
    read after the *last* ``)``.

    >>> thread_state("4242 (python (x)) S 1 4242 4242 0 -1")
    'S'
    """
    return stat[stat.rindex(")") + 2]


def busy_threads(stats: dict[int, str], caller: int) -> list[int]:
    """The ids of the threads, other than ``caller``, whose stat line says running (``R``).

    Args:
        stats: ``{thread id: its stat line}``.
        caller: The calling thread's id (it is running, reading these).
    """
    return sorted(tid for tid, stat in stats.items() if tid != caller and thread_state(stat) == "R")


def _read_stats(task_dir: Path) -> dict[int, str]:
    stats = {}
    for task in task_dir.iterdir():
        try:
            stats[int(task.name)] = (task / "stat").read_text()
        except OSError:  # the thread ended meanwhile
            continue
    return stats


def wait_until_quiet(
    cap: float, task_dir: Path = TASK_DIR, poll: float = 0.002, quiet_polls: int = 3
) -> float:
    """Sleep until no thread of this process but the caller runs, for ``quiet_polls`` polls in a row.

    A thread that spins waiting for work (``sched_yield`` loops) is in state ``R``; once it
    blocks, ``S``. Polls every ``poll`` seconds, gives up after ``cap`` seconds (another
    process's load, or a thread that never sleeps).

    Returns:
        The seconds waited (``≥ cap`` when it gave up).
    """
    caller = threading.get_native_id()
    start = time.perf_counter()
    quiet = 0
    while quiet < quiet_polls and time.perf_counter() - start < cap:
        quiet = 0 if busy_threads(_read_stats(task_dir), caller) else quiet + 1
        time.sleep(poll)
    return time.perf_counter() - start
