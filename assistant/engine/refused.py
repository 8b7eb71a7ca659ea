"""A database server's own log that refuses a user ("[88] FATAL:  password authentication
failed for user "debezium""): the server is fine, the client that connects as that user sends
a wrong password. The client is the workload whose configuration names the user.
"""

from __future__ import annotations

import re

from tools import Obj
from tools.refs import ObjectRef
from tools.summaries import meta

from ..diagnosis import Evidence, Finding
from .clients import config_maps, configured, mounted
from .environment import secret_of
from .pod_issues import pod_ref
from .reading import Said, what_logs_say
from .view import ClusterView
from .workloads import SEVERITY, workload_ref

# PostgreSQL's server log (a backend's pid in brackets): a client's copy of the error has none
_SERVER_REFUSES = re.compile(r'\[\d+\]\s+FATAL:\s+password authentication failed for user '
                             r'"([^"]{1,63})"')


def refused_client(view: ClusterView, item: Said) -> Obj | None:
    """The one running pod, of another workload, configured with the user a server's log
    refuses (a finished Job that rotated the password is no client)."""
    found = _SERVER_REFUSES.search(item.match.line)
    if found is None:
        return None
    user = re.compile(rf"(?:^|[\s\"'=:/@,]){re.escape(found.group(1))}(?=$|[\s\"',:@/;])",
                      re.MULTILINE)
    server = workload_ref(view, item.pod)
    files = config_maps(view)
    clients = {workload_ref(view, pod): pod for pod in view.everywhere("Pod")
               if (pod.get("status") or {}).get("phase") == "Running"
               and user.search("\n".join([*configured(pod), *mounted(pod, files)]))}
    clients.pop(server, None)
    return next(iter(clients.values())) if len(clients) == 1 else None


def still_refused(view: ClusterView, item: Said) -> bool:
    """Whether a server's refusal that its log no longer repeats still holds: the client gave
    up (a Kafka Connect task killed until restarted), and its own log says so; or the refusal
    is an expired certificate."""
    if item.match.signature.id == "x509-expired":  # a certificate does not renew itself:
        return True  # the clean lines after it are requests that did not need it
    if item.category != "credentials_rejected":
        return False
    client = refused_client(view, item)
    return client is not None and any(
        said.category == "credentials_rejected" and not said.over
        for said in what_logs_say(view, [client]))


def refused_finding(view: ClusterView, item: Said, client: Obj) -> Finding:
    """The client's finding: the server refuses the password it connects with."""
    view.widen([meta(client).get("namespace") or ""])
    owner = workload_ref(view, client)
    short, server = ObjectRef.parse(owner).name, ObjectRef.parse(workload_ref(view, item.pod))
    user = _SERVER_REFUSES.search(item.match.line)
    container = next((str(c.get("name")) for c in (client.get("spec") or {}).get("containers")
                      or []), "")
    secret = secret_of(client, container) if container else None
    finding = Finding(
        category="credentials_rejected", object=owner,
        summary=f"{short}: {server.name} refuses its credentials",
        explanation=(f"{server.name} refuses the password of user "
                     f"{user.group(1) if user else '?'}, the user {short} connects as (its "
                     "configuration names it): a wrong or rotated password"
                     + (f"; its credentials come from Secret {secret}" if secret else "")),
        evidence=[Evidence(source="log", object=f"{pod_ref(item.pod)}/{item.container}",
                           detail=item.match.line.strip()),
                  *(Evidence(source="log", object=f"{pod_ref(item.pod)}/{item.container}",
                             detail=line) for line in item.context)],
        confidence=0.7, impact=SEVERITY.get("credentials_rejected", 1.5),
        related=[pod_ref(client), str(server)])
    own = next((said for said in what_logs_say(view, [client])
                if said.category == "credentials_rejected"), None)
    if own is not None:  # what the client logs of it, first (the task it killed)
        where = f"{pod_ref(client)}/{own.container}"
        finding.evidence[:0] = [Evidence(source="log", object=where, detail=line) for line in
                                [own.match.line.strip(), *own.context]]
    finding.facts = {"signature": item.match.signature.id, "container": container,
                     "dependency": server.name}
    if secret:
        finding.facts["secret"] = secret
    return finding
