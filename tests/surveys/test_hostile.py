"""Generated hostile bodies at the survey write routes, on both backends: never a 5xx, and
what is stored is exactly what the answer says was accepted."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.conftest import FakeClock
from tests.helpers import create_supplier
from tests.hostile.strategies import batch_of, dumps, hostile_value, instants, maybe, object_of
from wedsync_success.context import AppContext
from wedsync_success.kit.limits import parse_json
from wedsync_success.surveys.models import SurveyResponse

EXAMPLES = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def response_items(supplier_id: str, clock: FakeClock) -> st.SearchStrategy[str]:
    return object_of(
        {
            "response_id": maybe(
                st.uuids().map(lambda u: dumps(f"hyp-{u}")),
                taint=st.uuids().map(lambda u: f"hyp-{u}"),
            ),
            "kind": maybe(st.sampled_from(["nps", "csat"]).map(dumps)),
            "score": maybe(st.integers(-2, 12).map(dumps)),
            "comment": maybe(
                st.text(max_size=40).map(dumps), taint=st.text(min_size=1, max_size=40)
            ),
            "supplier_id": maybe(st.sampled_from([supplier_id, str(uuid.uuid4())]).map(dumps)),
            "responded_at": maybe(instants(clock.now)),
        }
    )


async def _stored(ctx: AppContext) -> int:
    async with ctx.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(SurveyResponse)) or 0)


@pytest.fixture
async def supplier_id(client: httpx.AsyncClient) -> str:
    return await create_supplier(client)


@EXAMPLES
@given(data=st.data())
async def test_hostile_response_batches(
    client: httpx.AsyncClient,
    ctx: AppContext,
    clock: FakeClock,
    supplier_id: str,
    data: st.DataObject,
) -> None:
    body = data.draw(
        st.one_of(batch_of(response_items(supplier_id, clock), key="responses"), hostile_value),
        label="body",
    )
    before = await _stored(ctx)
    answer = await client.post(
        "/api/v1/surveys/responses",
        content=body.encode("utf-8", "surrogatepass"),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code in (200, 413, 422), answer.text
    after = await _stored(ctx)
    if answer.status_code != 200:
        assert after == before
        return
    result = answer.json()
    assert after - before == result["accepted"]
    payload = parse_json(body)
    items = payload["responses"] if isinstance(payload, dict) else payload
    assert result["accepted"] + result["duplicates"] + result["rejected"] == len(items)
    for error in result["errors"]:
        assert not error["reason"].startswith(("Value error", "Input should")), error


@EXAMPLES
@given(
    message_id=st.one_of(st.integers(-5, 2**64).map(str), st.text(max_size=20)),
    body=st.one_of(
        hostile_value,
        object_of(
            {
                "supplier_user_id": maybe(st.uuids().map(lambda u: dumps(str(u)))),
                "score": maybe(st.integers(-1, 11).map(dumps)),
                "comment": maybe(st.text(max_size=20).map(dumps), taint=st.text(max_size=9)),
            }
        ),
    ),
)
async def test_hostile_answers_in_the_app(
    client: httpx.AsyncClient, api_keys: dict[str, str], message_id: str, body: str
) -> None:
    answer = await client.post(
        f"/api/v1/surveys/inapp/{quote(message_id, safe='')}/answer",
        content=body.encode("utf-8", "surrogatepass"),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {api_keys['inapp']}",
        },
    )
    assert answer.status_code in (404, 422), answer.text


@EXAMPLES
@given(token=st.text(min_size=1, max_size=80), comment=st.text(max_size=30))
async def test_arbitrary_answer_tokens_never_cause_a_server_error(
    client: httpx.AsyncClient, token: str, comment: str
) -> None:
    path = "/s/" + quote(token.encode("utf-8", "surrogatepass"), safe="")
    form = b"comment=" + comment.encode("utf-8", "surrogatepass")
    for answer in (await client.get(path), await client.post(path, content=form)):
        # 404 for a token we did not sign; a dot segment ("." "..") is normalised away by the
        # client and the router redirects the bare /s/ (307): never a page, never a 5xx.
        assert answer.status_code in (404, 307), answer.text
