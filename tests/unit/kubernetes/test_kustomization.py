"""kustomization.yaml: lists every manifest of the base and nothing that is missing; labels and image."""

from __future__ import annotations

import service

from . import manifests as m


def test_kustomization_resources_all_exist() -> None:
    missing = [str(path.relative_to(m.BASE)) for path in m.resource_paths() if not path.is_file()]
    assert not missing, f"listed in kustomization.yaml but absent: {missing}"


def test_kustomization_lists_every_manifest_of_the_base() -> None:
    on_disk = {path for path in m.BASE.rglob("*.yaml") if path != m.KUSTOMIZATION} | set(m.BASE.rglob("*.yml"))
    unlisted = sorted(str(path.relative_to(m.BASE)) for path in on_disk - set(m.resource_paths()))
    assert not unlisted, f"manifests kubectl apply -k would leave out: {unlisted}"


def test_kustomization_lists_each_resource_once() -> None:
    listed = m.kustomization()["resources"]
    assert len(listed) == len(set(listed))


def test_kustomization_labels_name_the_application_without_touching_selectors() -> None:
    (entry,) = m.kustomization()["labels"]
    assert entry["pairs"] == {"app.kubernetes.io/name": "ai-diy", "app.kubernetes.io/part-of": "ai-diy"}
    # A Deployment's selector cannot change in place: labels added here must stay out of it.
    assert entry["includeSelectors"] is False
    assert entry["includeTemplates"] is True


def test_kustomization_image_entry_sets_the_deployment_image_to_this_version() -> None:
    (image,) = m.kustomization()["images"]
    assert image["name"] == m.container(m.documents())["image"]
    assert image["newTag"] == service.__version__
