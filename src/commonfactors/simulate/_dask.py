"""Where the blocks of a simulation or a bootstrap run: in this process, on a
``dask.distributed.LocalCluster`` started for the run, or on a running cluster given by its scheduler's
address. Dask is imported only here, when a cluster is asked for (``import commonfactors`` stays light)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..errors import InputError


def run_tasks(fn: Callable, tasks: Sequence[tuple], on_result: Callable[[int, object], None], *,
              workers: int = 0, scheduler: str | None = None) -> None:
    """Call ``fn(*tasks[i])`` for every i and ``on_result(i, result)`` in this process as each finishes.

    ``workers`` 0 or 1 without ``scheduler``: one after the other, here. ``workers`` >= 2: a LocalCluster of
    that many single-threaded worker processes on the loopback interface, without a dashboard, closed when
    done, failed or interrupted (Ctrl-C). ``scheduler``: the tasks go to that cluster (``workers`` ignored).
    Tasks are submitted in order with decreasing priority, so they tend to finish in order; results are
    handed over in the order they finish, and the caller must not depend on it.
    """
    if scheduler is None and workers <= 1:
        for i, args in enumerate(tasks):
            on_result(i, fn(*args))
        return
    import logging

    from distributed import Client, LocalCluster, as_completed

    cluster = None
    try:
        if scheduler is None:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
        else:
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError, ValueError) as e:
                raise InputError(f"no Dask scheduler answered at {scheduler!r} ({e})",
                                 expected="the address of a running scheduler, tcp://HOST:PORT") from None
        with client:
            futures = {client.submit(fn, *args, pure=False, priority=-i): i for i, args in enumerate(tasks)}
            for f in as_completed(futures):
                result = f.result()
                f.release()
                on_result(futures.pop(f), result)
    finally:
        if cluster is not None:
            cluster.close()
