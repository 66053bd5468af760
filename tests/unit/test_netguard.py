"""The SSRF guard: which addresses are refused, URL checks, pinned and limited requests.

No test here connects anywhere but 127.0.0.1; refused addresses are refused
before any connection, and host names resolve from a table, not from DNS.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest

from open_notebook_ext.security import netguard
from open_notebook_ext.security.addresses import blocked_reason
from open_notebook_ext.security.netguard import (
    FetchError,
    PinnedResolver,
    ResponseTooLarge,
    Target,
    URLRefused,
    check_url,
)
from support.content import local_site

# Refused whatever allow_private says: metadata, link-local, unusable, and the IPv6
# forms that carry one of those inside.
ALWAYS = [
    ("169.254.169.254", "metadata"),  # AWS, GCP, Azure, DigitalOcean, OpenStack
    ("169.254.170.2", "metadata"),  # AWS ECS task metadata
    ("100.100.100.200", "metadata"),  # Alibaba Cloud
    ("192.0.0.192", "metadata"),  # Oracle Cloud
    ("168.63.129.16", "metadata"),  # Azure WireServer (a public address)
    ("fd00:ec2::254", "metadata"),  # AWS IMDS over IPv6
    ("169.254.0.1", "link-local"),
    ("169.254.255.254", "link-local"),
    ("fe80::1", "link-local"),
    ("fe80::a9fe:a9fe%eth0", "link-local"),
    ("febf:ffff::1", "link-local"),
    ("0.0.0.0", "unspecified"),  # noqa: S104 - an address to refuse, not to bind
    ("0.1.2.3", "unspecified"),
    ("::", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("255.255.255.255", "broadcast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("100::1", "reserved"),  # IPv6 discard prefix
    # IPv4-mapped, IPv4-compatible, IPv4-translated
    ("::ffff:169.254.169.254", "metadata"),
    ("::ffff:a9fe:a9fe", "metadata"),
    ("::169.254.169.254", "metadata"),
    ("::ffff:0:169.254.169.254", "metadata"),
    ("::ffff:169.254.1.1", "link-local"),
    ("::ffff:0.0.0.0", "unspecified"),
    # NAT64 (well-known and local-use prefixes)
    ("64:ff9b::169.254.169.254", "metadata"),
    ("64:ff9b::a9fe:a9fe", "metadata"),
    ("64:ff9b:1::a9fe:a9fe", "metadata"),
    ("64:ff9b:1:a9fe:a9:fe00::", "metadata"),  # RFC 6052 /48 layout
    # 6to4
    ("2002:a9fe:a9fe::", "metadata"),
    ("2002:a9fe:a9fe:1234::1", "metadata"),
    ("2002:a9fe:0101::1", "link-local"),
    # Teredo: server 169.254.169.254 / client (obfuscated) 169.254.169.254
    ("2001:0:a9fe:a9fe::1", "metadata"),
    ("2001:0:4136:e378:8000:63bf:5601:5601", "metadata"),
]

# Refused unless allow_private (tests, intranets).
PRIVATE = [
    "127.0.0.1",
    "127.255.255.254",
    "::1",
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "100.64.0.1",
    "100.127.255.254",
    "198.18.0.1",
    "192.0.0.8",
    "192.0.2.1",
    "198.51.100.7",
    "203.0.113.9",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "2001:db8::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::127.0.0.1",
    "::ffff:10.1.2.3",
    "::ffff:192.168.0.1",
    "::ffff:0:127.0.0.1",
    "64:ff9b::127.0.0.1",
    "64:ff9b::a00:1",
    "64:ff9b::c0a8:101",
    "2002:7f00:1::",
    "2002:c0a8:101::1",
    "2002:0a00:0001::",
    "2001:0:7f00:1::f7f7:f7f7",  # Teredo server 127.0.0.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo client 127.0.0.1
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::8.8.8.8",
    "2002:808:808::1",
    "172.32.0.1",
    "100.128.0.1",
    "169.253.255.255",
    "11.0.0.1",
]


@pytest.mark.parametrize(("address", "why"), ALWAYS)
@pytest.mark.parametrize("allow_private", [False, True])
def test_always_refused(address, why, allow_private):
    reason = blocked_reason(address, allow_private=allow_private)
    assert reason is not None and why in reason, (address, reason)


@pytest.mark.parametrize("address", PRIVATE)
def test_private_refused_unless_allowed(address):
    reason = blocked_reason(address)
    assert reason is not None and ("private" in reason or "loopback" in reason), reason
    assert blocked_reason(address, allow_private=True) is None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_allowed(address):
    assert blocked_reason(address) is None
    assert blocked_reason(ipaddress.ip_address(address)) is None


def resolver(table):
    def resolve(host, port):
        if host not in table:
            raise socket.gaierror("unknown")
        return table[host]

    return resolve


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.org/", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("http://", "hostname"),
        ("http://user:pass@example.org/", "user name"),
        ("http://169.254.169.254@example.org/", "user name"),
        ("http://example.org\\@169.254.169.254/", "backslash"),
        ("http://exa mple.org/", "whitespace"),
        ("http://example.org:99999/", "port"),
        ("http://[::1/", "Invalid URL"),
        ("", "empty"),
        ("http://example.org/" + "a" * 2100, "longer"),
    ],
)
def test_bad_urls(url, message):
    with pytest.raises(URLRefused, match=message):
        check_url(url, allow_private=True, resolve=resolver({"example.org": ["8.8.8.8"]}))


def test_refusals_do_not_repeat_the_url():
    """Issue 15, finding 15: messages reach API clients; they name the problem, never the
    host, scheme or URL that was sent."""
    canary = "canary" + "5f3a9c"
    table = {f"{canary}.example": ["169.254.169.254"], f"p.{canary}.example": ["10.0.0.1"]}
    refusals = []
    for url, allow_private in (
        (f"http://{canary}.example/", True),
        (f"http://p.{canary}.example/", False),
        (f"http://nowhere.{canary}.example/", False),
        (f"{canary}://host/", False),
        (f"ftp://{canary}.example/", False),
        (f"http://user:{canary}@h.example/", False),
        (f"http://{canary}.example:99999/", False),
    ):
        with pytest.raises((URLRefused, FetchError)) as caught:
            check_url(url, allow_private=allow_private, resolve=resolver(table))
        refusals.append(str(caught.value))
    assert [m for m in refusals if canary in m] == []
    assert "resolves to a cloud metadata address" in refusals[0]
    assert "Could not resolve the URL's host" in refusals[2]
    assert refusals[3] == "Invalid URL scheme: only http and https are allowed"


def test_check_url_resolves_once_and_judges_every_address():
    table = {
        "ok.example": ["93.184.216.34", "2606:4700::1"],
        "mixed.example": ["93.184.216.34", "169.254.169.254"],
        "private.example": ["10.0.0.5"],
        "v6only.example": ["2606:4700::1"],
    }
    t = check_url("https://OK.example:8443/x?y=1", allow_private=False, resolve=resolver(table))
    assert (t.scheme, t.host, t.port) == ("https", "ok.example", 8443)
    assert t.address == "93.184.216.34"  # IPv4 preferred
    assert t.addresses == ("93.184.216.34", "2606:4700::1")
    assert (
        check_url("http://v6only.example/", allow_private=False, resolve=resolver(table)).address
        == "2606:4700::1"
    )
    with pytest.raises(URLRefused, match="resolves to a cloud metadata address"):
        check_url("http://mixed.example/", allow_private=True, resolve=resolver(table))
    with pytest.raises(URLRefused, match="resolves to a private address"):
        check_url("http://private.example/", allow_private=False, resolve=resolver(table))
    assert (
        check_url("http://private.example/", allow_private=True, resolve=resolver(table)).address
        == "10.0.0.5"
    )
    with pytest.raises(FetchError, match="Could not resolve"):
        check_url("http://nowhere.example/", allow_private=False, resolve=resolver(table))
    t = check_url(
        "http://nowhere.example/",
        allow_private=False,
        require_resolution=False,
        resolve=resolver(table),
    )
    assert t.address is None
    with pytest.raises(URLRefused, match="host is a loopback address"):
        check_url("http://[::ffff:127.0.0.1]:8888/", allow_private=False)
    with pytest.raises(URLRefused, match="host is a cloud metadata address"):
        check_url("http://[64:ff9b::a9fe:a9fe]/", allow_private=True)


def test_numeric_host_forms_are_judged_after_resolution():
    for host in ("2130706433", "0x7f.1", "127.1", "017700000001"):
        with pytest.raises(URLRefused, match="loopback"):
            check_url(f"http://{host}/", allow_private=False)
    with pytest.raises(URLRefused, match="metadata"):
        check_url("http://2852039166/", allow_private=True)  # 169.254.169.254


async def test_pinned_resolver_answers_only_the_checked_host():
    target = Target("http://a.example/", "http", "a.example", 80, "93.184.216.34")
    r = PinnedResolver(target=target)
    assert await r.resolve("a.example", 80) == [(socket.AF_INET, ("93.184.216.34", 80))]
    assert await r.resolve("A.EXAMPLE", 80) == [(socket.AF_INET, ("93.184.216.34", 80))]
    with pytest.raises(OSError, match="unchecked"):
        await r.resolve("b.example", 80)
    v6 = PinnedResolver(
        target=Target("http://[2606:4700::1]/", "http", "2606:4700::1", 80, "2606:4700::1")
    )
    assert await v6.resolve("[2606:4700::1]", 80) == [(socket.AF_INET6, ("2606:4700::1", 80, 0, 0))]


async def test_fetch_connects_to_the_pinned_address_despite_rebinding(monkeypatch):
    """DNS answers 127.0.0.1 to the check, then 169.254.169.254: the request still goes
    to the vetted address, because the connection never resolves the name again."""
    answers = iter([["127.0.0.1"], ["169.254.169.254"], ["169.254.169.254"]])
    calls = []

    def rebinding(host, port):
        calls.append(host)
        return next(answers)

    with local_site() as site:
        result = await netguard.fetch(
            f"http://rebind.test:{site['port']}/text",
            allow_private=True,
            max_bytes=10_000,
            timeout=5,
            resolve=rebinding,
        )
        assert result.status == 200 and result.body == b"Plain wombat notes.\n"
        assert calls == ["rebind.test"]
        assert site["hits"] == ["/text"]


async def test_fetch_limits_and_redirect_checks():
    with local_site() as site:
        base = site["url"]
        ok = await netguard.fetch(
            base + "/to-page", allow_private=True, max_bytes=10_000, timeout=5
        )
        assert ok.status == 200 and ok.url == base + "/page" and b"quokka" in ok.body
        missing = await netguard.fetch(
            base + "/missing", allow_private=True, max_bytes=10_000, timeout=5
        )
        assert missing.status == 404
        with pytest.raises(URLRefused, match="metadata"):
            await netguard.fetch(
                base + "/to-metadata", allow_private=True, max_bytes=10_000, timeout=5
            )
        with pytest.raises(ResponseTooLarge):
            await netguard.fetch(base + "/big", allow_private=True, max_bytes=100_000, timeout=5)
        with pytest.raises(ResponseTooLarge):  # 20 MiB of gzip: counted decompressed
            await netguard.fetch(base + "/bomb", allow_private=True, max_bytes=100_000, timeout=5)
        with pytest.raises(FetchError, match="timed out"):
            await netguard.fetch(base + "/slow", allow_private=True, max_bytes=100, timeout=0.5)
        with pytest.raises(FetchError, match="Too many redirects"):
            await netguard.fetch(
                base + "/loop", allow_private=True, max_bytes=100, timeout=5, max_redirects=3
            )
        with pytest.raises(URLRefused, match="loopback"):
            await netguard.fetch(base + "/page", allow_private=False, max_bytes=100, timeout=5)
        hits_before = len(site["hits"])
        with pytest.raises(URLRefused):
            await netguard.fetch(base + "/page", allow_private=False, max_bytes=100, timeout=5)
        assert len(site["hits"]) == hits_before  # refused before connecting


def test_a_refusal_a_setting_would_lift_names_the_setting():
    """Issue 20: Ollama's connection test refused as loopback says what allows it."""
    with pytest.raises(URLRefused) as refused:
        check_url("http://127.0.0.1:11434/", allow_private=False)
    assert "OpenNotebookApp.allow_private_targets = True" in str(refused.value)
    with pytest.raises(URLRefused) as refused:  # no setting lifts this one
        check_url("http://169.254.169.254/", allow_private=True)
    assert "allow_private_targets" not in str(refused.value)
