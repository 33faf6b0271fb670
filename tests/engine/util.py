from pathlib import Path

DATA = Path(__file__).parent / "data"


def loop_files() -> dict[str, bytes]:
    return {name: (DATA / name).read_bytes() for name in ("loop.bpmn", "review.schema.json")}
