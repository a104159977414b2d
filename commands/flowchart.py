"""The state machine as a picture: an inline SVG rendered on the server from the State and
Transition rows (no JavaScript, nothing fetched from the network).

States are boxes in layers, top to bottom, laid out the Sugiyama way: cycles are broken by a
depth-first search in lifecycle order (the order of the status enum), each state goes to the
layer after its longest path of predecessors, edges that skip layers run through invisible
waypoints, and a few barycentre sweeps order each layer to cut crossings. Several transitions
between the same two states are one arrow (its tooltip lists them). A transition that keeps the
state (update shipment info, a Move within Waiting) is a loop on the box's right; one that
restores the state before (unblock, reject cancellation) a dashed hook on its left.

``render_svg`` highlights the current state and marks the transitions given as allowed (and the
states they lead to): the package page passes the commands this user may run now; the
states/transitions admin passes those visible to a chosen channel.

Hover shows an arrow's label (CSS only); ``data-*`` attributes are stable hooks for tests."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from commands.admin_display import plain_label, state_name, status_variant, transition_label
from commands.models import State, Transition
from commands.registry import registry

BOX_W, BOX_H = 168, 44
DUMMY_W = 6
H_GAP, DUMMY_GAP, LAYER_GAP, MARGIN = 22, 6, 58, 16
LINE_CHARS = 22
SWEEPS = 6
PLACEMENT_SWEEPS = 8

# Box colours per badge variant (the admin's status colours): fill, border, text.
PALETTE = {
    "info": ("#dbeafe", "#60a5fa", "#1e3a8a"),
    "danger": ("#fee2e2", "#f87171", "#7f1d1d"),
    "warning": ("#ffedd5", "#fb923c", "#7c2d12"),
    "success": ("#dcfce7", "#4ade80", "#14532d"),
    "primary": ("#ede9fe", "#a78bfa", "#4c1d95"),
    "default": ("#f1f5f9", "#94a3b8", "#1e293b"),
}
MARK = "#7c3aed"      # transitions that may run now, and the states they lead to
EDGE = "#94a3b8"

_chart_ids = itertools.count(1)


@dataclass(eq=False)
class _Node:
    key: int | tuple              # state id, or ("dummy", n) for an edge's waypoint
    state: State | None = None
    layer: int = 0
    position: float = 0.0
    x: float = 0.0
    y: float = 0.0

    @property
    def width(self) -> float:
        return BOX_W if self.state is not None else DUMMY_W


@dataclass(eq=False)
class _Edge:
    source: State
    target: State
    transitions: list[Transition] = field(default_factory=list)
    path: list[_Node] = field(default_factory=list)   # from source to target, waypoints between


def _status_rank(enum_class: str):
    object_type = registry.object_type_for_enum_class(enum_class)
    order = object_type.status_values() if object_type else []

    def rank(state: State) -> tuple:
        value = state.enum_value
        return (order.index(value) if value in order else len(order), state.pk)
    return rank


def _wrap(text: str) -> list[str]:
    """At most two lines of about LINE_CHARS characters, broken at spaces."""
    words, lines, line = text.split(), [], ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if len(candidate) <= LINE_CHARS or not line:
            line = candidate
        else:
            lines.append(line)
            line = word
    lines.append(line)
    if len(lines) > 2:
        lines = [lines[0], " ".join(lines[1:])]
    return [ln if len(ln) <= LINE_CHARS + 2 else ln[:LINE_CHARS] + "…" for ln in lines]


class _Layout:
    def __init__(self, states: list[State], edges: list[_Edge], rank) -> None:
        self.states = sorted(states, key=rank)
        self.edges = edges
        self.nodes = {s.pk: _Node(s.pk, s) for s in self.states}
        self.layers: list[list[_Node]] = []
        self._layer_states()
        self._add_waypoints()
        self._order()
        self._place()

    def _layer_states(self) -> None:
        order = {s.pk: i for i, s in enumerate(self.states)}
        out: dict[int, list[int]] = defaultdict(list)
        has_in = set()
        for edge in self.edges:
            out[edge.source.pk].append(edge.target.pk)
            has_in.add(edge.target.pk)
        for targets in out.values():
            targets.sort(key=order.__getitem__)
        # Depth-first search in lifecycle order; an edge into a state still on the stack closes a
        # cycle and is laid out reversed.
        seen, on_stack, finished, back = set(), set(), [], set()

        def visit(node: int) -> None:
            seen.add(node)
            on_stack.add(node)
            for target in out[node]:
                if target in on_stack:
                    back.add((node, target))
                elif target not in seen:
                    visit(target)
            on_stack.discard(node)
            finished.append(node)

        roots = [s.pk for s in self.states if s.pk not in has_in]
        for start in [*roots, *(s.pk for s in self.states)]:
            if start not in seen:
                visit(start)
        layer = dict.fromkeys(order, 0)
        for node in reversed(finished):        # a topological order of the forward edges
            for target in out[node]:
                if (node, target) not in back:
                    layer[target] = max(layer[target], layer[node] + 1)
        # States no transition touches (a transfer's Cancelled: cancelling is the package's
        # command) go last, out of the way.
        isolated = set(order) - {pk for pk, targets in out.items() if targets} - has_in
        connected_layers = [layer[pk] for pk in order if pk not in isolated]
        for pk in isolated:
            layer[pk] = max(connected_layers, default=0)
        for pk, node in self.nodes.items():
            node.layer = layer[pk]
        self.layers = [[] for _ in range(max(layer.values(), default=0) + 1)]
        for state in self.states:
            self.layers[layer[state.pk]].append(self.nodes[state.pk])

    def _add_waypoints(self) -> None:
        dummies = itertools.count()
        for edge in self.edges:
            start, end = self.nodes[edge.source.pk], self.nodes[edge.target.pk]
            step = 1 if end.layer >= start.layer else -1
            path = [start]
            for layer in range(start.layer + step, end.layer, step):
                dummy = _Node(("dummy", next(dummies)), layer=layer)
                self.layers[layer].append(dummy)
                path.append(dummy)
            path.append(end)
            edge.path = path

    def _order(self) -> None:
        up: dict[_Node, list[_Node]] = defaultdict(list)
        down: dict[_Node, list[_Node]] = defaultdict(list)
        for edge in self.edges:
            for a, b in itertools.pairwise(edge.path):
                upper, lower = (a, b) if a.layer < b.layer else (b, a)
                if upper.layer != lower.layer:
                    down[upper].append(lower)
                    up[lower].append(upper)
        for layer in self.layers:
            for i, node in enumerate(layer):
                node.position = i
        for sweep in range(SWEEPS):
            downward = sweep % 2 == 0
            layers = self.layers[1:] if downward else list(reversed(self.layers[:-1]))
            for layer in layers:
                for node in layer:
                    neighbours = up[node] if downward else down[node]
                    if neighbours:
                        node.position = sum(n.position for n in neighbours) / len(neighbours)
                layer.sort(key=lambda n: n.position)   # stable: ties keep lifecycle order
                for i, node in enumerate(layer):
                    node.position = i

    def _place(self) -> None:
        """x: start packed and centred, then pull each node towards the mean x of its neighbours
        (waypoints weigh more, so long arrows straighten) while keeping the layer's order and
        spacing; y: by layer."""
        neighbours: dict[_Node, list[tuple[_Node, float]]] = defaultdict(list)
        for edge in self.edges:
            for a, b in itertools.pairwise(edge.path):
                weight = 1.0 if a.state is not None and b.state is not None else 2.0 if (
                    a.state is None and b.state is None) else 1.5
                neighbours[a].append((b, weight))
                neighbours[b].append((a, weight))
        widest = max((self._span(layer) for layer in self.layers), default=BOX_W)
        for index, layer in enumerate(self.layers):
            x = (widest - self._span(layer)) / 2
            for i, node in enumerate(layer):
                if i:
                    x += _gap(layer[i - 1], node)
                node.x = x + node.width / 2
                x += node.width
                node.y = MARGIN + index * (BOX_H + LAYER_GAP) + BOX_H / 2
        for sweep in range(PLACEMENT_SWEEPS):
            layers = self.layers if sweep % 2 == 0 else list(reversed(self.layers))
            for layer in layers:
                desired = []
                for node in layer:
                    near = neighbours.get(node)
                    desired.append(sum(n.x * w for n, w in near) / sum(w for _n, w in near)
                                   if near else node.x)
                _spread(layer, desired)
        left = min((n.x - n.width / 2 for layer in self.layers for n in layer), default=0)
        right = max((n.x + n.width / 2 for layer in self.layers for n in layer), default=BOX_W)
        for layer in self.layers:
            for node in layer:
                node.x += MARGIN - left
        self.width = right - left + 2 * MARGIN
        self.height = MARGIN * 2 + len(self.layers) * BOX_H + (len(self.layers) - 1) * LAYER_GAP

    @staticmethod
    def _span(layer: list[_Node]) -> float:
        return sum(n.width for n in layer) + sum(_gap(a, b) for a, b in itertools.pairwise(layer))


def _gap(a: _Node, b: _Node) -> float:
    """Free space between two neighbours in a layer: boxes need room, waypoints little."""
    boxes = (a.state is not None) + (b.state is not None)
    return (DUMMY_GAP, H_GAP / 2, H_GAP)[boxes]


def _spread(layer: list[_Node], desired: list[float]) -> None:
    """Put each node as near its desired x as the layer's order and spacing allow: the mean of a
    left-to-right and a right-to-left packing, then the spacing enforced once more."""
    n = len(layer)
    if not n:
        return
    forward, backward = list(desired), list(desired)
    for i in range(1, n):
        minimum = forward[i - 1] + (layer[i - 1].width + layer[i].width) / 2 + _gap(layer[i - 1], layer[i])
        forward[i] = max(forward[i], minimum)
    for i in range(n - 2, -1, -1):
        maximum = backward[i + 1] - (layer[i].width + layer[i + 1].width) / 2 - _gap(layer[i], layer[i + 1])
        backward[i] = min(backward[i], maximum)
    xs = [(f + b) / 2 for f, b in zip(forward, backward, strict=True)]
    for i in range(1, n):
        a, b = layer[i - 1], layer[i]
        xs[i] = max(xs[i], xs[i - 1] + (a.width + b.width) / 2 + _gap(a, b))
    for node, x in zip(layer, xs, strict=True):
        node.x = x


def _ports(edges: list[_Edge]) -> dict[tuple[int, int], float]:
    """x offsets where each edge meets each box, spread along the box's side in the order of
    where the edge goes next, so parallel arrows do not overlap."""
    sides: dict[tuple[int, str], list[tuple[float, int]]] = defaultdict(list)
    for index, edge in enumerate(edges):
        for end, neighbour in ((edge.path[0], edge.path[1]), (edge.path[-1], edge.path[-2])):
            side = "bottom" if neighbour.layer > end.layer else "top"
            sides[(end.key, side)].append((neighbour.x, index))
    offsets = {}
    for (key, _side), items in sides.items():
        items.sort()
        span = BOX_W * 0.7
        for i, (_x, index) in enumerate(items):
            offset = 0.0 if len(items) == 1 else -span / 2 + span * i / (len(items) - 1)
            offsets[(index, key)] = offset
    return offsets


def _edge_points(edge: _Edge, index: int, offsets) -> list[tuple[float, float]]:
    points = []
    for i, node in enumerate(edge.path):
        if node.state is None:
            points.append((node.x, node.y))
            continue
        neighbour = edge.path[1] if i == 0 else edge.path[-2]
        below = neighbour.layer > node.layer
        points.append((node.x + offsets[(index, node.key)], node.y + (BOX_H / 2 if below else -BOX_H / 2)))
    return points


def _curve(points: list[tuple[float, float]]) -> str:
    (x, y), *rest = points
    d = [f"M{x:.1f},{y:.1f}"]
    for (x1, y1), (x2, y2) in itertools.pairwise(points):
        mid = (y1 + y2) / 2
        d.append(f"C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}")
    return " ".join(d)


def _tooltip(transitions: Iterable[Transition]) -> str:
    return "\n".join(f"{transition_label(t)} [{t.slug}]" for t in transitions)


def _short_labels(transitions: list[Transition]) -> str:
    labels = list(dict.fromkeys(plain_label(t) for t in transitions))
    return labels[0] if len(labels) == 1 else f"{labels[0]} +{len(labels) - 1}"


def render_svg(enum_class: str, current_state_id: int | None = None,
               allowed_transition_ids: Iterable[int] = (), *,
               runnable_transition_ids: Iterable[int] | None = None, title: str | None = None) -> SafeString:
    """The state machine of ``enum_class`` ("PackageStatus", "TransferStatus") as inline SVG.

    ``current_state_id`` is highlighted; ``allowed_transition_ids`` (``runnable_transition_ids``
    is the same, as ``commands.admin_display.flowchart_svg`` names it) are marked and labelled,
    with the states they lead to. Two queries: the states and the active transitions."""
    allowed = set(allowed_transition_ids) | set(runnable_transition_ids or ())
    states = list(State.objects.filter(enum_class=enum_class))
    transitions = list(Transition.objects.filter(source_state__enum_class=enum_class, is_active=True)
                       .order_by("id"))
    by_id = {s.pk: s for s in states}
    chart = next(_chart_ids)
    prefix = f"oms-fc{chart}"

    pairs: dict[tuple[int, int], list[Transition]] = defaultdict(list)
    loops: dict[int, list[Transition]] = defaultdict(list)
    restores: dict[int, list[Transition]] = defaultdict(list)
    for t in transitions:
        if t.destination_state_id is None:
            restores[t.source_state_id].append(t)
        elif t.destination_state_id == t.source_state_id:
            loops[t.source_state_id].append(t)
        elif t.source_state_id in by_id and t.destination_state_id in by_id:
            pairs[(t.source_state_id, t.destination_state_id)].append(t)
    edges = [_Edge(by_id[s], by_id[d], ts) for (s, d), ts in pairs.items()]
    layout = _Layout(states, edges, _status_rank(enum_class))
    offsets = _ports(edges)
    reachable = {t.destination_state_id for t in transitions if t.pk in allowed and t.destination_state_id}

    heading = title or _("State machine")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="oms-flowchart" role="img" '
        f'aria-labelledby="{prefix}-title" data-testid="flowchart" data-enum-class="{escape(enum_class)}" '
        f'viewBox="0 0 {layout.width:.0f} {layout.height + 28:.0f}" width="{layout.width:.0f}" '
        f'style="max-width:100%;height:auto" font-family="ui-sans-serif,system-ui,sans-serif">',
        f'<title id="{prefix}-title">{escape(heading)}</title>',
        "<style>"
        f".{prefix}-edge .{prefix}-hover{{opacity:0}}"
        f".{prefix}-edge:hover .{prefix}-hover{{opacity:1}}"
        f".{prefix}-edge:hover path{{stroke-width:2.5}}"
        "</style>",
        "<defs>",
        *(f'<marker id="{prefix}-arrow-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
          f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/>'
          "</marker>" for name, colour in (("plain", EDGE), ("mark", MARK))),
        "</defs>",
    ]

    # Arrows first, boxes on top of them.
    for index, edge in enumerate(edges):
        marked = any(t.pk in allowed for t in edge.transitions)
        points = _edge_points(edge, index, offsets)
        # The label sits at the arrow's head, where arrows into one box are already spread.
        (_tail_x, tail_y), (head_x, head_y) = points[-2], points[-1]
        label_at = (head_x, head_y - 10 if tail_y < head_y else head_y + 18)
        colour, width = (MARK, 2.2) if marked else (EDGE, 1.2)
        ids = ",".join(str(t.pk) for t in edge.transitions)
        label_class = "" if marked else f' class="{prefix}-hover"'
        label_weight = "600" if marked else "400"
        parts.append(
            f'<g class="{prefix}-edge" data-testid="flow-edge" data-from="{escape(edge.source.slug)}" '
            f'data-to="{escape(edge.target.slug)}" data-transitions="{ids}" '
            f'data-allowed="{"true" if marked else "false"}">'
            f"<title>{escape(_tooltip(edge.transitions))}</title>"
            f'<path d="{_curve(points)}" fill="none" stroke="{colour}" stroke-width="{width}" '
            f'marker-end="url(#{prefix}-arrow-{"mark" if marked else "plain"})"/>'
            f'<text{label_class} x="{label_at[0]:.1f}" y="{label_at[1]:.1f}" text-anchor="middle" '
            f'font-size="11" font-weight="{label_weight}" fill="{colour if marked else "#334155"}" '
            f'stroke="#fff" stroke-width="3" paint-order="stroke">'
            f"{escape(_short_labels([t for t in edge.transitions if t.pk in allowed] or edge.transitions))}"
            "</text>"
            "</g>")

    for state in layout.states:
        node = layout.nodes[state.pk]
        variant = status_variant(state.enum_class, state.enum_value)
        fill, border, text = PALETTE.get(variant, PALETTE["default"])
        current = state.pk == current_state_id
        left, top = node.x - BOX_W / 2, node.y - BOX_H / 2
        stroke, stroke_width = ("#0f172a", 3) if current else (MARK, 2) if state.pk in reachable else (
            border, 1)
        dash = "" if state.is_active else ' stroke-dasharray="4 3"'
        lines = _wrap(state_name(state))
        first_y = node.y + 4 - (len(lines) - 1) * 7
        text_lines = "".join(
            f'<tspan x="{node.x:.1f}" y="{first_y + i * 14:.1f}">{escape(line)}</tspan>'
            for i, line in enumerate(lines))
        extras = []
        for kind, group in (("loop", loops.get(state.pk, [])), ("restore", restores.get(state.pk, []))):
            if not group:
                continue
            marked = any(t.pk in allowed for t in group)
            colour = MARK if marked else EDGE
            ids = ",".join(str(t.pk) for t in group)
            # A loop on the right side; a dashed hook on the left: back to the state before.
            x0, y0, out = (left + BOX_W, node.y - 8, 26) if kind == "loop" else (left, node.y - 8, -26)
            d = (f"M{x0:.1f},{y0:.1f} C{x0 + out:.1f},{y0 - 16:.1f} {x0 + out:.1f},{y0 + 32:.1f} "
                 f"{x0:.1f},{y0 + 16:.1f}")
            dash_attr = "" if kind == "loop" else ' stroke-dasharray="4 3"'
            extras.append(
                f'<g class="{prefix}-edge" data-testid="flow-{kind}" data-from="{escape(state.slug)}" '
                f'data-transitions="{ids}" data-allowed="{"true" if marked else "false"}">'
                f"<title>{escape(_tooltip(group))}</title>"
                f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{2.2 if marked else 1.2}"'
                f'{dash_attr} marker-end="url(#{prefix}-arrow-{"mark" if marked else "plain"})"/></g>')
        parts.append(
            f'<g data-testid="flow-state" data-state="{escape(state.slug)}" '
            f'data-current="{"true" if current else "false"}">'
            f"<title>{escape(state.name)} ({escape(state.enum_value)})</title>"
            f'<rect x="{left:.1f}" y="{top:.1f}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{stroke_width}"{dash}/>'
            f'<text text-anchor="middle" font-size="12" font-weight="{700 if current else 500}" '
            f'fill="{text}">{text_lines}</text>{"".join(extras)}</g>')

    y = layout.height + 14
    current_text, runnable_text = escape(_("current state")), escape(_("can run now"))
    restore_text = escape(_("back to the state before"))
    parts.append(
        f'<g font-size="11" fill="#475569" data-testid="flow-legend">'
        f'<rect x="{MARGIN}" y="{y - 9}" width="14" height="12" rx="3" fill="#fff" stroke="#0f172a" '
        f'stroke-width="2.5"/><text x="{MARGIN + 20}" y="{y + 1}">{current_text}</text>'
        f'<line x1="{MARGIN + 120}" y1="{y - 3}" x2="{MARGIN + 146}" y2="{y - 3}" stroke="{MARK}" '
        f'stroke-width="2.2"/><text x="{MARGIN + 152}" y="{y + 1}">{runnable_text}</text>'
        f'<line x1="{MARGIN + 250}" y1="{y - 3}" x2="{MARGIN + 276}" y2="{y - 3}" stroke="{EDGE}" '
        f'stroke-dasharray="4 3" stroke-width="1.5"/>'
        f'<text x="{MARGIN + 282}" y="{y + 1}">{restore_text}</text></g>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every interpolated text above is escaped
