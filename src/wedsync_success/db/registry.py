"""Imports every table module so ``Base.metadata`` knows the whole schema (for Alembic)."""

from wedsync_success.access import models as access_models
from wedsync_success.activity import models as activity_models
from wedsync_success.churn import models as churn_models
from wedsync_success.db.base import Base
from wedsync_success.events import models as events_models
from wedsync_success.health import models as health_models
from wedsync_success.integrations.marketing import models as marketing_models
from wedsync_success.integrations.referrals import models as referrals_models
from wedsync_success.integrations.webhooks import models as webhooks_models
from wedsync_success.interventions import models as interventions_models
from wedsync_success.milestones import models as milestones_models
from wedsync_success.segments import models as segments_models
from wedsync_success.suppliers import models as suppliers_models
from wedsync_success.surveys import models as surveys_models
from wedsync_success.workspace import models as workspace_models

ALL_MODEL_MODULES = (
    access_models,
    activity_models,
    churn_models,
    events_models,
    health_models,
    referrals_models,
    webhooks_models,
    marketing_models,
    interventions_models,
    milestones_models,
    segments_models,
    suppliers_models,
    surveys_models,
    workspace_models,
)

metadata = Base.metadata
