"""The counter's My Number card reader: a check, and an emulated card for demos and tests."""

from __future__ import annotations

import signal
import threading

import click

COMMANDS: list[click.Command] = []


@click.group("card")
def card_group() -> None:
    """マイナンバーカードの読み取り(券面事項入力補助AP。個人番号は読みません)。"""


@card_group.command("check")
def card_check() -> None:
    """カードリーダーとカードの状態を確かめる(暗証番号は使いません)。"""
    from odekake.cardreader import probe

    status = probe()
    click.echo(f"カードを読み取れます。暗証番号(券面事項入力補助用)の残り回数: {status.tries_left}")


@card_group.command("simulate")
@click.option("--pin", default="1234", show_default=True, help="模擬カードの暗証番号(数字4桁)")
@click.option("--name", default=None, help="氏名(既定: 外字を1字含む架空の住民)")
@click.option("--address", default=None, help="住所")
@click.option("--birth", default=None, help="生年月日(YYYYMMDD)")
@click.option("--sex", type=click.Choice(["1", "2", "9"]), default=None, help="性別(ISO 5218)")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=35963,
    show_default=True,
    help="仮想リーダー(vpcd)のポート。pcscd に vsmartcard-vpcd が入っている端末で使う",
)
@click.option(
    "--private",
    is_flag=True,
    help="専用の pcscd を起動する(root。端末の pcscd に触れない)。表示される環境変数を付けてキオスクを起動",
)
def card_simulate(
    pin: str,
    name: str | None,
    address: str | None,
    birth: str | None,
    sex: str | None,
    port: int,
    private: bool,
) -> None:
    """模擬のマイナンバーカードを仮想リーダーに置く(デモと試験用。実在の人物ではありません)。

    Ctrl+C でカードを取り外して終わります。
    """
    from odekake.cardreader.emulator import EmulatedCard, Resident, VirtualCard
    from odekake.cardreader.stack import PrivateStack, missing
    from odekake.errors import OdekakeError

    if len(pin) != 4 or not pin.isdigit():
        raise OdekakeError("暗証番号は数字4桁です")
    resident = Resident()
    for field, value in (("name", name), ("address", address), ("birth", birth), ("sex", sex)):
        if value is not None:
            setattr(resident, field, value)
    stack = None
    if private:
        reason = missing()
        if reason:
            raise OdekakeError(reason)
        stack = PrivateStack().start()
        port = stack.port
    card = VirtualCard(EmulatedCard(resident, pin=pin), port=port)
    try:
        try:
            card.insert()
        except OSError as exc:
            raise OdekakeError(
                f"仮想リーダー(127.0.0.1:{port})につながりません。pcscd と vsmartcard-vpcd が"
                "動いているか確かめるか、--private を付けてください"
            ) from exc
        click.echo(f"模擬カードを置きました(暗証番号 {pin})。Ctrl+C で取り外します。")
        if stack is not None:
            click.echo(
                "キオスクはこの環境変数を付けて起動してください: "
                f"PCSCLITE_CSOCK_NAME={stack.socket_path}"
            )
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        card.remove()
        if stack is not None:
            stack.stop()
        click.echo("模擬カードを取り外しました。")


COMMANDS.append(card_group)
