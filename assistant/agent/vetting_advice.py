"""What a step may not ask a human to do in words (part of vetting, issue 15), beyond what
`vetting_prose` reads as a link, a program or a kubectl command:

- a mutating verb of another tool's CLI (`argocd app delete`, `flux suspend`, `istioctl x
  uninstall`, `velero backup delete`, `rabbitmqctl purge_queue`, `terraform destroy`...), a
  shell that runs a string (`sh -c`), a write into a host path (`> /var/lib/etcd/...`);
- an action on the cluster's machinery rather than on the root object: drain, reboot or
  recreate a node, the cluster or the control plane, restore etcd, act "on the node";
- taking a guard away: delete or uninstall a PodDisruptionBudget, a webhook, an admission
  policy, a quota, a probe, a limit, SELinux, AppArmor or seccomp; delete "all" or "every" of
  anything; purge or truncate a queue, a table or a bucket; reclaim a volume by deleting it;
- scaling to zero in words ("scale it down to zero", "set replicas to 0");
- escaping to the host: a container runtime's socket, a hostPath of `/`, a host directory
  mounted (`/var/lib/kubelet`, `/etc`), running as UID 0;
  opening the app to the internet, anonymous access, insecure registries, a credential pasted
  into a ConfigMap or plain text;
- a step the vetting cannot read: written in another script, or in another language's
  function words. A keyword vetting understands English; a step in French or Greek is
  refused as one a human must review, not passed as one it checked.
"""

from __future__ import annotations

import re
import unicodedata

from .vetting_env import setting_problem

# Command-line tools beside kubectl, and the verbs of theirs that change something (a subcommand
# or a word of one, `purge_queue`, `delete-stack`), not a flag's value (`--type drop`); their
# read verbs (`get`, `list`, `status`, `history`, `diff`) are not judged here. A program is
# named as it is typed, or capitalised at the start of a sentence: "OCI runtime create failed"
# quotes an error, it names no CLI.
_TOOL_NAMES = (r"argocd|flux|helm|helmfile|kustomize|terraform|terragrunt|pulumi|aws|gcloud|gsutil|"
          r"az|doctl|eksctl|oci|ibmcloud|istioctl|linkerd|cilium|calicoctl|velero|rabbitmqctl|"
          r"rabbitmqadmin|vault|consul|nomad|etcdctl|etcdutl|kubeadm|minikube|k3d|k3s|"
          r"crictl|ctr|docker|podman|nerdctl|journalctl|systemctl|mongosh|mongo|psql|mysql|"
          r"redis-cli|cqlsh|kafka-[\w.-]+|clickhouse-client|cockroach|skaffold|"
          r"tkn|oc|odo|kapp|kpt|cmctl|s3cmd|rclone")
_TOOLS = "(?-i:{}|{})".format(_TOOL_NAMES, "|".join(n[0].upper() + n[1:]
                                                   for n in _TOOL_NAMES.split("|")))
_TOOL_VERBS = (r"delete|del|remove|rm|rmi|uninstall|purge|prune|destroy|drop|flush\w*|truncate|"
               r"wipe|reset|restore|rollback|terminate|kill|stop|suspend|pause|disable|deregister|"
               r"detach|evict|drain|cordon|taint|sync|apply|install|upgrade|set|patch|edit|"
               r"replace|create|scale|restart|reboot|import|vacuum|revoke|rotate|unseal|seal|"
               r"promote|failover|override|force")
_TOOL_ACTION = re.compile(
    rf"(?<![\w./-])(?:{_TOOLS})(?:(?:\s+[\w:/.@=-]+){{0,3}}?\s+[\w:/.@=][\w:/.@=-]*)?\s+"
    rf"(?:{_TOOL_VERBS})(?:[_-]\w+)?"
    r"(?![\w-])|(?<![\w-])(?:[a-z]+_)?(?:purge|delete|drop|flush|wipe|reset)_[a-z_]+\b",
    re.I)
