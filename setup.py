"""Install the five top-level folders under the `sciloom` namespace.

`corpus/` becomes `sciloom.corpus`, `filters/` becomes `sciloom.filters`, and so on, so that our
short folder names never collide with another distribution's top-level package. Everything else
about the project lives in pyproject.toml.
"""

from setuptools import find_packages, setup

TOP_LEVEL = ("corpus", "filters", "tokenizer", "pretrain", "manifests")

packages = [f"sciloom.{name}" for name in find_packages(include=[f"{t}*" for t in TOP_LEVEL])]
package_dir = {f"sciloom.{t}": t for t in TOP_LEVEL}

setup(
    packages=packages,
    package_dir=package_dir,
    package_data={"sciloom.corpus": ["sample/**/*"], "sciloom.filters": ["benchmarks_data/*"]},
    include_package_data=True,
)
