"""The voter roll (選挙人名簿) of one election: import, lookup, snapshot, deletion.

The roll lives in its own ``roll`` table at the hub and is never written as a record,
so it can never leave the van in an up-sync bundle. The hub imports it from the
election board's CSV. A van never stores it in the clear: down-sync carries it sealed
(:func:`refresh_sealed_rolls`: ``roll_sealed`` holds the lookup fields encrypted with
the election's roll key, ``roll_wraps`` that key wrapped to each election clerk's box
key, :mod:`odekake.access.clerk_keys`), and only a clerk's PIN opens it. On the van every
lookup goes through :func:`voters_of`, which decrypts the rows into memory once a
clerk has logged in; :func:`~odekake.voting.roll_deletion.delete_roll` removes the
van's copy when the election closes.
"""

from __future__ import annotations

import base64
import json
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from odekake.access import clerk_keys
from odekake.documents.spreadsheet import read_csv
from odekake.errors import ImportRejected, OdekakeError, ValidationError
from odekake.storage.db import role_of, write
from odekake.voting.elections import get_election
from odekake.voting.roll_deletion import delete_roll

SEX_LABELS = {"M": "男", "F": "女"}
_SEX_INPUT = {
    "男": "M",
    "男性": "M",
    "M": "M",
    "m": "M",
    "1": "M",
    "女": "F",
    "女性": "F",
    "F": "F",
    "f": "F",
    "2": "F",
}
# CSV headers: English keys or the Japanese labels an election board exports.
ROLL_HEADERS: dict[str, tuple[str, ...]] = {
    "voter_no": ("voter_no", "選挙人番号", "名簿番号"),
    "name": ("name", "氏名"),
    "kana": ("kana", "フリガナ", "ふりがな", "氏名カナ"),
    "birth_date": ("birth_date", "生年月日"),
    "sex": ("sex", "性別"),
    "address": ("address", "住所"),
    "precinct": ("precinct", "投票区"),
}
_REQUIRED = ("voter_no", "name", "kana", "birth_date", "sex")
_VOTER_NO = re.compile(r"^[0-9A-Za-z-]{1,32}$")
_SMALL_KANA = str.maketrans("ぁぃぅぇぉっゃゅょゎゕゖ", "あいうえおつやゆよわかけ")


@dataclass(frozen=True)
class Voter:
    """One roll entry, as the clerk needs it to identify the voter."""

    election_id: str
    voter_no: str
    name: str
    kana: str
    birth_date: str
    sex: str
    address: str
    precinct: str

    @property
    def sex_label(self) -> str:
        """男 or 女."""
        return SEX_LABELS.get(self.sex, self.sex)


def normalise_kana(text: str) -> str:
    """A search key for フリガナ: the same for every way a clerk may type a name.

    NFKC (half-width カナ → full width, full-width spaces → spaces), katakana →
    hiragana, small kana → large (ョ → よ), and no spaces or middle dots.
    """
    s = unicodedata.normalize("NFKC", text)
    out = []
    for ch in s:
        code = ord(ch)
        if 0x30A1 <= code <= 0x30F6:
            ch = chr(code - 0x60)
        out.append(ch)
    s = "".join(out).translate(_SMALL_KANA)
    return "".join(ch for ch in s if not ch.isspace() and ch not in "・･")


def parse_birth_date(text: str) -> str:
    """Parse a birth date written as 1950-03-02, 1950/3/2, 19500302, 昭和25年3月2日 or S25.3.2.

    Returns:
        The ISO date ``YYYY-MM-DD``.

    Raises:
        ValidationError: The text is not a date.
    """
    from odekake.masterdata.wareki import parse_date

    try:
        return parse_date(text).isoformat()
    except ValidationError as exc:
        raise ValidationError(f"生年月日として読めません({text!r})", "birth_date") from exc


def parse_ticket(code: str) -> str:
    """The voter number in a scanned entry ticket (入場券) barcode or QR code."""
    return unicodedata.normalize("NFKC", code).strip()


