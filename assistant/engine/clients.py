"""Who calls a target: the pods whose configuration names one of its Services.

"Is it the database?" is answered from both sides: the database's own logs, and what its
clients say about it (a pool that times out, refused connections). Clients are found by their
env values, command and args naming `service.namespace` (any namespace) or the bare Service
name (the same namespace); their logs are then read like the target's own.
"""

from __future__ import annotations

import re

from tools import Obj
from tools.selectors import matches_selector
from tools.summaries import meta

from ..diagnosis import Target
from .reading import CONFIG_CHARS, mounted_config_maps, one_per_workload
from .relevance import target_pods
from .speakers import spoken_by
from .view import ClusterView

MAX_CLIENT_PODS = 6  # one pod per client workload first


def clients_of(view: ClusterView, target: Target | None,
               files: bool = False) -> tuple[list[Obj], list[Obj]]:
    """(the Services of a target, or of the only namespace in view; the pods outside it that
    name one of them in their configuration: env, command and args, and with `files` the
    ConfigMaps they mount too, which costs a cluster-wide read of every ConfigMap)."""
    if target is None:
        if len(view.namespaces) != 1:
            return [], []
        services = view.items("Service", view.namespaces[0])
        served = view.items("Pod", view.namespaces[0])
    else:
        served = target_pods(view, target)
        services = _services_of(view, target, served)
    if not services:
        return [], []
    return services, _naming(view, services, served, files)


def fellow_clients(view: ClusterView, pods: list[Obj]) -> list[Obj]:
    """The pods elsewhere whose configuration (their ConfigMaps too) names a Service these
    pods' configuration names: the producer that fills the stream a quiet consumer reads
    (Debezium's `nats.messaging.svc` in its application.properties, beside the indexer's
    NATS_URL)."""
    services = services_named(view, pods) + held_in_secrets(view, pods)
    return _naming(view, services, pods, files=True) if services else []


def held_in_secrets(view: ClusterView, pods: list[Obj]) -> list[Obj]:
    """The Services of the brokers these pods reach through an address a Secret holds
    (`AMQP_URL` from a secretKeyRef: never read): by the protocol the env's name says, the
    Service of the one workload that runs that software."""
    found: list[Obj] = []
    for pod in pods:
        for container in (pod.get("spec") or {}).get("containers") or []:
            for env in container.get("env") or []:
                kind = _BROKER_ENV.match(str(env.get("name") or ""))
                if kind is None or not (env.get("valueFrom") or {}).get("secretKeyRef"):
                    continue
                address = spoken_by(view, _BROKERS[kind.group(1).upper()], pod)
                host = address.split(":")[0].split(".") if address else []
                found += [s for s in view.everywhere("Service") if host[:2] == [
                    meta(s)["name"], meta(s).get("namespace")] and s not in found]
    return found


# an env whose name says the broker's protocol, and whose value is its address
_BROKER_ENV = re.compile(r"^(AMQP|RABBITMQ|KAFKA|NATS|MQTT)_?(?:URL|URI|ADDR(?:ESS)?|HOST|"
                         r"BROKERS?|SERVERS?|BOOTSTRAP_SERVERS)$", re.IGNORECASE)
_BROKERS = {"AMQP": "rabbitmq", "RABBITMQ": "rabbitmq", "KAFKA": "kafka", "NATS": "nats",
            "MQTT": "emqx|mosquitto|vernemq"}


def calls(finding_target: str, services: list[Obj]) -> bool:
    """Whether a dependency a log names (host[:port]) is one of these Services."""
    host = finding_target.split(":")[0].lower()
    parts = host.split(".")
    return any(parts[0] == meta(s)["name"] and (len(parts) == 1 or parts[1] == meta(s).get(
        "namespace")) for s in services)


def _naming(view: ClusterView, services: list[Obj], served: list[Obj],
            files: bool) -> list[Obj]:
    own = {(meta(p).get("namespace"), meta(p)["name"]) for p in served}
    home = meta(services[0]).get("namespace")
    names = [(meta(s)["name"], meta(s).get("namespace") or "") for s in services]
    anywhere = re.compile("|".join(rf"\b{re.escape(n)}\.{re.escape(ns)}\b" for n, ns in names))
    nearby = re.compile("|".join(rf"(?:^|[/@=\s,\"'])({re.escape(n)})(?=:\d|/|$|[\s,\"'])"
                                 for n, _ in names))
    naming = []
    held = config_maps(view) if files else {}
    for pod in view.everywhere("Pod"):
        key = (meta(pod).get("namespace"), meta(pod)["name"])
        text = "\n".join([*configured(pod), *mounted(pod, held)]) if key not in own else ""
        if anywhere.search(text) or (key[0] == home and nearby.search(text)):
            naming.append(pod)
    return one_per_workload(view, naming)[:MAX_CLIENT_PODS]


def config_maps(view: ClusterView) -> dict[tuple[str, str], list[str]]:
    """Every ConfigMap's values by (namespace, name), read once cluster-wide."""
    return {(meta(c).get("namespace") or "", meta(c)["name"]):
            [str(v)[:CONFIG_CHARS] for v in (c.get("data") or {}).values()]
            for c in view.everywhere("ConfigMap")}


