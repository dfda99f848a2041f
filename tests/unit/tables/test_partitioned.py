"""on_partition makes Faust see a current event for table writes on the batch path. It sets Faust's
private ``_current_event``: this fails if an upgrade renames or changes it."""

from __future__ import annotations

from faust.streams import current_event

from tables.partitioned import on_partition


def test_table_writes_in_the_block_belong_to_the_named_partition():
    assert current_event() is None
    with on_partition("transactions", 3):
        event = current_event()
        assert event is not None
        assert (event.message.topic, event.message.partition) == ("transactions", 3)
        with on_partition("transactions", 1):
            assert current_event().message.partition == 1
        assert current_event().message.partition == 3
    assert current_event() is None
