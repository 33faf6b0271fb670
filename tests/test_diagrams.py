"""Every diagram in processes/ is complete and readable: shapes for every element, no
overlapping shapes, an edge for every flow, orthogonal edges that run through no shape,
and every lane's nodes drawn inside the lane."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
BPMN_FILES = sorted((ROOT / "processes").glob("*.bpmn"))
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI"}
FLOW_NODES = ["startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
              "userTask", "scriptTask", "businessRuleTask", "serviceTask", "manualTask", "task", "callActivity",
              "subProcess", "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
              "sendTask", "receiveTask"]


def load(path):
    root = etree.parse(str(path)).getroot()
    nodes = {e.get("id"): e for tag in FLOW_NODES for e in root.iter(f"{{{NS['bpmn']}}}{tag}")}
    shapes = {}
    for s in root.iter(f"{{{NS['bpmndi']}}}BPMNShape"):
        b = s.find("dc:Bounds", NS)
        shapes[s.get("bpmnElement")] = tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))
    edges = {e.get("bpmnElement"): [(float(w.get("x")), float(w.get("y"))) for w in e.findall("di:waypoint", NS)]
             for e in root.iter(f"{{{NS['bpmndi']}}}BPMNEdge")}
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
    assert {p.name for p in BPMN_FILES} >= {"case.bpmn", "leader.bpmn", "decision_items.bpmn", "return_visit.bpmn",
                                             "weekly_report.bpmn"}


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
        for b in ids[i + 1:]:
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
