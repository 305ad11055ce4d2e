"""Every Japanese word the kiosk shows, in one table (the screens look them up here)."""

from __future__ import annotations

from typing import Final

L: Final[dict[str, str]] = {
    # app-wide
    "app_title": "お出かけ市役所",
    "save": "保存",
    "back": "戻る",
    "quit": "終了",
    "saved": "保存しました",
    "not_saved": "保存していません",
    "fix_errors": "入力に誤りがあります。赤字の項目を直してください",
    "prefill_filled": (
        "QRコードの内容を入力しました。本人確認をして、足りない項目を入力してから"
        "保存(Ctrl+S)してください"
    ),
    "yes": "はい",
    "no": "いいえ",
    "discard_q": "入力中の内容を破棄して戻りますか?",
    "discard": "破棄して戻る",
    "keep_editing": "入力を続ける",
    "none": "(なし)",
    "choose": "選んでください",
    "receipts_folder": "保存先",
    # login
    "login_title": "ログイン",
    "operator_id": "職員ID",
    "pin": "PIN",
    "login": "ログイン",
    "login_hint": "職員IDとPINを入力して Enter",
    # idle lock
    "locked_title": "画面ロック中",
    "locked_hint": "操作がなかったためロックしました。入力中の内容は残っています。PINを入力して Enter",
    "unlock": "解除",
    "wrong_pin": "PINが違います",
    # today
    "today_title": "本日の運行",
    "planned": "本日の計画(↑↓で選び Enter で会場を開く)",
    "no_plan": "本日の計画はありません(計画外で開く: U)",
    "open_planned": "選んだ会場を開く",
    "open_unplanned": "計画外で開く",
    "day_close": "日計(締め)",
    "logout": "ログアウト",
    "stops_today": "本日開いた会場",
    "opened": "開設済",
    "closed": "終了",
    "open_now": "開設中",
    "stop_opened": "会場を開きました",
    # unplanned
    "unplanned_title": "計画外の会場を開く",
    "site": "会場",
    "activity": "活動の種類",
    "window": "時間帯",
    "reason": "計画外の理由",
    # menu
    "menu_title": "サービスを選ぶ(数字キー)",
    "close_stop": "会場を閉じる",
    "close_stop_q": "この会場を閉じますか?",
    "void": "書損(取消)",
    "stop_closed": "会場を閉じました",
    "served_here": "この会場の利用者",
    # services
    "svc_certificate": "証明書の交付",
    "svc_mynumber": "マイナンバーカード申請支援",
    "svc_disaster": "り災証明書 申請受付",
    "svc_garbage": "ごみ処理券の販売",
    "svc_consultation": "相談",
    "svc_frailty": "フレイル予防チェック",
    "svc_explanation": "説明・見学のカウント",
    "svc_voting": "期日前投票(名簿対照)",
    "voting_no_hub": "ハブ(市役所)のURLが未設定です。一度 odekake sync pull で同期してください",
    "voting_no_stop": "ログインして投票所の会場を開いてください",
    "sync_status": "未送信{unsynced}件 同期{last}",
    "sync_never": "なし",
    # certificate form
    "name": "氏名",
    "kana": "ふりがな",
    "address": "住所",
    "birth_date": "生年月日",
    "date_hint": "例 1950-04-01",
    "phone": "電話番号",
    "id_doc1": "本人確認書類",
    "id_doc2": "本人確認書類(2点目)",
    "cert_type": "証明書の種類",
    "copies": "部数",
    "relation": "請求者と本人の関係",
    "subject_name": "対象者(本人以外)",
    "proxy_letter": "委任状を確認した",
    "proxy_letter_row": "委任状",
    "inkan_card": "印鑑登録証(カード)を確認した",
    "inkan_card_row": "印鑑登録証",
    "optional_items": "記載事項(任意)",
    "purpose": "使用目的",
    "payment": "支払方法",
    "fee": "手数料",
    "yen": "円",
    # my number
    "application_id": "申請書ID(23桁)",
    "application_id_hint": "数字23桁(QR読取可)",
    "route": "受取方法",
    "photo_taken": "撮影した(持参の写真を確認した)",
    "photo_taken_row": "顔写真",
    # disaster
    "disaster": "災害",
    "applicant_name": "申請者氏名",
    "applicant_address": "申請者住所",
    "contact_phone": "連絡先電話番号",
    "household_relation": "世帯との関係",
    "building_address": "被害建物の所在地",
    "cause": "被害の原因",
    "residence": "住家である",
    "residence_row": "住家",
    "ownership": "所有関係",
    "water_level": "浸水",
    "water_depth_cm": "浸水深(cm)",
    "photos": "写真の枚数",
    "self_assessment": "自己判定方式を希望する",
    "self_assessment_row": "自己判定",
    # garbage
    "ticket_kind": "券の種類",
    "quantity": "枚数",
    # consultation
    "topic": "相談の分野",
    "remote": "リモート相談で対応した",
    "remote_row": "リモート",
    "referral": "つなぎ先",
    "no_referral": "つなぎ先なし",
    # frailty
    "people": "参加者数",
    "with_sheet": "J-CHS 5項目を記入する",
    "with_sheet_row": "J-CHS",
    "score": "点数",
    # explanation
    "visitors": "説明・見学者数",
    "add_visitor": "1人追加",
    "add_visitor_hint": "スペースまたは + で1人追加(1回ごとに記録します)",
    # receipt
    "receipt_title": "受付完了",
    "receipt_no": "番号",
    "amount": "金額",
    "pdf_writing": "領収書PDFを作成中…",
    "pdf_done": "領収書PDFを作成しました",
    "pdf_failed": "PDFを作成できませんでした",
    "next": "次へ",
    # void
    "void_title": "書損(領収書の取消)",
    "void_hint": "監督者のみ。取り消した番号は欠番にせず「書損」として残ります",
    "voided": "書損として記録しました",
    # day close
    "dayclose_title": "日計表(締め)",
    "change_float": "釣銭準備金",
    "cash_fees": "現金収納額",
    "expected_cash": "あるべき現金",
    "counted_total": "実査した現金",
    "difference": "差額",
    "cashless_fees": "キャッシュレス収納額",
    "cashless_terminal": "キャッシュレス端末",
    "by_category": "分類別の利用者",
    "day_closed": "日計を締めました",
    "diff_reason": "差額の理由",
    "dayclose_pdf": "日計表PDF",
}

ACTIVITY_LABELS: Final[dict[str, str]] = {
    "regular": "地区定期巡回",
    "reservation": "予約訪問",
    "disaster": "り災証明書出張申請受付",
    "voting": "移動期日前投票所",
    "other": "その他",
}
PAYMENT_LABELS: Final[dict[str, str]] = {"cash": "現金", "cashless": "キャッシュレス"}


def t(key: str) -> str:
    """The label for ``key`` (the key itself when missing, so a gap shows, not crashes)."""
    return L.get(key, key)
