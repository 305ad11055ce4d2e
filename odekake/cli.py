"""The ``odekake`` command line.

Every user error is an :class:`~odekake.errors.OdekakeError`: it is printed as one
line (``エラー: …``) and the command exits 1. An unexpected exception is a bug: it
is printed as one line too, with the full traceback only when ``ODEKAKE_DEBUG=1``.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import click

from odekake.errors import OdekakeError


class OdekakeGroup(click.Group):
    """A click group that turns errors into one clear line and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OdekakeError as exc:
            click.echo(f"エラー: {exc}", err=True)
            ctx.exit(1)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("中断しました。", err=True)
            ctx.exit(130)
        except Exception as exc:
            if os.environ.get("ODEKAKE_DEBUG"):
                traceback.print_exc()
            click.echo(
                f"エラー(想定外): {type(exc).__name__}: {exc} — 詳細は ODEKAKE_DEBUG=1 を付けて再実行してください",
                err=True,
            )
            ctx.exit(2)


@click.group(cls=OdekakeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="odekake")
def main() -> None:
    """お出かけ市役所(移動市役所車両)の業務システム odekake。

    van.db は車両の端末、hub.db は市役所(ハブ)のデータベースです。
    """


def _register() -> None:
    from odekake.commands import (
        card,
        core,
        kiosk,
        operators,
        plan,
        prefill,
        report,
        security,
        staff,
        sync,
        vans,
        vote,
    )

    for module in (
        core,
        sync,
        kiosk,
        plan,
        report,
        vote,
        security,
        vans,
        operators,
        prefill,
        staff,
        card,
    ):
        for command in module.COMMANDS:
            main.add_command(command)


_register()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
