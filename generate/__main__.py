"""`python -m generate [--check] [--job JOB] [--runbook-base-url URL] [--grafana-base-url URL] [--root DIR]`.

Writes every generated file (see pipeline.py) from signals/. `--check` writes nothing and
exits 1 naming each file that is out of date. A deployment whose Prometheus job is not
`ai-diy`, or that publishes the runbook elsewhere, writes its own copy of the tree with
`--job`, `--runbook-base-url`, `--grafana-base-url` and `--root`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grafana.render import SdkMismatch
from signals.catalogue import GRAFANA_BASE_URL, JOB, RUNBOOK_BASE_URL
from signals.target import Target

from . import pipeline


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m generate", description="Write every generated file from signals/.")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a file differs from the code")
    parser.add_argument("--job", default=JOB, help="Prometheus job label of the service (default: %(default)s)")
    parser.add_argument(
        "--runbook-base-url",
        default=RUNBOOK_BASE_URL,
        help="URL of docs/runbook.md as published; alerts link to <URL>#<alert> (default: %(default)s)",
    )
    parser.add_argument(
        "--grafana-base-url",
        default=GRAFANA_BASE_URL,
        help="URL Grafana is reached at; alerts link to <URL>/d/<uid>?viewPanel=<id> (default: %(default)s)",
    )
    parser.add_argument(
        "--root", type=Path, default=pipeline.ROOT, help="directory the tree is written under (default: the checkout)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.job.strip() or '"' in args.job or "\\" in args.job:
        parser.error(f"--job: expected a Prometheus label value without quotes or backslashes, got {args.job!r}")
    if not args.runbook_base_url.startswith(("https://", "http://")) or "#" in args.runbook_base_url:
        parser.error(f"--runbook-base-url: expected an http(s) URL without a #fragment, got {args.runbook_base_url!r}")
    grafana = args.grafana_base_url
    if not grafana.startswith(("https://", "http://")) or any(c in grafana for c in "#?") or grafana.endswith("/"):
        parser.error(
            f"--grafana-base-url: expected an http(s) URL without a trailing /, ?query or #fragment, got {grafana!r}"
        )
    try:
        outputs = pipeline.rendered(
            Target(job=args.job, runbook_base_url=args.runbook_base_url, grafana_base_url=grafana)
        )
    except SdkMismatch as mismatch:
        print(mismatch, file=sys.stderr)
        return 2
    if args.check:
        differ, extra = pipeline.stale(args.root, outputs)
        for path in differ:
            print(f"{path} is out of date: run make generate (python -m generate)", file=sys.stderr)
        for path in extra:
            print(f"{path} is no longer generated: run make generate (python -m generate)", file=sys.stderr)
        return 1 if differ or extra else 0
    for path in pipeline.write(args.root, outputs):
        print(f"{'wrote' if path.exists() else 'removed'} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
