"""``python -m webapp.cli``: the worker processes that ``run`` starts use it."""

from webapp.cli import main

if __name__ == "__main__":  # pragma: no cover
    main()
