"""The character edit distance the analytics and the evals share: exactly 1 − 2·LCS / (|a| + |b|)
(the normalised insert/delete distance), and cheap enough for a report over every edited draft."""

from __future__ import annotations

import random
import time

import pytest

from agent.edit_distance import edit_distance


def longest_common_subsequence(a: str, b: str) -> int:
    """The textbook dynamic programme: an independent count."""
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def test_the_character_distance_is_one_minus_the_share_of_a_longest_common_subsequence() -> None:
    rng = random.Random(7)
    pairs = [
        ("".join(rng.choice("abc ") for _ in range(rng.randint(1, 40))),)
        + ("".join(rng.choice("abc ") for _ in range(rng.randint(1, 40))),)
        for _ in range(200)
    ]
    for a, b in pairs:
        a, b = a.strip() or "a", b.strip() or "b"
        expected = 1 - 2 * longest_common_subsequence(a, b) / (len(a) + len(b))
        assert edit_distance(a, b).chars == pytest.approx(expected, abs=1e-6), (a, b)


def test_a_long_draft_is_measured_in_milliseconds_of_cpu() -> None:
    """The dashboard measures every edited draft on each load: a 6,000-character email and its
    edit must cost well under a tenth of a second (CPU time, so a loaded machine does not
    matter)."""
    rng = random.Random(3)
    words = [
        rng.choice(("route", "miles", "fleet", "planning", "driver", "depot")) for _ in range(800)
    ]
    draft = " ".join(words)
    approved = " ".join(w for n, w in enumerate(words) if n % 9) + " P.S. see you"
    started = time.process_time()
    for _ in range(5):
        edit_distance(draft, approved)
    assert (time.process_time() - started) / 5 < 0.05
