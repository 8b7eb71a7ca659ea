"""Where a container's environment comes from: a ConfigMap or Secret key, the Secret that holds
its credentials, or a variable Kubernetes injected itself (a Service link)."""

from __future__ import annotations

import re

from tools import Obj, ObjectRef
from tools.ownership import owned_by, owner_of_kind
from tools.summaries import age as age_of
from tools.summaries import meta

from .view import ClusterView

_LINK_VALUE = re.compile(r"\b(tcp|udp|sctp)://(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})\b")

def env_source(view: ClusterView, pod: Obj, container: str, var: str) -> str | None:
    """Where a container's env variable comes from, when a ConfigMap or Secret key sets it
    ("DATABASE_URL comes from key database_url of ConfigMap relay-config, optional")."""
    for each in (pod.get("spec") or {}).get("containers") or []:
        if each.get("name") != container:
            continue
        for env in each.get("env") or []:
            ref = (env.get("valueFrom") or {}) if env.get("name") == var else {}
            for source, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                key = ref.get(source)
                if key:
                    optional = "; the reference is optional, so the container starts " \
                        "without it" if key.get("optional") else ""
                    held = keys_held(view, kind, key.get("name"), meta(pod).get("namespace"))
                    lacks = f", which does not hold that key (its keys: {', '.join(held[:8])})" \
                        if held and key.get("key") not in held else ""
                    return (f"{var} comes from key {key.get('key')} of {kind} "
                            f"{key.get('name')}{lacks}{optional}")
    return None


def env_from_renamed(view: ClusterView, pod: Obj, container: str,
                     var: str) -> dict[str, str] | None:
    """The app wants `var` and reads its env through envFrom from a ConfigMap that holds the
    key under another spelling (NATS-URL for NATS_URL: a valid env name, so nothing warns).
    The ConfigMap is what changed; its facts, with the sentence in "said"."""
    for each in (pod.get("spec") or {}).get("containers") or []:
        if each.get("name") != container or any(e.get("name") == var
                                                 for e in each.get("env") or []):
            continue
        for source in each.get("envFrom") or []:
            name = (source.get("configMapRef") or {}).get("name")
            prefix = str(source.get("prefix") or "")
            held = keys_held(view, "ConfigMap", name, meta(pod).get("namespace"))
            near = next((k for k in held if prefix + k != var
                         and re.sub(r"[^A-Z0-9]", "_", (prefix + k).upper()) == var), None)
            if name and near:
                return {"said": f"the container reads its env through envFrom from ConfigMap "
                                f"{name}, which holds {near}, not {var}: the container gets a "
                                f"variable named {prefix}{near}",
                        "holder": str(ObjectRef("ConfigMap", meta(pod).get("namespace"), name)),
                        "held_key": near, "ref_name": name}
            moved = _renamed_within(var, [prefix + k for k in held])
            if name and moved:  # DRONE_SERVER_HOST beside DRONE_RPC_PROTO, no DRONE_RPC_HOST
                key, sibling = moved
                return {"said": f"the container reads its env through envFrom from ConfigMap "
                                f"{name}, which holds {key} and {sibling} but no {var}: the "
                                f"key was likely renamed to {key}",
                        "holder": str(ObjectRef("ConfigMap", meta(pod).get("namespace"), name)),
                        "held_key": key.removeprefix(prefix), "ref_name": name}
    return None


def _renamed_within(var: str, held: list[str]) -> tuple[str, str] | None:
    """(the key that took `var`'s place, a key of `var`'s own family still there): the one key
    of the same product prefix and role suffix (DRONE_SERVER_HOST for DRONE_RPC_HOST), when a
    sibling of `var` (DRONE_RPC_PROTO) shows that its family is still held there."""
    parts = var.split("_")
    if len(parts) < 3:
        return None
    stem = "_".join(parts[:-1]) + "_"
    alike = [k for k in held if k != var and k.split("_")[0] == parts[0]
             and k.split("_")[-1] == parts[-1] and not k.startswith(stem)]
    sibling = next((k for k in held if k.startswith(stem) and k != var), None)
    return (alike[0], sibling) if len(alike) == 1 and sibling else None


