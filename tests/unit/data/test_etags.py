"""ETags and the If-Match / If-None-Match evaluation (RFC 9110 §13.2.2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.data.etags import EtagCache, InvalidPrecondition, Preconditions, etag_of, file_etag

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


def test_etag_cache_holds_until_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_bytes(b'{"v": 1}')
    cache = EtagCache()
    key, cached = cache.lookup(path)
    assert key is not None and cached is None
    cache.remember(key, file_etag(path) or "")
    assert cache.lookup(path)[1] == file_etag(path)
    replacement = tmp_path / "new.json"
    replacement.write_bytes(b'{"v": 2}')
    replacement.replace(path)  # as the service writes: a new file renamed over the old
    key, cached = cache.lookup(path)
    assert key is not None and cached is None
    with path.open("ab") as grow:  # an edit in place changes the size
        grow.write(b" ")
    assert cache.lookup(path)[1] is None
    assert cache.lookup(tmp_path) == (None, None) and cache.lookup(tmp_path / "missing") == (None, None)
