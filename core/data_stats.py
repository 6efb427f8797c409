"""The data report's arithmetic on token lengths: percentiles, a histogram, padding at a batch
size, packing fill. Plain Python on lists of integers; nothing here tokenizes or loads data.
"""

from __future__ import annotations

import bisect
import math
import random

PERCENTILES = (50, 90, 99)
HISTOGRAM_BINS = 10
# LengthGroupedSampler (args.group_by_length) sorts rows by length within megabatches of this
# many batches.
MEGABATCH_BATCHES = 50


def percentile(sorted_values: list[int], q: float) -> int:
    """The nearest-rank percentile: the smallest value with at least q% of the values at or below it."""
    if not sorted_values:
        return 0
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def length_stats(lengths: list[int]) -> dict:
    """count, mean, p50/p90/p99 (nearest rank), max, total."""
    ordered = sorted(lengths)
    stats = {"count": len(ordered), "total": sum(ordered), "max": ordered[-1] if ordered else 0,
             "mean": round(sum(ordered) / len(ordered), 1) if ordered else 0.0}
    for q in PERCENTILES:
        stats[f"p{q}"] = percentile(ordered, q)
    return stats


def _ranges(lo: int, hi: int, n: int) -> list[tuple[int, int]]:
    """At most n equal-width ranges covering lo..hi, ends inclusive."""
    width = max(1, math.ceil((hi - lo + 1) / max(1, n)))
    return [(start, min(hi, start + width - 1)) for start in range(lo, hi + 1, width)]


def histogram(lengths: list[int], bins: int = HISTOGRAM_BINS, limit: int | None = None) -> list[dict]:
    """Equal-width bins from the shortest to the longest length: [{lo, hi, count}], ends inclusive.

    With a `limit` (max_length) below the longest length, one bin ends on it, so the bins above
    it hold exactly the sequences that get cut.
    """
    if not lengths:
        return []
    low, top = min(lengths), max(lengths)
    if limit and low <= limit < top:
        below = min(bins - 1, max(1, round(bins * (limit - low + 1) / (top - low + 1))))
        ranges = _ranges(low, limit, below) + _ranges(limit + 1, top, bins - below)
    else:
        ranges = _ranges(low, top, bins)
    his = [hi for _, hi in ranges]
    counts = [0] * len(ranges)
    for n in lengths:
        counts[bisect.bisect_left(his, n)] += 1
    return [{"lo": lo, "hi": hi, "count": c} for (lo, hi), c in zip(ranges, counts)]


def batches(num_rows: int, batch_size: int, seed: int, lengths: list[int] | None = None) -> list[list[int]]:
    """Row indices batched as a training epoch draws them: shuffled (the Trainer's random
    sampler), or, given `lengths` (group_by_length), sorted longest first within megabatches."""
    order = list(range(num_rows))
    random.Random(seed).shuffle(order)
    if lengths is not None:
        size = batch_size * MEGABATCH_BATCHES
        order = [i for start in range(0, num_rows, size) for i in sorted(order[start:start + size], key=lambda j: -lengths[j])]
    return [order[i:i + batch_size] for i in range(0, num_rows, batch_size)]


def padding(rows: list[list[int]], batch_size: int, seed: int, multiple: int | None = None,
            together: bool = False, group_by_length: bool = False) -> dict:
    """Pad tokens at `batch_size`: each batch padded to its longest sequence (rounded up to
    `multiple`). A row holds one length per sequence it trains on; `together` pads all of a
    batch's sequences to one length (chosen and rejected share a batch), else each slot apart
    (a seq2seq input and its target)."""
    batch_size = max(1, int(batch_size))
    longest = [max(r) if r else 0 for r in rows]
    real = pad = 0
    for batch in batches(len(rows), batch_size, seed, longest if group_by_length else None):
        members = [rows[i] for i in batch]
        slots = [[n for r in members for n in r]] if together else [[r[k] for r in members if k < len(r)] for k in range(max(len(r) for r in members))]
        for slot in slots:
            width = max(slot)
            if multiple:
                width = math.ceil(width / multiple) * multiple
            real += sum(slot)
            pad += width * len(slot) - sum(slot)
    return {"batch_size": batch_size, "real_tokens": real, "pad_tokens": pad,
            "fraction": round(pad / (real + pad), 4) if real + pad else 0.0}


def packing(packed_lengths: list[int], max_length: int, sample_rows: int, total_rows: int) -> dict:
    """Packed sequences in the sample, the estimate for the whole split, and how full they are."""
    packed = len(packed_lengths)
    estimate = round(packed * total_rows / sample_rows) if sample_rows else packed
    fill = sum(packed_lengths) / (packed * max_length) if packed and max_length else 0.0
    return {"sequences": packed, "estimated_total": estimate, "fill": round(fill, 4), "max_length": max_length}
