"""Reading the kustomize base (deploy/kubernetes) for the tests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
BASE = ROOT / "deploy" / "kubernetes"
KUSTOMIZATION = BASE / "kustomization.yaml"
# The Kubernetes release the core kinds are validated against: the oldest this base
# supports (the preStop `sleep` action is on by default from 1.30).
KUBERNETES_VERSION = "1.30.0"
OPERATOR_API = "monitoring.coreos.com/v1"
OPERATOR_KINDS = {"ServiceMonitor", "PrometheusRule"}

Document = dict[str, Any]


def kustomization() -> Document:
    answer: dict[str, Any] = yaml.safe_load(KUSTOMIZATION.read_text(encoding="utf-8"))
    return answer


def resource_paths() -> list[Path]:
    """The files kustomization.yaml lists, in its order."""
    return [BASE / name for name in kustomization()["resources"]]


def load_all(text: str) -> list[Document]:
    return [document for document in yaml.safe_load_all(text) if document is not None]


def documents() -> list[Document]:
    """Every document of every listed file, as written (before kustomize adds its labels)."""
    return [document for path in resource_paths() for document in load_all(path.read_text(encoding="utf-8"))]


def of_kind(docs: list[Document], kind: str) -> list[Document]:
    return [document for document in docs if document["kind"] == kind]


def one(docs: list[Document], kind: str) -> Document:
    matches = of_kind(docs, kind)
    assert len(matches) == 1, f"expected one {kind}, found {len(matches)}"
    return matches[0]


def pod_spec(docs: list[Document]) -> Document:
    answer: dict[str, Any] = one(docs, "Deployment")["spec"]["template"]["spec"]
    return answer


def container(docs: list[Document]) -> Document:
    containers = pod_spec(docs)["containers"]
    assert len(containers) == 1, "the pod runs one container"
    answer: dict[str, Any] = containers[0]
    return answer


def container_ports(docs: list[Document]) -> dict[str, int]:
    """Container port name -> number."""
    return {port["name"]: port["containerPort"] for port in container(docs)["ports"]}


def labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """A matchLabels selector selects an object with these labels."""
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def environment(docs: list[Document], downward: dict[str, str]) -> dict[str, str]:
    """The container's environment as the kubelet builds it.

    `downward` stands for the downward-API values; optional Secret keys are absent (the
    base creates no Secret). A `$(NAME)` resolves only to a variable defined above it,
    otherwise it stays as written, as Kubernetes does.
    """
    env: dict[str, str] = {}
    for item in container(docs).get("env", []):
        name = item["name"]
        if "value" in item:
            env[name] = _REFERENCE.sub(lambda m: env.get(m.group(1), m.group(0)), str(item["value"]))
        elif "fieldRef" in item.get("valueFrom", {}):
            env[name] = downward[item["valueFrom"]["fieldRef"]["fieldPath"]]
    return env


def references(value: str) -> list[str]:
    """The $(NAME) references in an env value."""
    return _REFERENCE.findall(value)


_UNITS = {"": 1, "m": 0.001, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def quantity(text: str | int) -> float:
    """A Kubernetes quantity (`500m`, `1`, `128Mi`) as a number."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(m|Ki|Mi|Gi)?", str(text))
    assert match, f"unsupported quantity {text!r}"
    return float(match.group(1)) * _UNITS[match.group(2) or ""]
