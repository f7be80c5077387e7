"""Every core kind of the base against the Kubernetes API schemas (kubernetes-validate, offline, strict)."""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest

from . import manifests as m

DOCUMENTS = m.documents()
CORE = [document for document in DOCUMENTS if document["apiVersion"] != m.OPERATOR_API]


def _id(document: m.Document) -> str:
    return f"{document['kind']}/{document['metadata']['name']}"


def _validate(document: m.Document) -> None:
    # strict: an unknown (say, misspelt) field is an error, not silently dropped by the API server.
    kubernetes_validate.validate(document, m.KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("document", CORE, ids=_id)
def test_core_kind_matches_kubernetes_schema(document: m.Document) -> None:
    _validate(document)


def test_every_kind_is_schema_validated_or_an_operator_kind() -> None:
    kinds = {document["kind"] for document in CORE}
    assert kinds == {
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
        "ConfigMap",
    }
    assert {document["kind"] for document in DOCUMENTS} - kinds == m.OPERATOR_KINDS


def test_schema_validation_refuses_a_misspelt_field() -> None:
    deployment = copy.deepcopy(m.one(DOCUMENTS, "Deployment"))
    security = deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    security["readOnlyRootFileSystem"] = security.pop("readOnlyRootFilesystem")
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(deployment)
