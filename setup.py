"""Install rkd_mm: ``pip install -e .`` (``-e ".[tests]"`` for the tests,
``-e ".[deploy]"`` for ONNX export and onnxruntime inference, ``-e
".[elpv]"`` for the ELPV solar-cell data, CC BY-NC-SA 4.0)."""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name: str) -> list:
    """Requirement lines of ``requirements/<name>.txt`` (no comments)."""
    with open(osp.join(HERE, 'requirements', f'{name}.txt')) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line and not line.startswith('-')]


def read_version() -> str:
    scope: dict = {}
    with open(osp.join(HERE, 'rkd_mm', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='rkd_mm',
    version=read_version(),
    description='Resolution-aware knowledge distillation (HR teacher -> LR '
    'student) on OpenMMLab',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['rkd_mm', 'rkd_mm.*']),
    python_requires='>=3.9',
    install_requires=read_requirements('runtime'),
    extras_require={
        # the tests export and run ONNX models (the deploy set) and check
        # the ELPV split on the real data (CI fails without it)
        'tests': read_requirements('tests') + read_requirements('deploy') +
        read_requirements('elpv'),
        'deploy': read_requirements('deploy'),
        'elpv': read_requirements('elpv'),
    },
    license='Apache-2.0',
    zip_safe=False,
)
