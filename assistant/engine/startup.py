"""Why a container cannot start though its pod is scheduled: the image it cannot pull, the
volume it cannot mount, the config key its env asks for that does not exist; and the facts of
its spec a remedy names (its image, memory limit, command)."""

from __future__ import annotations

import re

from tools import Obj
from tools.ownership import top_owner
from tools.summaries import meta

from ..diagnosis import Evidence
from .pod_issues import PodIssue, pod_ref
from .view import ClusterView

_PULL_AUTH = re.compile(r"unauthorized|401|403|denied|authentication required|no basic auth",
                        re.IGNORECASE)
_PULL_MISSING = re.compile(r"not found|manifest unknown|does not exist|NotFound", re.IGNORECASE)
# the registry answered, with its own failure: a 5xx is the registry's fault, not the image's
_PULL_SERVER = re.compile(r"\b5\d\d (?:Internal Server Error|Bad Gateway|Service Unavailable|"
                          r"Gateway Timeout)\b|unexpected (?:HTTP )?status(?: code)?:? 5\d\d\b",
                          re.IGNORECASE)
_MISSING_KEY = re.compile(r"non-existent config key: ([\w.-]+)")
_MOUNT_FAILED = re.compile(r'MountVolume\.SetUp failed for volume "([\w.-]+)" ?: ?(.+)')


_MULTI_ATTACH = re.compile(r'Multi-Attach error for volume "([\w.-]+)".*?used by pod\(s\) '
                           r'([\w.-]+(?:, ?[\w.-]+)*)')


def attach_issue(view: ClusterView, pod: Obj, container: str) -> PodIssue | None:
    """A new pod of a rolling update stuck in ContainerCreating because a pod of the old
    version still holds its ReadWriteOnce volume on another node (Multi-Attach error): the old
    pod stays until the new one is ready, so neither moves. The strategy is the cause."""
    namespace = meta(pod).get("namespace")
    owner = top_owner(pod, view.find)
    for event in view.events_for("Pod", meta(pod)["name"], namespace):
        found = _MULTI_ATTACH.search(event.get("message") or "")
        if event.get("reason") != "FailedAttachVolume" or not found or owner is None:
            continue
        holders = [h for h in (view.find("Pod", n.strip(), namespace)
                               for n in found.group(2).split(",")) if h is not None]
        held = next((h for h in holders if top_owner(h, view.find) == owner), None)
        if held is None:
            continue
        claim = next((meta(c)["name"] for c in view.items("PersistentVolumeClaim", namespace)
                      if (c.get("spec") or {}).get("volumeName") == found.group(1)),
                     found.group(1))
        node = (held.get("spec") or {}).get("nodeName") or "another node"
        return PodIssue(
            "rollout_stuck",
            f"the new pod cannot start: volume {found.group(1)} (claim {claim}, "
            f"ReadWriteOnce) is still attached for {meta(held)['name']}, a pod of the old "
            f"version on {node} (Multi-Attach error); a rolling update keeps the old pod until "
            "the new one is ready, so the rollout waits forever",
            [Evidence(source="event", object=pod_ref(pod),
                      detail=f"FailedAttachVolume: {event.get('message')}")],
            0.9, container=container,
            detail={"container": container, "rwo_claim": claim, "held_by": meta(held)["name"]})
    return None


def mount_issue(view: ClusterView, pod: Obj, container: str) -> PodIssue | None:
    """A container stuck in ContainerCreating because a ConfigMap or Secret volume cannot be
    mounted: the object or the key its items name does not exist; or because an old pod of
    the same rollout holds its volume (`attach_issue`)."""
    attached = attach_issue(view, pod, container)
    if attached is not None:
        return attached
    events = view.events_for("Pod", meta(pod)["name"], meta(pod).get("namespace"))
    for event in events:
        found = _MOUNT_FAILED.search(event.get("message") or "")
        if event.get("reason") != "FailedMount" or not found:
            continue
        volume: Obj = next((v for v in (pod.get("spec") or {}).get("volumes") or []
                       if v.get("name") == found.group(1)), {})
        source = volume.get("configMap") or volume.get("secret") or {}
        if not source:
            continue
        kind = "ConfigMap" if volume.get("configMap") else "Secret"
        name = source.get("name") or source.get("secretName") or "?"
        keys = ", ".join(str(i.get("key")) for i in source.get("items") or [])
        explanation = (f"the container {container} cannot start: volume {found.group(1)} "
                       f"from {kind} {name} cannot be mounted: {found.group(2).strip()}")
        if keys:
            explanation += f" (the pod's volume asks for key(s) {keys})"
        held = view.find("ConfigMap", name, meta(pod).get("namespace")) if kind == "ConfigMap" \
            else None
        if held is not None:
            explanation += f"; ConfigMap {name} holds: {', '.join(sorted(held.get('data') or {}))}"
        return PodIssue("config_reference", explanation,
                        [Evidence(source="event", object=pod_ref(pod),
                                  detail=f"FailedMount: {event.get('message')}")],
                        0.95, container=container,
                        detail={"container": container, "ref_kind": kind.lower(),
                                "ref_name": name, "volume": found.group(1),
                                **({"key": key.group(1)} if (key := _MISSING_KEY.search(
                                    found.group(2))) else {})})
    return None