def read_roll_csv(path: str | Path, election_id: str) -> list[Voter]:
    """Read and check a roll CSV (UTF-8 with or without BOM, or Shift_JIS/cp932).

    Raises:
        ImportRejected: Every bad row with its line number (the header is line 1).
    """
    # The foundation's reader: encoding detection, line numbers, column-count check.
    header, rows = read_csv(Path(path))
    columns: dict[str, str] = {}
    for key, names in ROLL_HEADERS.items():
        for h in header:
            if h in names:
                columns[key] = h
    missing = [ROLL_HEADERS[k][1] for k in _REQUIRED if k not in columns]
    if missing:
        raise OdekakeError(f"名簿CSVの見出しに必要な列がありません: {'、'.join(missing)}")
    problems: list[tuple[int, str]] = []
    voters: list[Voter] = []
    seen: dict[str, int] = {}
    for line_no, raw in rows:
        if "__error__" in raw:
            problems.append((line_no, raw["__error__"]))
            continue
        row = {k: raw[h] for k, h in columns.items()}
        errs: list[str] = []
        voter_no = unicodedata.normalize("NFKC", row["voter_no"])
        if not _VOTER_NO.match(voter_no):
            errs.append(f"選挙人番号が不正です({row['voter_no']!r})")
        elif voter_no in seen:
            errs.append(f"選挙人番号 {voter_no} が {seen[voter_no]}行目と重複しています")
        else:
            seen[voter_no] = line_no
        if not row["name"]:
            errs.append("氏名が空です")
        if not normalise_kana(row["kana"]):
            errs.append("フリガナが空です")
        birth = ""
        try:
            birth = parse_birth_date(row["birth_date"])
        except ValidationError as exc:
            errs.append(str(exc))
        sex = _SEX_INPUT.get(unicodedata.normalize("NFKC", row["sex"]))
        if sex is None:
            errs.append(f"性別は 男 か 女 です({row['sex']!r})")
        if errs:
            problems.extend((line_no, e) for e in errs)
            continue
        assert sex is not None
        voters.append(
            Voter(
                election_id=election_id,
                voter_no=voter_no,
                name=row["name"],
                kana=row["kana"],
                birth_date=birth,
                sex=sex,
                address=row.get("address", ""),
                precinct=row.get("precinct", ""),
            )
        )
    if problems:
        raise ImportRejected("選挙人名簿CSV", problems)
    return voters


def _store(db: sqlite_utils.Database, election_id: str, voters: Iterable[Voter]) -> int:
    n = 0
    with write(db):
        db.execute("DELETE FROM roll WHERE election_id = ?", [election_id])
        for v in voters:
            db.execute(
                "INSERT INTO roll(election_id, voter_no, name, kana, kana_key, birth_date, sex, "
                "address, precinct) VALUES (?,?,?,?,?,?,?,?,?)",
                [
                    election_id,
                    v.voter_no,
                    v.name,
                    v.kana,
                    normalise_kana(v.kana),
                    v.birth_date,
                    v.sex,
                    v.address,
                    v.precinct,
                ],
            )
            n += 1
    return n


def import_roll(db: sqlite_utils.Database, election_id: str, path: str | Path) -> int:
    """Replace the election's roll with a CSV file: all rows or none.

    Returns:
        The number of voters stored.

    Raises:
        NotFound: The election or the file does not exist.
        ImportRejected: Bad rows (every one with its line number); nothing was stored.
    """
    get_election(db, election_id)
    voters = read_roll_csv(path, election_id)
    if role_of(db) == "van":  # never in the clear on a van
        return load_roll(
            db, election_id, [{k: getattr(v, k) for k in SNAPSHOT_FIELDS} for v in voters]
        )
    n = _store(db, election_id, voters)
    if role_of(db) == "hub":
        refresh_sealed_rolls(db)
    return n


def _voter(row: Any) -> Voter:
    return Voter(
        election_id=row[0],
        voter_no=row[1],
        name=row[2],
        kana=row[3],
        birth_date=row[4],
        sex=row[5],
        address=row[6],
        precinct=row[7],
    )


