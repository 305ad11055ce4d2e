"""Exceptions a user can act on.

Every error a person can cause (a missing file, a bad CSV row, an unknown district)
is an :class:`OdekakeError` whose message is one clear line in Japanese. The command
line prints it and exits 1; the kiosk shows it next to the field or in a dialog.
"""

from __future__ import annotations

import errno


class OdekakeError(Exception):
    """A problem the user can fix; ``str(err)`` is the one-line message to show."""


class NotFound(OdekakeError):
    """A named thing (file, district, site, record) does not exist."""


class ValidationError(OdekakeError):
    """Input that breaks a rule; ``field`` names the form field when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class FormErrors(OdekakeError):
    """Several field errors at once; nothing was written."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        joined = " / ".join(f"{k}: {v}" for k, v in self.errors.items())
        super().__init__(f"入力内容に誤りがあります: {joined}")


class ImportRejected(OdekakeError):
    """A file import found bad rows; nothing was imported.

    ``problems`` holds ``(line_number, message)`` pairs, line numbers as a
    spreadsheet shows them (the header is line 1).
    """

    def __init__(self, what: str, problems: list[tuple[int, str]]) -> None:
        self.problems = list(problems)
        first = "; ".join(f"{n}行目: {m}" for n, m in self.problems[:5])
        more = f" ほか{len(self.problems) - 5}件" if len(self.problems) > 5 else ""
        super().__init__(f"{what}の取り込みを中止しました(1件も登録していません)。{first}{more}")


_OS_REASONS: dict[int, str] = {
    errno.EACCES: "書き込む権限がありません",
    errno.EPERM: "書き込む権限がありません",
    errno.ENOSPC: "保存先の空き容量が足りません",
    errno.EDQUOT: "保存先の容量の上限に達しました",
    errno.EROFS: "保存先が読み取り専用です",
    errno.ENOENT: "フォルダかファイルが見つかりません",
    errno.ENOTDIR: "フォルダではないものが途中にあります",
    errno.EISDIR: "ファイル名のところがフォルダです",
    errno.EIO: "保存先の装置で読み書きの障害が起きました",
    errno.ENAMETOOLONG: "ファイル名が長すぎます",
    errno.EBUSY: "ファイルが使用中です",
    errno.EEXIST: "同じ名前のファイルがすでにあります",
}


def os_reason(exc: OSError) -> str:
    """Why a file operation failed, in Japanese (never Python's English ``strerror``)."""
    return _OS_REASONS.get(exc.errno or -1, f"ファイル操作に失敗しました(errno {exc.errno})")
