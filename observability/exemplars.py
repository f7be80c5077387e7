"""Histogram exemplars across worker processes.

prometheus-client's multiprocess value store keeps numbers in mmapped files and
drops exemplars, so with several workers a scrape would carry none. Here each worker
keeps, per (label values, bucket) of a histogram, the latest exemplar in a dict:
recording one is a bisect and a dict assignment, nothing more, on the request path.
A daemon thread of the worker writes that dict, when it changed, to one small file
per worker in the multiprocess directory (`exemplars_<metric>_<pid>.json`, written
under a temporary name and renamed, so a reader never sees half of one). At scrape
time `ExemplarMerger` reads every worker's file and puts the newest exemplar of each
bucket on the histogram's bucket samples, as a single process would.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Exemplar
from prometheus_client.utils import floatToGoString

from .periodic import Periodic

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
FILE_PREFIX = "exemplars_"
FLUSH_INTERVAL = 1.0  # seconds: well under any scrape interval, and one small write at most

log = logging.getLogger(__name__)

# (label values, bucket index) -> (trace id, observed value, unix time)
Latest = dict[tuple[tuple[Any, ...], int], tuple[str, float, float]]


class ExemplarStore:
    """The latest trace-id exemplar per bucket of one histogram in this process, shared through a file.

    `labelnames` and `buckets` are the histogram's own; `record` takes the label
    values in that order (any type; written with `str`, so a status code may stay
    an int) and the observed value, whose bucket is found the way the histogram
    finds it (the first upper bound not below it).
    """

    def __init__(
        self,
        metric: str,
        labelnames: Sequence[str],
        buckets: Sequence[float],
        directory: str | Path,
        *,
        pid: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.metric = metric
        self.labelnames = tuple(labelnames)
        bounds = [float(b) for b in buckets]
        if not bounds or bounds[-1] != float("inf"):
            bounds.append(float("inf"))
        self._bounds = bounds
        self._le = [floatToGoString(b) for b in bounds]
        self.pid = os.getpid() if pid is None else pid
        self.path = Path(directory) / f"{FILE_PREFIX}{metric}_{self.pid}.json"
        self._clock = clock
        self._latest: Latest = {}
        self._written: Latest = {}
        self._flusher = Periodic(f"{metric}-exemplars", FLUSH_INTERVAL, self.flush, log)

    def record(self, labels: tuple[Any, ...], value: float, trace_id: str) -> None:
        """Remember `trace_id` as the exemplar of the bucket `value` falls in (request path: no I/O)."""
        self._latest[(labels, bisect_left(self._bounds, value))] = (trace_id, value, self._clock())

    def flush(self) -> bool:
        """Write this worker's exemplars when they changed since the last write; True when written."""
        # dict.copy runs in C under the GIL: a consistent snapshot while the loop records.
        snapshot = self._latest.copy()
        if snapshot == self._written:
            return False
        rows = [
            [[str(v) for v in labels], self._le[bucket], trace_id, value, at]
            for (labels, bucket), (trace_id, value, at) in snapshot.items()
        ]
        body = json.dumps({"metric": self.metric, "labelnames": self.labelnames, "exemplars": rows})
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        temporary.write_text(body, encoding="utf-8")
        os.replace(temporary, self.path)
        self._written = snapshot
        return True

    def start(self) -> None:
        """Flush every FLUSH_INTERVAL seconds on a daemon thread."""
        self._flusher.start()

    def stop(self) -> None:
        """Stop the thread and write what is left."""
        self._flusher.stop()
        self.flush()


_stores: dict[str, ExemplarStore] = {}
_stores_lock = threading.Lock()


def multiprocess_exemplar_store(
    metric: str, labelnames: Sequence[str], buckets: Sequence[float]
) -> ExemplarStore | None:
    """This worker's started store for `metric` in multiprocess mode; None with a single process.

    One store per metric and process: every registry of the worker shares it (one
    file per worker). With a single process the histogram keeps its own exemplars.
    """
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return None
    with _stores_lock:
        store = _stores.get(metric)
        if store is None or store.pid != os.getpid():  # a forked child starts its own
            store = _stores[metric] = ExemplarStore(metric, labelnames, buckets, directory)
            store.start()
        elif store.labelnames != tuple(labelnames):
            raise ValueError(f"{metric}: exemplar store already made with labels {store.labelnames}")
        return store


# (metric, label values as str, le) -> the newest exemplar of every worker
Merged = dict[tuple[str, tuple[str, ...], str], Exemplar]


def read_exemplars(directory: str | Path) -> tuple[Merged, dict[str, tuple[str, ...]]]:
    """Every worker's exemplars in `directory`, the newest per bucket, and each metric's label names."""
    merged: Merged = {}
    labelnames: dict[str, tuple[str, ...]] = {}
    for path in Path(directory).glob(f"{FILE_PREFIX}*.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue  # its directory was wiped between listing and reading
        except ValueError:
            log.warning("unreadable exemplar file %s skipped", path.name)
            continue
        metric = data["metric"]
        labelnames[metric] = tuple(data["labelnames"])
        for labels, le, trace_id, value, at in data["exemplars"]:
            key = (metric, tuple(labels), le)
            known = merged.get(key)
            if known is None or (known.timestamp or 0.0) < at:
                merged[key] = Exemplar({"trace_id": trace_id}, value, at)
    return merged, labelnames


class Collector(Protocol):
    def collect(self) -> Iterable[Metric]: ...


class ExemplarMerger:
    """Wraps a collector (e.g. MultiProcessCollector) and adds the workers' exemplars to its histogram buckets."""

    def __init__(self, collector: Collector, directory: str | Path) -> None:
        self.collector = collector
        self.directory = directory

    def collect(self) -> Iterator[Metric]:
        merged, labelnames = read_exemplars(self.directory)
        for family in self.collector.collect():
            names = labelnames.get(family.name)
            if names is not None and family.type == "histogram":
                bucket = f"{family.name}_bucket"
                family.samples = [
                    _with_exemplar(sample, merged, family.name, names) if sample.name == bucket else sample
                    for sample in family.samples
                ]
            yield family


def _with_exemplar(sample: Any, merged: Merged, metric: str, names: tuple[str, ...]) -> Any:
    labels = sample.labels
    try:
        key = (metric, tuple(labels[name] for name in names), labels["le"])
    except KeyError:
        return sample  # a series of other labels than the store's: nothing to add
    exemplar = merged.get(key)
    return sample if exemplar is None else sample._replace(exemplar=exemplar)
