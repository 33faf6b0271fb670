"""Every diagram in processes/ is complete and readable: shapes for every element, no
overlapping shapes, an edge for every flow, orthogonal edges that run through no shape,
and every lane's nodes drawn inside the lane."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
BPMN_FILES = sorted((ROOT / "processes").glob("*.bpmn"))
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
FLOW_NODES = [
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "userTask",
    "scriptTask",
    "businessRuleTask",
    "serviceTask",
    "manualTask",
    "task",
    "callActivity",
    "subProcess",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
    "sendTask",
    "receiveTask",
]


def load(path):
    root = etree.parse(str(path)).getroot()
    nodes = {e.get("id"): e for tag in FLOW_NODES for e in root.iter(f"{{{NS['bpmn']}}}{tag}")}
    shapes = {}
    for s in root.iter(f"{{{NS['bpmndi']}}}BPMNShape"):
        b = s.find("dc:Bounds", NS)
        shapes[s.get("bpmnElement")] = tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))
    edges = {
        e.get("bpmnElement"): [(float(w.get("x")), float(w.get("y"))) for w in e.findall("di:waypoint", NS)]
        for e in root.iter(f"{{{NS['bpmndi']}}}BPMNEdge")
    }
    return root, nodes, shapes, edges


def ancestors(node):
    out, p = set(), node.getparent()
    while p is not None:
        if p.get("id"):
            out.add(p.get("id"))
        p = p.getparent()
    return out


def overlap(a, b):
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def test_there_are_diagrams():
    assert {p.name for p in BPMN_FILES} >= {
        "case.bpmn",
        "leader.bpmn",
        "decision_items.bpmn",
        "return_visit.bpmn",
        "weekly_report.bpmn",
    }


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_every_element_is_drawn(path):
    root, nodes, shapes, edges = load(path)
    lanes = [lane.get("id") for lane in root.iter(f"{{{NS['bpmn']}}}lane")]
    assert lanes, "the process has lanes"
    assert not [n for n in list(nodes) + lanes if n not in shapes], "elements without a shape"
    flows = [f.get("id") for f in root.iter(f"{{{NS['bpmn']}}}sequenceFlow")]
    assert not [f for f in flows if f not in edges or len(edges[f]) < 2], "flows without an edge"
    for node in nodes.values():  # Chinese labels
        if node.tag.endswith(("Task", "callActivity")):
            assert node.get("name") and any("\u4e00" <= ch <= "\u9fff" for ch in node.get("name")), node.get("id")


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_no_shapes_overlap(path):
    root, nodes, shapes, _ = load(path)
    ids = list(nodes)
    bad = []
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            na, nb = nodes[a], nodes[b]
            if a in ancestors(nb) or b in ancestors(na):
                continue  # a node inside an expanded subprocess
            if na.get("attachedToRef") == b or nb.get("attachedToRef") == a:
                continue  # a boundary event sits on its host's border
            if overlap(shapes[a], shapes[b]):
                bad.append((a, b))
    assert bad == []


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_edges_are_orthogonal_and_run_through_no_shape(path):
    root, nodes, shapes, edges = load(path)
    bad = []
    for flow in root.iter(f"{{{NS['bpmn']}}}sequenceFlow"):
        pts = edges[flow.get("id")]
        ends = {flow.get("sourceRef"), flow.get("targetRef")}
        allowed = set(ends)
        for end in ends:
            allowed |= ancestors(nodes[end])
        for (ax, ay), (bx, by) in zip(pts, pts[1:]):
            if ax != bx and ay != by:
                bad.append((flow.get("id"), "diagonal"))
            seg = (min(ax, bx), min(ay, by), abs(ax - bx) or 0.1, abs(ay - by) or 0.1)
            for nid, box in shapes.items():
                if nid in nodes and nid not in allowed:
                    inner = (box[0] + 1, box[1] + 1, box[2] - 2, box[3] - 2)
                    if overlap(seg, inner):
                        bad.append((flow.get("id"), nid))
    assert bad == []


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_lane_nodes_lie_inside_their_lane(path):
    root, nodes, shapes, _ = load(path)
    bad = []
    for lane in root.iter(f"{{{NS['bpmn']}}}lane"):
        lx, ly, lw, lh = shapes[lane.get("id")]
        for ref in lane.findall("bpmn:flowNodeRef", NS):
            x, y, w, h = shapes[ref.text]
            if not (lx <= x and x + w <= lx + lw and ly <= y and y + h <= ly + lh):
                bad.append((lane.get("name"), ref.text))
    assert bad == []
    lanes = sorted(shapes[lane.get("id")] for lane in root.iter(f"{{{NS['bpmn']}}}lane"))
    for upper, lower in zip(sorted(lanes, key=lambda b: b[1]), sorted(lanes, key=lambda b: b[1])[1:]):
        assert upper[1] + upper[3] <= lower[1], "lanes are stacked without overlapping"


# -- labels -------------------------------------------------------------------------------
LABELED = (
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
)


def labels(root):
    """element id → explicit label bounds of every named event, gateway and sequence flow (None: missing)."""
    di = {}
    for el in list(root.iter(f"{{{NS['bpmndi']}}}BPMNShape")) + list(root.iter(f"{{{NS['bpmndi']}}}BPMNEdge")):
        b = el.find("bpmndi:BPMNLabel/dc:Bounds", NS)
        di[el.get("bpmnElement")] = None if b is None else tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))
    out = {}
    for tag in LABELED + ("sequenceFlow",):
        for e in root.iter(f"{{{NS['bpmn']}}}{tag}"):
            if e.get("name"):
                out[e.get("id")] = di.get(e.get("id"))
    return out


def crosses(box, a, b):
    (ax, ay), (bx, by) = a, b
    seg = (min(ax, bx), min(ay, by), abs(ax - bx) or 0.1, abs(ay - by) or 0.1)
    return overlap(seg, box)


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_every_label_has_explicit_bounds(path):
    root, *_ = load(path)
    assert [i for i, box in labels(root).items() if box is None] == []


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_labels_overlap_no_label_shape_or_flow(path):
    root, nodes, shapes, edges = load(path)
    boxes = {i: b for i, b in labels(root).items() if b}
    ids = sorted(boxes)
    bad = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :] if overlap(boxes[a], boxes[b])]
    for lid, box in boxes.items():
        for nid, shape in shapes.items():
            if nid not in nodes:
                continue
            if nodes[nid].tag.endswith("subProcess") and nodes[nid].get("id") != lid:
                x, y, w, h = shape  # an expanded subprocess: the label lies wholly inside or outside it
                border = [
                    ((x, y), (x + w, y)),
                    ((x, y + h), (x + w, y + h)),
                    ((x, y), (x, y + h)),
                    ((x + w, y), (x + w, y + h)),
                ]
                if any(crosses(box, a, b) for a, b in border):
                    bad.append((lid, nid))
            elif overlap(box, shape):
                bad.append((lid, nid))
        for fid, pts in edges.items():
            if any(crosses(box, a, b) for a, b in zip(pts, pts[1:])):
                bad.append((lid, fid))
    assert bad == []


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_lane_labels_are_clear_and_labels_lie_in_one_lane(path):
    """Lane names fit their header band, nothing is drawn over the pool and lane headers, and no
    label straddles a lane border."""
    root, nodes, shapes, edges = load(path)
    lanes = {lane.get("id"): lane for lane in root.iter(f"{{{NS['bpmn']}}}lane")}
    pool = next(shapes[p.get("id")] for p in root.iter(f"{{{NS['bpmn']}}}participant"))
    header_end = min(shapes[lid][0] for lid in lanes) + 30
    bad = []
    for lid, lane in lanes.items():
        name = lane.get("name") or ""
        assert name, lid
        assert len(name) * 12 + 10 <= shapes[lid][3], f"lane name {name} is longer than its lane"
    boxes = [(i, b) for i, b in labels(root).items() if b] + [(n, shapes[n]) for n in nodes]
    for i, box in boxes:
        if box[0] < header_end or not (
            pool[0] <= box[0]
            and box[0] + box[2] <= pool[0] + pool[2]
            and pool[1] <= box[1]
            and box[1] + box[3] <= pool[1] + pool[3]
        ):
            bad.append((i, "outside the drawing area"))
    borders = sorted({shapes[lid][1] for lid in lanes} - {pool[1]})
    for i, box in labels(root).items():
        if box and any(box[1] < y < box[1] + box[3] for y in borders):
            bad.append((i, "straddles a lane border"))
    for fid, pts in edges.items():
        if any(p[0] < header_end for p in pts):
            bad.append((fid, "runs over the lane headers"))
    assert bad == []
