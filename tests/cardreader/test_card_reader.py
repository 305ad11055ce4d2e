"""Reading a My Number card through a real pcscd: every outcome, and never the number."""

from __future__ import annotations

import logging
import time
from datetime import date
from pathlib import Path

import pytest

from odekake.cardreader import CardReadError, apdu, pcsc, probe, read_identity
from odekake.cardreader.emulator import EmulatedCard, Resident
from odekake.cardreader.reader import Channel
from odekake.cardreader.stack import PrivateStack
from tests.cardstack import Inserted, wait_for_card

NUMBER_FILE_SELECT = bytes.fromhex("00a4020c020001")


def assert_never_touched_number(card: EmulatedCard) -> None:
    assert card.commands, "the card saw no command at all"
    assert not card.touched_number
    for command in card.commands:
        assert not (command[1] == 0xA4 and command[2] == 0x02 and command[5:7] == b"\x00\x01")
        assert not (command[1] == 0xB0 and command[2] & 0x80), "a read by short file identifier"
        if command[1] == apdu.INS_VERIFY and len(command) > 5:
            # the emulator keeps no PIN: only a 4-byte VERIFY of the card-input PIN
            assert command == bytes.fromhex("0020008004") + b"****"
            continue
        apdu.check_allowed(command)  # every command that reached the card is on the list


