r"""The import direction of the package (see the house style):
``{utils, metrics} -> {nn, transforms, tta, influence, datasets, sampler} ->
fit -> train -> zoo -> cli``, checked on the source with ast: no import
cycles between modules (function-level imports and literal
``importlib.import_module`` calls included), ``nn`` never imports ``train``
or ``zoo``, ``utils`` imports no other package module."""
import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / 'pyg_ext'

# package prefix -> prefixes it must never import
FORBIDDEN = {
    'pyg_ext.utils': ('pyg_ext.', ),
    'pyg_ext.metrics': ('pyg_ext.train', 'pyg_ext.fit', 'pyg_ext.zoo',
                        'pyg_ext.cli', 'pyg_ext.nn'),
    'pyg_ext.nn': ('pyg_ext.train', 'pyg_ext.datasets', 'pyg_ext.zoo',
                   'pyg_ext.cli', 'pyg_ext.fit'),
    'pyg_ext.transforms': ('pyg_ext.train', 'pyg_ext.zoo', 'pyg_ext.cli',
                           'pyg_ext.fit'),
    'pyg_ext.tta': ('pyg_ext.train', 'pyg_ext.zoo', 'pyg_ext.cli',
                    'pyg_ext.fit'),
    'pyg_ext.influence': ('pyg_ext.train', 'pyg_ext.zoo', 'pyg_ext.cli',
                          'pyg_ext.fit'),
    'pyg_ext.sampler': ('pyg_ext.train', 'pyg_ext.zoo', 'pyg_ext.cli',
                        'pyg_ext.fit', 'pyg_ext.nn'),
    'pyg_ext.datasets': ('pyg_ext.train', 'pyg_ext.zoo', 'pyg_ext.cli',
                         'pyg_ext.fit', 'pyg_ext.nn'),
    'pyg_ext.fit': ('pyg_ext.train', 'pyg_ext.zoo', 'pyg_ext.cli'),
    'pyg_ext.registry': ('pyg_ext.', ),
    # The loop never imports a concrete model: only registries and plugins.
    'pyg_ext.train': ('pyg_ext.nn', 'pyg_ext.zoo', 'pyg_ext.cli'),
    'pyg_ext.zoo': ('pyg_ext.cli', ),
}
# utils may use its own package (the engine imports utils.checkpoint)
ALLOWED = {'pyg_ext.utils': ('pyg_ext.utils', )}


def _modules():
    out = {}
    for path in sorted(PKG.rglob('*.py')):
        rel = path.relative_to(PKG.parent).with_suffix('')
        name = '.'.join(rel.parts)
        if name.endswith('.__init__'):
            name = name[:-len('.__init__')]
        out[name] = path
    return out


MODULES = _modules()


def _walk(tree):
    r"""ast.walk without the bodies of ``if TYPE_CHECKING:`` blocks
    (annotations only: no import at run time)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and (
                    getattr(child.test, 'id', None) == 'TYPE_CHECKING'
                    or getattr(child.test, 'attr', None) == 'TYPE_CHECKING'):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in _walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level == 0:
                # 'from pkg import mod' depends on the submodule, not on the
                # package's __init__ (a parent package is not an edge)
                for a in node.names:
                    sub = f'{node.module}.{a.name}'
                    yield sub if sub in MODULES else node.module
        elif (isinstance(node, ast.Call)
              and getattr(node.func, 'attr', None) == 'import_module'
              and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            yield node.args[0].value


def _resolve(name):
    parts = name.split('.')
    for i in range(len(parts), 0, -1):
        cand = '.'.join(parts[:i])
        if cand in MODULES:
            return cand
    return None


def _graph():
    return {name: {r for imp in _imports(path)
                   if (r := _resolve(imp)) is not None and r != name}
            for name, path in MODULES.items()}


def _banned(imp, banned):
    for b in banned:
        if b.endswith('.'):
            if imp.startswith(b):
                return b
        elif imp == b or imp.startswith(b + '.'):
            return b
    return None


@pytest.mark.parametrize('name', sorted(MODULES))
def test_import_direction(name):
    path = MODULES[name]
    for prefix, banned in FORBIDDEN.items():
        if not (name == prefix or name.startswith(prefix + '.')):
            continue
        allowed = ALLOWED.get(prefix, ())
        for imp in _imports(path):
            if not imp.startswith('pyg_ext'):
                continue
            if any(imp == a or imp.startswith(a + '.') for a in allowed):
                continue
            b = _banned(imp, banned)
            assert b is None, f'{name} imports {imp} (banned: {b})'


def test_no_import_cycles():
    graph = _graph()
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert cycles == []


def test_cycle_detection_sees_function_level_and_importlib_imports(tmp_path):
    src = ("def f():\n    from pyg_ext.train.plugins import load_plugins\n"
           "import importlib\nimportlib.import_module('pyg_ext.zoo.basic')\n")
    p = tmp_path / 'm.py'
    p.write_text(src)
    found = set(_imports(p))
    assert 'pyg_ext.train.plugins' in found and 'pyg_ext.zoo.basic' in found


def test_modules_stay_small():
    long = {n: len(p.read_text().splitlines()) for n, p in MODULES.items()}
    assert {n: c for n, c in long.items() if c > 600} == {}
