"""Sphinx configuration: numpydoc API reference and a sphinx-gallery of the examples.

Build: ``sphinx-build -W -b html docs docs/_build/html``; ``-D plot_gallery=0``
skips running the examples (the test suite runs them).
"""

import sktkd

project = "sktkd"
author = "the sktkd developers"
release = version = sktkd.__version__

extensions = [
    "sphinx.ext.autodoc",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
numpydoc_show_class_members = False
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = []

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
}
