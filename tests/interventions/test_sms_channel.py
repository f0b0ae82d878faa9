"""The SMS channel: phone numbers, segments, and the adapter against a local provider."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections.abc import AsyncIterator, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.interventions.conftest import OffMachine
from tests.interventions.sms_provider import ProviderState, sms_provider
from wedsync_success.interventions.channels import sms
from wedsync_success.interventions.channels.base import (
    Category,
    Channel,
    OutgoingMessage,
    PermanentFailure,
    Recipient,
    ReconcileOutcome,
    TemporaryFailure,
)
from wedsync_success.interventions.channels.sms import (
    GSM_BASIC,
    GSM_EXTENSION,
    SegmentInfo,
    TwilioSmsAdapter,
    create_sms_adapter_from_url,
    normalise_phone,
    segment_count,
)
from wedsync_success.kit.errors import ConfigError, ValidationFailed

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "test-auth-token"
FROM = "+14155550100"
TO = "+447911123456"
E164 = re.compile(r"\+[1-9][0-9]{1,14}")


def message(
    key: str = "run-1:step-1", *, text: str = "Hi Ada", phone: str | None = TO
) -> OutgoingMessage:
    return OutgoingMessage(
        idempotency_key=key,
        channel=Channel.SMS,
        category=Category.TRANSACTIONAL,
        recipient=Recipient(supplier_id="s-1", supplier_user_id="u-1", name="Ada", phone=phone),
        text=text,
    )


@pytest.fixture
def provider() -> Iterator[tuple[str, ProviderState]]:
    with sms_provider(SID, TOKEN) as served:
        yield served


@pytest.fixture
async def adapter(provider: tuple[str, ProviderState]) -> AsyncIterator[TwilioSmsAdapter]:
    async with TwilioSmsAdapter(
        base_url=provider[0], account_sid=SID, auth_token=TOKEN, from_number=FROM, timeout=5
    ) as made:
        yield made


# -- phone numbers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+44 7911 123456", None, "+447911123456"),
        ("07911 123456", "GB", "+447911123456"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("+1 415 555 2671", "GB", "+14155552671"),
    ],
)
def test_normalise_phone_gives_e164(raw: str, region: str | None, expected: str) -> None:
    assert normalise_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region"),
    [("123", "GB"), ("hello", None), ("07911 123456", None), ("+999", None), ("", "GB")],
)
def test_normalise_phone_refuses_invalid_numbers_naming_the_field(
    raw: str, region: str | None
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        normalise_phone(raw, region)
    assert caught.value.details[0]["field"] == "phone"
    assert caught.value.details[0]["reason"]


@settings(deadline=None)  # phonenumbers loads a region's metadata on its first use
@given(st.text(max_size=40), st.sampled_from([None, "GB", "US", "DE", "ZZ"]))
def test_normalise_phone_gives_e164_or_refuses(raw: str, region: str | None) -> None:
    try:
        normalised = normalise_phone(raw, region)
    except ValidationFailed as exc:
        refused = exc
    else:
        assert E164.fullmatch(normalised)
        assert normalise_phone(normalised, None) == normalised
        return
    assert refused.details[0]["field"] == "phone"


# -- segments --------------------------------------------------------------------------


def test_the_gsm_tables_have_their_standard_sizes() -> None:
    assert len(GSM_BASIC) == 127  # 128 positions less ESC
    assert len(GSM_EXTENSION) == 10
    assert not GSM_BASIC & GSM_EXTENSION


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", SegmentInfo("GSM-7", 0, 0)),
        ("Hello Ada, your gallery is live!", SegmentInfo("GSM-7", 1, 32)),
        ("€", SegmentInfo("GSM-7", 1, 2)),
        ("{[|]}", SegmentInfo("GSM-7", 1, 10)),
        ("😀", SegmentInfo("UCS-2", 1, 2)),
        ("Thanks 😀", SegmentInfo("UCS-2", 1, 9)),
        ("\x1b", SegmentInfo("UCS-2", 1, 1)),  # ESC alone is no GSM character
        ("a" * 160, SegmentInfo("GSM-7", 1, 160)),
        ("a" * 161, SegmentInfo("GSM-7", 2, 161)),
        ("a" * 306, SegmentInfo("GSM-7", 2, 306)),
        ("a" * 307, SegmentInfo("GSM-7", 3, 307)),
        ("€" * 80, SegmentInfo("GSM-7", 1, 160)),
        ("€" * 81, SegmentInfo("GSM-7", 2, 162)),
        ("a" * 152 + "€" + "a" * 152, SegmentInfo("GSM-7", 3, 306)),  # € never split
        ("ł" * 70, SegmentInfo("UCS-2", 1, 70)),
        ("ł" * 71, SegmentInfo("UCS-2", 2, 71)),
        ("ł" * 134, SegmentInfo("UCS-2", 2, 134)),
        ("ł" * 135, SegmentInfo("UCS-2", 3, 135)),
        ("ł" * 66 + "😀" + "ł" * 66, SegmentInfo("UCS-2", 3, 134)),  # pair never split
        ("a" * 159 + "😀", SegmentInfo("UCS-2", 3, 161)),
    ],
)
def test_segment_count_known_examples(text: str, expected: SegmentInfo) -> None:
    assert segment_count(text) == expected


sms_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(sorted(GSM_BASIC)),
        st.sampled_from(sorted(GSM_EXTENSION)),
        st.sampled_from("łçŻ中😀🎉"),
    ),
    max_size=400,
)


@given(sms_text)
def test_segments_never_shrink_as_text_grows(text: str) -> None:
    counts = [segment_count(text[:end]).segments for end in range(0, len(text) + 1, 7)]
    assert counts == sorted(counts)
    assert counts[-1] <= segment_count(text).segments


@given(sms_text, sms_text)
def test_segments_of_a_concatenation_are_bounded(a: str, b: str) -> None:
    first, second, joined = segment_count(a), segment_count(b), segment_count(a + b)
    assert joined.segments >= max(first.segments, second.segments)
    if first.encoding == second.encoding == joined.encoding:
        assert joined.segments <= first.segments + second.segments + 1
        assert joined.characters == first.characters + second.characters


@given(sms_text)
def test_segments_fit_the_encoding_limits(text: str) -> None:
    info = segment_count(text)
    single, multi = (160, 153) if info.encoding == "GSM-7" else (70, 67)
    if info.characters <= single:
        assert info.segments == (1 if text else 0)
    else:
        assert info.segments >= -(-info.characters // multi)
        # a part loses at most one unit to a pair it could not split
        assert info.segments <= -(-info.characters // (multi - 1))


# -- sending ---------------------------------------------------------------------------


async def test_a_sent_message_arrives_with_its_fields_and_auth(
    adapter: TwilioSmsAdapter, provider: tuple[str, ProviderState]
) -> None:
    result = await adapter.send(message(text="Your album is ready €"))
    [stored] = provider[1].messages
    assert (stored.to, stored.from_, stored.body) == (TO, FROM, "Your album is ready €")
    assert stored.idempotency_key == "run-1:step-1"
    assert stored.status_callback is None
    assert result.provider_id == stored.sid
    assert result.detail == {"segments": 1, "status": "queued"}


async def test_the_status_callback_carries_the_idempotency_key(
    provider: tuple[str, ProviderState],
) -> None:
    async with TwilioSmsAdapter(
        base_url=provider[0],
        account_sid=SID,
        auth_token=TOKEN,
        from_number=FROM,
        timeout=5,
        status_callback_url="http://127.0.0.1:9/sms/status?tenant=a",
    ) as adapter:
        await adapter.send(message("run-7:step-2"))
    [stored] = provider[1].messages
    assert stored.status_callback == "http://127.0.0.1:9/sms/status?tenant=a&key=run-7%3Astep-2"


async def test_a_repeated_idempotency_key_stores_one_message(
    adapter: TwilioSmsAdapter, provider: tuple[str, ProviderState]
) -> None:
    first = await adapter.send(message("run-2:step-1"))
    again = await adapter.send(message("run-2:step-1"))
    other = await adapter.send(message("run-2:step-2"))
    assert provider[1].posts == 3
    assert [m.idempotency_key for m in provider[1].messages] == ["run-2:step-1", "run-2:step-2"]
    assert first.provider_id == again.provider_id != other.provider_id


async def test_wrong_credentials_are_a_permanent_failure(
    provider: tuple[str, ProviderState],
) -> None:
    async with TwilioSmsAdapter(
        base_url=provider[0], account_sid=SID, auth_token="wrong", from_number=FROM, timeout=5
    ) as adapter:
        with pytest.raises(PermanentFailure, match="20003"):
            await adapter.send(message())
    assert provider[1].messages == []


@pytest.mark.parametrize("status", [500, 503, 429, 408])
async def test_provider_overload_is_a_temporary_failure(
    adapter: TwilioSmsAdapter, provider: tuple[str, ProviderState], status: int
) -> None:
    provider[1].fail_next.append((status, {"code": 20500, "message": "Busy", "status": status}))
    with pytest.raises(TemporaryFailure, match=f"HTTP {status}: Twilio error 20500: Busy"):
        await adapter.send(message())
    assert provider[1].messages == []


async def test_an_invalid_number_answer_is_a_permanent_failure_quoting_twilio(
    adapter: TwilioSmsAdapter, provider: tuple[str, ProviderState]
) -> None:
    provider[1].fail_next.append(
        (400, {"code": 21211, "message": "The 'To' number is not valid.", "status": 400})
    )
    with pytest.raises(PermanentFailure) as caught:
        await adapter.send(message())
    assert caught.value.reason == (
        "SMS provider answered HTTP 400: Twilio error 21211: The 'To' number is not valid."
    )


async def test_a_provider_answering_text_is_quoted_bounded_and_printable(
    adapter: TwilioSmsAdapter, provider: tuple[str, ProviderState]
) -> None:
    provider[1].fail_next.append((502, "Bad gateway\x07" + "x" * 500))
    with pytest.raises(TemporaryFailure) as caught:
        await adapter.send(message())
    assert caught.value.reason == "SMS provider answered HTTP 502: Bad gateway?" + "x" * 188 + "…"


@pytest.mark.parametrize("answer", [{"status": "queued"}, {"sid": ""}, "created"])
async def test_an_acceptance_without_a_sid_is_temporary(
    adapter: TwilioSmsAdapter, provider: tuple[str, ProviderState], answer: dict[str, str] | str
) -> None:
    provider[1].fail_next.append((201, answer))
    with pytest.raises(TemporaryFailure, match=r"sid|no JSON object"):
        await adapter.send(message())


async def test_an_unreachable_provider_is_a_temporary_failure() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{blocker.getsockname()[1]}"
        async with TwilioSmsAdapter(
            base_url=url, account_sid=SID, auth_token=TOKEN, from_number=FROM, timeout=5
        ) as adapter:
            with pytest.raises(TemporaryFailure, match="ConnectError"):
                await adapter.send(message())
            assert (await adapter.reconcile(message())).outcome is ReconcileOutcome.UNKNOWN


async def test_a_provider_that_does_not_answer_in_time_is_a_temporary_failure(
    provider: tuple[str, ProviderState],
) -> None:
    provider[1].hold = threading.Event()
    async with TwilioSmsAdapter(
        base_url=provider[0], account_sid=SID, auth_token=TOKEN, from_number=FROM, timeout=0.2
    ) as adapter:
        with pytest.raises(TemporaryFailure, match="ReadTimeout"):
            await adapter.send(message("run-10:step-1"))
        provider[1].hold.set()
        assert await asyncio.to_thread(provider[1].answered.acquire, timeout=5)
        # The provider got it though the answer was lost: reconcile finds it, and a retry
        # under the same key names the same message instead of sending a second one.
        provider[1].hold = None
        found = await adapter.reconcile(message("run-10:step-1"))
        assert found.outcome is ReconcileOutcome.DELIVERED
        retried = await adapter.send(message("run-10:step-1"))
    assert retried.provider_id == found.provider_id == provider[1].messages[0].sid
    assert len(provider[1].messages) == 1


@pytest.mark.parametrize(
    ("outgoing", "reason"),
    [
        (message(text="a" * (153 * 10 + 1)), "11 segments"),
        (message(text=""), "empty"),
        (message(phone=None), "no phone"),
        (message(phone="07911 123456"), "not a valid E.164"),
        (message("key with spaces"), "idempotency key"),
    ],
)
async def test_messages_that_cannot_go_fail_permanently_before_sending(
    adapter: TwilioSmsAdapter,
    provider: tuple[str, ProviderState],
    outgoing: OutgoingMessage,
    reason: str,
) -> None:
    with pytest.raises(PermanentFailure, match=reason):
        await adapter.send(outgoing)
    assert provider[1].posts == 0


async def test_ten_segments_are_still_sent(
    adapter: TwilioSmsAdapter, provider: tuple[str, ProviderState]
) -> None:
    result = await adapter.send(message(text="a" * (153 * 10)))
    assert result.detail["segments"] == 10
    assert len(provider[1].messages) == 1


# -- reconciling -----------------------------------------------------------------------


async def test_reconcile_finds_a_message_the_provider_holds(
    adapter: TwilioSmsAdapter, provider: tuple[str, ProviderState]
) -> None:
    sent = await adapter.send(message("run-3:step-1"))
    found = await adapter.reconcile(message("run-3:step-1"))
    assert found.outcome is ReconcileOutcome.DELIVERED
    assert found.provider_id == sent.provider_id
    spaced = await adapter.reconcile(message("run-3:step-1", phone="+44 7911 123456"))
    assert spaced == found  # the number is asked for as it was sent, in E.164


async def test_reconcile_says_not_sent_when_no_message_carries_the_key(
    adapter: TwilioSmsAdapter, provider: tuple[str, ProviderState]
) -> None:
    await adapter.send(message("run-4:step-1"))
    assert (await adapter.reconcile(message("run-4:step-2"))).outcome is ReconcileOutcome.NOT_SENT
    assert (await adapter.reconcile(message(phone=None))).outcome is ReconcileOutcome.NOT_SENT
    assert (await adapter.reconcile(message(phone="0791"))).outcome is ReconcileOutcome.NOT_SENT


async def test_reconcile_reads_every_page(
    adapter: TwilioSmsAdapter, provider: tuple[str, ProviderState]
) -> None:
    provider[1].page_size = 2
    for step in range(5):
        await adapter.send(message(f"run-5:step-{step}"))
    found = await adapter.reconcile(message("run-5:step-4"))
    assert found.outcome is ReconcileOutcome.DELIVERED
    assert found.provider_id == provider[1].messages[4].sid


async def test_reconcile_is_unknown_past_the_pages_it_reads(
    adapter: TwilioSmsAdapter, provider: tuple[str, ProviderState], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sms, "RECONCILE_MAX_PAGES", 2)
    provider[1].page_size = 1
    for step in range(3):
        await adapter.send(message(f"run-6:step-{step}"))
    assert (await adapter.reconcile(message("run-6:step-9"))).outcome is ReconcileOutcome.UNKNOWN
    provider[1].page_size = 2
    assert (await adapter.reconcile(message("run-6:step-9"))).outcome is ReconcileOutcome.NOT_SENT


async def test_reconcile_is_unknown_when_the_listing_is_unavailable(
    adapter: TwilioSmsAdapter, provider: tuple[str, ProviderState]
) -> None:
    await adapter.send(message("run-8:step-1"))
    provider[1].list_status = 503
    assert (await adapter.reconcile(message("run-8:step-1"))).outcome is ReconcileOutcome.UNKNOWN


async def test_reconcile_is_unknown_when_the_provider_keeps_no_keys(
    adapter: TwilioSmsAdapter, provider: tuple[str, ProviderState]
) -> None:
    await adapter.send(message("run-9:step-1"))
    provider[1].omit_keys = True  # as Twilio itself lists messages
    assert (await adapter.reconcile(message("run-9:step-2"))).outcome is ReconcileOutcome.UNKNOWN


# -- configuration ---------------------------------------------------------------------


async def test_the_adapter_from_a_url_sends_with_its_credentials() -> None:
    with sms_provider(SID, "to/ken") as (url, state):
        sms_url = url.replace("http://", f"http://{SID}:to%2Fken@")
        async with create_sms_adapter_from_url(sms_url, from_number="+1 415 555 0100") as adapter:
            await adapter.send(message())
    [stored] = state.messages
    assert stored.from_ == FROM


async def test_a_twilio_url_targets_twilio() -> None:
    adapter = create_sms_adapter_from_url(f"https://{SID}:{TOKEN}@api.twilio.com", from_number=FROM)
    async with adapter:
        with pytest.raises(OffMachine, match=r"api\.twilio\.com"):
            await adapter.send(message())


async def test_an_ipv6_host_is_kept_in_brackets() -> None:
    adapter = create_sms_adapter_from_url(
        f"https://{SID}:{TOKEN}@[2001:db8::1]:8443", from_number=FROM
    )
    async with adapter:
        with pytest.raises(OffMachine, match=r"2001:db8::1"):
            await adapter.send(message())


@pytest.mark.parametrize(
    ("url", "from_number", "field", "reason"),
    [
        (f"ftp://{SID}:{TOKEN}@127.0.0.1:8099", FROM, "WEDSYNC_SMS_URL", "scheme"),
        (f"http://{SID}:{TOKEN}@api.twilio.com", FROM, "WEDSYNC_SMS_URL", "loopback"),
        ("https://api.twilio.com", FROM, "WEDSYNC_SMS_URL", "sid:token"),
        (f"https://{SID}@api.twilio.com", FROM, "WEDSYNC_SMS_URL", "sid:token"),
        (f"https://{SID}:{TOKEN}@/x", FROM, "WEDSYNC_SMS_URL", "no host"),
        (f"https://{SID}:{TOKEN}@api.twilio.com/v1", FROM, "WEDSYNC_SMS_URL", "no path"),
        (f"http://{SID}:{TOKEN}@127.0.0.1:99999", FROM, "WEDSYNC_SMS_URL", "port"),
        (f"http://{SID}:{TOKEN}@127.0.0.1:8099", "0100", "WEDSYNC_SMS_FROM", "E.164"),
    ],
)
def test_bad_sms_settings_are_config_errors_naming_the_field(
    url: str, from_number: str, field: str, reason: str
) -> None:
    with pytest.raises(ConfigError, match=reason) as caught:
        create_sms_adapter_from_url(url, from_number=from_number)
    assert caught.value.details == [{"field": field, "reason": caught.value.details[0]["reason"]}]
    assert TOKEN not in caught.value.message


@pytest.mark.parametrize("timeout", [0.0, -1.0, float("nan"), float("inf")])
def test_the_timeout_must_be_positive_and_finite(timeout: float) -> None:
    with pytest.raises(ConfigError, match="timeout"):
        create_sms_adapter_from_url(
            f"http://{SID}:{TOKEN}@127.0.0.1:8099", from_number=FROM, timeout=timeout
        )
