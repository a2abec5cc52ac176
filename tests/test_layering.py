r"""The import direction of STYLE.md: utils -> {nn, transforms, tta, influence,
datasets} -> metrics -> train -> zoo/cli. Checked on the source with ast."""
import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / 'pyg_ext'

# package prefix -> prefixes it must never import
FORBIDDEN = {
    'pyg_ext.utils': ('pyg_ext.nn', 'pyg_ext.train', 'pyg_ext.datasets',
                      'pyg_ext.zoo', 'pyg_ext.cli', 'pyg_ext.tta',
                      'pyg_ext.influence', 'pyg_ext.transforms'),
    'pyg_ext.nn': ('pyg_ext.train', 'pyg_ext.datasets', 'pyg_ext.zoo',
                   'pyg_ext.cli'),
    'pyg_ext.transforms': ('pyg_ext.train', 'pyg_ext.zoo', 'pyg_ext.cli'),
    'pyg_ext.tta': ('pyg_ext.train', 'pyg_ext.zoo', 'pyg_ext.cli'),
    'pyg_ext.influence': ('pyg_ext.train', 'pyg_ext.zoo', 'pyg_ext.cli'),
    'pyg_ext.metrics': ('pyg_ext.train', 'pyg_ext.zoo', 'pyg_ext.cli'),
    'pyg_ext.registry': ('pyg_ext.', ),
    # The loop never imports a concrete model: only registries and plugins.
    'pyg_ext.train': ('pyg_ext.nn', 'pyg_ext.zoo', 'pyg_ext.cli'),
}


def _modules():
    for path in sorted(PKG.rglob('*.py')):
        rel = path.relative_to(PKG.parent).with_suffix('')
        name = '.'.join(rel.parts)
        if name.endswith('.__init__'):
            name = name[:-len('.__init__')]
        yield name, path


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level == 0:
                yield node.module


@pytest.mark.parametrize('name, path', list(_modules()))
def test_import_direction(name, path):
    for prefix, banned in FORBIDDEN.items():
        if name == prefix or name.startswith(prefix + '.'):
            for imp in _imports(path):
                for b in banned:
                    assert not (imp == b.rstrip('.') or imp.startswith(
                        b if b.endswith('.') else b + '.') or imp == b), \
                        f'{name} imports {imp} (banned: {b})'
