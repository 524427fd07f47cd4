"""The Deployments run the project's real entrypoints with real settings, and
carry the probes, security context, shutdown timing and scaling a platform
team expects."""

from __future__ import annotations

import argparse
import os
import tomllib
from urllib.parse import urlsplit

import pytest

from flowpilot import cli
from flowpilot.runtime.settings import Settings
from tests.deploy.k8s import (
    OVERLAYS,
    RENDERABLE,
    REPO,
    Obj,
    all_containers,
    by_kind,
    container_ports,
    effective_env,
    get,
    is_flowpilot,
    main_container,
    pod_spec,
    render,
    secret_refs,
    selector_matches,
    served_process,
    workloads,
)

SETTINGS_ENV = {f"FLOWPILOT_{name.upper()}": name for name in Settings.model_fields}
# The gRPC service each process registers, which its readiness probe asks for.
GRPC_SERVICES = {
    "fixes": "flowpilot.fixes.v1.FixesService",
    "scriptbuilder": "flowpilot.scriptbuilder.v1.ScriptBuilderService",
}
# Which Settings field holds each process's listening port, and its port name.
PORT_SETTING = {
    "fixes": ("fixes_grpc_port", "grpc"),
    "scriptbuilder": ("scriptbuilder_grpc_port", "grpc"),
    "gateway": ("http_port", "http"),
}
# Which gRPC targets each process dials, and the process behind each.
DIALS = {
    "fixes": {},
    "scriptbuilder": {"fixes_target": "fixes"},
    "gateway": {"fixes_target": "fixes", "scriptbuilder_target": "scriptbuilder"},
}


def flowpilot_deployments(path: str) -> dict[str, Obj]:
    """Process name -> the Deployment that serves it."""
    found: dict[str, Obj] = {}
    for workload in by_kind(render(path), "Deployment"):
        process = served_process(workload)
        assert process is not None, f"{workload['metadata']['name']} serves no flowpilot process"
        assert process not in found, f"two Deployments serve {process}"
        found[process] = workload
    return found