def image_issue(view: ClusterView, pod: Obj, container: Obj) -> PodIssue:
    name = container.get("name", "?")
    ref = pod_ref(pod)
    image = container.get("image") or spec_image(pod, name)
    waiting = (container.get("state") or {}).get("waiting") or {}
    evidence = [Evidence(source="status", object=ref,
                         detail=f"container {name}: {waiting.get('reason')}: "
                                f"{waiting.get('message', '')}")]
    failures = [e for e in view.events_for("Pod", meta(pod)["name"], meta(pod).get("namespace"))
                if e.get("reason") in ("Failed", "ErrImagePull")
                and "pull" in (e.get("message") or "").lower()]
    text = " ".join(e.get("message") or "" for e in failures) + " " + waiting.get("message", "")
    for event in failures[:1]:
        evidence.append(Evidence(source="event", object=ref, detail=event.get("message", "")))
    secrets = [str(s.get("name")) for s in (pod.get("spec") or {}).get("imagePullSecrets") or []]
    if _PULL_AUTH.search(text):
        why = ("the registry refuses the pull (authentication): the credentials in "
               f"imagePullSecrets {', '.join(secrets)} are wrong, expired or for another registry"
               if secrets else "the registry refuses the pull (authentication): the pod has no "
               "imagePullSecrets")
        kind = "auth"
    elif _PULL_SERVER.search(text):
        why = ("the registry fails while serving the pull (HTTP 5xx): the registry itself is "
               "broken, not the image")
        kind = "server"
    elif _PULL_MISSING.search(text):
        why = "the image or its tag does not exist in the registry"
        kind = "missing"
    else:
        why = "the image cannot be pulled"
        kind = "unknown"
    said = max((e.get("message") or "" for e in failures), key=len, default="") or (
        waiting.get("message") or "")
    return PodIssue("image_pull", f"{why} (image {image}): {said}", evidence, 0.9,
                    container=name,
                    detail={"image": image, "pull": kind, "container": name,
                            "registry": image.split("/")[0] if "/" in image else "",
                            "pull_secret": secrets[0] if secrets else "",
                            **({"target": registry} if kind == "server" and (
                                registry := in_cluster_registry(view, image)) else {})})


def in_cluster_registry(view: ClusterView, image: str) -> str | None:
    """host:port of the Service of a registry run in this cluster that an image is pulled from
    (`harbor.acme.net/shop/cart` from namespace harbor's harbor-registry): its log says why it
    fails. The Ingress that serves the registry's host names the namespace, else the host's
    first label does; a Service there named for a registry is the one."""
    host = image.split("/")[0] if "/" in image else ""
    routed = next((meta(i).get("namespace") for i in view.everywhere("Ingress") if any(
        r.get("host") == host.split(":")[0] for r in (i.get("spec") or {}).get("rules") or [])),
        None)  # the Ingress that serves the registry's host says where it runs
    home = routed or host.split(".")[0].lower()
    if "." not in host or home not in view.cluster.namespaces():
        return None
    services = [s for s in view.everywhere("Service") if meta(s).get("namespace") == home
                and "registry" in meta(s)["name"]]
    if len(services) != 1:
        return None
    ports = (services[0].get("spec") or {}).get("ports") or []
    port = f":{ports[0].get('port')}" if ports and ports[0].get("port") else ""
    return f"{meta(services[0])['name']}.{home}.svc.cluster.local{port}"


