"""A setting an app never reads because its key is misspelt: a key of a ConfigMap a container
takes its env from, with a word spelt otherwise than in its other keys
(`AIRFLOW__DATABSE__SQL_ALCHEMY_CONN_CMD` beside `AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE`).
The app falls back to its default (Airflow to SQLite) and crashes on that, not on the cause."""

from __future__ import annotations

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