_SELECT = "SELECT election_id, voter_no, name, kana, birth_date, sex, address, precinct FROM roll"


def find_by_voter_no(db: sqlite_utils.Database, election_id: str, code: str) -> Voter | None:
    """The voter whose number a scanned entry ticket carries, or None.

    Raises:
        RollLocked: On a van where no election clerk has logged in.
    """
    voter_no = parse_ticket(code)
    if role_of(db) == "van":
        return next((v for v in voters_of(db, election_id) if v.voter_no == voter_no), None)
    row = db.execute(
        f"{_SELECT} WHERE election_id = ? AND voter_no = ?", [election_id, voter_no]
    ).fetchone()
    return None if row is None else _voter(row)


def match_voters(rows: Iterable[Voter], kana: str, birth_date: str) -> list[Voter]:
    """The roll rows whose フリガナ starts with ``kana`` and who were born on ``birth_date``.

    A surname alone is enough (ヤマダ finds ヤマダ タロウ and ヤマダ ハナコ); the フリガナ is
    compared normalised (:func:`normalise_kana`), the birth date in any accepted format.
    A pure function over roll rows, whatever storage they came from. Sorted by
    フリガナ, then voter number.

    Raises:
        ValidationError: The フリガナ is empty, or the birth date cannot be read.
    """
    key = normalise_kana(kana)
    if not key:
        raise ValidationError("フリガナを入力してください(姓だけでも検索できます)", "kana")
    birth = parse_birth_date(birth_date)
    found = [v for v in rows if v.birth_date == birth and normalise_kana(v.kana).startswith(key)]
    return sorted(found, key=lambda v: (normalise_kana(v.kana), v.voter_no))


def find_by_kana(
    db: sqlite_utils.Database, election_id: str, kana: str, birth_date: str
) -> list[Voter]:
    """Voters of the van's roll copy matching a フリガナ prefix and a birth date.

    Raises:
        ValidationError: The birth date cannot be read, or the フリガナ is empty.
        RollLocked: On a van where no election clerk has logged in.
    """
    if not normalise_kana(kana):
        return match_voters([], kana, birth_date)  # says what is missing
    birth = parse_birth_date(birth_date)
    if role_of(db) == "van":
        # the sealed roll, opened in memory by a clerk's login
        candidates = [v for v in voters_of(db, election_id) if v.birth_date == birth]
        return match_voters(candidates, kana, birth)
    rows = db.execute(
        f"{_SELECT} WHERE election_id = ? AND birth_date = ?", [election_id, birth]
    )  # the birth date narrows the rows; match_voters decides
    return match_voters([_voter(r) for r in rows], kana, birth)


def roll_size(db: sqlite_utils.Database, election_id: str, precincts: Iterable[str] = ()) -> int:
    """How many electors the roll holds (optionally only in some 投票区)."""
    plist = list(precincts)
    if role_of(db) == "van":
        return sum(1 for v in voters_of(db, election_id) if not plist or v.precinct in plist)
    if not plist:
        return int(
            db.execute("SELECT COUNT(*) FROM roll WHERE election_id = ?", [election_id]).fetchone()[
                0
            ]
        )
    marks = ", ".join("?" * len(plist))
    return int(
        db.execute(
            f"SELECT COUNT(*) FROM roll WHERE election_id = ? AND precinct IN ({marks})",
            [election_id, *plist],
        ).fetchone()[0]
    )


def sex_of(db: sqlite_utils.Database, election_id: str, voter_no: str) -> str | None:
    """``M`` / ``F`` from the roll, or None when the voter is not on it."""
    row = db.execute(
        "SELECT sex FROM roll WHERE election_id = ? AND voter_no = ?", [election_id, voter_no]
    ).fetchone()
    return None if row is None else str(row[0])


SNAPSHOT_FIELDS = ("voter_no", "name", "kana", "birth_date", "sex", "address", "precinct")