def settings_for(container: Obj, objs: list[Obj], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings exactly as the container would load them."""
    with monkeypatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("FLOWPILOT_"):
                patch.delenv(name)
        for name, value in effective_env(container, objs).items():
            patch.setenv(name, value)
        return Settings()


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    return f"overlays/{request.param}"


# --- entrypoints -------------------------------------------------------------


def test_console_script_is_flowpilot() -> None:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts.get("flowpilot") == "flowpilot.cli:main"


def test_every_process_is_deployed(overlay: str) -> None:
    assert set(flowpilot_deployments(overlay)) == set(cli.PROCESSES)


def test_commands_are_real_cli_entrypoints(overlay: str) -> None:
    parser = cli.build_parser()
    for process, deployment in flowpilot_deployments(overlay).items():
        for container in all_containers(deployment):
            assert container["command"] == ["flowpilot"], container["name"]
            try:
                args: argparse.Namespace = parser.parse_args(container["args"])
            except SystemExit:  # argparse's way of rejecting arguments
                pytest.fail(f"{process}/{container['name']}: `flowpilot {container['args']}`")
            if container in pod_spec(deployment)["containers"]:
                assert (args.command, args.process) == ("serve", process)
            else:
                assert (args.command, args.service) == ("migrate", process)


def test_each_database_is_migrated_before_serving(overlay: str) -> None:
    for process, deployment in flowpilot_deployments(overlay).items():
        spec = cli.PROCESSES[process]
        inits = pod_spec(deployment).get("initContainers", [])
        if spec.package is None:
            assert not inits, f"{process} has no database to migrate"
            continue
        assert [c["args"] for c in inits] == [["migrate", process]]
        for container in all_containers(deployment):
            ref = secret_refs(container).get(spec.url_env)
            assert ref is not None, f"{process}/{container['name']}: {spec.url_env} from a Secret"


def test_only_the_owning_service_sees_a_database_url(overlay: str) -> None:
    url_envs = {p.url_env for p in cli.PROCESSES.values() if p.url_setting}
    for process, deployment in flowpilot_deployments(overlay).items():
        own = {cli.PROCESSES[process].url_env} if cli.PROCESSES[process].url_setting else set()
        for container in all_containers(deployment):
            env = effective_env(container, render(overlay))
            assert (url_envs & set(env)) == own, f"{process}/{container['name']}"


def test_one_image_for_every_process(overlay: str) -> None:
    images = {
        c["image"] for d in flowpilot_deployments(overlay).values() for c in all_containers(d)
    }
    assert len(images) == 1, images
    (image,) = images
    if overlay == "overlays/prod":
        assert "@sha256:" in image or (":" in image and not image.endswith(":latest")), image


# --- settings ----------------------------------------------------------------


@pytest.mark.parametrize("path", RENDERABLE)
def test_every_flowpilot_variable_is_a_setting(path: str) -> None:
    objs = render(path)
    names: set[str] = set()
    for workload in workloads(objs):
        for container in all_containers(workload):
            names |= {v["name"] for v in container.get("env", [])}
    for config_map in by_kind(objs, "ConfigMap"):
        names |= set(config_map.get("data") or {})
    unknown = {n for n in names if n.startswith("FLOWPILOT_")} - set(SETTINGS_ENV)
    assert not unknown, f"not fields of Settings: {sorted(unknown)}"


def test_settings_load_in_every_container(overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    objs = render(overlay)
    for process, deployment in flowpilot_deployments(overlay).items():
        for container in all_containers(deployment):
            settings = settings_for(container, objs, monkeypatch)
            where = f"{process}/{container['name']}"
            assert settings.bind_host == "0.0.0.0", where
            assert settings.jwt_secret, f"{where}: no JWT secret"
            assert str(settings.data_dir).startswith("/tmp/"), f"{where}: data dir not writable"
            spec = cli.PROCESSES[process]
            if spec.url_setting:
                assert spec.database_url(settings), f"{where}: no database URL"


def test_dev_database_urls_point_at_the_dev_postgres(monkeypatch: pytest.MonkeyPatch) -> None:
    objs = render("overlays/dev")
    service = get(objs, "Service", "flowpilot-postgres")
    port = service["spec"]["ports"][0]["port"]
    for process, deployment in flowpilot_deployments("overlays/dev").items():
        spec = cli.PROCESSES[process]
        if not spec.url_setting:
            continue
        url = urlsplit(
            spec.database_url(settings_for(main_container(deployment), objs, monkeypatch)) or ""
        )
        assert (url.hostname, url.port) == ("flowpilot-postgres", port)


def test_ports_are_the_settings_ports(overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Container ports equal what the process will bind (Settings default or
    the manifest's override), and Services expose them by name."""
    objs = render(overlay)
    for process, deployment in flowpilot_deployments(overlay).items():
        field, port_name = PORT_SETTING[process]
        settings = settings_for(main_container(deployment), objs, monkeypatch)
        ports = container_ports(deployment)
        assert set(ports) == {port_name}, f"{process}: ports {ports}"
        assert ports[port_name][0] == getattr(settings, field), process
        service = get(objs, "Service", deployment["metadata"]["name"])
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector_matches({"matchLabels": service["spec"]["selector"]}, labels)
        assert [p["name"] for p in service["spec"]["ports"]] == [port_name]
        assert service["spec"]["ports"][0]["targetPort"] == port_name


def test_grpc_targets_use_headless_services_and_dns(
    overlay: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Clients resolve every pod (headless Service, dns:///) and round_robin."""
    objs = render(overlay)
    deployments = flowpilot_deployments(overlay)
    for process, dials in DIALS.items():
        settings = settings_for(main_container(deployments[process]), objs, monkeypatch)
        assert settings.grpc_max_connection_age_seconds < 600, "connections must age out"
        for field, target_process in dials.items():
            target = getattr(settings, field)
            assert target.startswith("dns:///"), f"{process}: {field}={target}"
            host, _, port = target.removeprefix("dns:///").rpartition(":")
            service = get(objs, "Service", host.split(".")[0])
            assert service["spec"].get("clusterIP") == "None", f"{host} must be headless"
            assert int(port) == service["spec"]["ports"][0]["port"]
            backend = deployments[target_process]
            assert service["metadata"]["name"] == backend["metadata"]["name"]
            assert int(port) == container_ports(backend)["grpc"][0]


# --- probes ------------------------------------------------------------------


def test_probes_point_at_real_ports(overlay: str) -> None:
    for process, deployment in flowpilot_deployments(overlay).items():
        container = main_container(deployment)
        ports = {c["name"]: c["containerPort"] for c in container["ports"]}
        for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = container.get(kind)
            assert probe, f"{process}: no {kind}"
            if process in GRPC_SERVICES:
                # gRPC probes take a number; it must be the port named grpc.
                assert "grpc" in probe, f"{process}: {kind} is not a native gRPC probe"
                assert probe["grpc"]["port"] == ports["grpc"]
            else:
                assert probe["httpGet"]["port"] in ports, f"{process}: {kind} port"
        if process in GRPC_SERVICES:
            service = container["readinessProbe"]["grpc"].get("service")
            assert service in (None, "", GRPC_SERVICES[process])
        else:
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_readiness_service_names_exist_in_the_protos() -> None:
    from flowpilot.fixes.v1 import fixes_pb2
    from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2

    names = {
        s.full_name
        for module in (fixes_pb2, scriptbuilder_pb2)
        for s in module.DESCRIPTOR.services_by_name.values()
    }
    assert set(GRPC_SERVICES.values()) <= names


# --- security ----------------------------------------------------------------


@pytest.mark.parametrize("path", RENDERABLE)
def test_every_container_is_hardened(path: str) -> None:
    for workload in workloads(render(path)):
        spec = pod_spec(workload)
        pod_ctx = spec.get("securityContext", {})
        name = workload["metadata"]["name"]
        assert spec.get("automountServiceAccountToken") is False, name
        assert spec.get("enableServiceLinks") is False, name
        assert spec.get("serviceAccountName") == name, name
        assert pod_ctx.get("runAsUser", 0) != 0, name
        for container in all_containers(workload):
            ctx = container.get("securityContext", {})
            where = f"{name}/{container['name']}"
            assert ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")) is True, where
            assert ctx.get("readOnlyRootFilesystem") is True, where
            assert ctx.get("allowPrivilegeEscalation") is False, where
            assert ctx.get("privileged", False) is False, where
            assert "ALL" in ctx.get("capabilities", {}).get("drop", []), where
            assert not ctx.get("capabilities", {}).get("add"), where
            seccomp = ctx.get("seccompProfile", pod_ctx.get("seccompProfile", {}))
            assert seccomp.get("type") == "RuntimeDefault", where
            assert container.get("resources", {}).get("requests"), f"{where}: no requests"
            assert container.get("resources", {}).get("limits", {}).get("memory"), where
            if is_flowpilot(container):
                mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
                volumes = {v["name"]: v for v in spec.get("volumes", [])}
                assert "emptyDir" in volumes[mounts["/tmp"]], f"{where}: /tmp emptyDir"


def test_service_accounts_exist(overlay: str) -> None:
    objs = render(overlay)
    for workload in workloads(objs):
        account = get(objs, "ServiceAccount", pod_spec(workload)["serviceAccountName"])
        assert account.get("automountServiceAccountToken") is False


# --- shutdown ----------------------------------------------------------------


def prestop_seconds(container: Obj) -> int:
    pre_stop = container.get("lifecycle", {}).get("preStop")
    assert pre_stop, f"{container['name']}: no preStop pause"
    if "sleep" in pre_stop:
        return int(pre_stop["sleep"]["seconds"])
    command = pre_stop["exec"]["command"]
    assert command[0] in ("sleep", "/bin/sleep"), command
    return int(command[1])


def test_grace_period_arithmetic(overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """preStop pause + the app's gRPC/HTTP grace < terminationGracePeriodSeconds,
    so the kubelet never SIGKILLs a process that is still draining."""
    objs = render(overlay)
    for process, deployment in flowpilot_deployments(overlay).items():
        container = main_container(deployment)
        grace = settings_for(container, objs, monkeypatch).shutdown_grace_seconds
        pause = prestop_seconds(container)
        budget = pod_spec(deployment).get("terminationGracePeriodSeconds", 30)
        assert pause > 0 and grace > 0
        assert pause + grace < budget, f"{process}: {pause} + {grace} >= {budget}"


# --- scaling -----------------------------------------------------------------


def test_dev_runs_one_replica_each() -> None:
    objs = render("overlays/dev")
    assert not by_kind(objs, "HorizontalPodAutoscaler")
    for workload in workloads(objs):
        assert workload["spec"].get("replicas") == 1, workload["metadata"]["name"]
    postgres = get(objs, "StatefulSet", "flowpilot-postgres")
    assert postgres["spec"]["volumeClaimTemplates"], "dev PostgreSQL needs a PVC"


def test_prod_autoscales_from_two() -> None:
    objs = render("overlays/prod")
    assert not by_kind(objs, "StatefulSet"), "prod uses an external PostgreSQL"
    hpas = {
        h["spec"]["scaleTargetRef"]["name"]: h for h in by_kind(objs, "HorizontalPodAutoscaler")
    }
    for process, deployment in flowpilot_deployments("overlays/prod").items():
        name = deployment["metadata"]["name"]
        assert name in hpas, f"{process}: no HPA"
        hpa = hpas[name]["spec"]
        assert hpa["scaleTargetRef"]["kind"] == "Deployment"
        assert hpa["minReplicas"] >= 2 and hpa["maxReplicas"] >= hpa["minReplicas"]
        # The HPA owns the count; a fixed one would be reset on every apply.
        assert "replicas" not in deployment["spec"], name


@pytest.mark.parametrize("path", RENDERABLE)
def test_every_deployment_has_a_pdb(path: str) -> None:
    objs = render(path)
    pdbs = by_kind(objs, "PodDisruptionBudget")
    for deployment in by_kind(objs, "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        matching = [p for p in pdbs if selector_matches(p["spec"]["selector"], labels)]
        assert len(matching) == 1, deployment["metadata"]["name"]
        # maxUnavailable lets a single-replica dev cluster still drain nodes.
        assert matching[0]["spec"].get("maxUnavailable") == 1