def spec_image(pod: Obj, container: str) -> str:
    spec = pod.get("spec") or {}
    for item in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        if item.get("name") == container:
            return str(item.get("image", "?"))
    return "?"


def node_arch(view: ClusterView, pod: Obj) -> str:
    """The CPU architecture of the node a pod runs on (its label, else what the kubelet says)."""
    node = view.find("Node", str((pod.get("spec") or {}).get("nodeName") or ""))
    labels = meta(node).get("labels") or {} if node else {}
    return str(labels.get("kubernetes.io/arch") or labels.get("beta.kubernetes.io/arch") or (
        ((node or {}).get("status") or {}).get("nodeInfo") or {}).get("architecture") or "")


def arch_rule(pod: Obj) -> str:
    """The pod's own architecture selection (`kubernetes.io/arch=arm64`), if it makes one."""
    selector = (pod.get("spec") or {}).get("nodeSelector") or {}
    return ", ".join(f"{k}={v}" for k, v in selector.items() if k.endswith("/arch"))


def memory_limit(pod: Obj, container: str) -> str | None:
    spec = pod.get("spec") or {}
    for item in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        if item.get("name") == container:
            limits = (item.get("resources") or {}).get("limits") or {}
            return limits.get("memory")
    return None


def config_detail(message: str) -> dict[str, str]:
    found = re.search(r'(configmap|secret) "([^"]+)" not found', message, re.IGNORECASE)
    if found:
        return {"ref_kind": found.group(1).lower(), "ref_name": found.group(2)}
    key = re.search(r"couldn't find key (\S+) in (ConfigMap|Secret) ([\w.-]+)/([\w.-]+)", message)
    if key:
        return {"key": key.group(1), "ref_kind": key.group(2).lower(), "ref_name": key.group(4)}
    return {}


def command_detail(pod: Obj, container: str) -> dict[str, str]:
    for item in (pod.get("spec") or {}).get("containers") or []:
        if item.get("name") == container:
            return {"command": " ".join(item.get("command") or item.get("args") or []),
                    "container": container}
    return {"container": container}


_EXEC_PATH = re.compile(r"exec:? \"?(/[\w./-]+)\"?:? "
                        r"(?:no such file or directory|permission denied)")


def script_source(view: ClusterView, pod: Obj, container: str, message: str) -> dict[str, str]:
    """The ConfigMap a container's missing or refused executable is mounted from, and why it
    cannot run: Windows line endings (`#!/bin/bash\\r` names an interpreter that does not
    exist), a key the ConfigMap lacks, a mode without the execute bit. Facts, with `holder` (the
    ConfigMap is what to fix); empty when the executable is not such a file."""
    found = _EXEC_PATH.search(message)
    spec = pod.get("spec") or {}
    volumes = {v.get("name"): v["configMap"] for v in spec.get("volumes") or []
               if isinstance(v.get("configMap"), dict)}
    item: Obj = next((c for c in spec.get("containers") or [] if c.get("name") == container), {})
    for mount in item.get("volumeMounts") or [] if found else []:
        root, source = str(mount.get("mountPath", "")).rstrip("/"), volumes.get(mount.get("name"))
        path = found.group(1) if found else ""
        if source is None or not root or not path.startswith(f"{root}/"):
            continue
        key = mount.get("subPath") or path[len(root) + 1:]
        name = str(source.get("name"))
        data = ((view.find("ConfigMap", name, meta(pod).get("namespace")) or {}).get("data")
                or {})
        why = ""
        if key not in data:
            why = f"ConfigMap {name} holds no key {key}"
        elif "\r" in str(data[key]).split("\n", 1)[0]:
            first = str(data[key]).split("\n", 1)[0].replace("\r", "\\r")
            why = (f"{path} comes from ConfigMap {name} (key {key}) with Windows line endings: "
                   f"its first line is `{first}`, so the kernel looks for an interpreter whose "
                   "name ends in a carriage return, which does not exist")
        elif not int(source.get("defaultMode", 0o644)) & 0o111:  # set in the pod template
            return {"script": path, "script_why": (
                f"{path} comes from ConfigMap {name}, whose volume the pod template mounts with "
                f"defaultMode {int(source.get('defaultMode', 0o644)):o}, which is not executable")}
        if why:
            return {"holder": f"ConfigMap/{meta(pod).get('namespace')}/{name}", "script": path,
                    "script_key": key, "script_why": why}
    return {}
