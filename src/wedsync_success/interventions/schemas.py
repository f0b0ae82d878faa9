"""Pydantic shapes of playbooks, interventions, one-off messages and tasks in the API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from wedsync_success.interventions.channels.base import Category, Channel
from wedsync_success.kit.limits import StoredDay, StoredText


class PlaybookStepOut(BaseModel):
    kind: str = Field(description="a channel (email, in_app, sms, task, webhook) or wait")
    detail: str


class PlaybookOut(BaseModel):
    key: str
    name: str
    description: str
    enabled: bool
    priority: int
    goal_group: str
    trigger: str
    steps: list[PlaybookStepOut]
    goal: str | None
    holdout: float
    reenrol_after_days: int
    active_runs: int
    enrolled: int


class InterventionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    supplier_id: uuid.UUID
    supplier_user_id: uuid.UUID | None
    run_id: uuid.UUID | None
    playbook_key: str | None
    step_no: int | None
    channel: str
    category: str
    template: str
    status: str
    subject: str
    detail: str | None
    provider_id: str | None
    attempts: int
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    opened_at: datetime | None
    clicked_at: datetime | None


class InterventionPage(BaseModel):
    items: list[InterventionOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at end")


class OneOffMessageIn(BaseModel):
    """A message a success manager sends to a supplier now (through caps, quiet hours and
    preferences like any other)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: Literal[Channel.EMAIL, Channel.IN_APP, Channel.SMS]
    category: Category = Field(
        default=Category.TRANSACTIONAL,
        description="marketing messages count towards the frequency cap",
    )
    subject: StoredText = Field(
        default="", max_length=200, description="email subject / in-app title"
    )
    body: StoredText = Field(min_length=1, max_length=5000)
    supplier_user_id: uuid.UUID | None = Field(
        default=None, description="which of the supplier's users; default: its main contact"
    )


class OneOffMessageOut(BaseModel):
    intervention: InterventionOut
    created: bool = Field(description="false when this Idempotency-Key was already used")


TaskPriority = Literal["low", "medium", "high", "urgent"]
TaskStatusName = Literal["open", "done", "dismissed"]


class TaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    supplier_id: uuid.UUID
    reason: str
    title: str
    detail: str
    priority: str
    status: str
    owner_id: uuid.UUID | None
    due_on: date
    snoozed_until: date | None = Field(
        description="out of the due lists until this day (null: not snoozed)"
    )
    run_id: uuid.UUID | None
    times_triggered: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    supplier_id: uuid.UUID
    reason: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$", description="one open task per reason")
    title: StoredText = Field(min_length=1, max_length=200)
    detail: StoredText = Field(default="", max_length=5000)
    priority: TaskPriority = "medium"
    due_on: StoredDay
    owner_id: uuid.UUID | None = Field(
        default=None, description="default: the account owner, else the least-loaded member"
    )


class ManualTaskIn(BaseModel):
    """A task a team member writes for a supplier from its profile."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: StoredText = Field(min_length=1, max_length=200)
    detail: StoredText = Field(default="", max_length=5000)
    priority: TaskPriority = "medium"
    due_on: StoredDay
    owner_id: uuid.UUID


TASK_SNOOZE_MAX_DAYS = 90
"""The furthest a task can be snoozed, in days from today."""


class TaskPatch(BaseModel):
    """Any of these; a snooze is ``snooze_days`` from today or ``snoozed_until`` a day, and
    ``"snoozed_until": null`` wakes the task."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: TaskStatusName | None = None
    priority: TaskPriority | None = None
    due_on: StoredDay | None = None
    owner_id: uuid.UUID | None = Field(
        default=None, description="reassign to this enabled admin or manager"
    )
    detail: StoredText | None = Field(default=None, max_length=5000)
    snooze_days: int | None = Field(
        default=None,
        ge=1,
        le=TASK_SNOOZE_MAX_DAYS,
        description="snooze until this many days from today (an open task only)",
    )
    snoozed_until: StoredDay | None = Field(
        default=None,
        description=f"snooze until this day, after today and at most {TASK_SNOOZE_MAX_DAYS} "
        "days ahead; null wakes the task",
    )


class TaskWriteOut(BaseModel):
    task: TaskOut
    created: bool = Field(description="false when an open task for this reason was updated")


class WeeklyEnrolments(BaseModel):
    """Runs enrolled per week (Monday starts, UTC), per arm, oldest week first."""

    week_starts: list[date]
    treatment: list[int]
    control: list[int]


class TaskRun(BaseModel):
    """The playbook run a task came from."""

    playbook_key: str
    playbook_name: str
    enrolled_at: datetime


class TaskNames(BaseModel):
    """Who a list of tasks is about and for: supplier business names, owners' names, and
    the playbook runs that made them."""

    suppliers: dict[uuid.UUID, str]
    owners: dict[uuid.UUID, str]
    runs: dict[uuid.UUID, TaskRun] = Field(default_factory=dict)


class TaskGroup(BaseModel):
    items: list[TaskOut]
    total: int = Field(description="how many there are (items holds the first of them)")


class TaskBoard(BaseModel):
    """One member's open tasks by when they are due (UTC days); a snoozed task is out of
    the due groups until its snoozed_until day, and then due no earlier than that day."""

    today: date
    overdue: TaskGroup
    due_today: TaskGroup
    upcoming: TaskGroup
    snoozed: TaskGroup
