r"""The import order {utils, metrics} -> {nn, datasets, sampler, ...} -> fit
-> train -> zoo -> cli: nothing in pyg_ext.fit imports the loop, the zoo or
the command line (checked on the source with ast)."""
import ast
from pathlib import Path

import pytest

FIT = Path(__file__).resolve().parents[2] / 'pyg_ext' / 'fit'
BANNED = ('pyg_ext.train', 'pyg_ext.zoo', 'pyg_ext.cli')


def imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


@pytest.mark.parametrize('path', sorted(FIT.glob('*.py')),
                         ids=lambda p: p.name)
def test_fit_never_imports_the_loop(path):
    bad = [m for m in imports(path)
           if any(m == b or m.startswith(b + '.') for b in BANNED)]
    assert bad == []
