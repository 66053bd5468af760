"""Which IP addresses the SSRF guard refuses, and why (``blocked_reason``).

Cloud-metadata, link-local, unspecified, multicast and reserved addresses are
always refused; loopback and private (RFC 1918, ULA, CGNAT, ...) addresses are
refused unless ``allow_private``. IPv6 forms that carry an IPv4 address
(IPv4-mapped, IPv4-compatible, NAT64 ``64:ff9b::/96`` and ``64:ff9b:1::/48``,
6to4 ``2002::/16``, Teredo ``2001::/32``) are judged by the IPv4 address inside.
Pure functions of the address: ``netguard`` resolves and connects.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance-metadata services. 169.254.169.254 (AWS, GCP, Azure, DigitalOcean,
# OpenStack, Oracle) is link-local and refused as such; these others are not.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6 (a ULA, not link-local)
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (classic)
        "168.63.129.16",  # Azure WireServer / host agent (a public address)
    )
)
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_6TO4 = ipaddress.ip_network("2002::/16")
_TEREDO = ipaddress.ip_network("2001::/32")
# Not globally reachable (IANA special-purpose registries), whatever this Python's
# ipaddress tables say (they have changed between releases).
_NOT_GLOBAL = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "100.64.0.0/10",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "fc00::/7",
        "fec0::/10",
        "2001:db8::/32",
        "2001:2::/48",
        "2001:10::/28",
        "2001:20::/28",
        "3fff::/20",
        "5f00::/16",
    )
)
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # connecting to 0.0.0.0 reaches this host
_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for (empty for a plain IPv6 address)."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    value = int(ip)
    low32 = ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if value >> 32 == 0 and value > 1:  # IPv4-compatible ::a.b.c.d (not :: or ::1)
        return [low32]
    if value >> 32 == 0xFFFF0000:  # IPv4-translated ::ffff:0:a.b.c.d
        return [low32]
    if ip in _NAT64[0]:
        return [low32]
    if ip in _NAT64[1]:
        # Local-use NAT64: RFC 6052 puts the IPv4 address around the u-octet for a
        # /48 prefix; deployments often use the last 32 bits. Judge both.
        packed = ip.packed
        return [ipaddress.IPv4Address(packed[6:8] + packed[9:11]), low32]
    if ip in _6TO4:
        assert ip.sixtofour is not None
        return [ip.sixtofour]
    if ip in _TEREDO:
        assert ip.teredo is not None
        server, client = ip.teredo
        return [server, client]
    return []


def blocked_reason(ip: IPAddress | str, *, allow_private: bool = False) -> str | None:
    """Why we refuse to connect to ``ip``, or None when it is fine."""
    if isinstance(ip, str):
        ip = ipaddress.ip_address(ip)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            ip = ipaddress.IPv6Address(int(ip))  # fe80::1%eth0 is still fe80::1
        inner = embedded_ipv4(ip)
        if inner:
            reasons = [
                r
                for r in (blocked_reason(v4, allow_private=allow_private) for v4 in inner)
                if r is not None
            ]
            if not reasons:
                return None
            # Name the most telling reason when several readings are refused.
            reasons.sort(key=lambda r: ("metadata" not in r, "link-local" not in r))
            return f"{reasons[0]} (embedded in an IPv6 address)"
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_link_local:
        return "a link-local address (used for cloud metadata)"
    if ip.is_unspecified or ip in _THIS_NETWORK:
        return "an unspecified address"
    if ip.is_multicast or ip == _BROADCAST:
        return "a multicast or broadcast address"
    if ip.is_loopback:
        return None if allow_private else "a loopback address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private or not ip.is_global or any(ip in net for net in _NOT_GLOBAL):
        return None if allow_private else "a private address"
    return None