def mounted(pod: Obj, files: dict[tuple[str, str], list[str]],
            namespace: str | None = None) -> list[str]:
    """The values of the ConfigMaps a pod mounts or takes env from: where a client's upstream
    is often written (a Kafka Connect connector's `connection.url`, a proxy's upstream block)."""
    namespace = namespace or meta(pod).get("namespace") or ""
    return [text for name in _config_map_names(pod) for text in files.get((namespace, name), [])]


def _config_map_names(pod: Obj) -> list[str]:
    """The ConfigMaps a pod mounts (projected ones too) or takes env from, by name."""
    spec = pod.get("spec") or {}
    names: set[str | None] = set(mounted_config_maps(pod))
    names |= {(ref.get("configMapRef") or {}).get("name")
              for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
              for ref in c.get("envFrom") or []}
    return sorted(str(n) for n in names if n)


def _services_of(view: ClusterView, target: Target, pods: list[Obj]) -> list[Obj]:
    if target.kind == "Service":
        found = view.find("Service", target.name, target.namespace)
        return [found] if found is not None else []
    labels = [meta(p).get("labels") or {} for p in pods]
    return [s for s in view.items("Service", target.namespace)
            if (selector := (s.get("spec") or {}).get("selector"))
            and any(matches_selector({"matchLabels": selector}, lab) for lab in labels)]


def configured(pod: Obj) -> list[str]:
    """The literal env values, commands and args of every container of a pod."""
    spec = pod.get("spec") or {}
    texts: list[str] = []
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        texts += [str(e["value"]) for e in container.get("env") or []
                  if isinstance(e, dict) and isinstance(e.get("value"), str)]
        texts += [str(a) for a in [*(container.get("command") or []),
                                   *(container.get("args") or [])]]
    return texts


def configuration(view: ClusterView, pod: Obj) -> list[str]:
    """`configured(pod)` and the values of the ConfigMaps of its namespace that it mounts or
    takes env from (Grafana's provisioned datasource `url: http://thanos-query.monitoring...`)."""
    namespace = meta(pod).get("namespace") or ""
    return [*configured(pod), *(str(v)[:CONFIG_CHARS] for name in _config_map_names(pod) for v in (
        (view.find("ConfigMap", name, namespace) or {}).get("data") or {}).values())]


def services_named(view: ClusterView, pods: list[Obj]) -> list[Obj]:
    """The Services the pods' configuration names (their env, command and args, and the
    ConfigMaps they mount)."""
    text = "\n".join(t for p in pods for t in configuration(view, p))
    return [s for s in view.items("Service") if text and _names(s, text)]


def configured_dependencies(view: ClusterView, pods: list[Obj]) -> list[Obj]:
    """The pods behind the Services a quiet target's configuration names (its env, command and
    args: ELASTICSEARCH_HOSTS, DATABASE_URL): where to look when the target itself says nothing,
    one pod per workload first."""
    text = "\n".join(t for p in pods for t in configuration(view, p))
    if not text:
        return []
    own = {id(p) for p in pods}
    behind = []
    for service in view.items("Service"):
        selector = (service.get("spec") or {}).get("selector") or {}
        if not selector or not _names(service, text):
            continue
        behind += [pod for pod in view.items("Pod", meta(service).get("namespace"))
                   if id(pod) not in own
                   and matches_selector({"matchLabels": selector}, meta(pod).get("labels") or {})]
    return one_per_workload(view, behind)[:MAX_CLIENT_PODS]


def _names(service: Obj, text: str) -> bool:
    """Whether configuration text names a Service (`name`, `name.namespace`, as a host)."""
    name, namespace = meta(service)["name"], meta(service).get("namespace") or ""
    return re.search(rf"(?:^|[/@=\s,\"']){re.escape(name)}(?:\.{re.escape(namespace)})?"
                     rf"(?=[.:/\s,\"']|$)", text, re.MULTILINE) is not None


def names_service(obj: Obj, services: list[Obj],
                  files: dict[tuple[str, str], list[str]] | None = None) -> bool:
    """Whether a workload's pod template (a CronJob's too) names one of these Services in its
    configuration (with `files`, the ConfigMaps it mounts too): a client that may be failing,
    or not running, on their behalf."""
    spec = (obj.get("spec") or {})
    template = (spec.get("jobTemplate") or {}).get("spec", {}).get("template") or \
        spec.get("template") or {}
    text = "\n".join([*configured(template), *mounted(
        template, files or {}, meta(obj).get("namespace") or "")])
    return bool(text) and any(_names(s, text) for s in services)


def shared_secret_keys(obj: Obj, pods: list[Obj]) -> list[str]:
    """The Secret keys a workload's pod template (a CronJob's too) and the pods both read into
    their env (`billing-db/url` as DATABASE_URL): the same store, written by one and read by
    the other."""
    spec = obj.get("spec") or {}
    template = (spec.get("jobTemplate") or {}).get("spec", {}).get("template") or \
        spec.get("template") or {}
    return sorted(_secret_keys(template) & {k for p in pods for k in _secret_keys(p)})


def _secret_keys(pod: Obj) -> set[str]:
    spec = pod.get("spec") or {}
    return {f"{ref.get('name')}/{ref.get('key')}"
            for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
            for e in c.get("env") or [] if isinstance(e, dict)
            for ref in [((e.get("valueFrom") or {}).get("secretKeyRef") or {})]
            if ref.get("name") and ref.get("key")}
