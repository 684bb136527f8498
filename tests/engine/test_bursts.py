"""Bursts: concentrated output scores high, evenly spread output scores zero."""

from bifrost.engine.bursts import BUCKETS, bucket_shift, burst, widen


def test_bucket_shift_grows_with_the_log() -> None:
    assert bucket_shift(10, 4) == 4
    assert bucket_shift(64 * 16, 4) == 5
    assert bucket_shift(1_000_000, 4) == 14


def test_widen_keeps_the_total_and_halves_the_resolution() -> None:
    counts = list(range(BUCKETS))
    wider = widen(counts, 1)
    assert sum(wider) == sum(counts)
    assert wider[:2] == [1, 5]
    assert wider[32:] == [0] * 32


def test_a_storm_is_a_burst_and_a_steady_trickle_is_not() -> None:
    storm = [0] * BUCKETS
    storm[40] = 500
    steady = [8] * BUCKETS
    assert burst(storm, 10, 64 << 10) > 0.9
    assert burst(steady, 10, 64 << 10) == 0.0
    assert burst([1] + [0] * (BUCKETS - 1), 10, 64 << 10) == 0.0  # too few to tell