def test_reads_the_four_items_and_nothing_else(insert: Inserted, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    card = insert(EmulatedCard(Resident(name="山田\ue001郎", birth="19380102", sex="1")))
    identity = read_identity("1234")
    assert identity.name == "山田\ue001郎"
    assert identity.name_shown == "山田〓郎"
    assert identity.gaiji_fields == ("name",)
    assert identity.address.startswith("福島県いわき市平")
    assert identity.birth_date == date(1938, 1, 2)
    assert identity.sex_label == "男"
    assert identity.form_values()["id_document"] == "マイナンバーカード"
    assert_never_touched_number(card)
    # the PIN and the commands reach no log
    assert "1234" not in caplog.text and "31323334" not in caplog.text.lower()


def test_a_long_address_is_read_whole(insert: Inserted):
    long_address = "福島県いわき市" + "遠野町上遠野字根小屋" * 12 + "123番地の4"
    card = insert(EmulatedCard(Resident(name="長野花子", address=long_address)))
    identity = read_identity("1234")
    assert identity.address == long_address
    assert identity.gaiji_fields == ()
    assert_never_touched_number(card)


def test_wrong_pin_counts_down_warns_then_locks(insert: Inserted):
    card = insert(EmulatedCard(pin="4321"))
    assert probe().tries_left == 3
    with pytest.raises(CardReadError) as first:
        read_identity("1111")
    assert (first.value.kind, first.value.tries_left) == ("wrong_pin", 2)
    assert "あと2回" in str(first.value)
    with pytest.raises(CardReadError) as second:
        read_identity("2222")
    assert second.value.tries_left == 1
    assert "ロック" in str(second.value) and "市役所" in str(second.value)
    status = probe()
    assert status.last_try
    with pytest.raises(CardReadError) as third:
        read_identity("3333")
    assert third.value.kind == "locked"
    assert "初期化" in str(third.value)
    # locked: even the right PIN is not sent again
    sent_before = len(card.commands)
    with pytest.raises(CardReadError) as fourth:
        read_identity("4321")
    assert fourth.value.kind == "locked"
    assert not any(c[1] == 0x20 and len(c) > 4 for c in card.commands[sent_before:])
    assert probe().tries_left == 0
    assert_never_touched_number(card)


def test_a_right_pin_after_a_wrong_one_reads(insert: Inserted):
    insert(EmulatedCard(pin="0007"))
    with pytest.raises(CardReadError):
        read_identity("7000")
    assert read_identity("0007").birth_date == date(1947, 3, 15)


def test_no_card_on_the_reader(pcsc_stack: PrivateStack):
    wait_for_card(False)
    with pytest.raises(CardReadError) as err:
        read_identity("1234")
    assert err.value.kind == "no_card"
    assert "カードが置かれていません" in str(err.value)


def test_not_a_my_number_card(insert: Inserted):
    card = insert(EmulatedCard(fault="not_mynumber"))
    with pytest.raises(CardReadError) as err:
        read_identity("1234")
    assert err.value.kind == "not_mynumber"
    assert not any(c[1] == 0x20 and len(c) > 4 for c in card.commands), "PIN sent to a stranger"


def test_a_malformed_answer_fills_nothing(insert: Inserted):
    insert(EmulatedCard(fault="malformed"))
    with pytest.raises(CardReadError) as err:
        read_identity("1234")
    assert err.value.kind == "malformed"
    assert "何も入力していません" in str(err.value)


def test_card_removed_mid_read(insert: Inserted):
    insert(EmulatedCard(fault="remove"))
    with pytest.raises(CardReadError) as err:
        read_identity("1234", timeout=8)
    assert err.value.kind in ("removed", "no_card")
    assert "もう一度" in str(err.value)


def test_a_reader_that_stops_answering_times_out(insert: Inserted):
    insert(EmulatedCard(fault="stall"))
    started = time.monotonic()
    with pytest.raises(CardReadError) as err:
        read_identity("1234", timeout=2)
    assert err.value.kind == "timeout"
    assert time.monotonic() - started < 6


def test_no_pcscd_running(pcsc_stack: PrivateStack):
    pcsc_stack.stop()
    with pytest.raises(CardReadError) as err:
        probe(timeout=5)
    assert err.value.kind == "no_service"
    assert "pcscd" in str(err.value)


def test_no_reader_connected(socket_dir: Path):
    empty = PrivateStack(with_reader=False, run_dir=socket_dir).start()
    try:
        with pytest.raises(CardReadError) as err:
            probe(timeout=5)
        assert err.value.kind == "no_reader"
        assert "つながっていません" in str(err.value)
    finally:
        empty.stop()


def test_no_pcsc_library(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(pcsc, "_lib", None)
    monkeypatch.setattr(pcsc.ctypes.util, "find_library", lambda name: "libno-such-pcsclite.so")
    with pytest.raises(CardReadError) as err:
        read_identity("1234")
    assert err.value.kind == "no_library"


def test_a_pin_that_is_not_four_digits_is_never_sent():
    for pin in ("123", "12345", "12a4", "１２３４"):
        with pytest.raises(CardReadError) as err:
            read_identity(pin)
        assert err.value.kind == "bad_pin"


def test_the_list_refuses_the_individual_number_file():
    with pytest.raises(apdu.ForbiddenCommand):
        apdu.check_allowed(apdu.select_ef(apdu.EF_INDIVIDUAL_NUMBER))
    with pytest.raises(apdu.ForbiddenCommand):
        apdu.check_allowed(NUMBER_FILE_SELECT)
    with pytest.raises(apdu.ForbiddenCommand):  # READ BINARY by short file identifier 1
        apdu.check_allowed(bytes([0x00, 0xB0, 0x81, 0x00, 0x11]))
    with pytest.raises(apdu.ForbiddenCommand):  # another application (JPKI)
        apdu.check_allowed(bytes.fromhex("00a4040c0ad392f000260100000001"))
    with pytest.raises(apdu.ForbiddenCommand):  # another instruction (e.g. CHANGE PIN)
        apdu.check_allowed(bytes.fromhex("002401800431323334"))
    for allowed in (
        apdu.select_ap(),
        apdu.select_ef(apdu.EF_PIN),
        apdu.select_ef(apdu.EF_BASIC_FOUR),
        apdu.pin_tries(),
        apdu.verify_pin("1234"),
        apdu.read_binary(0, 5),
    ):
        apdu.check_allowed(allowed)


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def transmit(self, command: bytes) -> bytes:
        self.sent.append(command)
        return b"\x90\x00"


def test_the_channel_sends_a_read_only_after_selecting_the_four_items():
    recorder = _Recorder()
    channel = Channel(recorder)  # type: ignore[arg-type]
    with pytest.raises(apdu.ForbiddenCommand):
        channel.send(apdu.read_binary(0, 5))  # nothing selected
    with pytest.raises(apdu.ForbiddenCommand):
        channel.send(apdu.select_ef(apdu.EF_PIN))  # a file before the application
    channel.select_ap()
    channel.select(apdu.EF_PIN)
    with pytest.raises(apdu.ForbiddenCommand):
        channel.send(apdu.read_binary(0, 5))  # the PIN file is not readable
    channel.select(apdu.EF_BASIC_FOUR)
    channel.send(apdu.read_binary(0, 5))
    assert all(not c.endswith(b"\x00\x01") or c[1] != 0xA4 for c in recorder.sent)


def test_card_simulate_and_check_from_the_command_line(tmp_path: Path):
    """`odekake card simulate --private` puts a card on a private reader that
    `odekake card check` (another process, as the kiosk would be) sees."""
    import re
    import subprocess
    import sys

    from odekake.cardreader.stack import install_if_missing

    reason = install_if_missing()
    if reason:
        print(f"\nカードリーダーの試験を省略します: {reason}")
        pytest.skip(reason)
    odekake = str(Path(sys.executable).parent / "odekake")
    sim = subprocess.Popen(
        [odekake, "card", "simulate", "--private", "--pin", "2468"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert sim.stdout is not None
        socket_line = ""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not socket_line:
            line = sim.stdout.readline()
            if "PCSCLITE_CSOCK_NAME=" in line:
                socket_line = line
        match = re.search(r"PCSCLITE_CSOCK_NAME=(\S+)", socket_line)
        assert match, socket_line
        env = {"PCSCLITE_CSOCK_NAME": match.group(1), "PATH": "/usr/bin:/bin"}
        for _ in range(50):
            done = subprocess.run(
                [odekake, "card", "check"], capture_output=True, text=True, env=env, timeout=30
            )
            if done.returncode == 0:
                break
            time.sleep(0.2)
        assert done.returncode == 0, done.stderr
        assert "残り回数: 3" in done.stdout
    finally:
        sim.terminate()
        out, _ = sim.communicate(timeout=15)
    assert "模擬カードを取り外しました" in out


def test_the_emulator_keeps_no_pin(insert: Inserted):
    card = insert(EmulatedCard(pin="4826"))
    read_identity("4826")
    verifies = [c for c in card.commands if c[1] == apdu.INS_VERIFY and len(c) > 5]
    assert verifies and all(b"4826" not in c for c in verifies)


def test_a_card_born_before_meiji_is_malformed(insert: Inserted):
    insert(EmulatedCard(Resident(name="古川花子", birth="18670101")))
    with pytest.raises(CardReadError) as before_meiji:
        read_identity("1234")
    assert before_meiji.value.kind == "malformed"


def test_a_name_on_chip_is_kept_whole_up_to_its_bound():
    from odekake.errors import ValidationError
    from odekake.services.identity import NAME_ON_CHIP_MAX, chip_name

    long_name = "磐" * 90 + "\ue000"
    assert chip_name({"identity_from_chip": True, "name_on_chip": long_name}) == {
        "name_on_chip": long_name
    }
    with pytest.raises(ValidationError):
        chip_name({"identity_from_chip": True, "name_on_chip": "磐" * (NAME_ON_CHIP_MAX + 1)})
