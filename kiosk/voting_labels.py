"""Every Japanese text of the voting screen, in one place."""

from __future__ import annotations

# The 宣誓書 reasons as the clerk's list shows them: short enough for one line at 80
# columns (a long label wrapped or cut in the list broke a wide character in tmux). The
# record keeps the reason's code; reports print the law's full wording (REASONS).
REASON_SHORT: dict[str, str] = {
    "work": "1 仕事・学業・冠婚葬祭等の用務",
    "travel": "2 区域外へ旅行・滞在",
    "illness": "3 疾病・負傷・高齢等で歩行困難",
    "island": "4 交通至難の地に居住",
    "moved": "5 区域外の住所に居住",
    "weather": "6 天災・悪天候で到達困難",
}

LABELS: dict[str, str] = {
    "title": "期日前投票 名簿対照",
    "ticket": "入場券のバーコード・QRを読み取ってください(選挙人番号の手入力も可)",
    "kana": "フリガナ",
    "birth": "生年月日(例 S25.3.2)",
    "search": "検索",
    "reason": "宣誓書の事由",
    "checkin": "名簿対照(ハブに照会)",
    "handed": "投票用紙を交付しました",
    "withdraw": "交付取りやめ",
    "withdraw_title": "交付取りやめの理由を入力してください。\n投票用紙は交付せず、ハブの名簿対照を取り消します。",
    "withdraw_reason": "理由(例: 本人が辞退)",
    "withdraw_ok": "取りやめを記録する",
    "withdraw_need_reason": "理由を入力してください。",
    "stay": "戻る",
    "provisional_q": "仮投票として受け付けますか(記録は取り消せません。仮投票用封筒を使います)",
    "provisional_yes": "仮投票を記録",
    "blocked_quit_q": "投票不可の選挙人です。投票用紙を交付せず、投票不可として記録して終了しますか",
    "blocked_quit_yes": "記録して終了",
    "retry": "もう一度ハブに照会",
    "provisional": "仮投票として受け付ける",
    "next": "次の選挙人",
    "blocked_title": "投票不可",
    "blocked_body": "この選挙人は {where} で {when} に{what}です。投票用紙を交付しないでください。",
    "blocked_what_checkin": "名簿対照済み",
    "blocked_what_provisional": "仮投票済み",
    "blocked_by": "担当した事務従事者: {clerk}(端末 {device})",
    "blocked_local": "(この車両の記録による判定です。ハブに照会していません)",
    "blocked_release": "2人目の事務従事者が確認して閉じる",
    "blocked_how": "この画面は、ログイン中とは別の事務従事者のIDとPINで閉じます(投票用紙は交付しません)",
    "second_clerk": "2人目の事務従事者ID",
    "second_pin": "PIN",
    "not_clerk": "期日前投票の画面は投票事務従事者(または監督者)だけが使えます。",
    "no_station": "本日開設の期日前投票所がありません(選挙の下り同期を確認してください)。",
    "hub_checking": "ハブ: 接続を確認中…",
    "hub_ok": "ハブ: 接続できます(名簿対照できます)",
    "hub_down": "ハブ: 接続できません(名簿対照できません。仮投票のみ)",
    "leave": "戻る",
    "close_list": "一覧を閉じる",
    "next_key": "次の選挙人",
    "voter_line": "{name}({kana})  {birth}生  {sex}  {address}  投票区 {precinct}  選挙人番号 {voter_no}",
}