# A shell running a string, and writes or moves on a host path.
_SHELL_ACTION = re.compile(
    r"(?<![\w-])(?:sh|dash|ksh|fish|ash|csh|tcsh|cmd(?:\.exe)?)\s+[-/][ck]\b|"
    r"(?:^|[\s`'\":(])>{1,2}\s*[/~]\w|\b(?:truncate|shred)\s+-|\bmv\s+[/~]\w|"
    r"\bjournalctl\b[^.\n]{0,30}--vacuum", re.I)
# The cluster's machinery, not the root object, asked for at the start of a clause ("drain the
# node", "then reboot it"; not "had untolerated taint {node...}", "does not remove a node");
# "node selector", "node pool", `node.kubernetes.io/...` are parts of a spec.
_CLAUSE = r"(?:^|[.;:,!?(]\s*|\b(?:then|and|or|first|please|also|now|must|should|to)\s+)"
_MACHINE = (r"nodes?|workers?|hosts?|cluster|control[\s-]?plane|masters?|etcd|api[\s-]?server|"
            r"kubelet|kube-proxy|scheduler|controller[\s-]manager")
_NOT_A_PART = r"(?!\.\w|\s*(?:-|selector|affinity|name|label|pool|port))"
_MACHINERY = re.compile(
    rf"{_CLAUSE}(?:drain|reboot|restart|recreate|rebuild|reset|re-?image|reinstall|terminate|cordon|"
    rf"taint|replace|shut\s*down|power\s*off|upgrade|wipe|destroy|delete|remove)\b"
    rf"[^.;]{{0,25}}?\b(?:{_MACHINE})\b{_NOT_A_PART}|"
    r"\b(?:restore|roll\s*back|rollback|defrag\w*|compact)\b[^.;]{0,25}\betcd\b|"
    r"\betcd\b[^.;]{0,25}\b(?:restore|snapshot\s+restore)\b|"
    rf"^\s*(?:run|execute|load|install|copy|edit|change|set|turn|disable|enable|ssh|log\s+in)\b"
    rf"[^.]{{0,80}}\b(?:on|onto|to|into)\s+(?:the|each|every|all)\s+(?:{_MACHINE})\b{_NOT_A_PART}",
    re.I | re.M)
# Guards a proposal may not take away.
_GUARDS = (r"pdbs?|pod\s?disruption\s?budgets?|(?:validating|mutating)?\s?webhook\w*|"
           r"admission\w*|(?:pod\s?)?security\s?polic\w+|pod\s?security\w*|gatekeeper|kyverno|"
           r"opa|\w*polic(?:y|ies)|default-deny|constraints?|quotas?|resource\s?quotas?|limit\s?ranges?|"
           r"(?:readiness|liveness|startup|health)\s?(?:probes?|checks?)|probes?|"
           r"(?:memory|cpu|resource)\s+limits?|limits|selinux|apparmor|seccomp|finalizers?|"
           r"backups?|snapshots?|buckets?|topics?|queues?|tables?|keyspaces?|indices|indexes|"
           r"namespaces?|pvcs?|persistent\s?volumes?|volumes?|databases?|audit\s?log\w*")
_REMOVE_GUARD = re.compile(
    rf"\b(?:delete|remove|uninstall|disable|drop|turn\s+off|switch\s+off|strip|purge|wipe|"
    rf"destroy|empty|truncate|flush|nuke|zap|erase|tear\s+down|get\s+rid\s+of|blow\s+away)\b\s+(?:the\s+|a\s+|an\s+|its\s+|any\s+)?(?:[\w-]+\s+)?"
    rf"(?:{_GUARDS})\b|\buninstall\b|"
    r"\b(?:delete|remove|wipe|purge|destroy|kill|evict|nuke)\s+(?:all|every|each)\b|"
    r"\b(?:purge|truncate|flush|wipe|empty)\b\s+(?:the\s+)?[\w-]+\s+(?:queue|table|topic|"
    r"cache|bucket|database|index)\b|"
    r"\breclaim\s*policy\b[^.]{0,25}\bdelete\b|\b(?:resize|shrink)\b[^.]{0,30}\b(?:pvc|volume|"
    r"disk)\w*\b[^.]{0,15}\bdown\b|\b(?:to|=|:)\s*unconfined\b", re.I)
