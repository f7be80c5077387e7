"""ETags and the If-Match / If-None-Match evaluation (RFC 9110 §13.2.2)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from service.data.etags import SETTLE_NS, EtagCache, InvalidPrecondition, Preconditions, etag_of, file_etag

CURRENT = etag_of(b"v1")
OTHER = etag_of(b"v2")


def test_etag_is_the_quoted_sha256_of_the_bytes(tmp_path: Path) -> None:
    assert CURRENT == '"3bfc269594ef649228e9a74bab00f042efc91d5acc6fbee31a382e80d42388fe"'
    (tmp_path / "a.txt").write_bytes(b"v1")
    assert file_etag(tmp_path / "a.txt") == CURRENT
    assert file_etag(tmp_path / "missing.txt") is None
    assert file_etag(tmp_path) is None


@pytest.mark.parametrize(
    ("if_match", "if_none_match", "current", "expected"),
    [
        (None, None, CURRENT, None),
        (CURRENT, None, CURRENT, None),
        (f"{OTHER}, {CURRENT}", None, CURRENT, None),
        (OTHER, None, CURRENT, 412),
        (f"W/{CURRENT}", None, CURRENT, 412),  # If-Match compares strongly
        ("*", None, CURRENT, None),
        ("*", None, None, 412),
        (CURRENT, None, None, 412),
        ("garbage", None, CURRENT, 412),
        (None, "*", None, None),
        (None, "*", CURRENT, 412),
        (None, OTHER, CURRENT, None),
        (None, f"W/{CURRENT}", CURRENT, 412),  # If-None-Match compares weakly
        (OTHER, "*", CURRENT, 412),  # If-Match first
        (CURRENT, OTHER, CURRENT, None),
    ],
)
def test_preconditions_failure_follows_rfc_9110(
    if_match: str | None, if_none_match: str | None, current: str | None, expected: int | None
) -> None:
    assert Preconditions(if_match, if_none_match).failure(current) == expected


def test_preconditions_if_none_match_on_get_is_not_modified() -> None:
    assert Preconditions(None, CURRENT).failure(CURRENT, safe_method=True) == 304
    assert Preconditions(None, "*").failure(CURRENT, safe_method=True) == 304
    assert Preconditions(None, OTHER).failure(CURRENT, safe_method=True) is None


@pytest.mark.parametrize("value", ["0", "abc", '"', '"a", b', "W/", '"a",,"b"', ""])
def test_preconditions_from_headers_refuses_malformed_values(value: str) -> None:
    with pytest.raises(InvalidPrecondition):
        Preconditions.from_headers({"if-match": value})
    with pytest.raises(InvalidPrecondition):
        Preconditions.from_headers({"if-none-match": value})


@pytest.mark.parametrize("value", ["*", " * ", '"a"', 'W/"a"', '"a", W/"b" ,"c"', '""'])
def test_preconditions_from_headers_accepts_star_and_entity_tag_lists(value: str) -> None:
    assert Preconditions.from_headers({"if-match": value}).if_match == value


def _later_than(ctime_ns: int, scratch: Path) -> None:
    """Wait (bounded) until the file system's clock has ticked past ctime_ns, as seen on a scratch file."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        scratch.write_bytes(b"tick")
        if os.stat(scratch).st_ctime_ns > ctime_ns:
            return
    raise AssertionError("the file system's clock did not move within 5 s")


def _settled_cache() -> EtagCache:
    """A cache whose clock says every file changed long ago, as it will have a few seconds later."""
    return EtagCache(clock=lambda: time.time_ns() + 10 * SETTLE_NS)


def test_etag_cache_holds_until_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_bytes(b'{"v": 1}')
    cache = _settled_cache()
    seen = cache.lookup(path)
    assert seen is not None and seen.tag is None and seen.settled
    cache.remember(seen, file_etag(path) or "")
    assert (again := cache.lookup(path)) is not None and again.tag == file_etag(path)
    replacement = tmp_path / "new.json"
    replacement.write_bytes(b'{"v": 2}')
    replacement.replace(path)  # as the service writes: a new file renamed over the old
    assert (renamed := cache.lookup(path)) is not None and renamed.tag is None
    with path.open("ab") as grow:  # an edit in place changes the size
        grow.write(b" ")
    assert (grown := cache.lookup(path)) is not None and grown.tag is None
    assert cache.lookup(tmp_path) is None and cache.lookup(tmp_path / "missing") is None


def test_etag_cache_misses_a_same_size_rewrite_with_the_mtime_put_back(tmp_path: Path) -> None:
    path = tmp_path / "doc.txt"
    path.write_bytes(b"version one")
    cache = _settled_cache()
    seen = cache.lookup(path)
    assert seen is not None
    cache.remember(seen, etag_of(b"version one"))
    before = os.stat(path)
    _later_than(before.st_ctime_ns, tmp_path / "scratch")
    with open(path, "r+b") as handle:
        handle.write(b"version TWO")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # what `cp -p`, rsync or a script can do
    after = os.stat(path)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)
    rewritten = cache.lookup(path)
    assert rewritten is not None and rewritten.tag is None


def test_etag_cache_keeps_no_tag_for_a_file_changed_within_the_settle_time(tmp_path: Path) -> None:
    path = tmp_path / "doc.txt"
    path.write_bytes(b"fresh")
    cache = EtagCache()  # the real clock: the file changed a moment ago
    seen = cache.lookup(path)
    assert seen is not None and not seen.settled
    cache.remember(seen, etag_of(b"fresh"))
    assert (again := cache.lookup(path)) is not None and again.tag is None
