"""The SSRF rules (``kit.ssrf``, used by outbound webhooks and marketing): hostile URLs are
refused (naming the field), public ones pass."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wedsync_success.kit.ssrf import (
    UrlRefused,
    address_refusal,
    check_configured_url,
    check_target,
    check_url_shape,
    literal_address,
    pinned_request_target,
)

PRIVATE_V4 = st.sampled_from(
    [
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "100.64.0.0/10",
        "0.0.0.0/8",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "192.0.2.0/24",
        "198.18.0.0/15",
    ]
).flatmap(
    lambda net: st.integers(0, ipaddress.ip_network(net).num_addresses - 1).map(
        lambda i, n=ipaddress.ip_network(net): n[i]
    )
)


def spellings(address: ipaddress.IPv4Address) -> st.SearchStrategy[str]:
    """Ways a URL can name an IPv4 address: dotted, decimal, hex, octal, IPv4-mapped IPv6."""
    number = int(address)
    return st.sampled_from(
        [
            str(address),
            str(number),
            hex(number),
            ".".join(f"0{int(part):o}" for part in str(address).split(".")),
            f"[::ffff:{address}]",
            f"[64:ff9b::{address}]",
        ]
    )


HOSTILE_HOSTS = st.one_of(
    PRIVATE_V4.flatmap(spellings),
    st.sampled_from(
        ["localhost", "LOCALHOST", "[::1]", "[::]", "[fe80::1]", "[fc00::1]", "[ff02::1]"]
    ),
)


@given(
    host=HOSTILE_HOSTS,
    scheme=st.sampled_from(["http", "https"]),
    port=st.sampled_from(["", ":80", ":8080", ":65535"]),
    path=st.sampled_from(["", "/", "/hooks?x=1", "/a#frag"]),
)
async def test_urls_that_reach_private_addresses_are_refused(
    host: str, scheme: str, port: str, path: str
) -> None:
    with pytest.raises(UrlRefused) as caught:
        await check_target(f"{scheme}://{host}{port}{path}", allow_private=False)
    assert caught.value.details[0]["field"] == "url"
    assert "refused" in caught.value.reason or "resolve" in caught.value.reason


@given(
    url=st.one_of(
        st.text(max_size=60),
        st.sampled_from(
            [
                "ftp://example.com/",
                "file:///etc/passwd",
                "gopher://127.0.0.1:70/",
                "javascript:alert(1)",
                "http://user:pw@example.com/",
                "http://user@example.com/",
                "https://@example.com/",
                "http:///nohost",
                "http://example.com:99999/",
                "http://exa mple.com/",
                "http://example.com/\r\nHost: evil",
                "http://[fe80::1%25eth0]/",
                "https://" + "a" * 2100 + ".com/",
            ]
        ),
    )
)
def test_malformed_or_credentialed_urls_are_refused_naming_the_field(url: str) -> None:
    refused: UrlRefused | None = None
    try:
        parts, host, port = check_url_shape(url, field="url")
    except UrlRefused as exc:
        refused = exc
    if refused is not None:
        assert refused.details == [{"field": "url", "reason": refused.reason}]
        return
    assert parts.scheme in ("http", "https")
    assert host
    assert 0 < port < 65536
    assert parts.username is None
    assert parts.password is None


async def test_private_targets_pass_when_explicitly_allowed() -> None:
    target = await check_target("http://127.0.0.1:8080/hooks", allow_private=True)
    assert [str(a) for a in target.addresses] == ["127.0.0.1"]


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("169.254.169.254", "169.254.169.254 is a link-local address"),
        ("10.1.2.3", "10.1.2.3 is a private address"),
        ("100.64.0.1", "100.64.0.1 is not a public address"),
        ("::ffff:10.0.0.1", "10.0.0.1 is a private address"),
        ("64:ff9b::7f00:1", "127.0.0.1 is a loopback address"),
        ("::", ":: is a unspecified address"),
        ("ff02::1", "ff02::1 is a multicast address"),
    ],
)
def test_address_rules(address: str, reason: str | None) -> None:
    assert address_refusal(ipaddress.ip_address(address)) == reason


async def test_requests_are_pinned_to_the_checked_address_and_keep_the_host_name() -> None:
    target = await check_target("https://93.184.216.34:8443/x?y=1", allow_private=False)
    url, headers, extensions = pinned_request_target(target)
    assert url == "https://93.184.216.34:8443/x?y=1"
    assert headers == {"host": "93.184.216.34:8443"}
    assert extensions == {"sni_hostname": "93.184.216.34"}
    target = await check_target("http://localhost/hooks", allow_private=True)
    url, headers, extensions = pinned_request_target(target)
    assert url in ("http://127.0.0.1:80/hooks", "http://[::1]:80/hooks")
    assert headers == {"host": "localhost"}
    assert extensions == {}


@given(
    host=HOSTILE_HOSTS,
    scheme=st.sampled_from(["http", "https"]),
    port=st.sampled_from(["", ":8080"]),
    field=st.sampled_from(["WEDSYNC_MARKETING_URL", "campaigns.3.action.webhook.url"]),
)
def test_configured_urls_naming_a_private_address_are_refused_without_dns(
    host: str, scheme: str, port: str, field: str
) -> None:
    url = f"{scheme}://{host}{port}/hooks"
    with pytest.raises(UrlRefused) as caught:
        check_configured_url(url, allow_private=False, field=field)
    assert caught.value.details == [{"field": field, "reason": caught.value.reason}]
    assert caught.value.reason.startswith("refused: ")
    check_configured_url(url, allow_private=True, field=field)  # the allow setting


def test_configured_urls_keep_the_shape_rules_when_allowed() -> None:
    with pytest.raises(UrlRefused, match="credentials"):
        check_configured_url("http://u:p@127.0.0.1/", allow_private=True, field="f")
    check_configured_url("https://collector.example.com/v1", allow_private=False, field="f")


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("example.com", None),
        ("cafe", None),
        ("1.2.3.4.5", None),
        ("", None),
    ],
)
def test_literal_addresses_are_read_as_the_resolver_reads_them(
    host: str, address: str | None
) -> None:
    found = literal_address(host)
    assert (None if found is None else str(found)) == address