def roll_snapshot(db: sqlite_utils.Database, election_id: str) -> list[dict[str, str]]:
    """The roll as down-sync carries it to the van: the lookup fields only."""
    get_election(db, election_id)
    return [
        dict(zip(SNAPSHOT_FIELDS, row, strict=True))
        for row in db.execute(
            f"SELECT {', '.join(SNAPSHOT_FIELDS)} FROM roll WHERE election_id = ? ORDER BY voter_no",
            [election_id],
        )
    ]


class RollLocked(OdekakeError):
    """The van's roll is sealed and no election clerk's PIN has opened it."""

    def __init__(self) -> None:
        super().__init__(
            "選挙人名簿は封印されています。投票事務従事者がこの車両でログインすると読めます"
        )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _seal_rows(rows: list[dict[str, str]], key: bytes, election_id: str) -> str:
    from odekake.storage.canonical import canonical_json

    nonce = os.urandom(12)
    ct = AESGCM(key).encrypt(nonce, canonical_json(rows).encode("utf-8"), election_id.encode())
    return json.dumps({"v": 1, "alg": "AES256GCM", "nonce": _b64(nonce), "ct": _b64(ct)})


def _open_rows(blob: str, key: bytes, election_id: str) -> list[dict[str, str]]:
    d = json.loads(blob)
    plain = AESGCM(key).decrypt(
        base64.b64decode(d["nonce"]), base64.b64decode(d["ct"]), election_id.encode()
    )
    rows = json.loads(plain.decode("utf-8"))
    return rows if isinstance(rows, list) else []


def _key_holders(db: sqlite_utils.Database) -> dict[str, str]:
    """Active operators whose PIN opens a roll: {operator id: box public key}."""
    return {
        str(oid): str(box)
        for oid, roles, box in db.execute(
            "SELECT id, roles, box_public FROM operators WHERE active = 1 AND box_public != ''"
        ).fetchall()
        if clerk_keys.KEY_ROLES & set(str(roles).split(","))
    }


def _store_sealed(
    db: sqlite_utils.Database, election_id: str, key: bytes, blob: str | None
) -> None:
    """Write (or keep) an election's sealed roll and wrap its key to every clerk."""
    from odekake.storage.canonical import sha256_hex
    from odekake.storage.sealing import seal

    if blob is not None:
        db.execute(
            "INSERT INTO roll_sealed(election_id, roll_sha, blob) VALUES (?,?,?) "
            "ON CONFLICT(election_id) DO UPDATE SET roll_sha = excluded.roll_sha, "
            "blob = excluded.blob",
            [election_id, sha256_hex(blob), blob],
        )
    holders = _key_holders(db)
    have = {
        str(r[0]): str(r[1])
        for r in db.execute(
            "SELECT operator_id, box_public FROM roll_wraps WHERE election_id = ?", [election_id]
        ).fetchall()
    }
    for oid, box in have.items():
        if holders.get(oid) != box:
            db.execute(
                "DELETE FROM roll_wraps WHERE election_id = ? AND operator_id = ?",
                [election_id, oid],
            )
    for oid, box in holders.items():
        if have.get(oid) != box:
            wrapped = json.dumps(seal({"key": _b64(key)}, box), sort_keys=True)
            db.execute(
                "INSERT OR REPLACE INTO roll_wraps(election_id, operator_id, box_public, wrapped) "
                "VALUES (?,?,?,?)",
                [election_id, oid, box, wrapped],
            )


def refresh_sealed_rolls(db: sqlite_utils.Database) -> None:
    """At the hub: the sealed form of every roll, as down-sync carries it to vans.

    Re-encrypted only when the roll changed (so a snapshot's content, and its
    version, stay the same between pulls); the key is wrapped anew for a clerk whose
    PIN was set or reset. The roll's key itself stays in ``roll_keys`` (never synced).
    """
    from odekake.storage.canonical import canonical_json, sha256_hex

    with write(db):
        elections = [str(r[0]) for r in db.execute("SELECT DISTINCT election_id FROM roll")]
        for table in ("roll_sealed", "roll_wraps", "roll_keys"):
            marks = ", ".join("?" * len(elections))
            db.execute(f"DELETE FROM {table} WHERE election_id NOT IN ({marks})", elections)
        for eid in elections:
            rows = roll_snapshot(db, eid)
            plain_sha = sha256_hex(canonical_json(rows))
            kept = db.execute(
                "SELECT key, roll_sha FROM roll_keys WHERE election_id = ?", [eid]
            ).fetchone()
            key = base64.b64decode(kept[0]) if kept is not None else os.urandom(32)
            fresh = kept is None or kept[1] != plain_sha
            if fresh:
                db.execute(
                    "INSERT OR REPLACE INTO roll_keys(election_id, key, roll_sha) VALUES (?,?,?)",
                    [eid, _b64(key), plain_sha],
                )
            _store_sealed(db, eid, key, _seal_rows(rows, key, eid) if fresh else None)


