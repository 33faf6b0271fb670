"""Dev tool: write a laned BPMN file (semantics + BPMNDI) from a compact Python description.

Used to draft the files in ``processes/``; the committed ``.bpmn`` files are what designers
edit from then on (in bpmn.io or any modeler). Re-running a draft script overwrites them.

Layout: one pool, lanes stacked vertically, each lane made of one or more rows; every node
sits in a (row, column) cell, so shapes never overlap. Sequence flows are routed
orthogonally by a shortest path on a grid of free corridors (cell gaps and row centres)
that never enters a shape other than the flow's own ends and their containers.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

COL_W = 150  # column pitch
ROW_H = 140  # row pitch
LANE_HEADER = 30  # lane label band on the left
POOL_HEADER = 30  # pool label band on the left
X0 = 0
Y0 = 0
CHANNEL = 16  # corridors this far inside a row's borders
NEAR = 30  # flows closer than this run 'parallel and close'

SIZES = {
    "start": (36, 36),
    "end": (36, 36),
    "tend": (36, 36),
    "msgcatch": (36, 36),
    "timercatch": (36, 36),
    "xgw": (50, 50),
    "pgw": (50, 50),
    "ebg": (50, 50),
    "user": (110, 80),
    "script": (110, 80),
    "brule": (110, 80),
    "call": (110, 80),
    "manual": (110, 80),
    "boundary": (36, 36),
}
EVENTS = {"start", "end", "tend", "msgcatch", "timercatch", "boundary"}


@dataclass
class Node:
    id: str
    kind: str
    name: str
    row: int = 0
    col: float = 0
    parent: str | None = None
    props: dict = field(default_factory=dict)
    ext: dict = field(default_factory=dict)
    # containers (embedded / event subprocess)
    span: tuple | None = None  # (row0, col0, row1, col1)
    # boundary events
    host: str | None = None
    offset: int = 0
    bounds: tuple = (0, 0, 0, 0)
    label: tuple | None = None


@dataclass
class Flow:
    id: str
    src: str
    tgt: str
    name: str = ""
    cond: str | None = None
    default: bool = False
    waypoints: list = field(default_factory=list)
    grid_path: list = field(default_factory=list)
    label: tuple | None = None


class Proc:
    def __init__(self, pid: str, name: str, lanes: list[tuple[str, str, int]], doc: str = ""):
        """lanes: (lane id, lane name, number of rows)."""
        self.pid, self.name, self.doc = pid, name, doc
        self.lanes = lanes
        self.nodes: dict[str, Node] = {}
        self.flows: list[Flow] = []
        self.messages: dict[str, str] = {}
        self.ncols = 0
        self._ids = itertools.count(1)

    # -- description ------------------------------------------------------------------
    def node(self, id, kind, name, row, col, parent=None, **kw):
        props = kw.pop("props", {})
        n = Node(id, kind, name, row, col, parent, props, kw)
        self.nodes[id] = n
        return n

    def container(self, id, kind, name, span, parent=None, **kw):
        props = kw.pop("props", {})
        n = Node(id, kind, name, span[0], span[1], parent, props, kw, span=span)
        self.nodes[id] = n
        return n

    def boundary(self, id, name, host, col, interrupting=True, **kw):
        """A boundary event on the bottom border of ``host``, centred on column ``col``."""
        props = kw.pop("props", {})
        n = Node(
            id, "boundary", name, 0, col, self.nodes[host].parent, props, dict(kw, interrupting=interrupting), host=host
        )
        self.nodes[id] = n
        return n

    def flow(self, src, tgt, name="", cond=None, default=False, id=None):
        f = Flow(id or f"Flow_{src}_{tgt}", src, tgt, name, cond, default)
        self.flows.append(f)
        return f

    # -- geometry ---------------------------------------------------------------------
    def _geometry(self):
        self.nrows = sum(r for _, _, r in self.lanes)
        cols = [n.col for n in self.nodes.values() if n.kind != "boundary"]
        cols += [n.span[3] for n in self.nodes.values() if n.span]
        self.ncols = int(max(cols)) + 1
        self.left = X0 + POOL_HEADER + LANE_HEADER
        self.width = self.ncols * COL_W + 20
        for n in self.nodes.values():
            if n.span:
                r0, c0, r1, c1 = n.span
                x = self.left + c0 * COL_W + 8
                y = Y0 + r0 * ROW_H + 4
                n.bounds = (x, y, (c1 - c0 + 1) * COL_W - 16, (r1 - r0 + 1) * ROW_H - 34)
            elif n.kind != "boundary":
                w, h = SIZES[n.kind]
                cx = self.left + n.col * COL_W + COL_W / 2
                cy = Y0 + n.row * ROW_H + ROW_H / 2
                n.bounds = (cx - w / 2, cy - h / 2, w, h)
        for n in self.nodes.values():
            if n.kind == "boundary":
                hx, hy, hw, hh = self.nodes[n.host].bounds
                w, h = SIZES["boundary"]
                cx = self.left + n.col * COL_W + COL_W / 2
                n.bounds = (cx - w / 2, hy + hh - h / 2, w, h)

    def _center(self, n):
        x, y, w, h = n.bounds
        return (x + w / 2, y + h / 2)

    def _ancestors(self, nid):
        out = set()
        n = self.nodes[nid]
        while n.parent:
            out.add(n.parent)
            n = self.nodes[n.parent]
        return out

    def _route_all(self):
        """Route every flow on a grid of corridors: cell gaps, row centres and two channels per
        row (CHANNEL px inside its borders, so flows in neighbouring rows keep apart)."""
        xs = set()
        ys = set()
        for c in range(self.ncols + 1):
            xs.add(self.left + c * COL_W)
            if c < self.ncols:
                xs.add(self.left + c * COL_W + COL_W / 2)
        for r in range(self.nrows):
            top = Y0 + r * ROW_H
            ys.update({top + CHANNEL, top + ROW_H / 2, top + ROW_H - CHANNEL})
        for n in self.nodes.values():
            cx, cy = self._center(n)
            xs.add(cx)
            ys.add(cy)
            if n.kind == "boundary":
                ys.add(n.bounds[1] + n.bounds[3])
            if n.span:
                x, y, w, h = n.bounds
                xs.update({x - CHANNEL, x, x + w, x + w + CHANNEL})
                ys.update({y + h + CHANNEL, y + h - 22})
        xs, ys = sorted(xs), sorted(ys)
        # which shapes block each unit step of the grid (computed once)
        self._blocking = {}
        m = 3
        for j, y in enumerate(ys):
            for i in range(len(xs) - 1):
                ax, bx = xs[i], xs[i + 1]
                self._blocking[(i, j, i + 1, j)] = [
                    n.id
                    for n in self.nodes.values()
                    if n.bounds[1] - m < y < n.bounds[1] + n.bounds[3] + m
                    and max(ax, n.bounds[0] - m) < min(bx, n.bounds[0] + n.bounds[2] + m)
                ]
        for i, x in enumerate(xs):
            for j in range(len(ys) - 1):
                ay, by = ys[j], ys[j + 1]
                self._blocking[(i, j, i, j + 1)] = [
                    n.id
                    for n in self.nodes.values()
                    if n.bounds[0] - m < x < n.bounds[0] + n.bounds[2] + m
                    and max(ay, n.bounds[1] - m) < min(by, n.bounds[1] + n.bounds[3] + m)
                ]
        self._owners = {}  # unit step -> flows running on it
        self._near = {}  # unit step -> number of flows running parallel close by
        self._crossed = {}  # grid point -> orientations of flows passing through it
        for f in self.flows:
            f.waypoints = self._route(f, xs, ys)
            self._occupy(f, xs, ys)

    @staticmethod
    def _step_key(p, q):
        return (min(p[0], q[0]), min(p[1], q[1]), max(p[0], q[0]), max(p[1], q[1]))

    def _occupy(self, f, xs, ys):
        xi = {round(x): i for i, x in enumerate(xs)}
        yi = {round(y): j for j, y in enumerate(ys)}
        for a, b in zip(f.grid_path, f.grid_path[1:]):
            key = self._step_key(a, b)
            self._owners.setdefault(key, []).append(f)
            horizontal = a[1] == b[1]
            self._crossed.setdefault(b, set()).add("h" if horizontal else "v")
            if horizontal:
                y = ys[a[1]]
                for j, y2 in enumerate(ys):
                    if j != a[1] and abs(y2 - y) <= NEAR:
                        k2 = (key[0], j, key[2], j)
                        self._near[k2] = self._near.get(k2, 0) + 1
            else:
                x = xs[a[0]]
                for i, x2 in enumerate(xs):
                    if i != a[0] and abs(x2 - x) <= NEAR:
                        k2 = (i, key[1], i, key[3])
                        self._near[k2] = self._near.get(k2, 0) + 1
        del xi, yi

    def _route(self, f, xs, ys):
        s, t = self.nodes[f.src], self.nodes[f.tgt]
        allowed = {s.id, t.id} | self._ancestors(s.id) | self._ancestors(t.id)
        if s.kind == "boundary":
            allowed.discard(s.host)  # leave the host downwards, never through it
        # containers we are outside of block like shapes; containers we are inside of do not
        sx, sy = self._center(s)
        tx, ty = self._center(t)
        if s.kind == "boundary":  # leave a boundary event downwards
            sy = s.bounds[1] + s.bounds[3]
        if s.span:  # leave a container from the middle of its right border
            sx = s.bounds[0] + s.bounds[2]
        if t.span:  # enter a container at the middle of its left border
            tx = t.bounds[0]
        xi = {x: i for i, x in enumerate(xs)}
        yi = {y: i for i, y in enumerate(ys)}

        start, goal = (xi[sx], yi[sy]), (xi[tx], yi[ty])
        dirs = [(1, 0), (-1, 0), (0, 1), (0, -1)]
        first_dirs = [(0, 1)] if s.kind == "boundary" else dirs
        best = {}
        heap = []
        for d in first_dirs:
            heapq.heappush(heap, (0.0, next(self._ids), start, d, None))
        came = {}
        end_state = None
        while heap:
            cost, _, p, d, prev = heapq.heappop(heap)
            if (p, d) in best:
                continue
            best[(p, d)] = cost
            came[(p, d)] = prev
            if p == goal:
                end_state = (p, d)
                break
            for nd in dirs:
                if nd == (-d[0], -d[1]):
                    continue
                q = (p[0] + nd[0], p[1] + nd[1])
                if not (0 <= q[0] < len(xs) and 0 <= q[1] < len(ys)):
                    continue
                key = self._step_key(p, q)
                if any(b not in allowed for b in self._blocking[key]):
                    continue
                a = (xs[p[0]], ys[p[1]])
                b = (xs[q[0]], ys[q[1]])
                step = abs(a[0] - b[0]) + abs(a[1] - b[1])
                c = cost + step + (40 if nd != d and prev is not None else 0)
                for other in self._owners.get(key, ()):
                    if other.tgt == f.tgt:
                        c -= 0.5 * step  # flows into the same node merge into one trunk
                        break
                    c += 1.5 * step + 40
                c += 0.8 * step * self._near.get(key, 0)  # keep apart from parallel flows
                orient = "h" if nd[1] == 0 else "v"
                if q != goal and self._crossed.get(q) and orient not in self._crossed[q]:
                    c += 30  # crossing another flow
                if q == goal and nd == (-1, 0):
                    c += 200  # prefer not to enter from the right
                if (q, nd) not in best:
                    heapq.heappush(heap, (c, next(self._ids), q, nd, (p, d)))
        if end_state is None:
            raise RuntimeError(f"no route for {f.id}")
        grid = []
        st = end_state
        while st is not None:
            grid.append(st[0])
            st = came[st]
        grid.reverse()
        f.grid_path = grid
        pts = [(xs[i], ys[j]) for i, j in grid]
        # simplify collinear points
        simple = [pts[0]]
        for p in pts[1:]:
            if len(simple) >= 2 and (simple[-2][0] == simple[-1][0] == p[0] or simple[-2][1] == simple[-1][1] == p[1]):
                simple[-1] = p
            else:
                simple.append(p)
        # clip to the borders of source and target
        if not s.span and s.kind != "boundary":
            simple[0] = self._clip(s, simple[0], simple[1])
        if not t.span:
            simple[-1] = self._clip(t, simple[-1], simple[-2])
        return [(round(x), round(y)) for x, y in simple]

    def _clip(self, n, inner, outer):
        x, y, w, h = n.bounds
        ix, iy = inner
        ox, oy = outer
        if n.kind in ("xgw", "pgw", "ebg"):
            cx, cy = x + w / 2, y + h / 2
            if ix == ox:
                return (ix, cy + (h / 2 if oy > iy else -h / 2))
            return (cx + (w / 2 if ox > ix else -w / 2), iy)
        if ix == ox:
            return (ix, y + h if oy > iy else y)
        return (x + w if ox > ix else x, iy)

    # -- XML --------------------------------------------------------------------------
    def _ext(self, n) -> str:
        parts = []
        props = dict(n.props)
        if props:
            parts.append(
                "<spiffworkflow:properties>"
                + "".join(
                    f"<spiffworkflow:property name={quoteattr(k)} value={quoteattr(v)} />" for k, v in props.items()
                )
                + "</spiffworkflow:properties>"
            )
        if n.ext.get("decision"):
            parts.append(
                f"<spiffworkflow:calledDecisionId>{escape(n.ext['decision'])}</spiffworkflow:calledDecisionId>"
            )
        if n.ext.get("prescript"):
            parts.append(f"<spiffworkflow:preScript>{escape(n.ext['prescript'])}</spiffworkflow:preScript>")
        if n.ext.get("postscript"):
            parts.append(f"<spiffworkflow:postScript>{escape(n.ext['postscript'])}</spiffworkflow:postScript>")
        if not parts:
            return ""
        return "<bpmn:extensionElements>" + "".join(parts) + "</bpmn:extensionElements>"

    def _event_def(self, n) -> str:
        if "timer" in n.ext:
            kind = n.ext.get("timer_kind", "timeDate")
            return (
                f'<bpmn:timerEventDefinition id="{n.id}_timer"><bpmn:{kind} xsi:type="bpmn:tFormalExpression">'
                f"{escape(n.ext['timer'])}</bpmn:{kind}></bpmn:timerEventDefinition>"
            )
        if "message" in n.ext:
            msg = n.ext["message"]
            mid = f"Message_{msg}"
            self.messages[mid] = msg
            var = n.ext.get("message_var")
            inner = (
                (
                    f"<bpmn:extensionElements><spiffworkflow:messageVariable>{escape(var)}</spiffworkflow:messageVariable>"
                    f"</bpmn:extensionElements>"
                )
                if var
                else ""
            )
            return (
                f'<bpmn:messageEventDefinition id="{n.id}_msg" messageRef="{mid}">{inner}</bpmn:messageEventDefinition>'
            )
        if n.kind == "tend":
            return f'<bpmn:terminateEventDefinition id="{n.id}_term" />'
        return ""

    def _node_xml(self, n, children_xml: str = "") -> str:
        ins = "".join(f"<bpmn:incoming>{f.id}</bpmn:incoming>" for f in self.flows if f.tgt == n.id)
        outs = "".join(f"<bpmn:outgoing>{f.id}</bpmn:outgoing>" for f in self.flows if f.src == n.id)
        name = quoteattr(n.name)
        ext = self._ext(n)
        tag = {
            "start": "startEvent",
            "end": "endEvent",
            "tend": "endEvent",
            "msgcatch": "intermediateCatchEvent",
            "timercatch": "intermediateCatchEvent",
            "xgw": "exclusiveGateway",
            "pgw": "parallelGateway",
            "ebg": "eventBasedGateway",
            "user": "userTask",
            "script": "scriptTask",
            "brule": "businessRuleTask",
            "call": "callActivity",
            "manual": "manualTask",
            "boundary": "boundaryEvent",
            "sub": "subProcess",
            "evsub": "subProcess",
        }[n.kind]
        attrs = f'id="{n.id}" name={name}'
        if n.kind == "xgw":
            default = [f.id for f in self.flows if f.src == n.id and f.default]
            if default:
                attrs += f' default="{default[0]}"'
        if n.kind == "call":
            attrs += f' calledElement="{n.ext["called"]}"'
        if n.kind == "boundary":
            attrs += f' attachedToRef="{n.host}"'
            if not n.ext.get("interrupting", True):
                attrs += ' cancelActivity="false"'
        if n.kind == "start" and n.ext.get("interrupting") is False:
            attrs += ' isInterrupting="false"'
        if n.kind == "evsub":
            attrs += ' triggeredByEvent="true"'
        body = ext + ins + outs
        if n.kind == "script":
            body += f"<bpmn:script>{escape(n.ext['script'])}</bpmn:script>"
        if n.ext.get("mi"):
            mi = n.ext["mi"]
            seq = ' isSequential="true"' if mi.get("sequential") else ' isSequential="false"'
            body += (
                f'<bpmn:multiInstanceLoopCharacteristics{seq} spiffworkflow:scriptsOnInstances="true">'
                f"<bpmn:loopDataInputRef>{mi['input']}</bpmn:loopDataInputRef>"
                f"<bpmn:loopDataOutputRef>{mi['output']}</bpmn:loopDataOutputRef>"
                f'<bpmn:inputDataItem id="{mi["item"]}" name="{mi["item"]}" />'
                f'<bpmn:outputDataItem id="{mi["output_item"]}" name="{mi["output_item"]}" />'
                f"</bpmn:multiInstanceLoopCharacteristics>"
            )
        body += self._event_def(n)
        body += children_xml
        return f"<bpmn:{tag} {attrs}>{body}</bpmn:{tag}>"

    def _flow_xml(self, f) -> str:
        name = f" name={quoteattr(f.name)}" if f.name else ""
        cond = ""
        if f.cond:
            cond = f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{escape(f.cond)}</bpmn:conditionExpression>'
        return (
            f'<bpmn:sequenceFlow id="{f.id}"{name} sourceRef="{f.src}" targetRef="{f.tgt}">{cond}</bpmn:sequenceFlow>'
        )

    def _scope_xml(self, parent) -> str:
        out = []
        seen = set()
        for n in self.nodes.values():  # the collections a multi-instance reads and writes, declared
            if n.parent == parent and n.ext.get("mi"):  # so that modelers can resolve the references
                for ref in (n.ext["mi"]["input"], n.ext["mi"]["output"]):
                    if ref not in seen:
                        seen.add(ref)
                        out.append(f'<bpmn:dataObject id="{ref}" name="{ref}" />')
        for n in self.nodes.values():
            if n.parent == parent:
                inner = self._scope_xml(n.id) if n.kind in ("sub", "evsub") else ""
                out.append(self._node_xml(n, inner))
        for f in self.flows:
            if self.nodes[f.src].parent == parent:
                out.append(self._flow_xml(f))
        return "".join(out)

    def lane_rows(self):
        rows, r = [], 0
        for lid, lname, count in self.lanes:
            rows.append((lid, lname, r, r + count - 1))
            r += count
        return rows

    def to_xml(self) -> str:
        self._geometry()
        self._route_all()
        lanes_xml = []
        for lid, lname, _r0, _r1 in self.lane_rows():
            refs = [n.id for n in self.nodes.values() if n.kind not in ("sub",) and self._lane_of(n) == lid]
            lanes_xml.append(
                f'<bpmn:lane id="{lid}" name={quoteattr(lname)}>'
                + "".join(f"<bpmn:flowNodeRef>{r}</bpmn:flowNodeRef>" for r in refs)
                + "</bpmn:lane>"
            )
        body = self._scope_xml(None)
        doc = f"<bpmn:documentation>{escape(self.doc)}</bpmn:documentation>" if self.doc else ""
        process = (
            f'<bpmn:process id="{self.pid}" name={quoteattr(self.name)} isExecutable="true">{doc}'
            f'<bpmn:laneSet id="{self.pid}_lanes">{"".join(lanes_xml)}</bpmn:laneSet>{body}</bpmn:process>'
        )
        messages = "".join(f'<bpmn:message id="{mid}" name="{name}" />' for mid, name in sorted(self.messages.items()))
        collab = (
            f'<bpmn:collaboration id="{self.pid}_pool"><bpmn:participant id="{self.pid}_participant" '
            f'name={quoteattr(self.name)} processRef="{self.pid}" /></bpmn:collaboration>'
        )
        return self._document(collab + process + messages, self._di())

    def _lane_of(self, n):
        if n.kind == "boundary":
            n = self.nodes[n.host] if self.nodes[n.host].kind != "sub" else n
        if n.kind == "boundary":  # on an embedded subprocess: the row its centre lies in
            row = int((self._center(n)[1] - Y0) // ROW_H)
        else:
            row = n.row
        for lid, _, r0, r1 in self.lane_rows():
            if r0 <= row <= r1:
                return lid
        return None

    # -- labels -----------------------------------------------------------------------
    def _place_labels(self):
        """Give every named event, gateway and flow a label box that overlaps no shape, no other
        label, no container border and (where any candidate allows) no flow segment or lane border.
        Candidates are tried in order of preference; the cheapest wins."""
        self._placed = []
        segs = []
        for f in self.flows:
            for a, b in zip(f.waypoints, f.waypoints[1:]):
                segs.append((f.id, a, b))
        self._segs = segs
        lines = []  # container borders: a label lies wholly inside or outside a container
        for n in self.nodes.values():
            if n.span:
                x, y, w, h = n.bounds
                lines += [
                    ((x, y), (x + w, y)),
                    ((x, y + h), (x + w, y + h)),
                    ((x, y), (x, y + h)),
                    ((x + w, y), (x + w, y + h)),
                ]
        self._borders = lines
        self._lane_ys = [Y0 + r0 * ROW_H for _, _, r0, _ in self.lane_rows()][1:]
        shapes = [n.bounds for n in self.nodes.values() if not n.span]
        self._shape_boxes = shapes
        for n in self.nodes.values():
            if n.name and (n.kind in EVENTS or n.kind in ("xgw", "pgw", "ebg")):
                n.label = self._best(self._node_candidates(n), own=None)
                self._placed.append(n.label)
        for f in self.flows:
            if f.name:
                f.label = self._best(self._flow_candidates(f), own=f.id)
                self._placed.append(f.label)

    def _node_candidates(self, n):
        lw, lh = label_size(n.name, 96)
        x, y, w, h = n.bounds
        cx, cy = x + w / 2, y + h / 2
        g = 4
        below, above = y + h + g, y - g - lh
        out = []
        if n.kind == "boundary":  # beside the flow that leaves it downwards, outside the host
            out += [((x + w + 2, below - 2 + 6 * k), k) for k in range(5)]
            out += [((x - 2 - lw, below - 2 + 6 * k), k + 1) for k in range(5)]
        out += [((cx - lw / 2, below), 2), ((cx - lw / 2, above), 4)]
        for k in range(1, 7):
            out += [
                ((cx - lw / 2 + 8 * k, below), 4 + k),
                ((cx - lw / 2 - 8 * k, below), 4 + k),
                ((cx - lw / 2 + 8 * k, above), 6 + k),
                ((cx - lw / 2 - 8 * k, above), 6 + k),
            ]
        out += [
            ((x + w + g, cy - lh - 2), 10),
            ((x + w + g, cy + 2), 10),
            ((x - g - lw, cy - lh - 2), 10),
            ((x - g - lw, cy + 2), 10),
            ((x + w + 2, below - 6), 11),
            ((x - lw - 2, below - 6), 11),
            ((x + w + 2, above + 6), 12),
            ((x - lw - 2, above + 6), 12),
        ]
        return [((px, py, lw, lh), pref) for (px, py), pref in out]

    def _flow_candidates(self, f):
        lw, lh = label_size(f.name, 110)
        out = []
        dist = 0
        for i, (a, b) in enumerate(zip(f.waypoints, f.waypoints[1:])):
            (ax, ay), (bx, by) = a, b
            length = abs(ax - bx) + abs(ay - by)
            sign = 1 if (bx - ax) + (by - ay) > 0 else -1
            offsets = list(range(6, max(7, int(length - (lw if ay == by else lh)) - 5), 6)) or [6]
            for off in offsets:
                pref = 0.04 * (dist + off) + 2 * i
                if ay == by:  # horizontal: above or below the line
                    lx = ax + off if sign > 0 else ax - off - lw
                    out += [((lx, ay - lh - 2, lw, lh), pref), ((lx, ay + 3, lw, lh), pref + 1)]
                else:  # vertical: right or left of the line
                    ly = ay + off if sign > 0 else ay - off - lh
                    out += [((ax + 4, ly, lw, lh), pref + 1), ((ax - 4 - lw, ly, lw, lh), pref + 1.5)]
            dist += length
        return out

    def _best(self, candidates, own):
        best, best_cost = None, None
        pool = (X0 + POOL_HEADER + LANE_HEADER, Y0, self.width, self.nrows * ROW_H)
        for box, pref in candidates:
            box = tuple(round(v) for v in box)
            cost = pref
            if not _inside(box, pool, 2):
                cost += 100000
            if any(_overlap(box, s, 3) for s in self._shape_boxes):
                cost += 100000
            if any(_overlap(box, placed, 2) for placed in self._placed):
                cost += 100000
            if any(_crosses(box, a, b, 2) for a, b in self._borders):
                cost += 50000
            cost += 400 * sum(1 for fid, a, b in self._segs if _crosses(box, a, b, 2))
            cost += 300 * sum(1 for ly in self._lane_ys if box[1] - 2 < ly < box[1] + box[3] + 2)
            if best_cost is None or cost < best_cost:
                best, best_cost = box, cost
        return best

    def _di(self) -> str:
        self._place_labels()
        height = self.nrows * ROW_H
        shapes = [
            f'<bpmndi:BPMNShape id="{self.pid}_participant_di" bpmnElement="{self.pid}_participant" isHorizontal="true">'
            f'<dc:Bounds x="{X0}" y="{Y0}" width="{self.width + POOL_HEADER + LANE_HEADER}" height="{height}" /></bpmndi:BPMNShape>'
        ]
        for lid, _, r0, r1 in self.lane_rows():
            shapes.append(
                f'<bpmndi:BPMNShape id="{lid}_di" bpmnElement="{lid}" isHorizontal="true">'
                f'<dc:Bounds x="{X0 + POOL_HEADER}" y="{Y0 + r0 * ROW_H}" width="{self.width + LANE_HEADER}" '
                f'height="{(r1 - r0 + 1) * ROW_H}" /></bpmndi:BPMNShape>'
            )
        for n in self.nodes.values():
            x, y, w, h = (round(v) for v in n.bounds)
            extra = ' isExpanded="true"' if n.kind in ("sub", "evsub") else ""
            extra += ' isMarkerVisible="true"' if n.kind == "xgw" else ""
            label = _label_xml(n.label) if n.label else ""
            shapes.append(
                f'<bpmndi:BPMNShape id="{n.id}_di" bpmnElement="{n.id}"{extra}>'
                f'<dc:Bounds x="{x}" y="{y}" width="{w}" height="{h}" />{label}</bpmndi:BPMNShape>'
            )
        edges = []
        for f in self.flows:
            wps = "".join(f'<di:waypoint x="{x}" y="{y}" />' for x, y in f.waypoints)
            label = _label_xml(f.label) if f.label else ""
            edges.append(f'<bpmndi:BPMNEdge id="{f.id}_di" bpmnElement="{f.id}">{wps}{label}</bpmndi:BPMNEdge>')
        return (
            f'<bpmndi:BPMNDiagram id="{self.pid}_diagram"><bpmndi:BPMNPlane id="{self.pid}_plane" '
            f'bpmnElement="{self.pid}_pool">'
            + "".join(shapes)
            + "".join(edges)
            + "</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>"
        )

    def _document(self, semantic: str, di: str) -> str:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
            'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
            'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
            f'id="{self.pid}_definitions" targetNamespace="http://zhitongche.example/bpmn" '
            'exporter="zhitongche scripts/bpmn_layout.py" exporterVersion="1">'
            + semantic
            + di
            + "</bpmn:definitions>\n"
        )


# -- label geometry (bpmn-js draws external labels in 11 px type, 1.2 line height, centred in
#    the label's bounds and wrapped at their width) ---------------------------------------
def text_width(text: str) -> float:
    return sum(6.5 if ord(ch) < 128 else 11.5 for ch in text)


def label_size(text: str, max_width: float) -> tuple[int, int]:
    lines, line = [], ""
    for ch in text:
        if line and text_width(line + ch) > max_width:
            lines.append(line)
            line = ch
        else:
            line += ch
    lines.append(line)
    return (round(max(text_width(line) for line in lines)) + 6, round(len(lines) * 13.2) + 2)


def _overlap(a, b, margin=0):
    return (
        a[0] < b[0] + b[2] + margin
        and b[0] < a[0] + a[2] + margin
        and a[1] < b[1] + b[3] + margin
        and b[1] < a[1] + a[3] + margin
    )


def _inside(a, b, margin=0):
    return (
        b[0] + margin <= a[0]
        and a[0] + a[2] <= b[0] + b[2] - margin
        and b[1] + margin <= a[1]
        and a[1] + a[3] <= b[1] + b[3] - margin
    )


def _crosses(box, a, b, margin=0):
    """Does the axis-parallel segment a-b pass through box (grown by margin)?"""
    (ax, ay), (bx, by) = a, b
    x, y, w, h = box
    if ay == by:
        return y - margin < ay < y + h + margin and max(min(ax, bx), x - margin) < min(max(ax, bx), x + w + margin)
    return x - margin < ax < x + w + margin and max(min(ay, by), y - margin) < min(max(ay, by), y + h + margin)


def _label_xml(box) -> str:
    x, y, w, h = box
    return f'<bpmndi:BPMNLabel><dc:Bounds x="{x}" y="{y}" width="{w}" height="{h}" /></bpmndi:BPMNLabel>'


def pretty(xml: str) -> str:
    from lxml import etree

    root = etree.fromstring(xml.encode("utf-8"))
    etree.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="unicode") + "\n"
