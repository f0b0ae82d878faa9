"""Generic per-event-type features: hand-computed values, no leakage, missing types, words."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime, timedelta

import numpy as np
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert

from wedsync_success.activity.models import DailyRollup
from wedsync_success.churn.cli import _vocabulary_options
from wedsync_success.churn.event_words import describe_generic, event_phrase
from wedsync_success.churn.explain import describe, group_of
from wedsync_success.churn.features import FeatureSpec, compute_features
from wedsync_success.churn.generic import EventFeatures, informative_pairs
from wedsync_success.churn.service import TrainOptions, choose_vocabulary
from wedsync_success.context import AppContext
from wedsync_success.suppliers.service import upsert_batch

AS_OF = date(2026, 5, 31)
VOCAB = EventFeatures(
    event_types=("task_created", "comment_posted", "never_seen"),
    pairs=(("comment_posted", "task_created"),),
)
SPEC = FeatureSpec(milestone_keys=(), events=VOCAB)


async def _suppliers(ctx: AppContext, n: int) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(n)]
    signed = datetime(2025, 1, 1, tzinfo=UTC).isoformat()
    items = [
        {
            "id": str(i),
            "business_name": f"Team {k}",
            "vendor_type": "planner",
            "country": "GB",
            "signed_up_at": signed,
            "plan_tier": "starter",
            "mrr_minor": 1000,
            "subscription_started_at": signed,
        }
        for k, i in enumerate(ids)
    ]
    async with ctx.db.transaction() as session:
        await upsert_batch(session=session, items=items, now=ctx.clock())
    return sorted(ids)


async def _rollups(ctx: AppContext, rows: list[tuple[uuid.UUID, int, str, int]]) -> None:
    """(supplier, days before AS_OF, type, count) rows; negative days are after AS_OF."""
    if not rows:
        return
    async with ctx.db.transaction() as session:
        await session.execute(
            insert(DailyRollup),
            [
                {"supplier_id": s, "day": AS_OF - timedelta(days=d), "event_type": t, "count": c}
                for s, d, t, c in rows
            ],
        )


def _values(frame: object, sid: uuid.UUID) -> dict[str, float]:
    row = frame.matrix[frame.supplier_ids.index(sid)]  # type: ignore[attr-defined]
    return dict(zip(frame.names, row.tolist(), strict=True))  # type: ignore[attr-defined]


async def test_values_by_hand(ctx: AppContext) -> None:
    a, b = await _suppliers(ctx, 2)
    await _rollups(
        ctx,
        [
            (a, 0, "task_created", 3),  # today: in every window
            (a, 10, "task_created", 5),  # in 28 and 90
            (a, 40, "task_created", 10),  # in 90 and the trend's previous 28
            (a, 2, "comment_posted", 4),
            (a, 30, "comment_posted", 2),  # previous 28 only
            (a, 200, "comment_posted", 9),  # beyond the look-back: never counts
            (b, 100, "comment_posted", 1),  # only outside every count window
        ],
    )
    async with ctx.db.sessions() as session:
        frame = await compute_features(session, spec=SPEC, as_of=AS_OF)
    va, vb = _values(frame, a), _values(frame, b)
    assert va["ev__task_created__7d"] == 3
    assert va["ev__task_created__28d"] == 8
    assert va["ev__task_created__90d"] == 18
    assert va["ev__task_created__days_28d"] == 2
    assert va["ev__task_created__days_since"] == 0
    assert va["ev__task_created__trend_28d"] == -0.2  # 8 against 10
    assert va["ev__comment_posted__28d"] == 4
    assert va["ev__comment_posted__days_since"] == 2
    assert va["ev__comment_posted__trend_28d"] == 1.0  # 4 against 2
    assert va["ev__comment_posted__per__task_created__28d"] == 0.5  # 4 / 8
    # Never happened (in the look-back): NaN, not the tenure; counts are zeros.
    assert math.isnan(va["ev__never_seen__days_since"])
    assert va["ev__never_seen__28d"] == 0
    assert va["ev__never_seen__90d"] == 0
    assert math.isnan(vb["ev__task_created__days_since"])
    assert vb["ev__comment_posted__days_since"] == 100
    assert vb["ev__comment_posted__90d"] == 0
    assert math.isnan(vb["ev__comment_posted__trend_28d"])
    assert math.isnan(vb["ev__comment_posted__per__task_created__28d"])
    # One supplier alone (the live path) gets the very same values.
    async with ctx.db.sessions() as session:
        one = await compute_features(session, spec=SPEC, as_of=AS_OF, supplier_ids=[a])
    assert one.names == frame.names
    np.testing.assert_array_equal(one.matrix[0], frame.matrix[frame.supplier_ids.index(a)])


_ROW = st.tuples(
    st.integers(0, 2), st.integers(0, 120), st.sampled_from(VOCAB.event_types), st.integers(1, 50)
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    before=st.lists(_ROW, max_size=25, unique_by=lambda r: r[:3]),
    after=st.lists(_ROW, min_size=1, max_size=25, unique_by=lambda r: r[:3]),
)
async def test_later_events_never_change_a_cutoff(
    ctx: AppContext,
    before: list[tuple[int, int, str, int]],
    after: list[tuple[int, int, str, int]],
) -> None:
    async with ctx.db.transaction() as session:
        await session.execute(delete(DailyRollup))
    ids = await _suppliers(ctx, 3)
    await _rollups(ctx, [(ids[s], d, t, c) for s, d, t, c in before])
    async with ctx.db.sessions() as session:
        first = await compute_features(session, spec=SPEC, as_of=AS_OF)
    # Later days: -1 .. -120 before AS_OF means after it.
    await _rollups(ctx, [(ids[s], -1 - d, t, c) for s, d, t, c in after])
    async with ctx.db.sessions() as session:
        second = await compute_features(session, spec=SPEC, as_of=AS_OF)
    assert first.supplier_ids == second.supplier_ids
    np.testing.assert_array_equal(first.matrix, second.matrix)


def test_plain_words() -> None:
    f = VOCAB.features
    assert describe_generic(f["ev__comment_posted__28d"], 12) == (
        "12 comments posted in the last 28 days"
    )
    assert (
        describe_generic(f["ev__comment_posted__28d"], 1) == "1 comment posted in the last 28 days"
    )
    assert describe_generic(f["ev__task_created__trend_28d"], -0.4) == (
        "Tasks created down 40 % in the last 28 days against the 28 before"
    )
    assert (
        describe_generic(f["ev__comment_posted__days_since"], 19) == "No comment posted in 19 days"
    )
    assert describe_generic(f["ev__never_seen__days_since"], math.nan) == (
        "No never seens in the last 180 days"
    )
    assert describe_generic(f["ev__comment_posted__per__task_created__28d"], 0.5) == (
        "0.5 comments posted per task created in the last 28 days"
    )
    assert event_phrase("reply", 3) == "replies"
    assert event_phrase("login", 2) == "logins"
    # Through the product's describe(), with the spec the model was saved with.
    assert describe("ev__task_created__7d", 0.0, spec=SPEC) == "No tasks created in the last 7 days"
    assert group_of("ev__task_created__7d") == "activity"


def test_informative_pairs_finds_the_ratio_that_matters() -> None:
    rng = np.random.default_rng(4)
    n = 4000
    created = rng.poisson(10, n).astype(np.float64) + 1
    churn = rng.random(n) < 0.3
    # Churners complete a smaller share of what they create; the counts alone say little.
    share = np.where(churn, 0.3, 0.7)
    completed = rng.binomial(created.astype(np.int64), share).astype(np.float64)
    noise = rng.poisson(5, n).astype(np.float64)
    counts = {"task_created": created, "task_completed": completed, "file_uploaded": noise}
    found = informative_pairs(counts, churn, limit=1)
    assert found in ((("task_completed", "task_created"),), (("task_created", "task_completed"),))
    assert informative_pairs(counts, churn, limit=0) == ()


def test_vocabulary_round_trips_and_rejects_nonsense() -> None:
    again = FeatureSpec.from_json(SPEC.to_json())
    assert again == SPEC
    assert again.names == SPEC.names
    assert FeatureSpec.from_json({"milestone_keys": []}).events == EventFeatures()
    collide = EventFeatures(event_types=("Task Created", "task-created"))
    assert len(set(collide.names)) == len(collide.names)
    for bad in (
        {"event_types": ("a", "a")},
        {"event_types": ("a",), "pairs": (("a", "b"),)},
        {"event_types": ("a",), "pairs": (("a", "a"),)},
    ):
        try:
            EventFeatures(**bad)  # type: ignore[arg-type]
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad}")


@given(st.lists(st.text(max_size=12), min_size=1, max_size=3))
def test_ratio_options_are_two_distinct_types_or_refused(ratios: list[str]) -> None:
    """``--ratio`` takes A/B; anything else is a clear error naming the option."""
    try:
        out = _vocabulary_options(None, None, ratios, None)
    except typer.BadParameter as exc:
        assert exc.param_hint == "--ratio"  # noqa: PT017 - the refusal names the option
        return
    for a, b in out["ratios"]:
        assert a.strip()
        assert b.strip()
        assert a != b


def test_the_vocabulary_leaves_role_types_to_the_domain_features() -> None:
    volumes = [
        ("login", 900),
        ("task_created", 500),
        ("subscription_changed", 400),
        ("comment_posted", 300),
        ("payment_received", 200),
        ("rare_thing", 1),
    ]
    chosen = choose_vocabulary(volumes, TrainOptions(top_event_types=3, ratios=()))
    # login is mapped by a role; subscription_* is the outcome; then the 3 most frequent.
    assert chosen.event_types == ("task_created", "comment_posted", "payment_received")
    listed = TrainOptions(
        top_event_types=1,
        event_types=("rare_thing", "never_seen"),
        ratios=(("comment_posted", "login"), ("task_created", "gone")),
    )
    chosen = choose_vocabulary(volumes, listed)
    # Listed types stay (even absent ones); a ratio only when both of its types occur; the
    # one most frequent type is login, listed through the ratio.
    assert chosen.event_types == ("rare_thing", "never_seen", "comment_posted", "login")
    assert chosen.pairs == (("comment_posted", "login"),)
    every = choose_vocabulary(volumes, TrainOptions(top_event_types=10, skip_role_types=False))
    assert "login" in every.event_types
    assert "subscription_changed" not in every.event_types
