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
    "retry": "もう一度ハブに照会",
    "provisional": "仮投票として受け付ける",
    "next": "次の選挙人",
    "not_found": "選挙人名簿に見つかりません。入場券・フリガナ・生年月日を確認してください。",
    "many_found": "{n}人が該当します。住所で確認して選んでください。",
    "choose_reason": "宣誓書の事由を選んでください。",
    "choose_voter": "先に選挙人を確認してください。",
    "waiting": "ハブに照会中です… 投票用紙はまだ交付できません。",
    "confirmed": "交付可",
    "confirmed_detail": "名簿対照済み({time})。交付する投票用紙: {ballots}",
    "refused": "交付できません: {message}(理由コード {code})",
    "offline": "{reason}。名簿対照ができないため交付はできません。仮投票のみ受け付けられます。",
    "provisional_done": "仮投票として記録しました(仮投票用封筒を使用してください)。",
    "handed_done": "交付を記録しました。",
    "blocked_title": "投票不可",
    "blocked_body": "この選挙人は {where} で {when} に{what}です。投票用紙を交付しないでください。",
    "blocked_what_checkin": "名簿対照済み",
    "blocked_what_provisional": "仮投票済み",
    "blocked_by": "担当した事務従事者: {clerk}(端末 {device})",
    "blocked_local": "(この車両の記録による判定です。ハブに照会していません)",
    "blocked_release": "2人目の事務従事者が確認して閉じる",
    "blocked_how": "この画面は、ログイン中とは別の事務従事者のIDとPINで閉じます(投票用紙は交付しません)",
    "blocked_done": "投票不可として記録しました(確認: {clerk})。投票用紙は交付していません。",
    "second_clerk": "2人目の事務従事者ID",
    "second_pin": "PIN",
    "not_clerk": "期日前投票の画面は投票事務従事者(または監督者)だけが使えます。",
    "no_station": "本日開設の期日前投票所がありません(選挙の下り同期を確認してください)。",
    "hub_checking": "ハブ: 接続を確認中…",
    "hub_ok": "ハブ: 接続できます(名簿対照できます)",
    "hub_down": "ハブ: 接続できません(名簿対照できません。仮投票のみ)",
    "leave": "戻る",
    "close_list": "一覧を閉じる",
    "leave_waiting": "ハブの回答を待っています。回答が出てから戻ってください。",
    "leave_confirmed": "交付可の選挙人がいます。「投票用紙を交付しました」か「次の選挙人」を押してから戻ってください。",
    "next_key": "次の選挙人",
    "voter_line": "{name}({kana})  {birth}生  {sex}  {address}  投票区 {precinct}  選挙人番号 {voter_no}",
}
