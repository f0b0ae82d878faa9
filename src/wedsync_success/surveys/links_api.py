"""The public page a survey email's score link opens: it records the score, then offers a
comment box.

Like the tracking links, it takes no API key: the signed token (one per message and score)
is the whole authority, and it stays out of the OpenAPI document. The GET records the score
the link carries, as the survey asks ("one click"); the first answer to a survey counts and
later clicks change nothing, so a repeated or prefetched request cannot add a response. The
comment is a POST of the same token (no cookie, no CSRF token: the token is the proof).
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.interventions import tracking
from wedsync_success.interventions.links import InvalidLink, SurveyAnswer, tracking_links
from wedsync_success.interventions.tracking_api import NO_STORE
from wedsync_success.kit.errors import NotFound, ValidationFailed
from wedsync_success.kit.limits import text_problem
from wedsync_success.surveys import service
from wedsync_success.surveys.kinds import MAX_COMMENT_CHARS, QUESTIONS, SurveyKind
from wedsync_success.surveys.schemas import ResponseSource
from wedsync_success.web.body import read_limited
from wedsync_success.web.deps import ContextDep, UnitOfWorkDep
from wedsync_success.web.rendering import TEMPLATES

router = APIRouter(include_in_schema=False)

MAX_FORM_BYTES = 4 * MAX_COMMENT_CHARS * 3 + 1024
"""A comment of the longest length, every character percent-encoded UTF-8, and some room."""


def _invalid_page(request: Request) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, "link_invalid.html", {}, 404, headers=NO_STORE)


def _page(
    request: Request, *, kind: SurveyKind, score: int, comment: str, saved: bool, error: str
) -> HTMLResponse:
    context = {
        "question": QUESTIONS[kind],
        "score": score,
        "comment": comment,
        "saved": saved,
        "error": error,
        "max_comment": MAX_COMMENT_CHARS,
    }
    status = 422 if error else 200
    return TEMPLATES.TemplateResponse(
        request, "survey_answer.html", context, status, headers=NO_STORE
    )


@router.get("/s/{token:token}")
async def answer_link(
    token: str, request: Request, ctx: ContextDep, uow: UnitOfWorkDep
) -> HTMLResponse:
    """A score link of a survey email: record the score (the first answer counts)."""
    try:
        link = tracking_links(ctx.settings).verify_survey_answer(token)
    except InvalidLink:
        return _invalid_page(request)
    now = ctx.clock()

    async def work(session: AsyncSession) -> service.Answered:
        answered = await service.answer_survey(
            session=session,
            intervention_id=link.intervention_id,
            score=link.score,
            comment=None,
            source=ResponseSource.EMAIL,
            supplier_user_id=None,
            now=now,
        )
        await tracking.record_click(
            session=session, intervention_id=link.intervention_id, target=str(request.url), now=now
        )
        return answered

    try:
        answered = await uow.run(work)
    except (NotFound, ValidationFailed):
        return _invalid_page(request)
    stored = answered.response
    return _page(
        request,
        kind=SurveyKind(stored.kind),
        score=stored.score,
        comment=stored.comment or "",
        saved=False,
        error="",
    )


@router.post("/s/{token:token}")
async def comment_link(
    token: str, request: Request, ctx: ContextDep, uow: UnitOfWorkDep
) -> HTMLResponse:
    """The answer page's comment box."""
    try:
        link: SurveyAnswer = tracking_links(ctx.settings).verify_survey_answer(token)
    except InvalidLink:
        return _invalid_page(request)
    raw = (await read_limited(request, limit=MAX_FORM_BYTES)).decode("utf-8", "replace")
    comment = (parse_qs(raw).get("comment") or [""])[0].strip()
    problem = text_problem(comment) or (
        f"at most {MAX_COMMENT_CHARS} characters" if len(comment) > MAX_COMMENT_CHARS else None
    )

    keep = comment if problem is None and comment else None

    async def work(session: AsyncSession) -> tuple[SurveyKind, int]:
        # A comment sent without a click first records the link's score as well.
        answered = await service.answer_survey(
            session=session,
            intervention_id=link.intervention_id,
            score=link.score,
            comment=None,
            source=ResponseSource.EMAIL,
            supplier_user_id=None,
            now=ctx.clock(),
        )
        if keep is not None:
            await service.add_comment(
                session=session, intervention_id=link.intervention_id, comment=keep
            )
        return SurveyKind(answered.response.kind), answered.response.score

    try:
        kind, score = await uow.run(work)
    except (NotFound, ValidationFailed):
        return _invalid_page(request)
    error = f"Your comment could not be saved: it {problem}." if problem else ""
    return _page(
        request, kind=kind, score=score, comment=keep or "", saved=keep is not None, error=error
    )
