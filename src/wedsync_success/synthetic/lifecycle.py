"""One-off events of a supplier's life: first login, onboarding steps, plan change, cancellation.

These are the events milestones are made of. They are placed at the times drawn in
``profiles`` (onboarding, plan change) and ``churn`` (cancellation), and they bound the daily
activity: the first form, client and journey come from here, and the matching daily activity
only starts after them.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from wedsync_success.synthetic import catalog as cat
from wedsync_success.synthetic.batch import EventBatch
from wedsync_success.synthetic.churn import ChurnTimeline
from wedsync_success.synthetic.profiles import NEVER, SupplierFrame

IntArray = npt.NDArray[np.int64]

OWNER = 0


def _once(rows: IntArray, sec: IntArray, code: int, detail: int | IntArray = 0) -> EventBatch:
    happens = sec < NEVER
    detail_col = detail[happens] if isinstance(detail, np.ndarray) else detail
    return EventBatch.make(rows[happens], code, sec[happens], user=OWNER, detail=detail_col)


def lifecycle_events(
    rng: np.random.Generator,
    frame: SupplierFrame,
    timeline: ChurnTimeline,
    reason: IntArray,
    lo: IntArray,
    hi: IntArray,
) -> EventBatch:
    """The one-off events of a group of suppliers, kept within ``[lo, hi)``; plus cancellations
    (which happen exactly at ``hi`` for suppliers who churn)."""
    n = len(frame)
    rows = np.arange(n, dtype=np.int64)
    event = cat.EventCode
    first_login = frame.signup_sec + rng.integers(20, 600, n)
    change_detail = (frame.tier0 << 2) | frame.tier1
    cancel_login = np.where(timeline.churned, timeline.leave_sec - rng.integers(60, 1800, n), NEVER)
    bounded = EventBatch.concat(
        [
            _once(rows, first_login, event.LOGIN),
            _once(rows, frame.profile_sec, event.PROFILE_COMPLETED),
            _once(rows, frame.form_sec, event.FORM_CREATED, detail=0),
            _once(rows, frame.client_sec, event.CLIENT_ADDED, detail=1),
            _once(rows, frame.journey_sec, event.JOURNEY_STARTED, detail=1),
            _once(rows, frame.change_sec, event.SUBSCRIPTION_CHANGED, detail=change_detail),
            # Most people log in to cancel; the login comes minutes before the cancellation.
            _once(rows, cancel_login, event.LOGIN),
        ]
    ).within(lo, hi)
    churned = timeline.churned
    cancellations = EventBatch.make(
        rows[churned],
        event.SUBSCRIPTION_CANCELLED,
        timeline.leave_sec[churned],
        user=OWNER,
        detail=reason[churned],
    )
    return EventBatch.concat([bounded, cancellations])