# Zero replicas, pods or instances, in digits or in words, as advice (a summary may say that a
# workload "is scaled to 0").
_ZERO = r"(?:0|zero|nothing|none|nil)(?!\w|\.\d)"
_IN_CLAUSE = r"(?:[^.;]|\.(?=\w))"  # a dot inside a word (`spec.replicas`) does not end it
_SCALE_ZERO = re.compile(
    rf"\bscale\b{_IN_CLAUSE}{{0,40}}?\b(?:to|down\s+to)\s+{_ZERO}|"
    rf"\b(?:set|reduc|bring|brought|tak|took|lower|drop|chang|patch|turn)\w*\b{_IN_CLAUSE}{{0,40}}?"
    rf"\b(?:replicas?|instances?|pods?|copies)\b{_IN_CLAUSE}{{0,25}}?(?:\bto|\bat|=|:)\s*{_ZERO}|"
    rf"\b(?:scale|set|reduce|bring|take)\b{_IN_CLAUSE}{{0,40}}?\b(?:0|zero|no)\s+(?:replicas?|"
    r"instances?|pods?)\b", re.I)
# Doors to the host or the world, and credentials put where anyone who reads the namespace
# reads them.
_PUT = r"put|paste|store|write|copy|add|move|hard-?code|commit|keep"
_CREDENTIAL = r"passwords?|tokens?|secrets?|credentials?|api[\s_-]?keys?|private\s+keys?"
_INTO_PLAIN = r"\b(?:in|into|to)\s+(?:the\s+|a\s+)?(?:[\w-]+\s+)?(?:configmap|plain\s?text|git)\w*"
_OPENING = re.compile(
    r"\b(?:docker|containerd|crio|cri-o|cri-dockerd|podman|dockershim|kubelet)[\w.-]*\.sock\b|"
    r"\b(?:docker|containerd|container\s+runtime|runtime|cri)\s+sock(?:et)?\b|"
    r"\bhost\s?path\b[^.]{0,30}?(?:\s|['\"`])/(?:['\"`\s,]|$|etc\b|var\b|root\b|proc\b|sys\b|"
    r"dev\b|run\b|home\b|usr\b|boot\b)|"
    r"--cap-add\b|--(?:pid|net|network|ipc|userns|uts)[= ]host\b|--security-opt\b|"
    r"\b(?:add|use|create|give|attach|start|spin\s+up)\b[^.]{0,30}?\bprivileged\s+(?:init\s+|"
    r"sidecar\s+|debug\s+|helper\s+)?(?:containers?|pods?)\b|"
    r"\bmount\w*\b[^.]{0,40}?(?:\bfrom\s+the\s+(?:host|node)\b|\s/(?:var/lib/(?:kubelet|docker|"
    r"containerd|etcd)|var/run|etc|root|proc|sys|dev|run|boot)\b)|"
    r"\b(?:uid|user\s+id)\s*(?:of\s+|=\s*|:\s*)?(?:0|zero)\b|\brunAs(?:User|Group)\b[^.]{0,15}?"
    r"\b(?:to|=|:)\s*zero\b|\bas\s+(?:uid|user)\s+0\b|"
    r"\b(?:open|expose|publish)\w*\b[^.]{0,60}\b(?:to\s+the\s+(?:internet|world|public)|"
    r"loadbalancer|node\s?port|publicly|public\s+ip)\b|"
    r"\b(?:enable|allow|turn\s+on|permit)\w*\b[^.]{0,30}\banonymous\b|"
    r"\binsecure[\s_-]?registr\w*|\bautomount\w*token\w*\b[^.]{0,10}\b(?:to\s+)?true\b|"
    r"\bread-?only[\s-]port\b[^.]{0,20}\b(?!0\b)\d+|"
    rf"\b(?:{_PUT})\b[^.]{{0,40}}\b(?:{_CREDENTIAL})\b[^.]{{0,30}}{_INTO_PLAIN}|"
    rf"\b(?:{_CREDENTIAL})\b[^.]{{0,60}}\b(?:{_PUT})\b[^.]{{0,30}}{_INTO_PLAIN}|"
    r"\b(?:passwords?|tokens?|secrets?|credentials?)\b[^.]{0,20}\bin\s+plain\s?text\b", re.I)