def load_roll(van_db: sqlite_utils.Database, election_id: str, rows: list[dict[str, str]]) -> int:
    """Replace the van's copy of a roll with a down-synced snapshot (one transaction).

    The election itself must already be on the van (down-synced before the roll).
    On a van the rows are sealed at once (a new key, wrapped to the van's clerks), as
    a pull would bring them; only :func:`voters_of` after a clerk's login reads them.
    """
    get_election(van_db, election_id)
    voters = [Voter(election_id=election_id, **{k: r[k] for k in SNAPSHOT_FIELDS}) for r in rows]
    if role_of(van_db) != "van":
        return _store(van_db, election_id, voters)
    key = os.urandom(32)
    clean = [{k: r[k] for k in SNAPSHOT_FIELDS} for r in rows]
    with write(van_db):
        van_db.execute("DELETE FROM roll_wraps WHERE election_id = ?", [election_id])
        _store_sealed(van_db, election_id, key, _seal_rows(clean, key, election_id))
    return len(voters)


def voters_of(db: sqlite_utils.Database, election_id: str) -> list[Voter]:
    """Every voter of an election's roll: THE lookup of the roll on a van.

    At the hub: the ``roll`` table. On a van: the sealed roll decrypted in memory
    with the key of an election clerk logged in on this van (kept until they log
    out); an empty list when the van holds no roll for the election.

    Raises:
        RollLocked: The van holds the roll sealed and no clerk's key is unlocked.
    """
    if role_of(db) != "van":
        return [_voter(r) for r in db.execute(f"{_SELECT} WHERE election_id = ?", [election_id])]
    row = db.execute(
        "SELECT roll_sha, blob FROM roll_sealed WHERE election_id = ?", [election_id]
    ).fetchone()
    if row is None:
        return []
    cache_key = f"roll:{election_id}:{row[0]}"
    cached = clerk_keys.recall(db, cache_key)
    if cached is not None:
        return list(cached)
    from odekake.storage.sealing import unseal

    for oid in clerk_keys.unlocked_operators(db):
        wrap = db.execute(
            "SELECT wrapped FROM roll_wraps WHERE election_id = ? AND operator_id = ?",
            [election_id, oid],
        ).fetchone()
        secret = clerk_keys.secret_of(db, oid)
        if wrap is None or secret is None:
            continue
        try:
            key = base64.b64decode(unseal(json.loads(wrap[0]), clerk_keys.box_key(secret))["key"])
            rows = _open_rows(str(row[1]), key, election_id)
        except (OdekakeError, InvalidTag, ValueError, KeyError, TypeError):
            continue
        voters = [
            Voter(election_id=election_id, **{k: str(r.get(k, "")) for k in SNAPSHOT_FIELDS})
            for r in rows
        ]
        clerk_keys.remember(db, cache_key, voters)
        return list(voters)
    raise RollLocked()


def close_election(db: sqlite_utils.Database, election_id: str) -> int:
    """Mark an election closed; on a van also delete its roll copy.

    Returns:
        The number of roll rows deleted (0 at the hub, which keeps its roll).
    """
    get_election(db, election_id)
    with write(db):
        db.execute("UPDATE elections SET closed = 1 WHERE id = ?", [election_id])
        if role_of(db) == "van":
            return delete_roll(db, election_id)
    return 0