_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def unexpanded_reference(pod: Obj, container: str, line: str) -> dict[str, str]:
    """An env value's `$(VAR)` that Kubernetes left as text, when the log shows it: VAR is
    defined after the value that refers to it (only earlier ones expand), or not at all.
    Its facts (var, set_as) and the sentence in "said"; empty when there is none."""
    env = next((c.get("env") or [] for c in (pod.get("spec") or {}).get("containers") or []
                if c.get("name") == container), [])
    names = [str(e.get("name")) for e in env]
    for index, entry in enumerate(env):
        for var in _REFERENCE.findall(str(entry.get("value") or "")):
            if f"$({var})" not in line or var in names[:index]:
                continue
            where = ("is defined after it in the env list" if var in names else
                     "is not defined in the container's env")
            return {"said": f"env {entry.get('name')} refers to $({var}), which {where}: "
                            "Kubernetes expands $(VAR) only from variables defined earlier, so "
                            f"the app gets the literal text $({var})",
                    "var": var, "referred_by": str(entry.get("name")),
                    "order": "after" if var in names else "missing"}
    return {}


def env_spelled_otherwise(pod: Obj, container: str, var: str) -> str | None:
    """The env variable the container sets that is nearest to the one the app wants and
    misses (ConnectionStrings__Orders for ConnectionStrings__OrdersDb): a rename on one side."""
    from rapidfuzz import fuzz

    names = [str(e.get("name")) for c in (pod.get("spec") or {}).get("containers") or []
             if c.get("name") == container for e in c.get("env") or [] if e.get("name")]
    if var in names:
        return None
    wanted = _env_shape(var)
    scored = sorted(((fuzz.ratio(_env_shape(n), wanted), n) for n in names), reverse=True)
    return scored[0][1] if scored and scored[0][0] >= 80 else None


