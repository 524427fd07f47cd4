"""Parameter values from what the engineer wrote: hosts, services, paths,
users, drive letters, numbers with units, and switches named in words.

Each recipe parameter says what it expects (`Fill`); `find_value` looks for
that kind of value in one text and returns it typed for the parameter, or
None. Only values that fit are returned: a value that does not match the
parameter's `pattern` or type is not a value for it. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flowpilot.kernel.scripts import MAX_STRING_VALUE, ParameterType
from scriptbuilder_service.domain.recipes import Fill, RecipeParameter


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that are never a name, whatever cue they follow.
NOT_NAMES = _wordset(
    """
    a an the this that these those it its his her their our my your all any each every
    some no none other another same new old is are was were be been has have had got gets
    can cant cannot could will would should may might must do does did done says said keeps
    kept still also again now then there here where when why how what which who whom whose
    and or but not nor so if to of in on at by for from with without into onto over under
    after before about as is it's isn't wasn't doesn't don't didn't won't can't couldn't
    user users account accounts password passwords machine computer server host service
    services process processes app application pool port drive folder file files share
    domain network please today yesterday tomorrow morning afternoon evening night again
    too very just only even yet already soon later remote local localhost reports report
    tried trying try works working work fails failing failed error errors issue issues
    problem problems ticket everyone someone somebody nobody anyone thing things way
    hung frozen stuck dead broken running stopped crashed whole main entire same
    """
)

# Extensions that make a dotted word a file, not a host name.
FILE_EXTENSIONS = _wordset(
    """
    exe dll msi msix log txt ost pst edb db conf cfg ini json xml yml yaml ps1 psm1 sh py
    bat cmd vbs service socket timer mount target path wim iso vhd vhdx gz zip tar bak
    old tmp csv reg pem crt cer pfx key lnk cab
    """
)

# Acronyms that look like host names in capitals but are not.
NOT_HOSTS = _wordset(
    """
    dns dhcp vpn gpo iis sql ad dc pc os cpu ram ssd hdd usb rdp ssh tls ssl http https
    tcp udp ip ntp smb nfs cifs ldap ldaps smtp imap pop wmi bits wsus sccm mdm mfa sso
    api url uri gui cli nic lan wan wifi ok asap fyi eta it hr crm erp sap
    m365 o365 ms365 office365 ipv4 ipv6 sha1 sha256 utf8 utf-8 2fa mfa s3 ec2 e3 e5
    """
)

# Windows services by the names engineers use for them.
WINDOWS_SERVICES = {
    "print spooler": "Spooler",
    "spooler": "Spooler",
    "windows time": "W32Time",
    "time service": "W32Time",
    "w32time": "W32Time",
    "windows update": "wuauserv",
    "wuauserv": "wuauserv",
    "background intelligent transfer": "BITS",
    "bits": "BITS",
    "dns client": "Dnscache",
    "dhcp client": "Dhcp",
    "remote desktop services": "TermService",
    "remote desktop service": "TermService",
    "windows search": "WSearch",
    "search service": "WSearch",
    "windows management instrumentation": "Winmgmt",
    "wmi": "Winmgmt",
    "world wide web publishing": "W3SVC",
    "w3svc": "W3SVC",
    "sql server agent": "SQLSERVERAGENT",
    "sql agent": "SQLSERVERAGENT",
    "sql server": "MSSQLSERVER",
    "netlogon": "Netlogon",
    "event log": "EventLog",
    "task scheduler": "Schedule",
    "windows firewall": "mpssvc",
    "defender firewall": "mpssvc",
    "workstation service": "LanmanWorkstation",
    "server service": "LanmanServer",
    "remote registry": "RemoteRegistry",
    "winrm": "WinRM",
    "cryptographic services": "CryptSvc",
    "sccm client": "CcmExec",
    "configmgr client": "CcmExec",
    "sms agent host": "CcmExec",
    "windows audio": "Audiosrv",
    "print server": "Spooler",
}

# Linux daemons engineers name without ".service".
SYSTEMD_UNITS = _wordset(
    """
    nginx apache2 httpd cups cupsd docker containerd sshd ssh postgresql mysql mysqld
    mariadb redis redis-server mongod cron crond rsyslog chronyd chrony systemd-resolved
    systemd-timesyncd systemd-journald networkmanager networking haproxy php-fpm tomcat
    tomcat9 jenkins elasticsearch kibana grafana-server prometheus node_exporter postfix
    dovecot named bind9 smbd nmbd winbind sssd nfs-server kubelet zabbix-agent
    zabbix-agent2 keepalived memcached rabbitmq-server vsftpd squid fail2ban auditd snapd
    libvirtd gitlab-runner unattended-upgrades avahi-daemon dnsmasq nscd ntp ntpd
    """
)
_UNIT_CASE = {"networkmanager": "NetworkManager"}

# Applications by the process name Windows gives them.
PROCESSES = {
    "excel": "excel",
    "word": "winword",
    "winword": "winword",
    "outlook": "outlook",
    "powerpoint": "powerpnt",
    "onenote": "onenote",
    "teams": "ms-teams",
    "chrome": "chrome",
    "google chrome": "chrome",
    "edge": "msedge",
    "firefox": "firefox",
    "acrobat": "acrobat",
    "adobe reader": "acrord32",
    "acrobat reader": "acrord32",
    "explorer": "explorer",
    "onedrive": "onedrive",
    "notepad": "notepad",
    "java": "java",
    "sap gui": "saplogon",
    "sap logon": "saplogon",
    "zoom": "zoom",
    "slack": "slack",
    "visual studio": "devenv",
    "vs code": "code",
    "vscode": "code",
}

HOST_CUES = (
    "on",
    "from",
    "to",
    "at",
    "server",
    "host",
    "hostname",
    "computer",
    "machine",
    "pc",
    "laptop",
    "workstation",
    "box",
    "node",
    "dc",
    "against",
)
USER_CUES = (
    "user",
    "username",
    "user name",
    "account",
    "login",
    "logon",
    "for",
    "of",
    "samaccountname",
)
_HOST_CUE = re.compile(rf"(?<!\w)(?:{'|'.join(HOST_CUES)})\s+(?:the\s+|a\s+|an\s+)?(?:\w+\s+)?$")
NEGATIONS = ("don't", "do not", "dont", "not", "no", "without", "never", "skip", "no need to")

_IPV4 = r"(?:\d{1,3}\.){3}\d{1,3}"
_DOTTED = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
_HOSTISH = re.compile(rf"(?<![\w.@\\/-])({_IPV4}|{_DOTTED}|[A-Za-z0-9][A-Za-z0-9-]*)(?![\w@-])")
_UNC = re.compile(r"(?<![\w\\])\\\\[A-Za-z0-9][\w.-]*(?:\\[\w.$&'@%+~-]+)+")
_WINDOWS_PATH = re.compile(r"(?<![\w\\])[A-Za-z]:\\(?:[^\s\"'<>|?*,;]+)?")
_POSIX_PATH = re.compile(r"(?<![\w.:/~-])/(?:[\w.@+%-]+/?)+")
_HOST_PORT = re.compile(rf"(?<![\w.-])({_IPV4}|{_DOTTED}|[A-Za-z][\w-]*\d[\w-]*):(\d{{1,5}})\b")
_QUOTED = re.compile(r"[\"'\u201c\u2018`]([^\"'\u201d\u2019`\n]{1,200})[\"'\u201d\u2019`]")


def normalise(text: str) -> str:
    """One apostrophe, one space: phrase matching should not trip on either."""
    return re.sub(r"\s+", " ", text.replace("\u2019", "'").replace("\u2018", "'")).strip()


def _has_phrase(lowered: str, phrase: str) -> re.Match[str] | None:
    return re.search(rf"(?<![\w-]){re.escape(phrase.lower())}(?![\w-])", lowered)


def _negated(lowered: str, start: int) -> bool:
    before = lowered[max(0, start - 20) : start]
    return any(re.search(rf"(?<!\w){re.escape(n)}\s+(?:\w+\s+)?$", before) for n in NEGATIONS)


def _strip_punctuation(value: str) -> str:
    return value.rstrip(".,;:!?)]}>'\"")


def _looks_like_host(word: str, *, cued: bool) -> bool:
    bare = word.lower()
    if bare in NOT_NAMES or bare in NOT_HOSTS or bare in SYSTEMD_UNITS or bare == "localhost":
        return False
    if re.fullmatch(_IPV4, word):
        return all(int(part) <= 255 for part in word.split("."))
    if "." in word:
        last = bare.rsplit(".", 1)[1]
        return last.isalpha() and last not in FILE_EXTENSIONS and not re.match(r"^\d", bare)
    if re.fullmatch(
        r"0x[0-9a-f]+|\d+[a-z]{0,3}|[a-z]\d{1,2}|win\d+|x\d\d|[a-z]?\d+(st|nd|rd|th)", bare
    ):
        return False  # error codes, sizes, 4740, w7, win11, x64, 3rd
    # PRN02, sql01, WS-0142: letters then digits; "M365" or "E5" are products.
    if re.fullmatch(r"[A-Za-z]{2,}[A-Za-z0-9]*\d[A-Za-z0-9]*", word) or (
        "-" in word and re.search(r"\d", word) and len(word) >= 3
    ):
        return True
    if "-" in word and len(word) >= 4 and cued:
        return True
    # A bare word in capitals after "on"/"server": PRINTSRV, FILESERVER.
    return cued and word.isupper() and len(word) >= 4


def find_host(text: str) -> str | None:
    """A computer: host:port, else the most host-like word (after a cue such
    as "on" or "server", with digits or dots), else the server of a UNC path."""
    host_port = _HOST_PORT.search(text)
    if host_port and _looks_like_host(host_port.group(1), cued=True):
        return host_port.group(1)
    best: tuple[int, str] | None = None
    for match in _HOSTISH.finditer(text):
        word = match.group(1)
        before = text[max(0, match.start() - 25) : match.start()]
        # A shouted sentence (REMOTE HOST IDENTIFICATION) has no cues.
        cued = bool(_HOST_CUE.search(before.lower())) and not before.isupper()
        if not _looks_like_host(word, cued=cued):
            continue
        score = 2 * cued + ("." in word) + bool(re.search(r"\d", word))
        if best is None or score > best[0]:
            best = (score, word)
    if best:
        return best[1]
    unc = _UNC.search(text)
    return unc.group(0)[2:].split("\\", 1)[0] if unc else None


def find_fqdn(text: str) -> str | None:
    for match in re.finditer(rf"(?<![\w.@/\\-])({_DOTTED})(?::\d+)?(?![\w@-])", text):
        word = _strip_punctuation(match.group(1))
        if "." in word and _looks_like_host(word, cued=True) and not re.fullmatch(_IPV4, word):
            return word
    return None


def find_windows_service(text: str) -> str | None:
    lowered = normalise(text).lower()
    for name in sorted(WINDOWS_SERVICES, key=len, reverse=True):
        if _has_phrase(lowered, name):
            return WINDOWS_SERVICES[name]
    quoted = re.search(
        r"service\s+[\"'`]([^\"'`]+)[\"'`]|[\"'`]([^\"'`]+)[\"'`]\s+service", text, re.I
    )
    if quoted:
        return (quoted.group(1) or quoted.group(2)).strip()
    for named in re.finditer(
        r"(?:the\s+)?([A-Za-z][\w$.-]{2,})\s+service\b|\bservice\s+([A-Za-z][\w$.-]{2,})", text
    ):
        name = named.group(1) or named.group(2)
        if name.lower() not in NOT_NAMES and name.lower() != "windows":
            return name
    return None


def find_systemd_unit(text: str) -> str | None:
    explicit = re.search(
        r"(?<![\w@.-])([\w@:.-]+\.(?:service|socket|timer|mount|target|path))\b", text
    )
    if explicit:
        return explicit.group(1)
    for word in re.findall(r"[A-Za-z][\w@.-]*", text):
        lowered = word.lower()
        if lowered in SYSTEMD_UNITS:
            return _UNIT_CASE.get(lowered, word if not word.isupper() else lowered)
    for pattern in (
        r"\bthe\s+([a-z][\w@.-]{1,})\s+(?:service|daemon|unit)\b",
        r"\b(?:service|unit|restart|systemctl\s+\w+)\s+([a-z][\w@.-]+)",
    ):
        for named in re.finditer(pattern, text, re.I):
            if named.group(1).lower() not in NOT_NAMES:
                return named.group(1)
    return None


def find_unc_path(text: str) -> str | None:
    match = _UNC.search(text)
    return _strip_punctuation(match.group(0)) if match else None


def find_paths(text: str) -> list[str]:
    """Windows, UNC and POSIX paths in order of appearance; a quoted path may
    hold spaces ("C:\\Program Files\\Acme")."""
    found: list[tuple[int, str]] = []
    quoted_spans: list[tuple[int, int]] = []
    for quoted in _QUOTED.finditer(text):
        inner = quoted.group(1)
        if re.match(r"[A-Za-z]:\\|/|\\\\", inner):
            found.append((quoted.start(), inner))
            quoted_spans.append(quoted.span())
    for pattern in (_WINDOWS_PATH, _UNC, _POSIX_PATH):
        for match in pattern.finditer(text):
            if any(a <= match.start() < b for a, b in quoted_spans):
                continue
            value = _strip_punctuation(match.group(0))
            if len(value) > 1 and value not in (v for _, v in found):
                found.append((match.start(), value))
    return [v for _, v in sorted(found)]


def find_drive_letter(text: str) -> str | None:
    for pattern in (
        r"(?<![\w\\])([A-Za-z]):(?![\\/\w])",
        r"\b(?:the\s+)?([A-Z])\s+drive\b",
        r"\bdrive\s+([A-Z])\b",
    ):
        match = re.search(pattern, text)
        if match:
            return match.group(1).upper()
    return None


def find_user(text: str) -> str | None:
    domain_user = re.search(
        r"(?<![\w\\])([A-Za-z][\w.-]{0,14})\\([A-Za-z][\w.$-]{0,63})(?![\w\\])", text
    )
    if domain_user:
        return domain_user.group(0)
    upn = re.search(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text)
    if upn:
        return _strip_punctuation(upn.group(0))
    possessive = re.search(
        r"\b([a-z][\w.-]{1,63})'s\s+(?:account|password|mailbox|profile|login)\b", text
    )
    if possessive and possessive.group(1).lower() not in NOT_NAMES:
        return possessive.group(1)
    owner = re.search(
        r"\b(?:account|user|password|mailbox|login|profile)\s+(?:of|for)\s+[\"'`]?([A-Za-z][\w.-]{1,63})",
        text,
        re.I,
    )
    if owner and _strip_punctuation(owner.group(1)).lower() not in NOT_NAMES:
        return _strip_punctuation(owner.group(1))
    cues = "|".join(re.escape(c) for c in sorted(USER_CUES, key=len, reverse=True))
    for match in re.finditer(rf"\b(?:{cues})\s+[\"'`]?([A-Za-z][\w.-]{{1,63}})", text, re.I):
        candidate = _strip_punctuation(match.group(1))
        if candidate.lower() in NOT_NAMES or not candidate:
            continue
        # "for" and "of" are weak cues: only a name-like word after them.
        cue = match.group(0).split()[0].lower()
        if cue in ("for", "of") and not re.search(r"[._\d]", candidate):
            continue
        return candidate
    return None


def find_process(text: str) -> str | None:
    exe = re.search(r"\b([\w.-]+)\.exe\b", text, re.I)
    if exe:
        return exe.group(1)
    lowered = normalise(text).lower()
    for name in sorted(PROCESSES, key=len, reverse=True):
        if _has_phrase(lowered, name):
            return PROCESSES[name]
    for named in re.finditer(
        r"\b(?:process|kill|pkill)\s+([A-Za-z][\w.-]+)|\b([A-Za-z][\w.-]+)\s+process\b", text, re.I
    ):
        name = named.group(1) or named.group(2)
        if name.lower() not in NOT_NAMES:
            return name
    return None


def find_name(text: str, cues: tuple[str, ...]) -> str | None:
    """A name right after one of the cues (or in quotes there), or right
    before it ("IntranetPool app pool")."""
    for cue in sorted(cues, key=len, reverse=True):
        pattern = re.escape(cue)
        after = re.search(
            rf"(?<!\w){pattern}\s+(?:named\s+|called\s+|:\s*)?(?:[\"'`]([^\"'`]+)[\"'`]|([\w$.*:\\/-]+))",
            text,
            re.I,
        )
        if after:
            value = after.group(1) or _strip_punctuation(after.group(2) or "")
            if value and value.lower() not in NOT_NAMES:
                return value
        before = re.search(rf"([\w$.-]+)\s+{pattern}(?!\w)", text, re.I)
        if (
            before
            and before.group(1).lower() not in NOT_NAMES
            and re.search(r"[A-Z\d]", before.group(1)[1:])
        ):
            return before.group(1)
    return None


_UNIT_NUMBER = r"(\d{1,9})\s*"


def _number_with_units(text: str, units: dict[str, int]) -> int | None:
    """The first number followed by one of the units, converted."""
    alternatives = "|".join(sorted(units, key=len, reverse=True))
    match = re.search(rf"\b{_UNIT_NUMBER}({alternatives})\b", text, re.I)
    if not match:
        return None
    return int(match.group(1)) * units[match.group(2).lower()]


DAY_UNITS = {"day": 1, "days": 1, "d": 1, "week": 7, "weeks": 7, "month": 30, "months": 30}
HOUR_UNITS = {
    "hour": 1,
    "hours": 1,
    "h": 1,
    "hrs": 1,
    "day": 24,
    "days": 24,
    "week": 168,
    "weeks": 168,
}
MINUTE_UNITS = {"minute": 1, "minutes": 1, "min": 1, "mins": 1, "hour": 60, "hours": 60}
SECOND_UNITS = {"second": 1, "seconds": 1, "sec": 1, "secs": 1, "s": 1, "minute": 60, "minutes": 60}


def find_count(text: str) -> int | None:
    match = re.search(
        r"\btop\s+(\d{1,5})\b|\b(?:last|first)\s+(\d{1,5})\s+(?:lines|entries|events)\b"
        r"|\b(\d{1,5})\s+(?:biggest|largest|heaviest|most|lines|processes|files|folders)\b",
        text,
        re.I,
    )
    if not match:
        return None
    return int(next(g for g in match.groups() if g))


def find_port(text: str) -> int | None:
    match = re.search(
        r"\bport\s*(?:number\s*)?[:#]?\s*(\d{1,5})\b|(?<=[\w\]]):(\d{1,5})\b|\b(\d{1,5})/tcp\b",
        text,
        re.I,
    )
    if not match:
        return None
    port = int(next(g for g in match.groups() if g))
    return port if 1 <= port <= 65535 else None


def find_size(text: str) -> str | None:
    """A size as journald writes it (500M, 1G); a size after "to", "under",
    "max" or "limit" wins over one that only describes the problem."""
    sizes = list(re.finditer(r"\b(\d{1,6})(?:\.(\d))?\s*([KMGT])(?:i?B)?\b", text, re.I))
    if not sizes:
        return None

    def targeted(m: re.Match[str]) -> bool:
        before = text[max(0, m.start() - 15) : m.start()].lower()
        return bool(re.search(r"(?:to|under|below|max|maximum|limit|cap|keep|at most)\s*$", before))

    chosen = next((m for m in sizes if targeted(m)), sizes[-1])
    whole, fraction, unit = chosen.group(1), chosen.group(2), chosen.group(3).upper()
    if fraction and fraction != "0":
        steps = "KMGT"
        if unit == "K":
            return f"{whole}K"
        value = (int(whole) * 10 + int(fraction)) * 1024 // 10
        return f"{value}{steps[steps.index(unit) - 1]}"
    return f"{whole}{unit}"


def find_choice(text: str, parameter: RecipeParameter) -> str | None:
    lowered = normalise(text).lower()
    hits: list[tuple[int, str]] = []
    for choice in parameter.parameter.choices:
        phrases = (*parameter.aliases.get(choice, ()), choice)
        for phrase in phrases:
            found = _has_phrase(lowered, phrase)
            if found and not _negated(lowered, found.start()):
                hits.append((found.start(), choice))
                break
    distinct = {c for _, c in hits}
    if len(distinct) > 1 and "all" in parameter.parameter.choices:
        return "all"
    return min(hits)[1] if hits else None


def find_flag(text: str, parameter: RecipeParameter) -> bool | None:
    """True when a `when` phrase is said (and not negated), False for an
    `unless` phrase or a negated `when`; None when neither is said."""
    lowered = normalise(text).lower()
    for phrase in parameter.unless:
        if _has_phrase(lowered, phrase):
            return False
    for phrase in parameter.when:
        found = _has_phrase(lowered, phrase)
        if found:
            return not _negated(lowered, found.start())
    return None


_FINDERS: dict[Fill, Callable[[str, RecipeParameter], Any]] = {
    Fill.HOST: lambda t, p: find_host(t),
    Fill.FQDN: lambda t, p: find_fqdn(t),
    Fill.WINDOWS_SERVICE: lambda t, p: find_windows_service(t),
    Fill.SYSTEMD_UNIT: lambda t, p: find_systemd_unit(t),
    Fill.UNC_PATH: lambda t, p: find_unc_path(t),
    Fill.DRIVE_LETTER: lambda t, p: find_drive_letter(t),
    Fill.USER: lambda t, p: find_user(t),
    Fill.PROCESS: lambda t, p: find_process(t),
    Fill.NAME: lambda t, p: find_name(t, p.cues),
    Fill.DAYS: lambda t, p: _number_with_units(t, DAY_UNITS),
    Fill.HOURS: lambda t, p: _number_with_units(t, HOUR_UNITS),
    Fill.MINUTES: lambda t, p: _number_with_units(t, MINUTE_UNITS),
    Fill.SECONDS: lambda t, p: _number_with_units(t, SECOND_UNITS),
    Fill.COUNT: lambda t, p: find_count(t),
    Fill.PORT: lambda t, p: find_port(t),
    Fill.SIZE: lambda t, p: find_size(t),
    Fill.CHOICE: find_choice,
    Fill.FLAG: find_flag,
}


def _fits(parameter: RecipeParameter, value: Any) -> bool:
    kind = parameter.parameter.type
    if kind is ParameterType.BOOLEAN:
        return isinstance(value, bool)
    if kind is ParameterType.INTEGER:
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10**9
    if not isinstance(value, str) or not value or len(value) > MAX_STRING_VALUE or "\x00" in value:
        return False
    if kind is ParameterType.ENUM:
        return value in parameter.parameter.choices
    return parameter.pattern is None or bool(parameter.pattern.search(value))


def find_value(parameter: RecipeParameter, text: str) -> Any | None:
    """The parameter's value as the text gives it, typed; None if it does not."""
    if parameter.fill is None or not text.strip():
        return None
    if parameter.fill is Fill.PATH:
        return next((p for p in find_paths(text) if _fits(parameter, p)), None)
    value = _FINDERS[parameter.fill](text, parameter)
    return value if value is not None and _fits(parameter, value) else None
