"""The managers' verdicts as labels: a candidate setting is scored by the false positives it no
longer raises and the other alerts it drops."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from models.anomaly import Alert, AlertKind
from models.backtest import LiveAlert, score_labels

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def live(n: int, at: datetime, false_positive: bool, kind: str = "spike") -> LiveAlert:
    return LiveAlert(f"00000000-0000-4000-8000-{n:012d}", kind, "syn-1", at, false_positive)


def candidate(at: datetime, syndicate: str = "syn-1", alert_id: str | None = None) -> Alert:
    return Alert(
        alert_id=uuid.UUID(alert_id) if alert_id else uuid.uuid4(),
        kind=AlertKind.SPIKE,
        syndicate_id=syndicate,
        transaction_id="t",
        observed=Decimal(10),
        expected=Decimal(10),
        ratio=None,
        event_time=at,
    )


def test_a_false_positive_the_candidate_no_longer_raises_counts_as_quieted():
    stored = [live(1, T0, True), live(2, T0 + timedelta(hours=1), True), live(3, T0, False)]
    # The candidate still raises the first false positive (9 minutes off: the same episode) and
    # the other alert, but not the second false positive.
    raised = [candidate(T0 + timedelta(minutes=9)), candidate(T0 - timedelta(minutes=1))]
    score = score_labels(stored, raised)
    assert (score.false_positives, score.false_positives_still_raised) == (2, 1)
    assert (score.other_live, score.other_live_dropped) == (1, 0)
    assert score.words().startswith("Of 2 alerts resolved as false positives")


def test_another_syndicate_or_a_later_episode_is_not_the_same_alert():
    stored = [live(1, T0, False)]
    raised = [candidate(T0, syndicate="syn-2"), candidate(T0 + timedelta(minutes=11))]
    assert score_labels(stored, raised).other_live_dropped == 1


def test_a_large_transaction_is_the_same_only_with_the_same_id():
    same = live(4, T0, True, kind="large_transaction")
    assert score_labels([same], [candidate(T0)]).false_positives_still_raised == 0
    assert (
        score_labels([same], [candidate(T0, alert_id=same.alert_id)]).false_positives_still_raised
        == 1
    )


def test_without_labels_it_says_so():
    assert "no labels" in score_labels([live(1, T0, False)], []).words()
