"""The ``msal-mi`` command line: token, detect, emulator, demo."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._errors import ManagedIdentityError
from ._identity import ManagedIdentity, SystemAssignedManagedIdentity, UserAssignedManagedIdentity
from ._kinds import ManagedIdentitySourceKind

if TYPE_CHECKING:
    from .emulator import Emulator

__all__ = ["main"]


def _identity(args: argparse.Namespace) -> ManagedIdentity:
    if args.client_id or args.resource_id or args.object_id:
        return UserAssignedManagedIdentity(
            client_id=args.client_id, resource_id=args.resource_id, object_id=args.object_id
        )
    return SystemAssignedManagedIdentity()


def _cmd_token(args: argparse.Namespace) -> int:
    from ._sync import SyncManagedIdentityClient

    extra: dict[str, Any] = {}
    if args.no_retry:
        from ._retry import RetryPolicy

        extra["retry_policy"] = RetryPolicy.none()
    if args.arc_token_dir:
        from ._arc_keyfile import ArcKeyFileReader

        extra["read_key_file"] = ArcKeyFileReader(token_dir=args.arc_token_dir)
    with SyncManagedIdentityClient(_identity(args), timeout=args.timeout, **extra) as client:
        result = client.acquire_token(args.resource)
    if args.json:
        print(
            json.dumps(
                {
                    "accessToken": result.access_token,
                    "tokenType": result.token_type,
                    "expiresOn": result.expires_on,
                    "refreshOn": result.refresh_on,
                    "resource": result.resource,
                    "source": result.managed_identity_source.value,
                    "correlationId": result.correlation_id,
                },
                indent=2,
            )
        )
    else:
        print(result.access_token)
    return 0


def _cmd_detect(args: argparse.Namespace) -> int:
    from ._client import ManagedIdentityClient

    source = ManagedIdentityClient().detect_source()
    print(source.kind.value)
    print(f"why: {source.describe()}", file=sys.stderr)
    return 0


def _cmd_emulator(args: argparse.Namespace) -> int:
    from .emulator import Emulator

    kind = ManagedIdentitySourceKind(args.source)
    try:
        with Emulator(host=args.host, port=args.port) as emu:
            _print_exports(emu, kind)
            threading.Event().wait()
    except KeyboardInterrupt:  # Ctrl-C, at any point: the with block has cleaned up
        pass
    return 0


def _print_exports(emu: Emulator, kind: ManagedIdentitySourceKind) -> None:
    print(f"# msal-mi emulator serving {kind.value} at {emu.url}; Ctrl-C to stop", file=sys.stderr)
    for name, value in emu.env(kind).items():
        print(f"export {name}={shlex.quote(value)}")
    if kind is ManagedIdentitySourceKind.AZURE_ARC:
        token_dir = shlex.quote(emu.arc_token_dir)
        print(f"# Arc key files go to {token_dir}; the library reads only the agent's")
        print(f"# fixed one unless told: msal-mi token RESOURCE --arc-token-dir {token_dir}")
    sys.stdout.flush()


def _cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_demo(tasks=args.tasks, threads=args.threads)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="msal-mi", description="Azure managed identity tokens, and a local emulator."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    token = commands.add_parser("token", help="acquire a token and print it")
    token.add_argument("resource", help="e.g. https://management.azure.com or …/.default")
    selector = token.add_mutually_exclusive_group()
    selector.add_argument("--client-id")
    selector.add_argument("--resource-id")
    selector.add_argument("--object-id")
    token.add_argument("--json", action="store_true", help="print the whole result as JSON")
    token.add_argument("--timeout", type=float, default=30.0, help="seconds (default 30)")
    token.add_argument(
        "--no-retry", action="store_true", help="fail on the first error instead of retrying"
    )
    token.add_argument(
        "--arc-token-dir", help="read Azure Arc key files from here (for the emulator only)"
    )
    token.set_defaults(run=_cmd_token)

    detect = commands.add_parser("detect", help="name the managed identity source; no network")
    detect.set_defaults(run=_cmd_detect)

    emulator = commands.add_parser("emulator", help="serve a local managed identity endpoint")
    emulator.add_argument(
        "--source", default="imds", choices=[kind.value for kind in ManagedIdentitySourceKind]
    )
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=0, help="0 picks a free port")
    emulator.set_defaults(run=_cmd_emulator)

    demo = commands.add_parser("demo", help="tokens from the embedded emulator, no Azure needed")
    demo.add_argument("--tasks", type=int, default=1000, help="concurrent async callers")
    demo.add_argument("--threads", type=int, default=64, help="concurrent sync callers")
    demo.set_defaults(run=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``msal-mi`` and ``python -m msal_mi_async``."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except ValueError as exc:  # a usage error, InvalidResourceError included
        print(f"msal-mi: {exc}", file=sys.stderr)
        return 2
    except ManagedIdentityError as exc:
        print(f"msal-mi: {exc}", file=sys.stderr)
        return 1
    return code
