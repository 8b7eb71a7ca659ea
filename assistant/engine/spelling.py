"""ConfigMap keys spelt otherwise than their readers expect.

A setting an app never reads because its key is misspelt: a key of a ConfigMap a container
takes its env from, with a word spelt otherwise than in its other keys
(`AIRFLOW__DATABSE__SQL_ALCHEMY_CONN_CMD` beside `AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE`).
The app falls back to its default (Airflow to SQLite) and crashes on that, not on the cause.

A key reference that names a key the ConfigMap now holds under another name (`broker-url`,
renamed `CELERY_BROKER_URL`): the reference is what to point at the new name."""

from __future__ import annotations

import difflib
import re
from collections import Counter

from tools import Obj
from tools.refs import ObjectRef
from tools.summaries import meta

from .environment import keys_held
from .view import ClusterView


def misspelt_key(view: ClusterView, pod: Obj, container: str) -> dict[str, str]:
    """A key of a ConfigMap a container takes its env from (envFrom) with a word misspelt
    against the same word in its other keys (`AIRFLOW__DATABSE__SQL_ALCHEMY_CONN_CMD` beside
    `AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE`): the app never reads that setting and falls back
    to its default. Its facts, with the sentence in "said"; empty when no key is."""
    from rapidfuzz.distance import DamerauLevenshtein

    namespace = meta(pod).get("namespace")
    for each in (pod.get("spec") or {}).get("containers") or []:
        if each.get("name") != container:
            continue
        for source in each.get("envFrom") or []:
            name = (source.get("configMapRef") or {}).get("name")
            keys = keys_held(view, "ConfigMap", name, namespace)
            words = Counter(w for key in keys for w in _key_words(key))
            for key in keys:
                for word in _key_words(key):
                    meant = next((w for w, n in words.items() if n >= 2 and words[word] == 1
                                  and len(w) >= 5 and _misspelt(word, w)
                                  and DamerauLevenshtein.distance(word, w) == 1), None)
                    if name and meant:
                        spelt = re.search(re.escape(word), key, re.IGNORECASE)
                        right = key if spelt is None else key[:spelt.start()] + (
                            meant if spelt.group().isupper() else meant.lower()) + \
                            key[spelt.end():]
                        return {"said": f"ConfigMap {name} sets {key}: {word} is misspelt (its "
                                        f"other keys say {meant}), so the app never reads that "
                                        "setting and falls back to its default",
                                "holder": str(ObjectRef("ConfigMap", namespace, name)),
                                "held_key": key, "ref_name": str(name), "var": right,
                                "container": container}
    return {}


def _key_words(key: str) -> list[str]:
    return [w for w in re.split(r"_+|-|\.", key.upper()) if w]


def _misspelt(word: str, meant: str) -> bool:
    """Not a number apart (HOST1, HOST2) nor a plural of it (REPLICA, REPLICAS)."""
    return (re.sub(r"\d", "", word) != re.sub(r"\d", "", meant)
            and word.rstrip("S") != meant.rstrip("S"))


def key_renamed(view: ClusterView, namespace: str | None, detail: dict[str, str]) -> str | None:
    """The key a ConfigMap holds in place of the one a reference names, when exactly one is
    that key under another spelling (`broker-url` in a ConfigMap that now holds
    `CELERY_BROKER_URL`)."""
    if detail.get("ref_kind") != "configmap" or not detail.get("key"):
        return None
    wanted = _key_shape(detail["key"])
    held = keys_held(view, "ConfigMap", detail.get("ref_name"), namespace)
    found = [k for k in held if _key_shape(k).endswith(f"_{wanted}")
             or wanted.endswith(f"_{_key_shape(k)}") or _key_shape(k) == wanted]
    if not found:
        shapes = {_key_shape(k): k for k in held}
        found = [shapes[s] for s in difflib.get_close_matches(wanted, list(shapes), 2, 0.8)]
    return found[0] if len(found) == 1 else None


def _key_shape(key: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")
