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

COL_W = 150          # column pitch
ROW_H = 140          # row pitch
LANE_HEADER = 30     # lane label band on the left
POOL_HEADER = 30     # pool label band on the left
X0 = 0
Y0 = 0

SIZES = {
    "start": (36, 36), "end": (36, 36), "tend": (36, 36), "msgcatch": (36, 36), "timercatch": (36, 36),
    "xgw": (50, 50), "pgw": (50, 50), "ebg": (50, 50),
    "user": (110, 80), "script": (110, 80), "brule": (110, 80), "call": (110, 80), "manual": (110, 80),
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
    span: tuple | None = None   # (row0, col0, row1, col1)
    # boundary events
    host: str | None = None
    offset: int = 0
    bounds: tuple = (0, 0, 0, 0)


@dataclass
class Flow:
    id: str
    src: str
    tgt: str
    name: str = ""
    cond: str | None = None
    default: bool = False
    waypoints: list = field(default_factory=list)


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
        n = Node(id, "boundary", name, 0, col, self.nodes[host].parent, props,
                 dict(kw, interrupting=interrupting), host=host)
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
                y = Y0 + r0 * ROW_H + 12
                n.bounds = (x, y, (c1 - c0 + 1) * COL_W - 16, (r1 - r0 + 1) * ROW_H - 42)
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
        xs = set()
        ys = set()
        for c in range(self.ncols + 1):
            xs.add(self.left + c * COL_W)
            if c < self.ncols:
                xs.add(self.left + c * COL_W + COL_W / 2)
        for r in range(self.nrows):
            ys.update({Y0 + r * ROW_H + 4, Y0 + r * ROW_H + ROW_H / 2, Y0 + r * ROW_H + ROW_H - 4})
        for n in self.nodes.values():
            cx, cy = self._center(n)
            xs.add(cx)
            ys.add(cy)
            if n.kind == "boundary":
                ys.add(n.bounds[1] + n.bounds[3])
            if n.span:
                x, y, w, h = n.bounds
                xs.update({x - 4, x, x + w, x + w + 4})
                ys.update({y - 4, y + h + 4, y + h - 22})
        xs, ys = sorted(xs), sorted(ys)
        used: dict = {}
        shapes = [n for n in self.nodes.values()]
        for f in self.flows:
            f.waypoints = self._route(f, xs, ys, shapes, used)
            for a, b in zip(f.waypoints, f.waypoints[1:]):
                key = (round(a[0]), round(a[1]), round(b[0]), round(b[1]))
                used[key] = used.get(key, 0) + 1
                used[key[2:] + key[:2]] = used.get(key[2:] + key[:2], 0) + 1

    def _route(self, f, xs, ys, shapes, used):
        s, t = self.nodes[f.src], self.nodes[f.tgt]
        allowed = {s.id, t.id} | self._ancestors(s.id) | self._ancestors(t.id)
        if s.kind == "boundary":
            allowed.discard(s.host)  # leave the host downwards, never through it
        blockers = [n for n in shapes if n.id not in allowed]
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

        def inside(px, py, n, margin=0):
            x, y, w, h = n.bounds
            return x - margin < px < x + w + margin and y - margin < py < y + h + margin

        def seg_blocked(a, b):
            (ax, ay), (bx, by) = a, b
            for n in blockers:
                x, y, w, h = n.bounds
                m = 3
                if ax == bx:
                    if x - m < ax < x + w + m and max(min(ay, by), y - m) < min(max(ay, by), y + h + m):
                        return True
                else:
                    if y - m < ay < y + h + m and max(min(ax, bx), x - m) < min(max(ax, bx), x + w + m):
                        return True
            return False

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
                a = (xs[p[0]], ys[p[1]])
                b = (xs[q[0]], ys[q[1]])
                if seg_blocked(a, b):
                    continue
                # entering the target only from the left/top/bottom, leaving the source freely
                step = abs(a[0] - b[0]) + abs(a[1] - b[1])
                c = cost + step + (40 if nd != d and prev is not None else 0)
                key = (round(a[0]), round(a[1]), round(b[0]), round(b[1]))
                c += 60 * used.get(key, 0)
                if q == goal and nd == (-1, 0):
                    c += 200  # prefer not to enter from the right
                if (q, nd) not in best:
                    heapq.heappush(heap, (c, next(self._ids), q, nd, (p, d)))
        if end_state is None:
            raise RuntimeError(f"no route for {f.id}")
        pts = []
        st = end_state
        while st is not None:
            pts.append((xs[st[0][0]], ys[st[0][1]]))
            st = came[st]
        pts.reverse()
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
            parts.append("<spiffworkflow:properties>" + "".join(
                f'<spiffworkflow:property name={quoteattr(k)} value={quoteattr(v)} />' for k, v in props.items())
                + "</spiffworkflow:properties>")
        if n.ext.get("decision"):
            parts.append(f"<spiffworkflow:calledDecisionId>{escape(n.ext['decision'])}</spiffworkflow:calledDecisionId>")
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
            return (f'<bpmn:timerEventDefinition id="{n.id}_timer"><bpmn:{kind} xsi:type="bpmn:tFormalExpression">'
                    f'{escape(n.ext["timer"])}</bpmn:{kind}></bpmn:timerEventDefinition>')
        if "message" in n.ext:
            msg = n.ext["message"]
            mid = f"Message_{msg}"
            self.messages[mid] = msg
            var = n.ext.get("message_var")
            inner = (f"<bpmn:extensionElements><spiffworkflow:messageVariable>{escape(var)}</spiffworkflow:messageVariable>"
                     f"</bpmn:extensionElements>") if var else ""
            return f'<bpmn:messageEventDefinition id="{n.id}_msg" messageRef="{mid}">{inner}</bpmn:messageEventDefinition>'
        if n.kind == "tend":
            return f'<bpmn:terminateEventDefinition id="{n.id}_term" />'
        return ""

    def _node_xml(self, n, children_xml: str = "") -> str:
        ins = "".join(f"<bpmn:incoming>{f.id}</bpmn:incoming>" for f in self.flows if f.tgt == n.id)
        outs = "".join(f"<bpmn:outgoing>{f.id}</bpmn:outgoing>" for f in self.flows if f.src == n.id)
        name = quoteattr(n.name)
        ext = self._ext(n)
        tag = {
            "start": "startEvent", "end": "endEvent", "tend": "endEvent", "msgcatch": "intermediateCatchEvent",
            "timercatch": "intermediateCatchEvent", "xgw": "exclusiveGateway", "pgw": "parallelGateway",
            "ebg": "eventBasedGateway", "user": "userTask", "script": "scriptTask", "brule": "businessRuleTask",
            "call": "callActivity", "manual": "manualTask", "boundary": "boundaryEvent", "sub": "subProcess",
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
            body += (f'<bpmn:multiInstanceLoopCharacteristics{seq} spiffworkflow:scriptsOnInstances="true">'
                     
                     f"<bpmn:loopDataInputRef>{mi['input']}</bpmn:loopDataInputRef>"
                     f"<bpmn:loopDataOutputRef>{mi['output']}</bpmn:loopDataOutputRef>"
                     f'<bpmn:inputDataItem id="{mi["item"]}" name="{mi["item"]}" />'
                     f'<bpmn:outputDataItem id="{mi["output_item"]}" name="{mi["output_item"]}" />'
                     f"</bpmn:multiInstanceLoopCharacteristics>")
        body += self._event_def(n)
        body += children_xml
        return f"<bpmn:{tag} {attrs}>{body}</bpmn:{tag}>"

    def _flow_xml(self, f) -> str:
        name = f' name={quoteattr(f.name)}' if f.name else ""
        cond = ""
        if f.cond:
            cond = f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{escape(f.cond)}</bpmn:conditionExpression>'
        return f'<bpmn:sequenceFlow id="{f.id}"{name} sourceRef="{f.src}" targetRef="{f.tgt}">{cond}</bpmn:sequenceFlow>'

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
        for lid, lname, r0, r1 in self.lane_rows():
            refs = [n.id for n in self.nodes.values()
                    if n.kind not in ("sub",) and self._lane_of(n) == lid]
            lanes_xml.append(f'<bpmn:lane id="{lid}" name={quoteattr(lname)}>'
                             + "".join(f"<bpmn:flowNodeRef>{r}</bpmn:flowNodeRef>" for r in refs) + "</bpmn:lane>")
        body = self._scope_xml(None)
        doc = f"<bpmn:documentation>{escape(self.doc)}</bpmn:documentation>" if self.doc else ""
        process = (f'<bpmn:process id="{self.pid}" name={quoteattr(self.name)} isExecutable="true">{doc}'
                   f'<bpmn:laneSet id="{self.pid}_lanes">{"".join(lanes_xml)}</bpmn:laneSet>{body}</bpmn:process>')
        messages = "".join(f'<bpmn:message id="{mid}" name="{name}" />' for mid, name in sorted(self.messages.items()))
        collab = (f'<bpmn:collaboration id="{self.pid}_pool"><bpmn:participant id="{self.pid}_participant" '
                  f'name={quoteattr(self.name)} processRef="{self.pid}" /></bpmn:collaboration>')
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

    def _di(self) -> str:
        height = self.nrows * ROW_H
        shapes = [f'<bpmndi:BPMNShape id="{self.pid}_participant_di" bpmnElement="{self.pid}_participant" isHorizontal="true">'
                  f'<dc:Bounds x="{X0}" y="{Y0}" width="{self.width + POOL_HEADER + LANE_HEADER}" height="{height}" /></bpmndi:BPMNShape>']
        for lid, _, r0, r1 in self.lane_rows():
            shapes.append(f'<bpmndi:BPMNShape id="{lid}_di" bpmnElement="{lid}" isHorizontal="true">'
                          f'<dc:Bounds x="{X0 + POOL_HEADER}" y="{Y0 + r0 * ROW_H}" width="{self.width + LANE_HEADER}" '
                          f'height="{(r1 - r0 + 1) * ROW_H}" /></bpmndi:BPMNShape>')
        for n in self.nodes.values():
            x, y, w, h = (round(v) for v in n.bounds)
            extra = ' isExpanded="true"' if n.kind in ("sub", "evsub") else ""
            extra += ' isMarkerVisible="true"' if n.kind == "xgw" else ""
            label = ""
            if n.kind in EVENTS or n.kind in ("xgw", "pgw", "ebg"):
                lw = 90
                ly = y + h + 4
                label = (f'<bpmndi:BPMNLabel><dc:Bounds x="{round(x + w / 2 - lw / 2)}" y="{ly}" width="{lw}" height="27" />'
                         f'</bpmndi:BPMNLabel>')
            shapes.append(f'<bpmndi:BPMNShape id="{n.id}_di" bpmnElement="{n.id}"{extra}>'
                          f'<dc:Bounds x="{x}" y="{y}" width="{w}" height="{h}" />{label}</bpmndi:BPMNShape>')
        edges = []
        for f in self.flows:
            wps = "".join(f'<di:waypoint x="{x}" y="{y}" />' for x, y in f.waypoints)
            label = ""
            if f.name:
                (ax, ay), (bx, by) = f.waypoints[0], f.waypoints[1]
                lx = min(ax, bx) + 4 if ay == by else ax + 4
                ly = ay - 18 if ay == by else min(ay, by) + 4
                label = f'<bpmndi:BPMNLabel><dc:Bounds x="{lx}" y="{ly}" width="60" height="14" /></bpmndi:BPMNLabel>'
            edges.append(f'<bpmndi:BPMNEdge id="{f.id}_di" bpmnElement="{f.id}">{wps}{label}</bpmndi:BPMNEdge>')
        return (f'<bpmndi:BPMNDiagram id="{self.pid}_diagram"><bpmndi:BPMNPlane id="{self.pid}_plane" '
                f'bpmnElement="{self.pid}_pool">' + "".join(shapes) + "".join(edges) + "</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>")

    def _document(self, semantic: str, di: str) -> str:
        return ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
                'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
                'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
                f'id="{self.pid}_definitions" targetNamespace="http://zhitongche.example/bpmn" '
                'exporter="zhitongche scripts/bpmn_layout.py" exporterVersion="1">' + semantic + di + "</bpmn:definitions>\n")


def pretty(xml: str) -> str:
    from lxml import etree

    root = etree.fromstring(xml.encode("utf-8"))
    etree.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="unicode") + "\n"
