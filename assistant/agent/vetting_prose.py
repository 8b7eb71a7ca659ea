"""What a step or a summary may say (part of vetting, issue 15): no URL, no instruction to run a
program other than kubectl, and every kubectl command in it (`k` and `oc` included) as one
that would pass as a proposed command; what the words ask beyond that (another tool's mutating
verb, an action on nodes, a guard taken away, zero replicas, a door to the host, a setting
that turns TLS off) is `vetting_advice`'s, and a step in words the vetting cannot read is
refused as one a human must review.

The text is folded first (NFKC, so fullwidth letters are letters; invisible characters such as
zero-width spaces and direction marks removed; every kind of space a space), so that
`kube\u200bctl` and `ｋｕｂｅｃｔｌ` are read as `kubectl`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from .vetting_advice import advice_problem, unreadable
from .vetting_env import turns_tls_off

# A link in any form: a scheme, `www.`, a protocol-relative `//host`, a Markdown link target, a
# `javascript:` or `data:` URI, a UNC path `\\\\host\\share`, a bracketed IPv6 address with a path,
# a web scheme with backslashes or one slash (`http:\\host`, `https:/host`, which browsers
# mend), an scp-style `git@github.com:owner/repo.git`.
_PROSE_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://|\bwww\.|(?<![\w:/])//[\w-]+\.[\w.-]+|\]\(|"
                        r"\b(?:https?|ftps?|wss?|file|git|ssh|sftp|s3|gs):[\\/]|"
                        r"\b[\w.-]+@[\w-]+(?:\.[\w-]+)+:[\w~]|"
                        r"\b(?:javascript|vbscript):\S|\bdata:[\w.+-]+/[\w.+-]+[;,]|"
                        r"\\\\[\w.-]+\\|\[[0-9a-f]*:[0-9a-f:.]+\](?::\d+)?/", re.I)
# A host name with any top-level domain and a path, after a port or not
# (`fixes.example.de/api.yaml`, `status.example.co.uk:8443/incident`); `_NOT_A_HOST` tells the
# dotted names that are not hosts. A bare dotted name is not judged: field paths
# (`limits.memory`) and class names look the same.
_DOTTED = re.compile(r"(?<![\w.@/-])(?:[a-z0-9](?:[\w-]*[a-z0-9])?\.)+[a-z]{2,63}"
                     r"(?=(?::\d{1,5})?/)", re.I)
# File names, Kubernetes' own domains (label keys, API groups), names inside the cluster, and
# code names (`java.lang.OutOfMemoryError`, `process.env.DB_HOST`).
_NOT_A_HOST = re.compile(
    r".*\.(?:ya?ml|json|txt|log|conf|cnf|cfg|ini|xml|properties|toml|py|js|ts|go|rb|java|jar|sh|"
    r"pem|crt|key|csv|html?|md|db|sqlite|env|lock|pid|sock|service|socket|d|so|dll|tar|gz|tgz|"
    r"zip|war|class|sql|out|err)|.*(?:\.|^)(?:k8s\.io|kubernetes\.io|svc|cluster\.local|local|"
    r"internal)|.*(?-i:_|[a-z][A-Z]).*", re.I)
# An image reference: a host, a path and a tag or a digest (`ghcr.io/shop/api:1.4.3`).
_IMAGE_REF = re.compile(r"[\w.-]+(?::\d+)?(?:/[\w.-]+)+(?::\w[\w.-]*|@sha256:[0-9a-f]+)")
# An address given by IP with a path or a port and path (`203.0.113.5/fix.yaml`); a CIDR
# (`10.0.0.0/8`) or a bare IP is not a URL.
_IP_URL = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?/(?!\d)")
# Instructions to run something other than kubectl.
_PROGRAMS = re.compile(
    r"\b(?:curl|wget|bash|zsh|sudo|chmod|chown|rm\s+-|eval|base64\s+(?:-d|--decode|-D)|nc|ncat|"
    r"python3?\s+-c|powershell|iex|apt(?:-get)?|pip\s+install|npm\s+install|ssh|scp|npx|"
    r"bunx|uvx|pipx\s+run|go\s+run|deno\s+run|etcdctl|kubeadm\s+reset|mkfs(?:\.\w+)?|"
    r"dd\s+(?:if|of)(?==)|shred|wipefs|fdisk|parted|terraform\s+(?:destroy|apply)|pulumi\s+(?:destroy|up)|"
    r"systemctl\s+(?:reboot|poweroff|halt|stop|disable|mask|kill)|shutdown\s+-|"
    r"(?:docker|podman|nerdctl|crictl|ctr)\s+(?:exec|run|rm|rmi|rmp|kill|stop|system|prune)|(?:perl|ruby|node|lua|php)\s+-[eEpr]|node\s+--eval|socat|"
    r"git\s+(?:clone|pull|apply|am|submodule|fetch)|(?:apk|apt|yum|dnf|zypper|brew|gem|cargo|conda)\s+"
    r"(?:add|install|in)|go\s+install|iptables|ip6tables|nft|ufw\s+disable|setenforce\s+0|"
    r"firewall-cmd|kill\s+(?:-\w+|%?\d+)|pkill|killall|pg_reset(?:wal|xlog)|rm\s+(?:-\w+\s+)*[/~.$\w]|find\b[^\n]{0,80}?\s-(?:delete|exec)|"
    r"xargs|kafka-(?:topics|delete-records|consumer-groups)(?:\.sh)?\b[^.\n]{0,60}?--(?:delete|"
    r"reset-offsets)|vault\s+(?:kv\s+)?(?:destroy|delete|metadata\s+delete|secrets\s+disable|"
    r"auth\s+disable)|gsutil\s+(?:rm|rb)|redis-cli\b[^.\n]{0,60}?\b(?:del|unlink|flushall|flushdb)"
    r")\b|"
    r"\b(?:gcloud|aws|az|doctl|eksctl|oci|ibmcloud)\b[^.\n]{0,80}?\b(?:delete(?:-[\w-]+)?|rm|rb|"
    r"terminate-[\w-]+|deregister-[\w-]+|remove-[\w-]+|detach-[\w-]+|destroy|purge)\b|"
    r"\b(?:download|run|execute|install|pipe|paste)\b[^.]{0,40}\b(?:script|binary|installer|"
    r"one-liner|shell|terminal)\b", re.I)
# Statements that destroy data, whichever client sends them.
_DESTRUCTIVE = re.compile(
    r"\b(?:DROP\s+(?:TABLE|DATABASE|SCHEMA|INDEX|USER|ROLE|KEYSPACE|COLLECTION)|TRUNCATE\s+"
    r"(?:TABLE\s+)?\w+|DELETE\s+FROM|FLUSH(?:ALL|DB)|dropDatabase|deleteMany|UNLINK\s+\*|"
    r"ALTER\s+TABLE\b[^;\n]{0,80}?\bDROP|DROP\s+COLUMN)\b|"
    r"\.(?:remove|drop|deleteOne|deleteMany|dropIndex(?:es)?|dropDatabase)\s*\(", re.I)
# Statements that change a database's or a cache's users, grants, settings or data, whichever
# client sends them: SQL `ALTER USER`, `GRANT ... ON`, `SET GLOBAL`, `UPDATE t SET`; Redis
# `CONFIG SET`, `ACL SETUSER`, `REPLICAOF`, `MODULE LOAD`; MongoDB's `db.createUser(...)`.
_STATE_CHANGING = re.compile(
    r"\b(?:ALTER\s+(?:USER|ROLE|SYSTEM|DATABASE|SERVER|LOGIN|INSTANCE|DEFAULT\s+PRIVILEGES)|"
    r"(?:GRANT|REVOKE)\s+(?:ALL|SELECT|INSERT|UPDATE|DELETE|USAGE|EXECUTE|CREATE|CONNECT|SUPER|"
    r"PROCESS|FILE|RELOAD|REPLICATION|TRIGGER|REFERENCES|ALTER|DROP|TEMP\w*)\b[^.;\n]{0,80}?"
    r"\b(?:ON|TO|FROM)\b|(?-i:(?:GRANT|REVOKE)\s+[\w\"]+\s+(?:TO|FROM))|CREATE\s+(?:USER|ROLE|LOGIN|EXTENSION|"
    r"(?:OR\s+REPLACE\s+)?FUNCTION|TRIGGER|SERVER)|SET\s+(?:GLOBAL|PERSIST\w*)|"
    r"ALTER\s+(?:KEYSPACE|TABLE)|UPDATE\s+[\w.\"]+\s+SET|INSERT\s+INTO|LOAD\s+DATA|COPY\b[^;\n]{0,80}?\bPROGRAM|"
    r"INTO\s+(?:OUT|DUMP)FILE|pg_(?:terminate_backend|cancel_backend|reload_conf|promote|"
    r"drop_replication_slot|read_file|ls_dir)|CONFIG\s+(?:SET|REWRITE|RESETSTAT)|"
    r"ACL\s+(?:SETUSER|DELUSER|LOAD)|(?:SLAVEOF|REPLICAOF)\s+\S|MODULE\s+LOAD|"
    r"DEBUG\s+(?:SLEEP|SEGFAULT|RELOAD|SET-ACTIVE-EXPIRE|OBJECT)|SHUTDOWN\s+(?:NO)?SAVE)"
    r"(?![\w-])|\b(?:db|rs|sh)\.(?:createUser|updateUser|dropUser|grantRoles\w*|revokeRoles\w*|"
    r"runCommand|adminCommand|shutdownServer|setProfilingLevel|reconfig|stepDown|remove|"
    r"changeUserPassword|fsyncLock)\s*\(", re.I)
# Advice that weakens the cluster, in words rather than a command.
_UNSAFE_ADVICE = re.compile(
    r"privileged\s*[:=]\s*true|\bhost(?:Network|PID|IPC)\s*[:=]\s*true|insecure-skip-tls-verify|"
    r"\brunAs(?:User|Group)\s*[:=]\s*0\b|runAsNonRoot\s*[:=]\s*false|"
    r"allowPrivilegeEscalation\s*[:=]\s*true|\b(?:CAP_)?(?:SYS_ADMIN|SYS_PTRACE|SYS_MODULE|NET_ADMIN)\b|"
    r"AUTH_METHOD\s*[:=]\s*trust\b|\bauth(?:entication)?\s+method\s+(?:to\s+)?trust\b|"
    r"ALLOW_EMPTY_PASSWORD\s*[:=]\s*(?:yes|true|1)\b|"
    r"\b(?:mode\s+)?0?777\b|world-writable|\b(?:remove|delete|strip|clear)\b[^.]{0,40}"
    r"\bfinalizers?\b|force-delet|grace[- ]period(?:=0|\s+(?:of\s+)?(?:zero|0)\b)|"
    r"\b(?:delete|remove|wipe)\b[^.]{0,30}\b(?:pvc|persistentvolumeclaims?|persistentvolumes?|"
    r"\bpv\b|volumes?|statefulsets?|databases?)\b|"
    r"\b(?:delete|remove|disable)\b[^.]{0,30}\bnetwork\s?polic(?:y|ies)\b|"
    r"\b(?:delete|drain|cordon|evict|kill|remove)\s+(?:every|all)\b[^.]{0,20}\b(?:pods?|nodes?)\b",
    re.I)
# The same advice in plain words: "run it in privileged mode", "set runAsUser to 0", "hostNetwork
# to true", "add capabilities ALL", "bind it to cluster-admin", "enforce=privileged", "allow all
# ingress from 0.0.0.0/0", "disable TLS verification".
_SET_TO = r"\s*(?:[:=]|\b(?:to|as|of)\b)?\s*"
_CAPS = (r"ALL|SYS_\w+|NET_ADMIN|NET_RAW|DAC_\w+|SETUID|SETGID|SETFCAP|SETPCAP|BPF|PERFMON|MKNOD|"
         r"FOWNER|AUDIT_\w+|MAC_\w+|LINUX_IMMUTABLE|IPC_OWNER")
_UNSAFE_WORDS = re.compile(
    rf"(?<![\w-])privileged(?:\s+mode\b|{_SET_TO}"
    r"(?:true|yes|on)\b)|(?<!not )(?<!n't )(?<!never )\b(?:run|make|set|mark|start|launch|"
    r"deploy)\b[^.,;()]{0,40}(?<![\w-])"
    r"privileged\b(?!\s+ports?)|--privileged|"
    rf"\brunAs(?:User|Group){_SET_TO}0\b|\brunAsNonRoot{_SET_TO}false\b|"
    rf"allowPrivilegeEscalation{_SET_TO}true\b|"
    r"(?<!not )(?<!n't )(?<!never )\b(?:run|start|launch|let)\b[^.]{0,30}\bas\s+(?:the\s+)?"
    r"root\b|"
    rf"\bhost[\s_-]?(?:network|pid|ipc|ports?){_SET_TO}(?:true|yes|on|enabled?)\b|"
    r"\b(?:enable|use|turn\s+on|add|mount|give)\b[^.]{0,60}\bhost[\s_-]?(?:network\w*|pid|ipc|"
    r"path)\b|"
    r"\b(?:add|grant|give|allow|enable|with|keep)\b[^.]{0,40}?\bcapabilit(?:y|ies)\b[^.]{0,30}?"
    rf"(?<![\w-])(?:CAP_)?(?:{_CAPS})\b|"
    rf"\b(?:add|grant|give|allow|enable)\b[^.]{{0,30}}?(?<![\w-])(?:CAP_)?(?:{_CAPS})\s+capabilit|"
    r"\b(?:bind|binds|grant|give|assign|attach|add|make|create|use)\b[^.]{0,60}(?<![\w-])"
    r"(?:cluster-admin|"
    r"system:masters|(?:cluster\s*)?admin(?:istrator)?\s+(?:(?:cluster)?role|rights|access|"
    r"privileges))\b|"
    r"\b(?:peer\s*authentication|mtls)\b[^.]{0,40}\bpermissive\b|\bpermissive\s+mode\b|"
    r"\ballow\s+(?:all|any|every)\s+(?:namespaces?|pods?|sources?|ips?|addresses|hosts?)\b|"
    rf"\b(?:enforce|audit|warn){_SET_TO}privileged\b|pod[\s-]security\b[^.]{{0,60}}\bprivileged\b|"
    r"\ballow\w*\b[^.]{0,40}\b(?:from|to)\s+(?:anywhere|everywhere|any\s+(?:source|ip|address|"
    r"host|namespace)|all\s+(?:sources|ips|addresses|hosts|namespaces))\b|"
    r"\ballow\s+(?:all|any|every)\b[^.]{0,30}\b(?:ingress|egress|traffic|connections)\b|"
    r"\b(?:allow|open|permit)\w*\b[^.]{0,60}(?:0\.0\.0\.0/0|::/0)|"
    r"\b(?:disable|turn\s+off|switch\s+off|skip|bypass)\b[^.]{0,30}\b(?:tls|ssl|https|mtls|"
    r"certificate|cert|authentication|auth|authori[sz]ation|verification)\b", re.I)
_CHANGE_DELETE = re.compile(r"\bdelete\s+(?:the\s+)?(?:ns|namespace|namespaces)\b", re.I)
_VERBS = ("get|describe|logs|delete|apply|create|edit|patch|scale|rollout|set|label|annotate|"
          "exec|drain|cordon|uncordon|taint|replace|run|cp|debug|port-forward|proxy|auth|top|"
          "events|attach|expose|autoscale|certificate|wait|diff|kustomize|plugin|config|api-\\w+|"
          "explain|cluster-info|version|completion|alpha")
# Programs that are kubectl under another name: with a version, a suffix or a path glued on
# (`kubectl1.29`, `kubectl.sh`, `/usr/local/bin/kubectl`), a wrapper, and the usual short
# aliases (`k`, `kc`, `kctl`, `kube`) only before a kubectl verb.
_KUBECTL = re.compile(r"\b(?:kubectl(?:[\w-]|\.(?=\w))*|oc|kubecolor|microk8s\s+kubectl|"
                      r"k3s\s+kubectl|"
                      rf"(?:k|kc|kk|kcl|kctl|kube|kub|k8s)(?=\s+(?:{_VERBS})\b))[\s`'\"]+", re.I)
# A command, not the program's name: a flag or a word after `kubectl` that is no word of prose
# ("kubectl is", "kubectl's output"); a verb not on kubectl's list is judged as one (a plugin).
_A_VERB = re.compile(r"kubectl (?:-|(?!(?:is|was|are|will|can|cannot|could|should|would|may|"
                     r"might|must|does|did|has|had|s|itself|binary|client|cli|output|commands?|"
                     r"access|in|on|at|with|from|by|as|against|that|but|the|a|an|not|also|only|"
                     r"now|first|again|here|there|works?|fails?|returns?|shows?|reports?|to|and|then|so|if|"
                     r"for|which|until|when|after|before|once|or|"
                     r"prints?|says?|version|installed|available|plugins?)\b)[a-z])", re.I)
# Verbs of kubectl that no step may ask for, even when the command around them does not parse.
_REFUSED_VERBS = re.compile(r"\b(?:delete|apply\s+-[fk]|replace|exec|drain|cordon|taint|cp|"
                            r"debug|port-forward|attach)\b", re.I)
# Where a command written into a sentence ends: a quote, a full stop, a comma, or a word that
# joins it to the rest of the sentence ("... -n web to go back").
_PROSE_END = re.compile(r"[`'\"]|\.(?:\s|$)|,\s|\s(?:to|and|then|so|if|for|which|until|when|"
                        r"after|before|once|or)\s")
_SENTENCE_END = re.compile(r"\.(?:\s|$)|\n")


# Letters of other scripts that look like Latin ones (Cyrillic `е`, Greek `υ`...), as the Latin
# letter a reader takes them for.
_CONFUSABLES = str.maketrans(
    "аеорсухіјѕԁһӏԛԝвкмнтАВЕКМНОРСТХУІЈЅυοανιτρκεχΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdhlqwbkmhtABEKMHOPCTXYIJSuoavitpkexABEZHIKMNOPTYX")
# What a reader's shell or browser turns back into a dot or a line: `evil[.]example`, `hxxp`,
# a backslash at the end of a line.
_DEFANGED = re.compile(r"\s*[\[({]\s*(?:\.|dot)\s*[\])}]\s*|\\\n\s*", re.I)
# A link spelled out: `pastebin dot com slash abc`.
_SPELLED = re.compile(r"(?<=\w)\s+(dot|slash)\s+(?=\w)", re.I)


def fold(text: str) -> str:
    """`text` as a reader sees it: NFKC, no invisible characters, plain spaces, an ideographic
    full stop (`。`, `｡`, which browsers read in host names) as a dot."""
    folded = unicodedata.normalize("NFKC", text).replace("\u3002", ".")  # the ideographic stop
    return "".join(" " if c.isspace() and c not in "\n" else c for c in folded
                   if unicodedata.category(c) not in ("Cf", "Cc") or c == "\n")


def unmask(text: str) -> str:
    """`text` as the reader would act on it: folded, look-alike letters as Latin ones, defanged
    dots as dots, continued lines joined."""
    joined = _DEFANGED.sub(lambda m: " " if "\n" in m.group(0) else ".", fold(text))
    joined = _SPELLED.sub(lambda m: "." if m.group(1).lower() == "dot" else "/", joined)
    return re.sub(r"\bhxxp", "http", joined.translate(_CONFUSABLES), flags=re.I)


def prose_problem(text: str, judge: Callable[[str], str | None],
                  known_image: Callable[[str], bool] = lambda _image: False) -> str | None:
    """Why a step or a summary may not be shown; `judge` says why a command may not be, and
    `known_image` whether an image reference names an image the reader may be pointed at."""
    if unreadable(fold(text)):
        return "it is in words the vetting cannot read (another language or script); a " \
               "human must review it"
    text = unmask(text)
    if links(text, known_image):
        return "it contains a URL"
    if _PROGRAMS.search(text) or _DESTRUCTIVE.search(text) or _STATE_CHANGING.search(text):
        return "it tells the reader to run something other than kubectl"
    if _CHANGE_DELETE.search(text):
        return "it proposes deleting namespaces"
    if _UNSAFE_ADVICE.search(text):
        return "it advises a change that weakens or destroys more than the root object"
    for embedded, sentence in _embedded(text):
        # "use kubectl to check" names the program; "kubectl get ..." is a command
        problem = judge(embedded) if _A_VERB.match(embedded) else None
        if problem:
            return f"a command in it is refused: {problem}"
        verb = _REFUSED_VERBS.search(re.sub(r"[`'\"]", " ", sentence))
        if verb:
            return f"it tells the reader to run kubectl {verb.group(0).lower()}"
    if _UNSAFE_WORDS.search(text) or turns_tls_off(text):
        return "it advises a change that weakens the cluster or the app's security"
    return advice_problem(text)


def links(text: str, known_image: Callable[[str], bool] = lambda _image: False) -> bool:
    """Whether `text` (unmasked) holds a link in any form, other than a known image."""
    return bool(_PROSE_URL.search(text) or _IP_URL.search(text)
                or _has_link(text, known_image))


def _has_link(text: str, known_image: Callable[[str], bool]) -> bool:
    """Whether `text` names a host with a path, other than a known image by tag or digest."""
    for match in _DOTTED.finditer(text):
        if _NOT_A_HOST.fullmatch(match.group(0)):
            continue
        image = _IMAGE_REF.match(text, match.start())
        if image and ".." not in image.group(0) and known_image(image.group(0)):
            continue
        return True
    return False


def _embedded(text: str) -> list[tuple[str, str]]:
    """kubectl commands written into prose, each up to the end of its sentence or quote, as
    `kubectl ...`, with the sentence they are in."""
    found = []
    for match in _KUBECTL.finditer(text):
        rest = "kubectl " + text[match.end():]
        end = _PROSE_END.search(rest, len("kubectl "))
        sentence = _SENTENCE_END.split(text[match.end():], maxsplit=1)[0]
        found.append((rest[:end.start()] if end else rest.rstrip("."), sentence))
    return found
