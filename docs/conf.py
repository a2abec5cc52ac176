# Sphinx configuration for pyg_ext (pip install -e ".[docs]"; sphinx-build docs docs/_build).
project = 'pyg_ext'
author = 'pyg_ext developers'
extensions = [
    'sphinx.ext.autodoc',
    'sphinx.ext.napoleon',
    'sphinx.ext.mathjax',
    'sphinx.ext.viewcode',
    'myst_parser',
]
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
master_doc = 'index'
exclude_patterns = ['_build']
autodoc_member_order = 'bysource'
napoleon_google_docstring = True
html_theme = 'alabaster'
