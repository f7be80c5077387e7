"""`kubectl kustomize` builds the base: what `kubectl apply -k` would send, checked again."""
from __future__ import annotations

import subprocess

import kubernetes_validate
import pytest

from tests.support import binaries
from tests.unit.kubernetes import manifests as m
from tests.unit.kubernetes import wiring

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def built() -> list[m.Document]:
    kubectl = binaries.find("kubectl")
    if kubectl is None:
        binaries.unavailable("kubectl is not installed (its built-in kustomize builds the base)")
    result = subprocess.run([kubectl, "kustomize", str(m.BASE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return m.load_all(result.stdout)


def _ids(docs: list[m.Document]) -> list[tuple[str, str]]:
    return sorted((document["kind"], document["metadata"]["name"]) for document in docs)


def test_kustomize_build_holds_every_listed_resource(built: list[m.Document]) -> None:
    assert _ids(built) == _ids(m.documents())


def test_kustomize_build_labels_every_object_and_the_pods(built: list[m.Document]) -> None:
    pairs = m.kustomization()["labels"][0]["pairs"]
    for document in built:
        assert pairs.items() <= document["metadata"]["labels"].items(), document["metadata"]["name"]
    pod_labels = m.one(built, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert pairs.items() <= pod_labels.items()


def test_kustomize_build_sets_the_image(built: list[m.Document]) -> None:
    (image,) = m.kustomization()["images"]
    assert m.container(built)["image"] == f"{image['newName']}:{image['newTag']}"


def test_kustomize_build_is_wired(built: list[m.Document]) -> None:
    wiring.check_all(built)


def test_kustomize_build_core_kinds_match_kubernetes_schema(built: list[m.Document]) -> None:
    for document in built:
        if document["apiVersion"] != m.OPERATOR_API:
            kubernetes_validate.validate(document, m.KUBERNETES_VERSION, strict=True)
