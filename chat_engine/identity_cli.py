"""``chat-engine tenant identity TENANT …``: a tenant's signed identities (mode,
audience, verification keys, the extra fields' map; ``docs/integrator-guide.md``,
"Signing identities")."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from business.errors import InvalidInput
from business.identity_model import IdentityKey, IdentityMode, IdentitySettings, KeyAlgorithm
from business.identity_settings import ConfigureIdentity
from business.model import TenantId
from chat_engine.admin import configure_identity, identity_settings
from chat_engine.settings import Settings
from presentation.identity_jwt import public_key_algorithm


def add_parser(
    tenant_commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    identity = tenant_commands.add_parser(
        "identity",
        parents=[common],
        help="show or change how the tenant's sites sign their visitors' identities",
        description=(
            "Sites that log their customers in pass the widget a JWT signed with a key "
            "given here; its 'sub' is who the visitor is, on every device. Without options, "
            "shows the settings (secrets only as 'set'). Change what is given; the rest "
            "stays. A key replaces the one with the same --kid."
        ),
    )
    identity.add_argument("tenant_id", metavar="TENANT", help="the tenant's id")
    identity.add_argument(
        "--mode",
        choices=[mode.value for mode in IdentityMode],
        help="off: a connect with an identity is refused; optional: anonymous visitors "
        "welcome, an identity must be valid; required: only visitors with a valid identity",
    )
    identity.add_argument(
        "--audience", metavar="AUD", help="the 'aud' every token must carry, e.g. the site's URL"
    )
    key = identity.add_mutually_exclusive_group()
    key.add_argument(
        "--hs256-secret-file", metavar="FILE", help="a file holding the shared HS256 secret"
    )
    key.add_argument(
        "--public-key-file",
        metavar="FILE",
        help="a PEM public key (RSA: RS256, P-256: ES256); needs --kid",
    )
    key.add_argument(
        "--remove-key",
        metavar="KID",
        help="drop the key of this kid ('-': the secret without a kid)",
    )
    identity.add_argument("--kid", metavar="KID", help="the key's id, as the token header's 'kid'")
    identity.add_argument(
        "--map-extra",
        metavar="KEY=FIELD",
        action="append",
        default=[],
        help="store the identity's extra value KEY as the custom field FIELD (repeatable; "
        "KEY= drops KEY's mapping); unmapped keys keep their own name",
    )
    identity.add_argument(
        "--clear-extra-map",
        action="store_true",
        help="drop every extra mapping (before any --map-extra)",
    )


async def tenant_identity(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    tenant = TenantId(args.tenant_id.strip())
    added: list[IdentityKey] = []
    if args.hs256_secret_file is not None:
        secret = _read(args.hs256_secret_file, "--hs256-secret-file").strip()
        added.append(IdentityKey(kid=args.kid, algorithm=KeyAlgorithm.HS256, material=secret))
    elif args.public_key_file is not None:
        if args.kid is None:
            raise InvalidInput("--public-key-file needs --kid")
        pem = _read(args.public_key_file, "--public-key-file")
        added.append(IdentityKey(kid=args.kid, algorithm=public_key_algorithm(pem), material=pem))
    elif args.kid is not None and args.remove_key is None:
        raise InvalidInput("--kid goes with --hs256-secret-file or --public-key-file")
    removed = (
        [] if args.remove_key is None else [None if args.remove_key == "-" else args.remove_key]
    )
    changes = (args.mode, args.audience, args.remove_key)
    extra_fields = None
    if args.map_extra or args.clear_extra_map:
        current = (
            {} if args.clear_extra_map else (await identity_settings(settings, tenant)).extra_fields
        )
        extra_fields = _mapped(current, args.map_extra)
    if added or extra_fields is not None or any(value is not None for value in changes):
        stored = await configure_identity(
            settings,
            ConfigureIdentity(
                tenant_id=tenant,
                mode=None if args.mode is None else IdentityMode(args.mode),
                audience=args.audience,
                add_keys=added,
                remove_kids=removed,
                extra_fields=extra_fields,
            ),
        )
    else:
        stored = await identity_settings(settings, tenant)
    out.write(describe(stored) + "\n")
    return 0


def describe(settings: IdentitySettings) -> str:
    lines = [
        f"signed identities of tenant {settings.tenant_id}: {settings.mode}",
        f"audience: {settings.audience or '(none)'}",
    ]
    for key in settings.keys:
        shown = "secret set" if key.is_secret else "public key"
        lines.append(f"key {key.kid or '(no kid)'}: {key.algorithm} ({shown})")
    if not settings.keys:
        lines.append("no keys")
    lines += [f"extra {key} -> custom field {name}" for key, name in settings.extra_fields.items()]
    return "\n".join(lines)


def _mapped(current: Mapping[str, str], pairs: Sequence[str]) -> dict[str, str]:
    fields = dict(current)
    for pair in pairs:
        key, sign, name = pair.partition("=")
        if not sign or not key:
            raise InvalidInput(f"--map-extra {pair[:70]!r}: give it as KEY=FIELD")
        if name:
            fields[key] = name
        else:
            fields.pop(key, None)
    return fields


def _read(path: str, option: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"{option}: cannot read {path}: {error}") from None
