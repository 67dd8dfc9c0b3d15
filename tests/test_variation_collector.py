"""The comparison's freeze of the caller's objects (service/variation/collector.py) is undone after it."""

import gc

import pytest

from service.variation.collector import own_objects_only

held = [[] for _ in range(10)]  # objects of the caller's, tracked by the collector


@own_objects_only
def seen_frozen() -> int:
    return gc.get_freeze_count()


@own_objects_only
def nested() -> tuple[int, int]:
    return seen_frozen(), gc.get_freeze_count()


def test_the_callers_objects_are_frozen_during_a_comparison_and_returned_after() -> None:
    assert gc.get_freeze_count() == 0
    assert seen_frozen() >= len(held)
    assert gc.get_freeze_count() == 0


def test_a_comparison_inside_another_leaves_the_freeze_to_the_outer_one() -> None:
    inner, after_inner = nested()
    assert inner > 0 and after_inner > 0  # the inner one did not unfreeze what the outer froze
    assert gc.get_freeze_count() == 0


def test_a_process_that_froze_its_own_objects_keeps_them_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert seen_frozen() >= frozen
        assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()


def test_an_error_in_the_comparison_still_returns_the_objects() -> None:
    @own_objects_only
    def fails() -> None:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        fails()
    assert gc.get_freeze_count() == 0
