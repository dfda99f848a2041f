"""Detection quality from the outside, as the acceptance runs it: a labelled stream (office hours, new
syndicates, bursts that must alert, bumps and ramps that must not) produced through `transactions`
to a real worker; the spike alerts of `pulse alerts list --json` are exactly the independent
oracle's, and scored by their event time they find the bursts without crying wolf."""

from __future__ import annotations

import json
from datetime import datetime

import orjson
import pytest

from pipeline.devtools import oracle
from pipeline.devtools.labelled import StreamSpec, generate, score
from tests.harness import Stack, Worker
from tests.integration.test_anomalies import wait_stored

pytestmark = pytest.mark.integration


def test_a_labelled_stream_gives_the_oracles_spikes_and_finds_its_bursts(
    stack: Stack, workers: list[Worker]
) -> None:
    spec = StreamSpec(
        syndicates=40,
        days=2.5,
        bursts=16,
        bumps=12,
        ramps=4,
        seed=21,
        burst_minutes=(2, 10),
        office_share=0.25,
        new_share=0.15,
    )
    stream = generate(spec)
    records = stream.records()
    stack.produce(orjson.dumps(r) for r in records)
    worker = Worker(stack).start()
    workers.append(worker)
    wait_stored(stack, worker, len(records), timeout=240)

    listed = json.loads(
        stack.pulse("alerts", "list", "--kind", "spike", "--limit", "100000", "--json").stdout
    )
    raised = {(a["syndicate_id"], a["transaction_id"]) for a in listed}
    expected = {(s, t) for kind, s, t in oracle.expected_alerts_fast(records) if kind == "spike"}
    assert raised == expected

    found = score(
        [(a["syndicate_id"], datetime.fromisoformat(a["event_time"])) for a in listed],
        stream.episodes,
        stream.syndicate_days,
    )
    # Small next to the benchmark's streams (PERFORMANCE.md), so a floor, not the targets.
    assert found.bursts_countable >= 5, "the stream must plant bursts worth finding"
    assert found.recall >= 0.75
    assert found.false_alerts <= 1
    assert all(a["details"]["chance"].endswith("by chance") for a in listed)
