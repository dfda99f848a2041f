from datetime import UTC, datetime

import pytest

from models.notification import (
    SMS_LIMIT,
    Channel,
    ContactError,
    RetryPolicy,
    mask,
    parse_channels,
    render_digest,
    render_email,
    render_sms,
    storm_window,
    validate_email,
    validate_phone,
)

GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

SPIKE = {
    "alert_id": "6f0c1d7e-1111-4222-8333-944455556666",
    "kind": "spike",
    "syndicate_id": "syn-03",
    "syndicate_name": "Seed Fund",
    "transaction_id": "syn-03-316",
    "observed": "24",
    "expected": "21.00",
    "ratio": "11.2941",
    "event_time": "2026-03-01T02:01:40+00:00",
    "window_start": "2026-03-01T01:56:40+00:00",
    "window_end": "2026-03-01T02:01:40+00:00",
    "details": {"baseline_per_5min": "2.13", "escalation": False, "current_count": 24},
}
LARGE = {
    "alert_id": "0a1b2c3d-1111-4222-8333-944455556666",
    "kind": "large_transaction",
    "syndicate_id": "syn-07",
    "syndicate_name": None,
    "transaction_id": "tx-9",
    "observed": "25000.00",
    "expected": "10000.00",
    "ratio": "2.5000",
    "event_time": "2026-03-01T10:15:00+00:00",
    "details": {"investor_id": "inv-004512", "currency": "USD"},
}


EVIDENT_SPIKE = {
    **SPIKE,
    "observed": "42",
    "expected": "31.00",
    "ratio": "13.5484",
    "details": {
        "current_count": 42,
        "window_seconds": 120,
        "usual": "3.10",
        "baseline_count": 93,
        "prior": False,
        "baseline_per_5min": "7.75",
        "chance_log10": "-7.02",
        "chance": "1 in 10 million by chance",
        "escalation": False,
    },
}


def test_spike_sms_gives_the_evidence_in_words():
    text = render_sms(EVIDENT_SPIKE)
    assert text == (
        "Pulse: Spike in Seed Fund: 42 transactions in 2 min, 13.5x the usual 3.1 per 2 min"
        " (last hour); 1 in 10 million by chance."
        " Alert 6f0c1d7e. Reply ACK 6f0c1d7e to acknowledge."
    )


def test_a_young_syndicates_spike_says_its_usual_rate_is_from_little_history():
    young = {**EVIDENT_SPIKE, "details": {**EVIDENT_SPIKE["details"], "prior": True}}
    assert "(little history yet)" in render_sms(young)
    _, body = render_email(young)
    assert "42 transactions in 2 min, 13.5\u00d7 the usual 3.1 per 2 min" in body


def test_a_spike_with_days_of_history_gives_the_usual_rate_at_this_hour_too():
    daily = {
        **EVIDENT_SPIKE,
        "details": {
            **EVIDENT_SPIKE["details"],
            "usual_at_this_hour": "2.80",
            "days_at_this_hour": 3,
        },
    }
    assert "the usual 3.1 per 2 min (last hour; 2.8 at this hour); 1 in 10 million" in render_sms(
        daily
    )


def test_a_spike_just_after_opening_says_its_usual_rate_is_this_hour_on_previous_days():
    opening = {
        **EVIDENT_SPIKE,
        "details": {
            **EVIDENT_SPIKE["details"],
            "known_by": "this hour on previous days",
            "usual_at_this_hour": "3.10",
            "days_at_this_hour": 2,
        },
    }
    assert "the usual 3.1 per 2 min (this hour on previous days); 1 in 10 million" in render_sms(
        opening
    )


def test_a_spike_stored_before_the_evidence_rule_reads_as_it_did():
    text = render_sms(SPIKE)
    assert text == (
        "Pulse: Spike in Seed Fund: 24 transactions in 5 min, 11.3x the hourly average of 2.1 per 5 min."
        " Alert 6f0c1d7e. Reply ACK 6f0c1d7e to acknowledge."
    )


def test_large_transaction_sms_has_amount_time_and_a_masked_investor():
    text = render_sms(LARGE)
    assert "25,000.00 USD at 2026-03-01 10:15:00 UTC" in text
    assert "threshold of 10,000.00" in text
    assert "inv-004512" not in text
    assert "********12" in text
    assert "syn-07" in text  # no name: the id stands in


