"""The email channel against a real SMTP server (aiosmtpd, started here on a free port)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import free_port
from tests.interventions.smtp_server import Collector, MailStore, smtp_server
from wedsync_success.interventions.channels.base import (
    Category,
    Channel,
    OutgoingMessage,
    PermanentFailure,
    Recipient,
    ReconcileOutcome,
    TemporaryFailure,
)
from wedsync_success.interventions.channels.email import SmtpEmailAdapter, message_id_for
from wedsync_success.interventions.channels.smtp_config import (
    Security,
    SmtpConfig,
    mail_from_address,
    smtp_config_from_url,
)
from wedsync_success.interventions.channels.templates import render_email
from wedsync_success.kit.errors import ConfigError

MAIL_FROM = "WedSync <success@wedsync.example>"
FIXED_NOW = dt.datetime(2026, 6, 13, 9, 30, tzinfo=dt.UTC)

STYLED_HTML = (
    "<html><head><style>p { color: #5a3e36; } .cta { font-weight: bold; }</style></head>"
    '<body><p>Hello Bloom &amp; Wild</p><p class="cta">Create your first form</p></body></html>'
)


def plain_config(controller: Controller) -> SmtpConfig:
    return smtp_config_from_url(f"smtp://127.0.0.1:{controller.port}")


def outgoing(key: str = "run-42:step-1", **overrides: Any) -> OutgoingMessage:
    fields: dict[str, Any] = {
        "idempotency_key": key,
        "channel": Channel.EMAIL,
        "category": Category.MARKETING,
        "recipient": Recipient(
            supplier_id="sup-1",
            supplier_user_id="user-1",
            name="Priya Shah",
            email="priya@bloomandwild.example",
        ),
        "subject": "Your first client form",
        "text": "Hello Bloom & Wild\n",
        "html": STYLED_HTML,
        "headers": {
            "List-Unsubscribe": "<https://success.wedsync.example/u/abc123>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    }
    fields.update(overrides)
    return OutgoingMessage(**fields)


@pytest.fixture
def collector() -> Iterator[tuple[Collector, Controller]]:
    handler = Collector()
    controller = smtp_server(handler)
    yield handler, controller
    controller.stop()


# --- sending ---------------------------------------------------------------------------


async def test_delivered_email_has_both_parts_inlined_css_stable_id_and_headers(
    collector: tuple[Collector, Controller],
) -> None:
    handler, controller = collector
    adapter = SmtpEmailAdapter(plain_config(controller), MAIL_FROM, clock=lambda: FIXED_NOW)
    message = outgoing()

    result = await adapter.send(message)

    email = handler.only_email()
    expected_id = f"<{hashlib.sha256(b'run-42:step-1').hexdigest()[:32]}@wedsync.example>"
    assert result.provider_id == expected_id
    assert email["Message-ID"] == expected_id
    assert email["List-Unsubscribe"] == "<https://success.wedsync.example/u/abc123>"
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email["From"] == MAIL_FROM
    assert email["To"] == "Priya Shah <priya@bloomandwild.example>"
    assert email["Subject"] == "Your first client form"
    assert email["Date"] == "Sat, 13 Jun 2026 09:30:00 +0000"
    assert handler.envelopes[0].mail_from == "success@wedsync.example"
    assert handler.envelopes[0].rcpt_tos == ["priya@bloomandwild.example"]
    assert email.get_content_type() == "multipart/alternative"
    text = email.get_body(preferencelist=("plain",))
    html = email.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert text.get_content() == "Hello Bloom & Wild\n"
    html_content = html.get_content()
    assert "<style" not in html_content
    assert 'style="color: #5a3e36;"' in html_content
    assert "font-weight: bold" in html_content


async def test_a_resend_carries_the_same_message_id_and_another_key_another(
    collector: tuple[Collector, Controller],
) -> None:
    handler, controller = collector
    adapter = SmtpEmailAdapter(plain_config(controller), MAIL_FROM)

    first = await adapter.send(outgoing("run-7:step-2"))
    again = await adapter.send(outgoing("run-7:step-2"))
    other = await adapter.send(outgoing("run-7:step-3"))

    assert first.provider_id == again.provider_id != other.provider_id
    ids = [email["Message-ID"] for email in handler.emails()]
    assert ids == [first.provider_id, first.provider_id, other.provider_id]
    assert message_id_for("run-7:step-2", "wedsync.example") == first.provider_id


async def test_text_only_message_is_a_single_part(
    collector: tuple[Collector, Controller],
) -> None:
    handler, controller = collector
    await SmtpEmailAdapter(plain_config(controller), MAIL_FROM).send(outgoing(html=None))
    email = handler.only_email()
    assert email.get_content_type() == "text/plain"
    assert email.get_content() == "Hello Bloom & Wild\n"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"headers": {"X-Note": "a\r\nBcc: victim@example.com"}}, "cannot be an email"),
        ({"headers": {"Message-ID": "<forged@example.com>"}}, "set by the email adapter"),
        ({"headers": {"bcc": "victim@example.com"}}, "set by the email adapter"),
        (
            {"recipient": Recipient(supplier_id="s", supplier_user_id=None, name="No Mail")},
            "no email address",
        ),
    ],
)
async def test_a_message_that_cannot_be_an_email_is_refused_before_sending(
    collector: tuple[Collector, Controller], overrides: dict[str, Any], reason: str
) -> None:
    handler, controller = collector
    with pytest.raises(PermanentFailure, match=reason):
        await SmtpEmailAdapter(plain_config(controller), MAIL_FROM).send(outgoing(**overrides))
    assert handler.envelopes == []


async def test_remote_stylesheets_are_never_fetched(
    collector: tuple[Collector, Controller],
) -> None:
    handler, controller = collector
    with MailStore(set()) as remote:
        html = f'<html><head><link rel="stylesheet" href="{remote.url}/s.css?query=css">'
        message = outgoing(html=html + "</head><body><p>Hi</p></body></html>")
        await SmtpEmailAdapter(plain_config(controller), MAIL_FROM).send(message)
    assert remote.queries == []
    assert len(handler.envelopes) == 1


async def test_starttls_demanded_but_not_offered_is_not_a_silent_downgrade(
    collector: tuple[Collector, Controller],
) -> None:
    handler, controller = collector
    config = smtp_config_from_url(f"smtp://127.0.0.1:{controller.port}?starttls=1")
    with pytest.raises(TemporaryFailure, match="STARTTLS"):
        await SmtpEmailAdapter(config, MAIL_FROM).send(outgoing())
    assert handler.envelopes == []


async def test_451_reply_is_a_temporary_failure() -> None:
    controller = smtp_server(Collector(data_reply="451 4.3.0 Mailbox busy, try later"))
    try:
        with pytest.raises(TemporaryFailure, match=r"SMTP 451 message refused: 4\.3\.0") as info:
            await SmtpEmailAdapter(plain_config(controller), MAIL_FROM).send(outgoing())
    finally:
        controller.stop()
    assert info.value.temporary


async def test_550_recipient_refused_is_a_permanent_failure() -> None:
    controller = smtp_server(Collector(rcpt_reply="550 5.1.1 No such mailbox"))
    try:
        with pytest.raises(PermanentFailure, match=r"SMTP 550 recipient refused: 5\.1\.1") as info:
            await SmtpEmailAdapter(plain_config(controller), MAIL_FROM).send(outgoing())
    finally:
        controller.stop()
    assert not info.value.temporary


async def test_nothing_listening_is_a_temporary_failure() -> None:
    config = smtp_config_from_url(f"smtp://127.0.0.1:{free_port()}")
    with pytest.raises(TemporaryFailure, match=r"cannot reach the SMTP server 127.0.0.1"):
        await SmtpEmailAdapter(config, MAIL_FROM, timeout=5).send(outgoing())


async def test_a_server_that_never_answers_times_out_as_a_temporary_failure() -> None:
    silent: list[asyncio.StreamWriter] = []

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(TemporaryFailure, match="cannot reach the SMTP server"):
            await SmtpEmailAdapter(
                smtp_config_from_url(f"smtp://127.0.0.1:{port}"), MAIL_FROM, timeout=0.2
            ).send(outgoing())
    finally:
        for writer in silent:
            writer.close()
        server.close()
        await server.wait_closed()


# --- TLS and authentication (a self-signed certificate made here) ----------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def client_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


class Accounts:
    """An aiosmtpd authenticator knowing one user (with characters URLs must encode)."""

    user, password = "florist@bloom.example", "p@ss:w/rd %20"

    def __init__(self) -> None:
        self.logins: list[str] = []

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append(login)
        # handled=False: aiosmtpd, not this function, sends the 535 refusal
        return AuthResult(success=(login, password) == (self.user, self.password), handled=False)


def credentials_url(scheme: str, port: int, *, password: str = Accounts.password) -> str:
    return f"{scheme}://{quote(Accounts.user, safe='')}:{quote(password, safe='')}@127.0.0.1:{port}"


async def test_implicit_tls_with_authentication(certificate: tuple[Path, Path]) -> None:
    handler, accounts = Collector(), Accounts()
    controller = smtp_server(
        handler,
        ssl_context=server_tls(certificate),
        authenticator=accounts,
        auth_require_tls=False,  # aiosmtpd only counts STARTTLS as TLS; this socket is TLS
    )
    try:
        config = smtp_config_from_url(credentials_url("smtps", controller.port))
        assert config.security is Security.TLS
        adapter = SmtpEmailAdapter(config, MAIL_FROM, tls_context=client_tls(certificate))
        result = await adapter.send(outgoing())
    finally:
        controller.stop()
    assert accounts.logins == [Accounts.user]
    assert handler.only_email()["Message-ID"] == result.provider_id


async def test_starttls_with_authentication(certificate: tuple[Path, Path]) -> None:
    handler, accounts = Collector(), Accounts()
    controller = smtp_server(
        handler,
        tls_context=server_tls(certificate),
        require_starttls=True,
        authenticator=accounts,
        auth_required=True,
    )
    try:
        config = smtp_config_from_url(credentials_url("smtp", controller.port) + "?starttls=1")
        assert config.security is Security.STARTTLS
        adapter = SmtpEmailAdapter(config, MAIL_FROM, tls_context=client_tls(certificate))
        await adapter.send(outgoing())
    finally:
        controller.stop()
    assert accounts.logins == [Accounts.user]
    assert len(handler.envelopes) == 1


async def test_wrong_password_is_a_temporary_failure_naming_the_setting(
    certificate: tuple[Path, Path],
) -> None:
    handler = Collector()
    controller = smtp_server(
        handler,
        ssl_context=server_tls(certificate),
        authenticator=Accounts(),
        auth_require_tls=False,
    )
    try:
        config = smtp_config_from_url(credentials_url("smtps", controller.port, password="no"))
        adapter = SmtpEmailAdapter(
            config, MAIL_FROM, timeout=10, tls_context=client_tls(certificate)
        )
        with pytest.raises(TemporaryFailure, match=r"authentication failed.*WEDSYNC_SMTP_URL"):
            await adapter.send(outgoing())
    finally:
        controller.stop()
    assert handler.envelopes == []


async def test_an_untrusted_certificate_is_refused(certificate: tuple[Path, Path]) -> None:
    handler = Collector()
    controller = smtp_server(handler, ssl_context=server_tls(certificate))
    try:
        config = smtp_config_from_url(f"smtps://127.0.0.1:{controller.port}")
        with pytest.raises(TemporaryFailure):
            await SmtpEmailAdapter(config, MAIL_FROM, timeout=5).send(outgoing())
    finally:
        controller.stop()
    assert handler.envelopes == []


# --- WEDSYNC_SMTP_URL and WEDSYNC_MAIL_FROM --------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example", SmtpConfig("mail.example", 25, Security.PLAIN)),
        ("smtp://127.0.0.1:1025", SmtpConfig("127.0.0.1", 1025, Security.PLAIN)),
        ("smtp://mail.example?starttls=0", SmtpConfig("mail.example", 25, Security.PLAIN)),
        ("smtp://mail.example?starttls=1", SmtpConfig("mail.example", 587, Security.STARTTLS)),
        ("SMTPS://Mail.Example", SmtpConfig("mail.example", 465, Security.TLS)),
        ("smtp://[::1]:2525/", SmtpConfig("::1", 2525, Security.PLAIN)),
        (
            "smtps://apikey:s%3Acr%40t%2Fx+y@smtp.example:465",
            SmtpConfig("smtp.example", 465, Security.TLS, "apikey", "s:cr@t/x+y"),
        ),
        (
            "smtp://u%40x:p@smtp.example:587?starttls=true",
            SmtpConfig("smtp.example", 587, Security.STARTTLS, "u@x", "p"),
        ),
    ],
)
def test_smtp_urls_parse(url: str, expected: SmtpConfig) -> None:
    assert smtp_config_from_url(url) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "empty"),
        ("http://mail.example", "scheme must be smtp"),
        ("mail.example:25", "scheme must be smtp"),
        ("smtp://", "no host"),
        ("smtp://:25", "no host"),
        ("smtp://mail.example:99999", "not a URL"),
        ("smtp://mail.example:0", "port must be between"),
        ("smtp://mail.example:x", "not a URL"),
        ("smtp://mail.example/path", "no path"),
        ("smtp://mail.example?tls=1", "unknown query parameter 'tls'"),
        ("smtp://mail.example?starttls=maybe", "starttls must be 1 or 0"),
        ("smtps://mail.example?starttls=1", "cannot be combined"),
        ("smtp://user:pass@mail.example", "sent in clear"),
        ("smtps://user@mail.example", "both a user name and a password"),
        ("smtps://:pass@mail.example", "both a user name and a password"),
        ("smtp://mail.example\n:25", "whitespace or control"),
        ("smtp://bad_host!:25", "not a host name"),
        ("smtp://[::1:25", "not a URL"),
    ],
)
def test_bad_smtp_urls_name_the_setting_and_the_reason(url: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=f"^WEDSYNC_SMTP_URL is invalid: .*{reason}") as info:
        smtp_config_from_url(url)
    assert info.value.details[0]["field"] == "WEDSYNC_SMTP_URL"


@given(st.text())
def test_any_string_either_parses_or_is_a_config_error(url: str) -> None:
    try:
        config = smtp_config_from_url(url)
    except ConfigError:
        return
    assert 1 <= config.port <= 65535


@given(st.sampled_from(["smtp://", "smtps://"]).flatmap(lambda s: st.text().map(s.__add__)))
def test_any_smtp_looking_string_either_parses_or_is_a_config_error(url: str) -> None:
    with contextlib.suppress(ConfigError):
        smtp_config_from_url(url)


@given(st.text(min_size=1), st.text())
def test_any_credentials_survive_url_encoding(user: str, password: str) -> None:
    url = f"smtps://{quote(user, safe='')}:{quote(password, safe='')}@mail.example"
    config = smtp_config_from_url(url)
    assert (config.username, config.password) == (user, password)


def test_the_password_never_shows_in_repr() -> None:
    config = smtp_config_from_url("smtps://user:hunter2-secret@mail.example")
    assert "hunter2-secret" not in repr(config)


@pytest.mark.parametrize(
    "value", ["", "not an address", "WedSync <success@>", "@wedsync.example", "a@b@c", "x\n@y.z"]
)
def test_bad_mail_from_names_the_setting(value: str) -> None:
    with pytest.raises(ConfigError, match=r"^WEDSYNC_MAIL_FROM is invalid"):
        SmtpEmailAdapter(SmtpConfig("h", 25, Security.PLAIN), value)


@given(st.text())
def test_any_mail_from_either_parses_or_is_a_config_error(value: str) -> None:
    try:
        address = mail_from_address(value)
    except ConfigError:
        return
    assert address.domain


def test_mail_from_keeps_the_display_name_and_an_idna_domain() -> None:
    address = mail_from_address("Brides & Co <hello@bröllop.example>")
    assert address.display_name == "Brides & Co"
    assert address.domain == "xn--brllop-xxa.example"
    assert message_id_for("k", address.domain).endswith("@xn--brllop-xxa.example>")


# --- rendering --------------------------------------------------------------------------


def email_context(**overrides: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "business_name": "Willow & Wren Photography",
        "contact_name": "Hannah",
        "owner_name": "Tom Fielding",
        "top_issue": "nobody has logged in for three weeks",
        "next_milestone": "your 50th booked wedding",
        "milestone": "25 booked weddings",
        "unsubscribe_url": "https://success.wedsync.example/u/tok123?s=sig&k=1",
        "pixel_url": "https://success.wedsync.example/o/tok123.gif?s=sig&k=1",
        "links": {
            "first_form": "https://app.wedsync.example/forms/new?t=a1",
            "book_call": "https://success.wedsync.example/l/call?t=b2",
            "dashboard": "https://success.wedsync.example/l/dash?t=c3",
            "update_payment": "https://success.wedsync.example/l/pay?t=d4",
            "referral": "https://success.wedsync.example/l/ref?t=e5",
        },
        "subject": "Your autumn open evening",
        "body": "Lovely to speak today.\n\nHere are the slides <as promised>.\nSee you soon!",
    }
    context.update(overrides)
    return context


SHIPPED = [
    ("onboarding_nudge", "first_form"),
    ("milestone_celebration", "dashboard"),
    ("at_risk_checkin", "book_call"),
    ("payment_failed", "update_payment"),
    ("referral_ask", "referral"),
    ("one_off", None),
]


@pytest.mark.parametrize(("key", "link"), SHIPPED)
def test_each_shipped_template_renders_with_unsubscribe_pixel_and_links(
    key: str, link: str | None
) -> None:
    context = email_context()
    rendered = render_email(key, context)
    assert rendered.subject
    assert "\n" not in rendered.subject
    assert "Hannah" in rendered.text
    assert "Hannah" in rendered.html
    assert "Tom Fielding" in rendered.text
    assert context["unsubscribe_url"] in rendered.text
    assert '<a href="https://success.wedsync.example/u/tok123?s=sig&amp;k=1">' in rendered.html
    assert '<img src="https://success.wedsync.example/o/tok123.gif?s=sig&amp;k=1"' in rendered.html
    if link is not None:
        assert context["links"][link] in rendered.text
        assert context["links"][link] in rendered.html
    assert "{{" not in rendered.text + rendered.html


def test_templates_say_the_specific_things() -> None:
    context = email_context()
    assert "nobody has logged in for three weeks" in render_email("at_risk_checkin", context).text
    celebration = render_email("milestone_celebration", context)
    assert celebration.subject == "Congratulations, Willow & Wren Photography: 25 booked weddings!"
    assert "your 50th booked wedding" in celebration.html
    assert render_email("one_off", context).subject == "Your autumn open evening"


def test_a_hostile_business_name_is_escaped_in_html() -> None:
    hostile = '<script>alert("x")</script>'
    for key, _ in SHIPPED:
        rendered = render_email(key, email_context(business_name=hostile))
        assert "<script>" not in rendered.html
        assert "&lt;script&gt;" in rendered.html
        assert hostile in rendered.text


def test_one_off_body_is_escaped_and_keeps_its_paragraphs() -> None:
    rendered = render_email("one_off", email_context())
    assert "<p>Lovely to speak today.</p>" in rendered.html
    assert "<p>Here are the slides &lt;as promised&gt;.<br>\nSee you soon!</p>" in rendered.html
    assert "Here are the slides <as promised>.\nSee you soon!" in rendered.text


def test_a_missing_variable_fails_loudly() -> None:
    context = email_context()
    del context["top_issue"]
    with pytest.raises(ConfigError, match=r"'at_risk_checkin'.*'top_issue' is undefined"):
        render_email("at_risk_checkin", context)
    with pytest.raises(ConfigError, match="'referral'"):
        render_email("referral_ask", email_context(links={}))


@pytest.mark.parametrize("key", ["welcome_back", "../defaults/email/one_off", "One_Off", ""])
def test_an_unknown_template_key_is_a_config_error_naming_it(key: str) -> None:
    with pytest.raises(ConfigError, match=f"Unknown email template {key!r}"):
        render_email(key, email_context())


def write_template(folder: Path, key: str, *, html: str, text: str) -> None:
    (folder / f"{key}.subject.txt").write_text("Hello {{ contact_name }}\n")
    (folder / f"{key}.txt").write_text(text)
    (folder / f"{key}.html").write_text(html)


def test_templates_load_from_another_folder(tmp_path: Path) -> None:
    write_template(
        tmp_path,
        "spring",
        html='<p>{{ contact_name }}</p><a href="{{ unsubscribe_url }}">x</a>'
        '<img src="{{ pixel_url }}">',
        text="{{ contact_name }} {{ unsubscribe_url }}",
    )
    rendered = render_email("spring", email_context(), folder=tmp_path)
    assert rendered.subject == "Hello Hannah"
    assert rendered.html.startswith("<p>Hannah</p>")
    with pytest.raises(ConfigError, match="Unknown email template 'one_off'"):
        render_email("one_off", email_context(), folder=tmp_path)


@pytest.mark.parametrize(
    ("html", "text", "missing"),
    [
        ('<img src="{{ pixel_url }}">', "{{ unsubscribe_url }}", r"html does not use unsubscribe"),
        (
            '<a href="{{ unsubscribe_url }}">x</a>',
            "{{ unsubscribe_url }}",
            "html does not use pixel",
        ),
        (
            '<a href="{{ unsubscribe_url }}">x</a><img src="{{ pixel_url }}">',
            "no link here",
            "txt does not show the unsubscribe link",
        ),
    ],
)
def test_a_template_without_unsubscribe_or_pixel_is_refused(
    tmp_path: Path, html: str, text: str, missing: str
) -> None:
    write_template(tmp_path, "bare", html=html, text=text)
    with pytest.raises(ConfigError, match=missing):
        render_email("bare", email_context(), folder=tmp_path)


def test_a_template_with_a_syntax_error_is_a_config_error(tmp_path: Path) -> None:
    write_template(tmp_path, "broken", html="{% if %}", text="{{ unsubscribe_url }}")
    with pytest.raises(ConfigError, match="'broken' cannot be rendered"):
        render_email("broken", email_context(), folder=tmp_path)


def test_a_missing_template_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        render_email("one_off", email_context(), folder=tmp_path / "nowhere")


async def test_a_rendered_template_goes_out_with_its_css_inlined(
    collector: tuple[Collector, Controller],
) -> None:
    handler, controller = collector
    rendered = render_email("onboarding_nudge", email_context())
    message = outgoing(subject=rendered.subject, text=rendered.text, html=rendered.html)
    await SmtpEmailAdapter(plain_config(controller), MAIL_FROM).send(message)
    html = handler.only_email().get_body(preferencelist=("html",))
    assert html is not None
    content = html.get_content()
    assert "<style" not in content
    assert 'class="button" href="https://app.wedsync.example/forms/new?t=a1" style="' in content


# --- reconciliation ---------------------------------------------------------------------


async def test_reconcile_asks_the_mail_store_by_message_id() -> None:
    config = SmtpConfig("127.0.0.1", free_port(), Security.PLAIN)
    delivered, lost = outgoing("run-1:step-1"), outgoing("run-1:step-2")
    held_id = message_id_for("run-1:step-1", "wedsync.example").strip("<>")
    with MailStore(lambda: {held_id}) as store:
        adapter = SmtpEmailAdapter(config, MAIL_FROM, lookup_url=store.url + "/")
        found = await adapter.reconcile(delivered)
        missing = await adapter.reconcile(lost)
    assert found.outcome is ReconcileOutcome.DELIVERED
    assert found.provider_id == adapter.message_id(delivered)
    assert missing.outcome is ReconcileOutcome.NOT_SENT
    assert missing.provider_id is None
    assert store.queries[0] == f'message-id:"{held_id}"'


async def test_reconcile_without_a_lookup_is_unknown() -> None:
    adapter = SmtpEmailAdapter(SmtpConfig("127.0.0.1", free_port(), Security.PLAIN), MAIL_FROM)
    assert (await adapter.reconcile(outgoing())).outcome is ReconcileOutcome.UNKNOWN


async def test_reconcile_is_unknown_when_the_lookup_fails() -> None:
    config = SmtpConfig("127.0.0.1", free_port(), Security.PLAIN)
    with MailStore(set, status=500) as store:
        adapter = SmtpEmailAdapter(config, MAIL_FROM, lookup_url=store.url)
        assert (await adapter.reconcile(outgoing())).outcome is ReconcileOutcome.UNKNOWN
    nobody = SmtpEmailAdapter(config, MAIL_FROM, lookup_url=f"http://127.0.0.1:{free_port()}")
    assert (await nobody.reconcile(outgoing())).outcome is ReconcileOutcome.UNKNOWN
