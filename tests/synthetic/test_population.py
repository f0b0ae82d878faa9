"""The synthetic population: deterministic, internally consistent and realistic enough to learn.

Most tests share one small population (300 suppliers x 12 months) so the suite stays fast;
the realism checks compare rates per customer-day, so the population growing over the window
does not masquerade as seasonality.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from wedsync_success.synthetic import (
    EVENT_TYPE_NAMES,
    Population,
    generate_population,
    monthly_logo_churn,
)

END = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)
SUPPLIERS = 300
MONTHS = 12
DAY = 86_400

VENDOR_TYPES = {
    "photographer", "videographer", "venue", "florist", "planner", "caterer", "band_dj", "cake",
    "hair_makeup", "stationery", "other",
}  # fmt: skip
CURRENCY_OF_COUNTRY = {
    "GB": "GBP", "IE": "EUR", "FR": "EUR", "ES": "EUR", "IT": "EUR", "US": "USD", "AU": "AUD",
}  # fmt: skip
MONEY_TYPES = {"invoice_sent", "payment_received", "payment_failed"}


@pytest.fixture(scope="module")
def population() -> Population:
    return generate_population(suppliers=SUPPLIERS, months=MONTHS, seed=11, end=END)


@pytest.fixture(scope="module")
def records(population: Population) -> list[dict[str, Any]]:
    return population.events.records(0, len(population.events), population.suppliers)


def _seconds(population: Population) -> npt.NDArray[np.int64]:
    return population.events.occurred_at.astype(np.int64)


def _customer_span(population: Population) -> tuple[npt.NDArray[np.float64], ...]:
    """Per supplier, the seconds it is a customer inside the window: [lo, hi)."""
    signup = np.array([s.signed_up_at.timestamp() for s in population.suppliers])
    churn = np.array(
        [t.churned_at.timestamp() if t.churned_at else np.inf for t in population.truth]
    )
    lo = np.maximum(signup, population.start.timestamp())
    hi = np.minimum(churn, population.end.timestamp())
    return lo, hi


def _rate_per_customer_day(population: Population, types: set[str], months: list[int]) -> float:
    """Events of ``types`` per customer-day, over the whole calendar months listed (1-12)."""
    lo, hi = _customer_span(population)
    seconds = _seconds(population)
    is_type = np.isin(population.events.event_type, list(types))
    events = 0
    customer_days = 0.0
    month = datetime(population.start.year, population.start.month, 1, tzinfo=UTC)
    while month < population.end:
        following = (month + timedelta(days=32)).replace(day=1)
        whole = month >= population.start and following <= population.end
        if whole and month.month in months:
            a, b = month.timestamp(), following.timestamp()
            customer_days += float(np.clip(np.minimum(hi, b) - np.maximum(lo, a), 0, None).sum())
            events += int((is_type & (seconds >= a) & (seconds < b)).sum())
        month = following
    return events / (customer_days / DAY)


def test_same_arguments_give_the_same_population(population: Population) -> None:
    again = generate_population(suppliers=SUPPLIERS, months=MONTHS, seed=11, end=END)

    assert again == population
    assert again.events.event_id == population.events.event_id
    assert [s.id for s in again.suppliers] == [s.id for s in population.suppliers]


def test_another_seed_gives_another_population(population: Population) -> None:
    other = generate_population(suppliers=SUPPLIERS, months=MONTHS, seed=12, end=END)

    assert other != population
    assert {s.id for s in other.suppliers}.isdisjoint({s.id for s in population.suppliers})


def test_window_is_the_months_before_end(population: Population) -> None:
    assert population.end == END
    assert population.start == datetime(2025, 11, 24, 15, 30, tzinfo=UTC)


def test_naive_end_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        generate_population(suppliers=5, months=2, end=datetime(2026, 1, 1))


def test_sizes_and_archetype_shares() -> None:
    big = generate_population(suppliers=3000, months=1, seed=3, end=END)
    shares = Counter(t.archetype for t in big.truth)
    expected = {
        "thriving": 0.20,
        "steady": 0.40,
        "slow_starter": 0.15,
        "declining": 0.15,
        "dormant": 0.10,
    }

    assert len(big.suppliers) == len(big.truth) == 3000
    assert [t.supplier_id for t in big.truth] == [s.id for s in big.suppliers]
    for name, share in expected.items():
        assert shares[name] / 3000 == pytest.approx(share, abs=0.03), name
    before_window = sum(s.signed_up_at < big.start for s in big.suppliers) / 3000
    assert before_window == pytest.approx(0.15, abs=0.03)
    assert Counter(s.country for s in big.suppliers).most_common(1)[0][0] == "GB"


def test_supplier_fields_are_consistent(population: Population) -> None:
    trial_cutoff = END - timedelta(days=14)
    for supplier, truth in zip(population.suppliers, population.truth, strict=True):
        assert supplier.vendor_type in VENDOR_TYPES
        assert supplier.currency == CURRENCY_OF_COUNTRY[supplier.country]
        assert supplier.signed_up_at.tzinfo is not None
        assert supplier.signed_up_at < END
        assert supplier.subscription_started_at == supplier.signed_up_at
        assert (supplier.mrr_minor == 0) == (supplier.plan_tier == "free")
        if supplier.currency == "GBP":
            expected = {"free": 0, "starter": 1900, "professional": 4900, "scale": 9900}
            assert supplier.mrr_minor == expected[supplier.plan_tier]
        assert 1 <= len(supplier.users) <= 4
        assert supplier.users[0].role == "owner"
        assert {u.role for u in supplier.users} <= {"owner", "admin", "assistant"}
        assert 0.0 <= truth.latent_engagement <= 1.0

        cancelled = supplier.subscription_status == "cancelled"
        assert cancelled == truth.churned
        assert (supplier.subscription_ended_at is not None) == cancelled
        assert (supplier.cancellation_reason is not None) == cancelled
        assert supplier.subscription_ended_at == truth.churned_at
        if not cancelled:
            trialing = supplier.signed_up_at > trial_cutoff
            assert (supplier.subscription_status == "trialing") == trialing
    emails = [u.email for s in population.suppliers for u in s.users]
    assert len(set(emails)) == len(emails)


def test_events_are_sorted_bounded_and_uniquely_named(population: Population) -> None:
    events = population.events
    seconds = _seconds(population)
    lo, hi = _customer_span(population)
    supplier = events.supplier_index

    assert len(events) == len(events.event_id) == seconds.size == events.amount_minor.size
    assert len(set(events.event_id)) == len(events)
    assert events.occurred_at.dtype == np.dtype("datetime64[s]")
    assert np.all(np.diff(seconds) >= 0)
    assert np.all(seconds >= lo[supplier])
    assert np.all(seconds < population.end.timestamp())
    cancelled = events.event_type == "subscription_cancelled"
    assert np.all(seconds[~cancelled] < hi[supplier[~cancelled]])
    assert set(np.unique(events.event_type).tolist()) <= set(EVENT_TYPE_NAMES)
    n_users = np.array([len(s.users) for s in population.suppliers])
    assert np.all(events.user_index >= -1)
    assert np.all(events.user_index < n_users[supplier])
    money = np.isin(events.event_type, list(MONEY_TYPES))
    assert np.all(events.amount_minor[money] > 0)
    assert np.all(events.amount_minor[~money] == 0)


def test_churned_suppliers_go_quiet_after_cancelling(population: Population) -> None:
    events = population.events
    seconds = _seconds(population)
    cancellations = Counter(
        events.supplier_index[events.event_type == "subscription_cancelled"].tolist()
    )
    churned = [i for i, t in enumerate(population.truth) if t.churned]

    assert churned
    assert set(cancellations) == set(churned)
    assert set(cancellations.values()) == {1}
    for i in churned:
        churned_at = population.truth[i].churned_at
        assert churned_at is not None
        mine = events.supplier_index == i
        assert seconds[mine].max() == int(churned_at.timestamp())
        assert events.event_type[mine][-1] == "subscription_cancelled"


def test_engagement_fades_before_cancellation(population: Population) -> None:
    events = population.events
    seconds = _seconds(population)
    logins = events.event_type == "login"
    last_month = 0
    earlier_month = 0
    for i, (supplier, truth) in enumerate(zip(population.suppliers, population.truth, strict=True)):
        if truth.churned_at is None:
            continue
        churn = truth.churned_at.timestamp()
        if churn - max(supplier.signed_up_at.timestamp(), population.start.timestamp()) < 90 * DAY:
            continue
        mine = seconds[logins & (events.supplier_index == i)]
        last_month += int(((mine >= churn - 28 * DAY) & (mine < churn)).sum())
        earlier_month += int(((mine >= churn - 84 * DAY) & (mine < churn - 56 * DAY)).sum())

    assert earlier_month > 0
    assert last_month < 0.75 * earlier_month


def test_churn_is_higher_for_declining_and_dormant(population: Population) -> None:
    thriving = monthly_logo_churn(population, paying_only=False, archetype="thriving")
    declining = monthly_logo_churn(population, paying_only=False, archetype="declining")
    dormant = monthly_logo_churn(population, paying_only=False, archetype="dormant")

    assert declining > 1.5 * thriving
    assert dormant > 2 * thriving


def test_monthly_churn_among_paying_suppliers_is_realistic(population: Population) -> None:
    assert 0.02 <= monthly_logo_churn(population) <= 0.10


def test_wedding_seasonality(population: Population) -> None:
    enquiries = {"form_submitted"}
    assert _rate_per_customer_day(population, enquiries, [1, 2, 3]) > 1.3 * (
        _rate_per_customer_day(population, enquiries, [6, 7, 8])
    )
    client_work = {"invoice_sent", "journey_started", "journey_completed"}
    assert _rate_per_customer_day(population, client_work, [5, 6, 7, 8, 9]) > 1.3 * (
        _rate_per_customer_day(population, client_work, [11, 12, 1])
    )


def test_fewer_logins_on_saturdays(population: Population) -> None:
    logins = population.events.occurred_at[population.events.event_type == "login"]
    weekday = (logins.astype("datetime64[D]").astype(np.int64) + 3) % 7  # Monday = 0
    per_day = np.bincount(weekday, minlength=7)

    assert per_day[5] < 0.6 * per_day[:5].mean()


def test_onboarding_comes_first_and_slow_starters_are_slow(population: Population) -> None:
    events = population.events
    seconds = _seconds(population)
    start = population.start.timestamp()
    profile_counts = Counter(
        events.supplier_index[events.event_type == "profile_completed"].tolist()
    )
    assert set(profile_counts.values()) == {1}

    first_client: dict[str, list[float]] = {"thriving": [], "slow_starter": []}
    completed = 0
    eligible = 0
    for i, (supplier, truth) in enumerate(zip(population.suppliers, population.truth, strict=True)):
        signup = supplier.signed_up_at.timestamp()
        if signup < start or signup > END.timestamp() - 120 * DAY:
            continue
        if truth.archetype != "dormant":
            eligible += 1
            completed += i in profile_counts
        if truth.archetype in first_client:
            clients = seconds[(events.supplier_index == i) & (events.event_type == "client_added")]
            first_client[truth.archetype].append(
                (clients[0] - signup) / DAY if clients.size else 365.0
            )

    assert completed / eligible > 0.8
    assert np.median(first_client["slow_starter"]) > 3 * np.median(first_client["thriving"])


def test_volume_and_mix(population: Population) -> None:
    types = Counter(population.events.event_type.tolist())
    per_supplier_month = len(population.events) / (SUPPLIERS * MONTHS)

    assert 12 <= per_supplier_month <= 50
    assert 0.3 <= types["login"] / len(population.events) <= 0.65
    assert 0 < types["calendar_synced"] < 0.01 * len(population.events)
    for name in ("payment_failed", "referral_sent", "referral_converted", "support_ticket_opened"):
        assert types[name] > 0, name


def test_subscription_payments_charge_the_plan_price(
    population: Population, records: list[dict[str, Any]]
) -> None:
    changed = {r["supplier_id"] for r in records if r["type"] == "subscription_changed"}
    by_id = {str(s.id): s for s in population.suppliers}
    charges = [
        r
        for r in records
        if r["type"] == "payment_received" and r["properties"]["kind"] == "subscription"
    ]

    assert charges
    for record in charges:
        supplier = by_id[record["supplier_id"]]
        assert record["user_id"] is None
        assert record["properties"]["currency"] == supplier.currency
        if record["supplier_id"] not in changed:
            assert record["properties"]["amount"] == supplier.mrr_minor
    past_due = [s for s in population.suppliers if s.subscription_status == "past_due"]
    failed = {r["supplier_id"] for r in records if r["type"] == "payment_failed"}
    assert all(str(s.id) in failed for s in past_due)


def test_records_are_api_shaped(population: Population, records: list[dict[str, Any]]) -> None:
    assert len(records) == len(population.events)
    json.dumps(records)  # JSON-serialisable as they are
    users = {str(s.id): {str(u.id) for u in s.users} for s in population.suppliers}
    for record in records:
        assert set(record) == {
            "event_id", "supplier_id", "user_id", "type", "occurred_at", "properties",
        }  # fmt: skip
        assert record["occurred_at"].endswith("+00:00")
        occurred = datetime.fromisoformat(record["occurred_at"])
        assert occurred.utcoffset() == timedelta(0)
        assert record["user_id"] is None or record["user_id"] in users[record["supplier_id"]]
        properties = record["properties"]
        if record["type"] in MONEY_TYPES:
            assert isinstance(properties["amount"], int)
            assert properties["amount"] > 0
            assert isinstance(properties["currency"], str)
        elif record["type"] == "feature_used":
            assert isinstance(properties["feature"], str)
        elif record["type"] == "subscription_cancelled":
            assert isinstance(properties["reason"], str)


def test_records_slice_matches_the_columns(population: Population) -> None:
    events = population.events
    part = events.records(10, 20, population.suppliers)

    assert [r["event_id"] for r in part] == events.event_id[10:20]
    assert [r["type"] for r in part] == events.event_type[10:20].tolist()
    assert events.records(len(events), len(events) + 5, population.suppliers) == []