@pytest.mark.parametrize(
    "alert",
    [
        SPIKE,
        EVIDENT_SPIKE,
        LARGE,
        {**LARGE, "syndicate_name": "Ω" * 200},
        {**SPIKE, "syndicate_name": "基金 🚀 ~[x]"},
    ],
)
def test_sms_fits_two_gsm7_segments(alert):
    text = render_sms(alert)
    assert len(text) <= SMS_LIMIT
    assert set(text) <= GSM7
    code = alert["alert_id"][:8]
    assert text.endswith(f"Alert {code}. Reply ACK {code} to acknowledge.")


def test_email_has_context_to_act_on():
    subject, body = render_email(SPIKE)
    assert subject == "[Pulse] Spike in Seed Fund"
    assert "24 transactions in 5 min, 11.3\u00d7 the hourly average of 2.1 per 5 min" in body
    assert "Alert id: 6f0c1d7e-1111-4222-8333-944455556666" in body
    assert "Acknowledge" not in body
    _, linked = render_email(SPIKE, ack_url="https://pulse.example/alerts/ack?token=t")
    assert linked.endswith(
        "Acknowledge it (one click, this alert only): https://pulse.example/alerts/ack?token=t"
    )
    _, large_body = render_email(LARGE)
    assert "inv-004512" not in large_body
    assert "Transaction: tx-9" in large_body
    assert (
        "Transaction of 25,000.00 USD at 2026-03-01 10:15:00 UTC, above the threshold of 10,000.00."
        in large_body
    )


ESCALATED = {**LARGE, "escalation": {"level": 2, "open_since": "2026-03-01T10:15:02+00:00"}}


def test_an_escalation_says_so_and_since_when_the_alert_is_open():
    text = render_sms(ESCALATED)
    assert text.startswith(
        "Pulse Escalated to level 2: open since 2026-03-01 10:15:02 UTC. Large transaction in syn-07:"
    )
    assert len(text) <= SMS_LIMIT
    assert set(text) <= GSM7
    subject, body = render_email(ESCALATED)
    assert subject == "[Pulse] Escalation: Large transaction in syn-07"
    assert body.startswith(
        "Escalated to level 2: open since 2026-03-01 10:15:02 UTC; nobody has acknowledged it yet."
    )
    # A first notice says nothing of escalation.
    assert "scalat" not in render_sms(LARGE) + render_email(LARGE)[0] + render_email(LARGE)[1]


def test_digest_summarises_the_held_alerts():
    subject, body = render_digest(Channel.EMAIL, [SPIKE, LARGE, LARGE])
    assert subject == "[Pulse] Digest: 3 alerts"
    assert body.startswith("3 more alerts (1 spikes, 2 large transactions) in Seed Fund, syn-07")
    _, sms = render_digest(Channel.SMS, [SPIKE] * 40)
    assert len(sms) <= SMS_LIMIT


def test_retry_schedule_with_jitter_then_exhausted():
    policy = RetryPolicy((30.0, 120.0))
    assert policy.next_delay(1, 0.5) == 30.0
    assert policy.next_delay(1, 0.0) == 24.0
    assert policy.next_delay(2, 0.999) == pytest.approx(143.9, abs=0.1)
    assert policy.next_delay(3, 0.5) is None


def test_storm_windows_are_fixed_ten_minute_slots():
    assert storm_window(datetime(2026, 3, 1, 10, 27, 13, 5, tzinfo=UTC)) == datetime(
        2026, 3, 1, 10, 20, tzinfo=UTC
    )
    assert storm_window(datetime(2026, 3, 1, 10, 30, tzinfo=UTC)) == datetime(
        2026, 3, 1, 10, 30, tzinfo=UTC
    )


def test_contact_validation():
    assert validate_phone("+14155550123") == "+14155550123"
    for bad in ("4155550123", "+0123456789", "+1 415 555", "+1415555012345678"):
        with pytest.raises(ContactError, match=r"E\.164"):
            validate_phone(bad)
    assert validate_email("ann@fund.example") == "ann@fund.example"
    for bad in ("ann", "ann@", "a b@x.io", "ann@example"):
        with pytest.raises(ContactError):
            validate_email(bad)
    assert parse_channels("email, sms,sms") == [Channel.EMAIL, Channel.SMS]
    with pytest.raises(ContactError, match="choose from"):
        parse_channels("pager")


def test_mask_keeps_two_characters():
    assert mask("inv-004512") == "********12"
    assert mask("ab") == "***ab"
    assert mask(None) == "-"
