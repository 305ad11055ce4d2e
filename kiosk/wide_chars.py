"""Keep wide (Japanese) characters whole where an overlay covers other widgets.

Textual's compositor cuts every screen line at each widget's left and right edge and
paints the pieces front to back. A piece boundary that falls in the middle of a
double-width character replaces that character with two spaces, so an overlay such as
the 宣誓書 list of the voting screen showed 「冠婚␣␣祭」 in a real terminal wherever a
button beneath it ended on an odd column (Textual issue #6357, open in 8.2.8).

The patch cuts a widget's line only where the owner of the cells changes: consecutive
pieces that the same (front-most) widget wins are painted as one strip, and the pieces
it swallowed get an empty placeholder so that no widget behind claims them. Partial
updates then measure each piece by its own width, not by the next cut.

Applied once, on import of :mod:`kiosk` (the kiosk is Textual's only user here).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from textual import _compositor
from textual.geometry import Region
from textual.strip import Strip

_EMPTY = Strip([], 0)
_applied = False


def _render_chops(
    self: _compositor.Compositor,
    crop: Region,
    is_rendered_line: Callable[[int], bool],
) -> Sequence[Mapping[int, Strip]]:
    cuts = self.cuts
    chops: list[dict[int, Strip | None]] = [dict.fromkeys(cut_set[:-1]) for cut_set in cuts]
    intersection = Region.intersection
    for region, clip, strips in self._get_renders(crop):
        render_region = intersection(region, clip)
        render_x = render_region.x
        first_cut, last_cut = render_region.column_span
        for y, strip in zip(render_region.line_range, strips, strict=False):
            if not is_rendered_line(y):
                continue
            line = chops[y]
            final = [cut for cut in cuts[y] if last_cut >= cut >= first_cut]
            if len(final) < 2:
                continue
            free = [line.get(cut) is None for cut in final[:-1]]
            # cut only where the front-most owner changes (and at both ends)
            keep = [i for i in range(1, len(final) - 1) if free[i] != free[i - 1]]
            starts = [0, *keep]
            ends = [*keep, len(final) - 1]
            pieces = strip.divide([final[i] - render_x for i in ends])
            for start, end, piece in zip(starts, ends, pieces, strict=False):
                if not free[start]:
                    continue
                line[final[start]] = piece
                for swallowed in range(start + 1, end):
                    line[final[swallowed]] = _EMPTY
    return chops  # type: ignore[return-value]


def _chop_ends(
    chops: Iterable[Mapping[int, Strip | None]], cuts: list[list[int]]
) -> list[list[int]]:
    """Where each piece really ends: its own width (a merged piece spans several cuts)."""
    ends: list[list[int]] = []
    for line, cut_set in zip(chops, cuts, strict=False):
        line_ends = []
        for (x, strip), next_cut in zip(line.items(), cut_set[1:], strict=False):
            line_ends.append(next_cut if strip is None else x + strip.cell_length)
        ends.append(line_ends)
    return ends


def _render_partial_update(self: _compositor.Compositor) -> Any:
    screen_region = self.size.region
    update_regions = self._dirty_regions.copy()
    self._dirty_regions.clear()
    if not update_regions:
        return None
    crop = Region.from_union(update_regions).intersection(screen_region)
    spans = list(self._regions_to_spans(update_regions))
    is_rendered_line = {y for y, _, _ in spans}.__contains__
    chops = self._render_chops(crop, is_rendered_line)
    return _compositor.ChopsUpdate(chops, spans, _chop_ends(chops, self.cuts))


def apply() -> None:
    """Patch Textual's compositor (idempotent)."""
    global _applied
    if _applied:
        return
    compositor: Any = _compositor.Compositor
    compositor._render_chops = _render_chops
    compositor.render_partial_update = _render_partial_update
    _applied = True
