"""``rkd_mm.utils`` is the lowest floor: it imports nothing from the rest
of the package (models, engine, datasets, apis, ...), and no tool loads
another tool's file."""
import ast
import glob
import os.path as osp

REPO = osp.normpath(osp.join(osp.dirname(__file__), '..', '..'))


def imported_modules(path, package):
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit('.', node.level - 1)[0]
                yield base + ('.' + node.module if node.module else '')
            else:
                yield node.module


def test_utils_imports_only_utils():
    upward = []
    for path in glob.glob(osp.join(REPO, 'rkd_mm', 'utils', '**', '*.py'),
                          recursive=True):
        rel = osp.relpath(path, REPO)[:-3].replace(osp.sep, '.')
        package = rel.rsplit('.', 1)[0]
        for module in imported_modules(path, package):
            if module.startswith('rkd_mm') and \
                    not module.startswith('rkd_mm.utils'):
                upward.append(f'{rel} imports {module}')
    assert not upward


def test_the_rule_sees_relative_imports(tmp_path):
    path = tmp_path / 'm.py'
    path.write_text('from ..models import X\nfrom .rng import y\n')
    assert list(imported_modules(str(path), 'rkd_mm.utils')) == [
        'rkd_mm.models', 'rkd_mm.utils.rng']


def test_no_tool_loads_another_tools_file():
    offenders = [
        osp.relpath(p, REPO)
        for p in glob.glob(osp.join(REPO, 'tools', '**', '*.py'),
                           recursive=True)
        if 'spec_from_file_location' in open(p).read()
    ]
    assert not offenders
