"""Churn routes: a supplier's live churn prediction with its drivers, and scoring a record.

The serving code (and with it LightGBM, which imports scikit-learn: seconds of start-up)
is imported on the first churn request, not when the app starts.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.churn import lazy
from wedsync_success.churn.schemas import ChurnPredictionOut, PredictRequest
from wedsync_success.context import AppContext
from wedsync_success.web.body import read_json, validate_body
from wedsync_success.web.deps import (
    API_PREFIX,
    ContextDep,
    ReadKey,
    SessionDep,
    SupplierIdDep,
    UnitOfWorkDep,
)
from wedsync_success.web.openapi import READ, WRITE, error_responses, json_body
from wedsync_success.web.params import Day

if TYPE_CHECKING:
    from wedsync_success.churn.registry import Registry

router = APIRouter(prefix=API_PREFIX, tags=["churn"])


def _registry(path: Path) -> Registry:
    from wedsync_success.churn.registry import Registry

    return Registry(path)


AsOf = Annotated[Day | None, Query(description="Features as of this day; default today")]


async def _predict(
    session: AsyncSession, ctx: AppContext, supplier_id: uuid.UUID, as_of: date | None
) -> ChurnPredictionOut:
    await lazy.serving()
    from wedsync_success.churn import serving

    return await serving.predict_supplier(
        session=session,
        registry=_registry(ctx.settings.churn_registry),
        supplier_id=supplier_id,
        as_of=as_of or ctx.clock().date(),
    )


@router.get(
    "/suppliers/{supplier_id}/churn",
    response_model=ChurnPredictionOut,
    summary="A supplier's churn probability, risk band and the factors behind it",
    responses=error_responses(*READ, 404),
)
async def get_supplier_churn(
    _key: ReadKey,
    supplier_id: SupplierIdDep,
    ctx: ContextDep,
    session: SessionDep,
    as_of: AsOf = None,
) -> ChurnPredictionOut:
    """Computed live by the active model from the same features it was trained on; the
    drivers are the model's own SHAP contributions. Nothing is written: to keep the answer
    in the prediction log, POST to the same path. 404 when no model is active yet."""
    return await _predict(session, ctx, supplier_id, as_of)


@router.post(
    "/suppliers/{supplier_id}/churn",
    response_model=ChurnPredictionOut,
    summary="Score a supplier's churn risk and write it to the prediction log",
    responses=error_responses(*READ, 404, 503),
)
async def post_supplier_churn(
    _key: ReadKey,
    supplier_id: SupplierIdDep,
    ctx: ContextDep,
    uow: UnitOfWorkDep,
    as_of: AsOf = None,
) -> ChurnPredictionOut:
    """The same answer as GET, also written to the prediction log (one row per supplier, day
    and model version: asking again replaces it), so its outcome is filled in once known."""

    async def work(session: AsyncSession) -> ChurnPredictionOut:
        prediction = await _predict(session, ctx, supplier_id, as_of)
        from wedsync_success.churn import serving

        await serving.log_prediction(
            session=session,
            prediction=prediction,
            predicted_at=ctx.clock(),
            rates=ctx.settings.rates,
        )
        return prediction

    return await uow.run(work)


@router.post(
    "/churn/predict",
    response_model=ChurnPredictionOut,
    summary="Score a supplied feature record with the active churn model",
    openapi_extra=json_body(PredictRequest, description="The feature record to score"),
    responses=error_responses(*WRITE, 404),
)
async def post_churn_predict(
    request: Request, ctx: ContextDep, _key: ReadKey
) -> ChurnPredictionOut:
    """Features not given are treated as unknown; unknown names are rejected. Not written to
    the prediction log (there is no supplier whose outcome could be filled in); the answer
    names the model version. 404 when no model is active yet."""
    payload = await read_json(request, limit=ctx.settings.max_body_bytes)
    body = validate_body(PredictRequest, payload)
    await lazy.serving()
    from wedsync_success.churn import serving

    return serving.predict_record(
        registry=_registry(ctx.settings.churn_registry), record=body.features
    )
