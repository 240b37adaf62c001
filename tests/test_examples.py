"""Documentation that runs: every script in examples/, and the Python blocks of README.md
and docs/*.md, each in a fresh interpreter in a temporary folder.

A Markdown block is run when its fence says ```python; one preceded by the line
``<!-- not run: REASON -->`` is skipped, with its reason shown, and one preceded by
``<!-- needs: MODULE ... -->`` runs only where those optional modules import."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Generous: the slowest example (tuning on Dask) trains dozens of models on 2 shared cores.
TIMEOUT_SECONDS = 300

BLOCK = re.compile(r"(?:<!-- not run: (?P<reason>[^>]*) -->\s*\n)?(?:<!-- needs: (?P<needs>[^>]*) -->\s*\n)?```(?P<language>[\w-]*)\n(?P<code>.*?)```", re.S)


def run_python(arguments, folder):
    env = dict(os.environ, MPLBACKEND="Agg")
    done = subprocess.run([sys.executable, *arguments], cwd=folder, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, env=env)
    assert done.returncode == 0, f"exit status {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    return done


def test_there_are_examples():
    assert len(EXAMPLES) >= 3, EXAMPLES


@pytest.mark.parametrize("script", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_example_runs(script, tmp_path):
    run_python([str(script)], tmp_path)


def python_blocks(document):
    """The document's runnable Python, block by block, and the blocks marked not to run."""
    runnable, skipped = [], []
    for match in BLOCK.finditer(document.read_text(encoding="utf-8")):
        if match["language"] != "python":
            continue
        missing = [name for name in (match["needs"] or "").split() if importlib.util.find_spec(name) is None]
        reason = match["reason"] or (f"needs {', '.join(missing)}" if missing else None)
        (skipped if reason else runnable).append(reason or match["code"])
    return runnable, skipped


@pytest.mark.parametrize("document", DOCUMENTS, ids=[str(path.relative_to(ROOT)) for path in DOCUMENTS])
def test_python_in_the_documentation_runs(document, tmp_path):
    runnable, skipped = python_blocks(document)
    if not runnable:
        pytest.skip(f"{document.name} has no Python blocks")
    # The blocks of one document run in order in one interpreter, as a reader would type them.
    script = tmp_path / "document.py"
    script.write_text("\n".join(runnable), encoding="utf-8")
    run_python([str(script)], tmp_path)
    for reason in skipped:
        print(f"{document.name}: a block not run: {reason}")


def test_a_block_that_needs_a_missing_module_is_skipped_with_the_reason(tmp_path):
    document = tmp_path / "doc.md"
    document.write_text(
        "```python\nprint(1)\n```\n\n<!-- needs: numpy no_such_module_here -->\n```python\nprint(2)\n```\n\n<!-- needs: numpy -->\n```python\nprint(3)\n```\n",
        encoding="utf-8",
    )
    assert python_blocks(document) == (["print(1)\n", "print(3)\n"], ["needs no_such_module_here"])
