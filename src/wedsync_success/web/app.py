"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from wedsync_success import __version__
from wedsync_success.access.key_cache import ApiKeyCache
from wedsync_success.activity.api import router as activity_router
from wedsync_success.churn.api import router as churn_router
from wedsync_success.config import Settings, get_settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.events.api import router as events_router
from wedsync_success.events.backlog import measure_backlog
from wedsync_success.health.api import router as health_router
from wedsync_success.integrations.marketing.api import router as marketing_router
from wedsync_success.integrations.referrals.api import router as referrals_router
from wedsync_success.integrations.webhooks.api import router as webhooks_router
from wedsync_success.interventions.api import router as interventions_router
from wedsync_success.interventions.inapp_api import router as inapp_router
from wedsync_success.interventions.preferences_api import router as preferences_router
from wedsync_success.interventions.tracking_api import router as tracking_router
from wedsync_success.interventions.widget_api import router as widget_router
from wedsync_success.kit.clock import utc_now
from wedsync_success.milestones.api import router as milestones_router
from wedsync_success.reports.api import router as reports_router
from wedsync_success.reports.history_api import router as history_reports_router
from wedsync_success.reports.success_api import router as report_outcomes_router
from wedsync_success.segments.api import router as segments_router
from wedsync_success.suppliers.api import router as suppliers_router
from wedsync_success.suppliers.search_api import router as supplier_search_router
from wedsync_success.surveys.api import router as surveys_router
from wedsync_success.surveys.links_api import router as survey_links_router
from wedsync_success.web.admission import AdmissionMiddleware, Gates
from wedsync_success.web.cors import WidgetCors
from wedsync_success.web.errors import error_response, install_error_handlers
from wedsync_success.web.openapi import error_responses, install_openapi
from wedsync_success.web.pages import install_dashboard, page_errors
from wedsync_success.web.security import install_security
from wedsync_success.web.timing import RequestTimer
from wedsync_success.workspace.api import router as workspace_router

log = structlog.get_logger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    context: AppContext | None = None,
    run_dispatcher: bool = True,
) -> FastAPI:
    """Build the app; pass ``context`` to share one (tests), else one is built from settings."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = context or build_context(settings or get_settings())
        app.state.ctx = ctx
        stop = asyncio.Event()
        tasks = []
        if run_dispatcher:
            tasks.append(
                asyncio.create_task(
                    ctx.dispatcher.run(stop, interval=ctx.settings.dispatch_interval_seconds)
                )
            )
            # On a broker (Redis) the consumers and workers run in `wedsync-success worker`;
            # this process publishes and feeds its live pages from the streams.
            tasks.append(asyncio.create_task(ctx.transport.run_live(stop)))
            if ctx.settings.run_worker and ctx.transport.embedded:
                worker = ctx.interventions.worker()
                tasks.append(
                    asyncio.create_task(
                        worker.run(stop, interval=ctx.settings.worker_interval_seconds)
                    )
                )
                webhooks = ctx.webhooks.worker()
                tasks.append(
                    asyncio.create_task(
                        webhooks.run(stop, interval=ctx.settings.worker_interval_seconds)
                    )
                )
                marketing = ctx.marketing.worker()
                tasks.append(
                    asyncio.create_task(
                        marketing.run(stop, interval=ctx.settings.worker_interval_seconds)
                    )
                )
        try:
            yield
        finally:
            stop.set()
            ctx.dispatcher.notify()
            ctx.interventions.wake_worker()
            ctx.webhooks.wake_worker()
            ctx.marketing.wake_worker()
            for task in tasks:
                await task
            if context is None:
                await ctx.close()

    app = FastAPI(
        title="WedSync Success API",
        version=__version__,
        description="Health scores, milestones and success events for WedSync suppliers. "
        "Authenticate with `Authorization: Bearer <API key>` "
        "(create one with `wedsync-success apikey create`).",
        lifespan=lifespan,
        docs_url=None,  # served by install_openapi from the vendored Swagger UI
        redoc_url=None,  # ReDoc is not vendored; one set of docs is enough
    )
    install_error_handlers(app, wrap=page_errors)
    effective = context.settings if context else (settings or get_settings())
    install_openapi(app)
    install_dashboard(app, effective)
    app.state.api_key_cache = ApiKeyCache(
        ttl_seconds=effective.api_key_cache_seconds,
        clock=context.clock if context else utc_now,
    )
    gates = Gates.from_settings(effective)
    app.state.ingest_admission = gates.ingest
    app.state.request_admission = gates.requests
    if context is not None:
        app.state.ctx = context  # usable without running the lifespan (in-process test clients)

    for router in (
        activity_router,
        supplier_search_router,
        suppliers_router,
        health_router,
        milestones_router,
        events_router,
        reports_router,
        report_outcomes_router,
        history_reports_router,
        churn_router,
        interventions_router,
        preferences_router,
        tracking_router,
        inapp_router,
        widget_router,
        workspace_router,
        webhooks_router,
        marketing_router,
        referrals_router,
        surveys_router,
        survey_links_router,
        segments_router,
    ):
        app.include_router(router)

    app.add_middleware(AdmissionMiddleware, gates=gates)  # inside the timer: waits are timed
    app.add_middleware(RequestTimer)
    app.add_middleware(WidgetCors)
    install_security(app, effective)

    @app.get("/healthz", tags=["operations"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Readiness: the database answers",
        responses={
            200: {
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "status": {"type": "string", "enum": ["ready"]},
                                "database": {"type": "string"},
                            },
                            "required": ["status", "database"],
                        }
                    }
                }
            },
            **error_responses(503),
        },
    )
    async def readyz(request: Request) -> JSONResponse:
        ctx: AppContext = request.app.state.ctx
        try:
            async with ctx.db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            return error_response(
                503, "not_ready", f"Database unavailable: {exc.__class__.__name__}"
            )
        return JSONResponse({"status": "ready", "database": ctx.db.dialect})

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        response_class=PlainTextResponse,
        responses={
            200: {
                "description": "The Prometheus text exposition format",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    )
    async def metrics(request: Request) -> Response:
        ctx: AppContext = request.app.state.ctx
        try:
            await measure_backlog(ctx.db, ctx.clock)
        except Exception as exc:  # the other metrics still answer while the database is down
            log.warning("outbox_backlog_unavailable", error=repr(exc))
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
