"""The type stubs (python/deeplab/_deeplab.pyi) name exactly what the compiled module has."""
import ast

from conftest import ROOT, deeplab

STUBS = ROOT / "python/deeplab/_deeplab.pyi"


def stub_names():
    tree = ast.parse(STUBS.read_text())
    names, members = set(), {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names.add(node.name)
            members[node.name] = {n.name for n in node.body if isinstance(n, ast.FunctionDef)} | {
                n.target.id for n in node.body if isinstance(n, ast.AnnAssign)}
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            names.add(node.target.id)
    return names, members


def test_stubs_match_the_module():
    names, members = stub_names()
    module = {n for n in dir(deeplab._deeplab) if not n.startswith("_")}
    if not deeplab.with_gstreamer:
        module |= {"Pipeline", "Frame", "Mask", "mask_from_buffer"}
    assert module == names, f"in the module only: {module - names}; in the stubs only: {names - module}"
    for cls, stubbed in members.items():
        if not hasattr(deeplab, cls) or issubclass(getattr(deeplab, cls), BaseException):
            continue
        public = {n for n in vars(getattr(deeplab, cls)) if not n.startswith("_")}
        missing = public - stubbed
        assert not missing, f"{cls}: not in the stubs: {missing}"
