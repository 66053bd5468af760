"""Provider keys found in an environment (or a ``.env`` file) into encrypted credentials.

Open Notebook's ``GET credentials/env-status`` and ``POST credentials/migrate-from-env``
(``api/credentials_service.py``), with what it gets wrong fixed:

* one transaction: every credential of an import is written, or none is (Open Notebook
  saves provider by provider and reports the failures in a 200);
* error messages name the provider, the field and what is wrong, never the value
  (Open Notebook puts ``str(exception)`` of each failure in the response);
* the caller may choose the providers (the panel's "Import from environment" and
  ``jupyter open-notebook import-env --provider``); without a choice, every configured
  provider, as Open Notebook does.

A provider that already has a credential is skipped, never overwritten. What counts as
"configured", and which variable fills which field, is ``provider_env.PROVIDER_ENV``.
Listing (``found``) gives variable names only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select

from open_notebook_ext.db.orm import Credential
from open_notebook_ext.errors import Conflict, InvalidInput
from open_notebook_ext.vault.credentials import CredentialStore
from open_notebook_ext.vault.provider_env import PROVIDER_ENV
from open_notebook_ext.vault.providers import PROVIDERS

MIGRATED_NAME = "Default (Migrated from env)"  # Open Notebook's name for these
DOTENV_IMPORTED_NAME = "Default (Imported from .env)"


def env_status(environ: Mapping[str, str]) -> dict[str, bool]:
    """Open Notebook's ``env-status``: provider -> configured by this environment."""
    return {name: spec.configured(environ) for name, spec in PROVIDER_ENV.items()}


def variables_found(environ: Mapping[str, str], provider: str) -> list[str]:
    """The names (never values) of the provider's variables that are set, non-blank."""
    return [v for v in PROVIDER_ENV[provider].variables if environ.get(v, "").strip()]


def _providers_with_credentials(
    store: CredentialStore, owner: str, providers: Iterable[str]
) -> dict[str, int]:
    wanted = list(providers)
    if not wanted:
        return {}
    with store.db.session() as s:
        rows = (
            s.execute(
                select(Credential.provider).where(
                    Credential.owner == owner, Credential.provider.in_(wanted)
                )
            )
            .scalars()
            .all()
        )
    counts: dict[str, int] = {}
    for p in rows:
        counts[p] = counts.get(p, 0) + 1
    return counts


def found(store: CredentialStore, owner: str, environ: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every provider with at least one variable set: names, whether it is importable."""
    candidates = {p: variables_found(environ, p) for p in PROVIDER_ENV}
    candidates = {p: names for p, names in candidates.items() if names}
    existing = _providers_with_credentials(store, owner, candidates)
    return [
        {
            "provider": p,
            "display_name": PROVIDERS[p].display_name,
            "variables": names,
            "configured": PROVIDER_ENV[p].configured(environ),
            "credentials": existing.get(p, 0),
        }
        for p, names in candidates.items()
    ]


def _chosen(providers: Any) -> list[str]:
    if providers is None:
        return list(PROVIDER_ENV)
    if not isinstance(providers, list) or not all(isinstance(p, str) for p in providers):
        raise InvalidInput([{"field": "providers", "message": "must be a list of strings"}])
    names = [p.strip().lower() for p in providers]
    unknown = [p for p in names if p not in PROVIDER_ENV]
    if unknown:
        raise InvalidInput(
            [{"field": "providers", "message": f"unknown provider(s): {', '.join(unknown)[:200]}"}]
        )
    return list(dict.fromkeys(names))


def import_credentials(
    store: CredentialStore,
    owner: str,
    environ: Mapping[str, str],
    providers: Any = None,
    *,
    name: str = MIGRATED_NAME,
) -> dict[str, Any]:
    """Create one credential per chosen, configured provider that has none yet.

    Every key is encrypted before the transaction starts; a field the environment
    gets wrong (a base URL without a scheme, say) fails the whole import with 422
    naming ``<provider>.<field>``, and nothing is written. Raises
    ``EncryptionNotConfigured`` (400) and ``Conflict`` (409, a key mismatch) as
    creating a credential does.
    """
    chosen = _chosen(providers)
    not_configured = [p for p in chosen if not PROVIDER_ENV[p].configured(environ)]
    configured = [p for p in chosen if p not in not_configured]
    existing = _providers_with_credentials(store, owner, configured)
    skipped = [p for p in configured if p in existing]
    rows: dict[str, Credential] = {}
    errors: list[dict[str, str]] = []
    for p in configured:
        if p in existing:
            continue
        payload = {"name": name, "provider": p, **PROVIDER_ENV[p].read(environ)}
        try:
            rows[p] = store.new_row(owner, payload)
        except InvalidInput as e:
            errors.extend(
                {"field": f"{p}.{err['field']}" if err["field"] else p, "message": err["message"]}
                for err in e.errors
            )
    if errors:
        raise InvalidInput(errors)
    created: list[dict[str, Any]] = []
    if rows:
        from sqlalchemy.exc import IntegrityError

        try:
            with store.db.session(write=True) as s:
                # checked again inside the transaction: another import may have won
                again = set(
                    s.execute(
                        select(Credential.provider).where(
                            Credential.owner == owner, Credential.provider.in_(list(rows))
                        )
                    )
                    .scalars()
                    .all()
                )
                for p in list(rows):
                    if p in again:
                        skipped.append(p)
                        del rows[p]
                        continue
                    s.add(rows[p])
                s.flush()
                created = [store.to_json(row) for row in rows.values()]
        except IntegrityError:
            raise Conflict(
                "A credential with this name already exists; nothing was imported"
            ) from None
    migrated = list(rows)
    return {
        "message": f"Migration complete. Migrated {len(migrated)} providers.",
        "migrated": migrated,
        "skipped": [p for p in chosen if p in skipped],
        "not_configured": not_configured,
        "errors": [],
        "credentials": [
            {
                "id": c["id"],
                "name": c["name"],
                "provider": c["provider"],
                "api_key_hint": c["api_key_hint"],
            }
            for c in created
        ],
    }
