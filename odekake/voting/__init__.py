"""Mobile early voting (移動期日前投票所): elections, roll, hub check-in, tallies, reports.

No ``textual`` here; the kiosk screen lives in ``kiosk/screens/voting.py``.
"""
