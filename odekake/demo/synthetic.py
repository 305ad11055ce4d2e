"""The demo's made-up people, places and rates: names and kana, site templates, the per-visit rates of the FY2022 table, the demo van and operators."""

from __future__ import annotations

from datetime import timedelta, timezone

JST = timezone(timedelta(hours=9), "JST")


DEVICE_ID = "van-1"


VAN_ID = "van-1"


# Per-visit rates (users per 回) from the FY2022 table in the domain brief;
# districts not in that table use the all-district average. None = not offered.
_AVG = {
    "certificate": 3 / 22,
    "mynumber": 44 / 22,
    "garbage": 1 / 22,
    "consultation": 31 / 22,
    "frailty": 47 / 22,
}


OPERATORS = (
    ("op001", "山田 花子", ("operator",), "123456"),
    ("op002", "佐藤 次郎", ("operator", "clerk"), "234567"),
    ("cl001", "高橋 美咲", ("clerk",), "345678"),
    ("sv001", "鈴木 一郎", ("supervisor", "operator", "clerk"), "999999"),
)


_SITE_TEMPLATES = (
    ("{d}公民館", "公民館"),
    ("{d}地区集会所", "集会所"),
    ("{d}ふれあいセンター", "集会所"),
    ("{d}支所 駐車場", "支所"),
    ("スーパーマルト{d}店 駐車場", "スーパー駐車場"),
)


_WEEKDAY_PATTERNS = ("月火水木金", "月火水木金", "月火水木金", "月水金", "火木", "月火水木金土")


_SURNAMES = (
    "佐藤",
    "鈴木",
    "高橋",
    "渡辺",
    "遠藤",
    "斎藤",
    "菅野",
    "吉田",
    "根本",
    "草野",
    "猪狩",
    "蛭田",
)


_GIVEN = ("ヨシ子", "清", "正雄", "和子", "トミ", "勝", "幸子", "茂", "節子", "博", "キヨ", "実")


_KANA_S = (
    "サトウ",
    "スズキ",
    "タカハシ",
    "ワタナベ",
    "エンドウ",
    "サイトウ",
    "カンノ",
    "ヨシダ",
    "ネモト",
    "クサノ",
    "イガリ",
    "ヒルタ",
)


_KANA_G = (
    "ヨシコ",
    "キヨシ",
    "マサオ",
    "カズコ",
    "トミ",
    "マサル",
    "サチコ",
    "シゲル",
    "セツコ",
    "ヒロシ",
    "キヨ",
    "ミノル",
)


_CONSULT_TOPICS = ("福祉", "介護", "税", "年金", "子育て", "生活困窮", "孤独・孤立", "その他")


_CERTS = ("cert.juminhyo",) * 6 + ("cert.shotoku", "cert.nozei", "cert.inkan", "cert.koseki")


_CERT_NAMES = {
    "cert.juminhyo": ("住民票の写し", 300),
    "cert.shotoku": ("所得・課税証明書", 300),
    "cert.nozei": ("納税証明書", 300),
    "cert.inkan": ("印鑑登録証明書", 300),
    "cert.koseki": ("戸籍全部事項証明書(謄本)", 450),
}


RATES: dict[str, dict[str, float | None]] = {
    "kawamae": {
        "certificate": 0 / 5,
        "mynumber": 5 / 5,
        "garbage": 1 / 5,
        "consultation": 12 / 5,
        "frailty": 9 / 5,
    },
    "hisanohama": {
        "certificate": 2 / 6,
        "mynumber": 30 / 6,
        "garbage": None,
        "consultation": 8 / 6,
        "frailty": 14 / 6,
    },
    "tabito": {
        "certificate": 0 / 6,
        "mynumber": 1 / 6,
        "garbage": 0 / 6,
        "consultation": 8 / 6,
        "frailty": 14 / 6,
    },
    "chuodai": {
        "certificate": 1 / 5,
        "mynumber": 8 / 5,
        "garbage": None,
        "consultation": 3 / 5,
        "frailty": 10 / 5,
    },
}
