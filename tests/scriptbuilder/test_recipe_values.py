"""Values from the engineer's words (pure code): what each kind finds, and
what it must not take for a value."""

from __future__ import annotations

import pytest

from scriptbuilder_service.domain.recipe_values import (
    find_count,
    find_drive_letter,
    find_fqdn,
    find_host,
    find_name,
    find_paths,
    find_port,
    find_process,
    find_size,
    find_systemd_unit,
    find_unc_path,
    find_user,
    find_value,
    find_windows_service,
)
from scriptbuilder_service.recipes import load_recipes

RECIPES = {r.id: r for r in load_recipes()}


def param(recipe: str, name: str):
    found = RECIPES[recipe].parameter(name)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("Nothing prints on PRN-SRV02 since this morning", "PRN-SRV02"),
        ("the Windows Time service on DC02 is hung", "DC02"),
        ("C: drive on TS01 is at 98%", "TS01"),
        ("check when the certificate on mail.contoso.com:443 expires", "mail.contoso.com"),
        ("test port 1433 on sql01 from their PC", "sql01"),
        ("when I ssh to build-02 after it was rebuilt", "build-02"),
        ("restart it on 10.20.30.40 please", "10.20.30.40"),
        ("the print server PRINTSRV is stuck", "PRINTSRV"),
        ("files on \\\\fs01\\share are slow", "fs01"),
        ("it's PRN-02 actually", "PRN-02"),
    ],
)
def test_hosts(text: str, host: str):
    assert find_host(text) == host


@pytest.mark.parametrize(
    "text",
    [
        "Windows Update fails with 0x80070002",
        "user isn't showing up in M365 yet",
        "the journal takes 12G, trim it to 1G",
        "check event 4740 for the lockouts",
        "install the x64 build on Win11",
        "Outlook crashes on start",
        "the file backup.log is huge",
        "REMOTE HOST IDENTIFICATION HAS CHANGED",
    ],
)
def test_not_hosts(text: str):
    assert find_host(text) is None


def test_fqdn_only_takes_dotted_names():
    assert find_fqdn("renew the cert for shop.example.com tonight") == "shop.example.com"
    assert find_fqdn("resolves the old IP for api.internal.") == "api.internal"
    assert find_fqdn("the unit backup-agent.service fails") is None
    assert find_fqdn("restart nginx") is None


@pytest.mark.parametrize(
    ("text", "service"),
    [
        ("Windows Time service on DC02 is hung", "W32Time"),
        ("restart the print spooler", "Spooler"),
        ("the 'Acme Agent' service crashed", "Acme Agent"),
        ("the service wuauserv will not start", "wuauserv"),
        ("SQL Server Agent stopped overnight", "SQLSERVERAGENT"),
        ("restart the CcmExec service", "CcmExec"),
    ],
)
def test_windows_services(text: str, service: str):
    assert find_windows_service(text) == service


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("nginx on web03 died", "nginx"),
        ("backup-agent.service keeps failing", "backup-agent.service"),
        ("restart the cups service", "cups"),
        ("NetworkManager lost the wifi", "NetworkManager"),
        ("the myapp daemon crashed", "myapp"),
    ],
)
def test_systemd_units(text: str, unit: str):
    assert find_systemd_unit(text) == unit


def test_paths_drives_and_shares():
    assert find_paths("delete logs under D:\\inetpub\\logs\\LogFiles, older than 30 days") == [
        "D:\\inetpub\\logs\\LogFiles"
    ]
    assert find_paths("the log /var/log/myapp never rotates.") == ["/var/log/myapp"]
    assert find_paths('look in "C:\\Program Files\\Acme" first') == ["C:\\Program Files\\Acme"]
    assert find_paths("50/50 chance, and/or maybe") == []
    assert find_unc_path("Map H: to \\\\fs02\\home$ for the user.") == "\\\\fs02\\home$"
    assert find_drive_letter("Map H: to \\\\fs02\\home$") == "H"
    assert find_drive_letter("the C: drive is full") == "C"
    assert find_drive_letter("remap the S drive") == "S"
    assert find_drive_letter("logs in D:\\logs") is None
    assert find_drive_letter("at 10:30 it failed") is None


@pytest.mark.parametrize(
    ("text", "user"),
    [
        ("Account jsmith keeps getting locked out", "jsmith"),
        ("when does the password of a.khan expire?", "a.khan"),
        ("User deploy can't log in over ssh", "deploy"),
        ("unlock CONTOSO\\mbrown please", "CONTOSO\\mbrown"),
        ("reset it for jane.doe@contoso.com", "jane.doe@contoso.com"),
        ("now unlock the AD account of jdoe", "jdoe"),
        ("check jsmith's account", "jsmith"),
    ],
)
def test_users(text: str, user: str):
    assert find_user(text) == user


@pytest.mark.parametrize(
    "text",
    [
        "User got a warning that her password expires",
        "the account is locked for the user",
        "for the whole team",
    ],
)
def test_not_users(text: str):
    assert find_user(text) is None


def test_processes_names_and_numbers():
    assert find_process("Excel is frozen and won't close") == "excel"
    assert find_process("kill acme-agent.exe now") == "acme-agent"
    assert find_process("the java process eats the CPU") == "java"
    assert find_name("the app pool IntranetPool keeps stopping", ("app pool",)) == "IntranetPool"
    assert find_name("IntranetPool app pool is down", ("app pool",)) == "IntranetPool"
    assert find_name("the app pool keeps stopping", ("app pool",)) is None
    assert find_port("is port 8080 in use") == 8080
    assert find_port("mail.contoso.com:443") == 443
    assert find_port("port 99999") is None
    assert find_count("I need the top 10") == 10
    assert find_count("show the last 50 lines") == 50
    assert find_size("journal takes 12G on app01, trim it to 1G") == "1G"
    assert find_size("cap it at 1.5 GB") == "1536M"
    assert find_size("keep 500 MB") == "500M"


def test_values_are_typed_for_their_parameter():
    assert find_value(param("cleanup-old-logs", "days"), "older than 2 weeks") == 14
    assert find_value(param("docker-prune", "older_than_hours"), "older than 3 days") == 72
    assert find_value(param("restart-computer", "delay_minutes"), "reboot in 2 hours") == 120
    # A path that does not fit the parameter's pattern is not its value.
    assert find_value(param("force-logrotate", "config"), "rotate /var/log/app") is None
    assert find_value(param("force-logrotate", "log_path"), "rotate /var/log/app") == "/var/log/app"
    assert find_value(param("resync-time-windows", "ntp_server"), "sync with the domain") is None
    assert (
        find_value(param("resync-time-windows", "ntp_server"), "use time server pool.ntp.org")
        == "pool.ntp.org"
    )


def test_switches_and_choices_follow_the_words():
    dry_run = param("cleanup-old-logs", "dry_run")
    assert find_value(dry_run, "just show me what it would delete") is True
    assert find_value(dry_run, "go ahead, for real this time") is False
    assert find_value(dry_run, "delete them") is None
    winsock = param("flush-dns-reset-network", "reset_winsock")
    assert find_value(winsock, "also reset winsock while you're at it") is True
    assert find_value(winsock, "don't touch winsock") is False
    browser = param("clear-browser-cache", "browser")
    assert find_value(browser, "Chrome is super slow") == "chrome"
    assert find_value(browser, "both Chrome and Edge show old pages") == "all"
    assert find_value(browser, "not firefox, the edge one") == "edge"
    sort = param("report-top-processes", "sort_by")
    assert find_value(sort, "who eats all the RAM") == "memory"
    assert find_value(sort, "high CPU load") == "cpu"