# Settings written into a sentence: `NAME=VALUE`, `--flag=value`, and `name: value` or "set
# name to value" where the name is written as one (`runAsUser`, `NODE_TLS_REJECT_UNAUTHORIZED`,
# `verify_ssl`, not "Python: ..." or "error: ..." of a quoted log line), each with its quotes or
# backticks.
_Q = "['\"`]?"
_NAME = r"[A-Za-z][A-Za-z0-9]*(?:[_.-][A-Za-z0-9]+)+|[a-z]+[A-Z]\w*|[A-Z][A-Z0-9_]{2,}"
_VALUE = r"[^\s'\"`,;:\])]+"
_SETTING = re.compile(
    rf"(?<![\w.$-])(-{{0,2}}[A-Za-z][\w.-]*){_Q}\s*=\s*{_Q}({_VALUE})|"
    rf"(?<![\w.$-])({_NAME}){_Q}\s*(?::\s+|\s+(?:to|as)\s+){_Q}({_VALUE})")


def settings_problem(text: str) -> str | None:
    """Why a setting `text` writes out may not be advised (`vetting_env.setting_problem`)."""
    for match in _SETTING.finditer(text):
        name = match.group(1) or match.group(3)
        value = (match.group(2) if match.group(1) else match.group(4)).rstrip(".")
        problem = setting_problem(name, value)
        if problem:
            return problem
    return None


def advice_problem(text: str) -> str | None:
    """Why the words of `text` (already unmasked) may not be shown as a proposal; None when
    nothing in them acts beyond the root object."""
    if _TOOL_ACTION.search(text) or _SHELL_ACTION.search(text):
        return "it tells the reader to run something other than kubectl"
    if _MACHINERY.search(text):
        return "it acts on nodes, the control plane or the cluster, not on the root object"
    if _SCALE_ZERO.search(text):
        return "it scales to zero replicas"
    if _REMOVE_GUARD.search(text):
        return "it advises removing a guard or data beyond the root object"
    if _OPENING.search(text):
        return "it advises a change that opens the host or the app"
    return settings_problem(text)


# Function words of English, and of the languages a model is likeliest to answer in instead
# (French, German, Spanish, Italian, Portuguese, Dutch), none of which is an English word or a
# command (`per`, `con`, `du`, `com` are left out).
_ENGLISH = frozenset("""the to of and in is it for with on that this be are at by from or if
then its an not was will can so until when after before once into which while""".split())
_FOREIGN = frozenset("""le la les des une et puis avec pour dans sur est sont vous votre
cette qui pas ne au aux ou tous toutes chaque sans ensuite der die das den dem und oder mit für
im ist sind sie nicht auf ein eine einen alle bitte dann zu von bei jeden ohne danach el los las
y para por una en que se su sus luego todos todas cada sin después de il lo gli della di che non
sono tutti ogni senza poi nel nella em não uma sem depois het een voor niet ook elke zonder
daarna""".split())
# Written in lower case, these are foreign words; in upper case, English names (`OS`, `DOS`, `ES`).
_FOREIGN_LOWER = frozenset({"os", "dos", "es"})
_WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*")


def unreadable(text: str) -> bool:
    """Whether `text` is in words the vetting cannot read: mostly letters of a script other than
    Latin, or more of another language's function words than of English's."""
    letters = [c for c in text if c.isalpha()]
    other = sum(1 for c in letters if not unicodedata.name(c, "LATIN").startswith("LATIN"))
    if letters and other * 3 > len(letters):
        return True
    words = _WORD.findall(text)
    foreign = sum(1 for w in words if w.lower() in _FOREIGN or w in _FOREIGN_LOWER)
    return foreign >= 2 and foreign > sum(1 for w in words if w.lower() in _ENGLISH)
