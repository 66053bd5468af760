"""Who a request's user is beyond their name: their hub groups, and whether they are an admin.

In service mode (``hub/identity.py``) each request's user is a :class:`HubUser`, built from
the model the hub answered for its token (``GET /hub/api/user``, cached by ``HubAuth``):
its ``groups``, and whether its ``scopes`` hold the service's admin scope
(``custom:<service>:admin``). Everywhere else (a local server, a kernel's token) a user
has no groups and is no admin.

A credential a group owns is stored with the owner ``group/<name>``. JupyterHub refuses
usernames with a ``/`` (``Authenticator.validate_username``), so no user's own rows, and
no owner-scoped query of any route, ever reaches a group's row: only the code that asks
for a user's groups (:func:`group_owners`) does.

This module imports neither jupyterhub nor SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from jupyter_server.auth.identity import User

GROUP_OWNER_PREFIX = "group/"
MAX_GROUP_NAME = 200


@dataclass
class HubUser(User):
    """A hub user, with what the hub said of them when their token was checked."""

    groups: tuple[str, ...] = ()
    admin: bool = False


def group_owner(group: str) -> str:
    """The owner of the rows group ``group`` owns."""
    return GROUP_OWNER_PREFIX + group


def owner_name(name: str) -> str:
    """``name`` as the owner of a user's rows; a name that would be a group's owner
    (another identity provider's, or ``OPEN_NOTEBOOK_OWNER``) is refused (403)."""
    if name.startswith(GROUP_OWNER_PREFIX):
        from open_notebook_ext.http.errors import ApiError

        raise ApiError(
            403,
            f"User names beginning with {GROUP_OWNER_PREFIX!r} cannot own rows: "
            "they name hub groups' credentials",
        )
    return name


def group_of(owner: str) -> str | None:
    """The group an owner names, or None for a user."""
    return owner[len(GROUP_OWNER_PREFIX) :] if owner.startswith(GROUP_OWNER_PREFIX) else None


def groups_of(user: object) -> tuple[str, ...]:
    """The hub groups of a request's user (none outside service mode)."""
    return tuple(getattr(user, "groups", ()) or ()) if isinstance(user, HubUser) else ()


def is_admin(user: object) -> bool:
    """Whether a request's user holds the service's admin scope."""
    return isinstance(user, HubUser) and bool(user.admin)


def group_owners(groups: Iterable[str]) -> list[str]:
    """The owners of the rows of ``groups``, sorted."""
    return sorted({group_owner(g) for g in groups if g})
