"""Every BPMN file of the external corpus either deploys, or is refused with a message that
names the element (id and line) and says what is unsupported: never a stack trace, never a
bare library exception."""

from __future__ import annotations

import json
import re

import pytest

from engine.deploy import files_from_paths, with_referenced_files
from engine.models import ProcessVersion
from engine.parsing import BundleError, is_bpmn
from tests.conftest import CORPUS

# file -> words the refusal must contain (every other corpus file must deploy)
REFUSED = {
    "miwg/A.1.0.bpmn": "no executable process",
    "miwg/A.2.0.bpmn": "no executable process",
    "miwg/A.2.1.bpmn": "no executable process",
    "miwg/A.3.0.bpmn": "no executable process",
    "miwg/A.4.0.bpmn": "no executable process",
    "miwg/A.4.1.bpmn": "no executable process",
    "miwg/C.2.0.bpmn": "no executable process",
    "miwg/C.8.0.bpmn": "no executable process",
    "miwg/B.1.0.bpmn": "data stores are not supported",
    "miwg/B.2.0.bpmn": "data stores are not supported",
    "miwg/C.1.1.bpmn": "data stores are not supported",
    "miwg/C.4.0.bpmn": "data stores are not supported",
    "miwg/C.5.0.bpmn": "data stores are not supported",
    "miwg/C.1.0.bpmn": "JUEL expressions",
    "miwg/C.3.0.bpmn": "Exactly one start event is required",
    "miwg/C.6.0.bpmn": "compensation is not supported",
    "miwg/C.7.0.bpmn": "names no decision table",
    "miwg/C.8.1.bpmn": "service tasks are not supported",
    "miwg/C.9.0.bpmn": "names no decision table",
    "miwg/C.9.1.bpmn": "Java/external implementation",
    "miwg/C.9.2.bpmn": "Java/external implementation",  # it calls C.9.1's process
    "realworld/camunda-customer-json-variables/process.bpmn": "JUEL expressions",
    "realworld/camunda-job-announcement/camunda-testing-job-announcement.bpmn": "JUEL expressions",
    "realworld/camunda-job-announcement/camunda-testing-job-announcement-publication.bpmn": "Java/external",
    "realworld/camunda-twitter-review/TwitterDemoProcess.bpmn": "JUEL expressions",
    "spiff/bpmn/service_task.bpmn": "service tasks are not supported",
    "spiff/spiff/service_task.bpmn": "service tasks are not supported",
    # its table is UNIQUE (the default) with a catch-all rule overlapping the others (issue 15)
    "spiff/spiff/business_rule_task.bpmn": "hit policy UNIQUE, but rules 1 and 3 both match",
}
RAW = re.compile(r"Traceback|KeyError|TypeError|AttributeError|NameError|<Element |object at 0x")


def _corpus_files():
    return [
        pytest.param(p, id=p.relative_to(CORPUS).as_posix())
        for p in sorted(CORPUS.rglob("*"))
        if p.is_file() and is_bpmn(p.name)
    ]


def _bundle(path):
    """The file with the files it needs: the manifest's support files, else referenced siblings."""
    rel = path.relative_to(CORPUS).as_posix()
    manifest = CORPUS / "spiff" / "manifest.json"
    if rel.startswith("spiff/") and manifest.exists():
        for entry in json.loads(manifest.read_text(encoding="utf-8"))["entries"]:
            if entry["file"] == rel[len("spiff/") :]:
                return files_from_paths([path] + [CORPUS / "spiff" / f for f in entry["support_files"]])
    return with_referenced_files([path])


@pytest.mark.parametrize("path", _corpus_files())
def test_corpus_file_deploys_or_is_refused_clearly(engine, Session, path):
    rel = path.relative_to(CORPUS).as_posix()
    try:
        with Session.begin() as session:
            result = engine.deploy(session, _bundle(path), "corpus")
    except BundleError as exc:
        assert rel in REFUSED, f"{rel} should deploy, but: {exc}"
        assert exc.problems
        for problem in exc.problems:
            assert problem.element_id and problem.line, f"no element named: {problem}"
            assert not RAW.search(problem.message), f"raw library text: {problem}"
            text = str(problem)
            assert text.startswith(f"{problem.file}:{problem.line} [{problem.element_id}]: ")
        assert any(REFUSED[rel] in p.message for p in exc.problems), exc.problems
        with Session() as session:  # nothing of a refused bundle is stored
            assert session.query(ProcessVersion).count() == 0
        return
    assert rel not in REFUSED, f"{rel} deployed, expected a refusal with '{REFUSED[rel]}'"
    assert result.created, "a deploy that stores nothing"


def test_every_expected_refusal_is_in_the_corpus():
    missing = [rel for rel in REFUSED if not (CORPUS / rel).exists()]
    assert not missing