def _env_shape(name: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", name.upper())


def keys_held(view: ClusterView, kind: str, name: str | None,
               namespace: str | None) -> list[str]:
    """The keys of a ConfigMap (Secrets are never read: their keys stay unknown)."""
    if kind != "ConfigMap" or not name:
        return []
    found = view.find("ConfigMap", name, namespace) or {}
    return sorted({*(found.get("data") or {}), *(found.get("binaryData") or {})})


def optional_source_missing(view: ClusterView, pod: Obj, container: str) -> dict[str, str]:
    """A ConfigMap a container takes its env from with `optional: true` (envFrom, or a key
    reference) that does not exist: the container starts without those variables and the app
    falls back to its defaults (Strapi to sqlite). Its facts, and the sentence in "said";
    empty when every source exists (or ConfigMaps cannot be read)."""
    if "ConfigMap" in view.unknown:
        return {}
    namespace = meta(pod).get("namespace")
    for each in (pod.get("spec") or {}).get("containers") or []:
        if each.get("name") != container:
            continue
        refs = [source.get("configMapRef") or {} for source in each.get("envFrom") or []]
        refs += [(env.get("valueFrom") or {}).get("configMapKeyRef") or {}
                 for env in each.get("env") or [] if isinstance(env, dict)]
        for ref in refs:
            name = ref.get("name")
            if not ref.get("optional") or not name or view.find("ConfigMap", name, namespace):
                continue
            said = (f"{container} takes env from ConfigMap {name} with optional: true, and no "
                    f"ConfigMap {name} exists: the container starts without those variables "
                    "and the app falls back to its defaults")
            found = {"missing_source": str(name), "container": container}
            alike = _alike_config_map(view, str(name), namespace)
            if alike:
                keys = keys_held(view, "ConfigMap", alike, namespace)
                said += (f"; ConfigMap {alike} in the namespace holds "
                         f"{', '.join(keys[:6])}{', ...' if len(keys) > 6 else ''}")
                found["other_source"] = alike
            return {**found, "said": said}
    return {}


def _alike_config_map(view: ClusterView, name: str, namespace: str | None) -> str | None:
    """The ConfigMap of the namespace whose name starts like `name` (strapi-env,
    strapi-config) and whose keys are env variable names (DATABASE_CLIENT): what it was likely
    renamed to."""
    stem = name.rsplit("-", 1)[0]
    alike = sorted(meta(c)["name"] for c in view.items("ConfigMap", namespace)
                   if meta(c)["name"] != name and meta(c)["name"].startswith(f"{stem}-")
                   and (c.get("data") or {}) and all(_ENV_NAME.fullmatch(str(key))
                                                     for key in c.get("data") or {}))
    return alike[0] if len(alike) == 1 else None


_ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


_CREDENTIAL_WORDS = ("PASSWORD", "PASS", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "CONNECTION",
                     "CONN_STR", "AUTH", "DSN", "URL", "URI", "DATASOURCE")


_CLOUD_WORDS = ("ACCESS_KEY", "SECRET_ACCESS", "AWS_", "GOOGLE_", "AZURE_", "GCS_", "S3_",
                "HMAC", "STORAGE_")


def secret_of(pod: Obj, container: str, cloud: bool = False, line: str = "") -> str | None:
    """The Secret that holds a container's credentials (env secretKeyRef or envFrom); with
    `cloud`, the one behind its cloud or object-storage keys first (AWS_ACCESS_KEY_ID); with
    the refusing `line`, the one whose variable names the service that refuses first
    (TWILIO_AUTH_TOKEN for "twilio.com/docs/errors/20003")."""
    for item in [*((pod.get("spec") or {}).get("initContainers") or []),
                 *((pod.get("spec") or {}).get("containers") or [])]:
        if item.get("name") != container:
            continue
        refs = [(env.get("name", ""), ((env.get("valueFrom") or {}).get("secretKeyRef") or {})
                 .get("name")) for env in item.get("env") or []]
        told = line.lower()
        named = [(name, secret) for name, secret in refs if told and any(
            len(part) >= 4 and part.lower() in told and part not in _CREDENTIAL_WORDS
            for part in str(name).upper().split("_"))]
        for words in ((_CLOUD_WORDS,) if cloud else ()) + (_CREDENTIAL_WORDS[:8],
                                                           _CREDENTIAL_WORDS):
            for name, secret in named:
                if secret and any(w in name.upper() for w in words):
                    return str(secret)
            for name, secret in refs:
                if secret and any(w in name.upper() for w in words):
                    return str(secret)
        for source in item.get("envFrom") or []:
            if (source.get("secretRef") or {}).get("name"):
                return str(source["secretRef"]["name"])
        only = {secret for _, secret in refs if secret}
        if len(only) == 1:  # one Secret feeds the container: whatever the variable's name
            return str(only.pop())
        return _mounted_secret(pod, item)
    return None


def secret_vars(pod: Obj, container: str, secret: str) -> list[str]:
    """The env variables of a container that take a value from `secret`."""
    return [str(env.get("name")) for item in (pod.get("spec") or {}).get("containers") or []
            if item.get("name") == container for env in item.get("env") or []
            if ((env.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name") == secret]


def sibling_secret(view: ClusterView, pod: Obj, var: str, secret: str) -> tuple[str, str] | None:
    """Another workload of the namespace that takes the same env variable from another Secret
    (billing-api reads STRIPE_SECRET_KEY from stripe-live-v2, the worker still from
    stripe-live): where the rotated credentials likely are. (its name, that Secret)"""
    namespace = meta(pod).get("namespace")
    own = {o.get("name") for o in meta(pod).get("ownerReferences") or []}
    for other in view.items("Pod", namespace):
        if own & {o.get("name") for o in meta(other).get("ownerReferences") or []}:
            continue
        for item in (other.get("spec") or {}).get("containers") or []:
            for env in item.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef") or {}
                if env.get("name") == var and ref.get("name") not in (None, secret):
                    owner = (meta(other).get("ownerReferences") or [{}])[0].get("name") or \
                        meta(other)["name"]
                    return re.sub(r"-[a-z0-9]{6,10}$", "", str(owner)), str(ref["name"])
    return None


def _mounted_secret(pod: Obj, container: Obj) -> str | None:
    """A Secret mounted into the container as files (a signing key, a client certificate),
    when no env entry carries the credentials."""
    mounted = {m.get("name") for m in container.get("volumeMounts") or []}
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        name = (volume.get("secret") or {}).get("secretName")
        if volume.get("name") in mounted and name:
            return str(name)
    return None


_IDENTIFIER = re.compile(r"_(?:KEY_ID|CLIENT_ID|APP_ID|TEAM_ID|TENANT_ID|ACCOUNT(?:_ID|_NAME)?|"
                         r"USER(?:NAME)?|ACCESS_KEY_ID|KEY_NAME)$")


def credential_ids(pod: Obj, container: str, line: str) -> list[str]:
    """Plain env values that say WHICH credential a container sends to the service the
    refusing line names (`APNS_KEY_ID=8KQ2Z7XJ4M` for an APNs 403): the one to rotate or
    replace. Values from Secrets are not shown."""
    told = line.lower()
    return [f"{env['name']}={env['value']}" for item in (pod.get("spec") or {}).get(
        "containers") or [] if item.get("name") == container for env in item.get("env") or []
        if isinstance(env.get("value"), str) and env["value"] and _IDENTIFIER.search(
            str(env.get("name", ""))) and len(word := str(env["name"]).split("_")[0]) > 2
        and word.lower() in told][:3]


def service_link(view: ClusterView, pod: Obj, container: str, line: str) -> dict[str, str]:
    """A `tcp://10.0.171.34:6379` the app choked on that no env entry of the container sets:
    the Docker-link variables (`REDIS_PORT`, `REDIS_PORT_6379_TCP`, ...) Kubernetes injects into
    every pod created after a Service of that name appeared, unless `enableServiceLinks: false`.
    Facts for the explanation and the remedy; empty when the value is not such a link."""
    found = _LINK_VALUE.search(line)
    spec = pod.get("spec") or {}
    if not found or spec.get("enableServiceLinks") is False:
        return {}
    protocol, address, port = found.groups()
    namespace = meta(pod).get("namespace")
    service = next((s for s in view.items("Service", namespace)
                    if (s.get("spec") or {}).get("clusterIP") == address), None)
    if service is None:
        return {}
    name = meta(service)["name"]
    prefix = name.upper().replace("-", "_")
    variable = f"{prefix}_PORT"
    for each in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        if each.get("name") == container and any(
                env.get("name") == variable for env in each.get("env") or []):
            return {}
    stamp = meta(service).get("creationTimestamp")
    age = age_of(stamp, view.now) if stamp else ""
    return {"var": variable, "link_service": name,
            "link_value": f"{protocol}://{address}:{port}",
            "link_note": (f"{variable}={protocol}://{address}:{port} is not set in the pod "
                          f"spec: Kubernetes injects it (with {prefix}_SERVICE_HOST and "
                          f"{prefix}_PORT_{port}_{protocol.upper()}) into every pod created "
                          f"after Service {name} appeared in {namespace}"
                          + (f" {age} ago" if age else "")
                          + ", because enableServiceLinks is on; pods created before that "
                          "do not have it, which is why identical pods differ")}


_WEB_IDENTITY = re.compile(r"AssumeRoleWithWebIdentity|WebIdentityErr|web identity token|"
                           r"iam\.gke\.io|workload identity|AADSTS700213|AADSTS70021|"
                           r"federated (?:identity )?credential", re.IGNORECASE)


def identity_note(view: ClusterView, pod: Obj, line: str) -> dict[str, str]:
    """A cloud identity refused for a pod (IRSA, GKE or Azure workload identity): the
    ServiceAccount the pod runs as is what the cloud role trusts, so say which it is, and that
    the rollout changed it when the previous ReplicaSet ran as another."""
    if not _WEB_IDENTITY.search(line):
        return {}
    spec = pod.get("spec") or {}
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    namespace = meta(pod).get("namespace")
    owner = owner_of_kind(pod, "ReplicaSet")
    mine = view.find("ReplicaSet", owner.name, namespace) if owner else None
    parent = owner_of_kind(mine or {})
    before = None
    for replicaset in owned_by(view.items("ReplicaSet", namespace), parent) if parent else []:
        if replicaset is mine:
            continue
        template = ((replicaset.get("spec") or {}).get("template") or {}).get("spec") or {}
        other = template.get("serviceAccountName") or template.get("serviceAccount") or "default"
        if other != account:
            before = other
    role = next((e.get("value") for c in spec.get("containers") or [] for e in c.get("env") or []
                 if e.get("name") in ("AWS_ROLE_ARN", "AZURE_CLIENT_ID") and e.get("value")),
                None)
    note = (f"the pods run as ServiceAccount {account} (system:serviceaccount:{namespace}:"
            f"{account})" + (f" to assume {role}" if role else "")
            + "; the cloud role trusts ServiceAccounts by name")
    if before:
        note += (f", and the previous ReplicaSet ran as {before}: the rollout changed the "
                 "ServiceAccount, so the role's trust policy no longer matches")
    return {"service_account": account, "identity_note": note,
            **({"previous_service_account": before} if before else {})}


_CA_ENV = re.compile(r"^(?:NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|"
                     r"AWS_CA_BUNDLE|GIT_SSL_CAINFO|[A-Z0-9_]*_CA_(?:FILE|CERT|CERTS|BUNDLE|PATH)|"
                     r"[A-Z0-9_]*_CAFILE)$")


def ca_path_missing(view: ClusterView, pod: Obj, container: str) -> dict[str, str]:
    """An env entry naming the CA file the app loads (`NODE_EXTRA_CA_CERTS=/etc/ssl/corp/ca.crt`)
    under a ConfigMap volume that holds no such file (it was moved to a bundle whose key is
    `bundle.pem`): the app trusts nothing extra. Facts for the explanation and the remedy;
    empty when every such path is there."""
    spec = pod.get("spec") or {}
    volumes = {v.get("name"): v["configMap"] for v in spec.get("volumes") or []
               if isinstance(v.get("configMap"), dict)}
    for item in spec.get("containers") or []:
        if item.get("name") != container:
            continue
        for env in item.get("env") or []:
            path = env.get("value")
            if not _CA_ENV.match(str(env.get("name", ""))) or not isinstance(path, str):
                continue
            for mount in item.get("volumeMounts") or []:
                root = str(mount.get("mountPath", "")).rstrip("/")
                source = volumes.get(mount.get("name"))
                if source is None or not root or not path.startswith(f"{root}/") or \
                        mount.get("subPath"):
                    continue
                files = _files(view, source, meta(pod).get("namespace"))
                if files and path[len(root) + 1:] not in files:
                    return {"ca_env": str(env["name"]), "ca_path": path,
                            "ca_source": str(source.get("name")),
                            "ca_held": f"{root}/{files[0]}", "ca_files": ", ".join(files)}
    return {}


def _files(view: ClusterView, source: Obj, namespace: str | None) -> list[str]:
    """The file names a ConfigMap volume shows (its items' paths, else its keys); empty when
    the ConfigMap cannot be read."""
    if source.get("items"):
        return [str(i.get("path")) for i in source["items"] if i.get("path")]
    found = view.find("ConfigMap", str(source.get("name")), namespace)
    return sorted(key for field in ("data", "binaryData") for key in (found or {}).get(field) or {})
