"""Success event names (one enum) and the shape consumers receive."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class SuccessEventType(enum.StrEnum):
    HEALTH_IMPROVED = "supplier.health_improved"
    HEALTH_DECLINED = "supplier.health_declined"
    RISK_LEVEL_CHANGED = "supplier.risk_level_changed"
    MILESTONE_ACHIEVED = "supplier.milestone_achieved"
    SUCCESS_CHAMPION = "supplier.success_champion"
    PAYMENT_FAILED = "supplier.payment_failed"
    SUPPORT_TICKET_CLOSED = "supplier.support_ticket_closed"  # a recent ticket, once each
    INTERVENTION_ENROLLED = "intervention.enrolled"
    INTERVENTION_SENT = "intervention.sent"
    INTERVENTION_OPENED = "intervention.opened"
    INTERVENTION_CLICKED = "intervention.clicked"
    INTERVENTION_GOAL_REACHED = "intervention.goal_reached"
    INTERVENTION_EXITED = "intervention.exited"
    SURVEY_DETRACTOR = "survey.detractor"  # an NPS response of 0-6
    SURVEY_CSAT_LOW = "survey.csat_low"  # a CSAT response of 1-2
    SEGMENT_ENTERED = "segment.entered"
    SEGMENT_EXITED = "segment.exited"
    CAMPAIGN_TRIGGERED = "campaign.triggered"


@dataclass(frozen=True)
class NewEvent:
    """A success event about to be written to the outbox."""

    event_type: SuccessEventType
    supplier_id: uuid.UUID | None
    occurred_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SuccessEvent:
    """A success event as delivered to consumers; ``sequence`` orders events globally."""

    sequence: int
    event_id: uuid.UUID
    event_type: str
    supplier_id: uuid.UUID | None
    occurred_at: datetime
    payload: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form, used by API responses and outbound transports."""
        return {
            "sequence": self.sequence,
            "event_id": str(self.event_id),
            "type": self.event_type,
            "supplier_id": str(self.supplier_id) if self.supplier_id else None,
            "occurred_at": self.occurred_at.isoformat(),
            "payload": self.payload,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SuccessEvent:
        """The event :meth:`to_json` wrote (as carried by an outbound transport)."""
        supplier = data["supplier_id"]
        return cls(
            sequence=int(data["sequence"]),
            event_id=uuid.UUID(data["event_id"]),
            event_type=str(data["type"]),
            supplier_id=uuid.UUID(supplier) if supplier else None,
            occurred_at=datetime.fromisoformat(data["occurred_at"]),
            payload=dict(data["payload"]),
        )
